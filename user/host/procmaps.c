// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host/procmaps.h"

int procmaps_parse_line(const char *line, struct map_entry *e)
{
	int n = 0;

	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4c %" SCNx64 " %x:%x %" SCNu64 "%n", &e->start,
		   &e->end, e->perms, &e->offset, &e->dev_major, &e->dev_minor, &e->inode, &n) != 7)
		return -EINVAL;
	if (e->end < e->start)
		return -EINVAL;
	e->perms[4] = '\0';
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	snprintf(e->path, sizeof(e->path), "%s", line);
	e->path[strcspn(e->path, "\n")] = '\0';
	if (e->path[0] == '/') {
		size_t n = strlen(e->path);
		char *r, *w;

		/* the kernel marks an unlinked file (seq_path's d_path) */
		if (n > 10 && !strcmp(e->path + n - 10, " (deleted)")) {
			e->path[n - 10] = '\0';
			e->deleted = true;
		}
		/* and escapes a newline in the name as the four characters \012 */
		for (r = w = e->path; *r; r++, w++) {
			if (!strncmp(r, "\\012", 4)) {
				*w = '\n';
				r += 3;
			} else {
				*w = *r;
			}
		}
		*w = '\0';
	}
	return 0;
}

int procmaps_foreach(pid_t pid, procmaps_cb cb, void *ctx)
{
	char fname[64], *line = NULL;
	size_t cap = 0;
	struct map_entry *e;
	int err = 0;
	FILE *f;

	snprintf(fname, sizeof(fname), "/proc/%d/maps", (int)pid);
	f = fopen(fname, "re");
	if (!f)
		return -errno;
	e = malloc(sizeof(*e));
	if (!e) {
		err = -ENOMEM;
		goto out_close;
	}
	while (getline(&line, &cap, f) > 0) {
		if (procmaps_parse_line(line, e))
			continue;
		err = cb(e, ctx);
		if (err)
			break;
	}
	/* a read that failed part-way (the process changing its mappings meanwhile, a signal)
	 * must not pass for the end of the list */
	if (!err && ferror(f))
		err = -EAGAIN;
	free(line);
	free(e);
out_close:
	fclose(f);
	return err;
}
