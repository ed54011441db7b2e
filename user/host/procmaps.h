/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Parsing /proc/PID/maps. */
#ifndef PYHOUND_PROCMAPS_H
#define PYHOUND_PROCMAPS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct map_entry {
	uint64_t start, end, offset, inode;
	unsigned int dev_major, dev_minor;
	char perms[5];
	/* "" for anonymous mappings; as seen in the target's mount namespace, with the kernel's
	 * escape of a newline ("\\012") undone and the " (deleted)" marker removed */
	char path[PATH_MAX];
	bool deleted; /* the file was deleted or replaced since it was mapped: open it through
		       * /proc/PID/map_files, never by path */
};

/* Parse one line of /proc/PID/maps. Returns 0, or -EINVAL on a malformed line. */
int procmaps_parse_line(const char *line, struct map_entry *e);

/* Call cb for every mapping of pid, in order; a non-zero return from cb stops the walk and is
 * returned. Returns -errno when the file cannot be read (-ENOENT: process gone). */
typedef int (*procmaps_cb)(const struct map_entry *e, void *ctx);
int procmaps_foreach(pid_t pid, procmaps_cb cb, void *ctx);

#endif
