// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "host/cgroup.h"

static bool is_unit_suffix(const char *s, size_t len)
{
	static const char *const sfx[] = { ".service", ".scope", ".socket", ".timer" };
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t n = strlen(sfx[i]);

		if (len > n && !strncmp(s + len - n, sfx[i], n))
			return true;
	}
	return false;
}

/* a run of exactly 64 hex digits in [s, s+len) */
static const char *find_hex64(const char *s, size_t len)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		if (isxdigit((unsigned char)s[i])) {
			run++;
			continue;
		}
		if (run == 64)
			return s + i - 64;
		run = 0;
	}
	return run == 64 ? s + len - 64 : NULL;
}

void cgroup_parse_path(const char *path, char *unit, size_t unit_len, char *container,
		       size_t container_len)
{
	const char *p = path, *seg;

	unit[0] = container[0] = '\0';
	while (*p) {
		size_t len;
		const char *hex;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/' && *p != '\n')
			p++;
		len = p - seg;
		if (!len)
			break;
		hex = find_hex64(seg, len);
		if (hex)
			snprintf(container, container_len, "%.64s", hex);
		/* the innermost unit wins, e.g. "docker-<id>.scope" inside "system.slice" */
		if (is_unit_suffix(seg, len))
			snprintf(unit, unit_len, "%.*s", (int)len, seg);
		if (*p == '\n')
			break;
	}
}

int cgroup_labels(pid_t pid, char *unit, size_t unit_len, char *container, size_t container_len)
{
	char fname[64], line[1024], best[1024] = "";
	FILE *f;

	unit[0] = container[0] = '\0';
	snprintf(fname, sizeof(fname), "/proc/%d/cgroup", (int)pid);
	f = fopen(fname, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		const char *path = strchr(line, ':');

		if (!path || !(path = strchr(path + 1, ':')))
			continue;
		path++;
		if (!strncmp(line, "0::", 3) || strstr(line, ":name=systemd:")) {
			snprintf(best, sizeof(best), "%s", path);
			if (!strncmp(line, "0::", 3))
				break;
		}
	}
	fclose(f);
	best[strcspn(best, "\n")] = '\0';
	cgroup_parse_path(best, unit, unit_len, container, container_len);
	return 0;
}
