/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which service a process belongs to: the systemd unit and container id from its cgroup path. */
#ifndef PYHOUND_CGROUP_H
#define PYHOUND_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

/* From a cgroup v2 path such as "/system.slice/docker-<64 hex>.scope" or
 * "/system.slice/myapp.service": the innermost systemd unit (".service", ".scope", ...) and a
 * container id (64 hex digits; docker, containerd/CRI, podman/libpod). Empty strings when
 * absent. */
void cgroup_parse_path(const char *path, char *unit, size_t unit_len, char *container,
		       size_t container_len);
/* Read /proc/PID/cgroup (the unified "0::" line, else the systemd one) and parse it.
 * Returns 0 or -errno. */
int cgroup_labels(pid_t pid, char *unit, size_t unit_len, char *container, size_t container_len);

#endif
