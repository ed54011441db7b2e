/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* An output file written whole or not at all: a temporary file beside the target, renamed over
 * it on success, removed on failure; the real errno of the first failed write is kept (stdio
 * only says that something failed). "-" is stdout, and a target that exists but is not a
 * regular file (/dev/stdout, a FIFO) is written in place, both with the same error capture;
 * a symlink's target is the file replaced. */
#ifndef PYHOUND_OUTFILE_H
#define PYHOUND_OUTFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

struct outfile {
	FILE *f;	       /* write here */
	int fd;		       /* the temporary file's (or stdout's) descriptor */
	int write_err;	       /* errno of the first failed write(2), 0 if none */
	bool is_stdout;
	bool direct;	       /* the target is not a regular file (a device, a FIFO): in place */
	char path[PATH_MAX];   /* the target */
	char tmp[PATH_MAX];    /* the temporary file beside it, "" once renamed or removed */
};

/* Create the temporary file (mode 0666 & ~umask). Returns 0 or -errno. */
int outfile_open(struct outfile *of, const char *path);
/* Flush, sync and rename over the target. Returns 0, or -errno (the write's own errno when a
 * write failed); on failure the target is untouched and the temporary file removed. */
int outfile_commit(struct outfile *of);
/* Remove the temporary file, leaving the target as it was. Safe to call after commit. */
void outfile_abort(struct outfile *of);
/* -errno of the first failed write, or fallback when none failed */
int outfile_error(const struct outfile *of, int fallback);

#endif
