// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Each test's worker process is a child subreaper, and at exit SIGKILLs whatever it started
 * and left behind: a failed assertion must not leak a `pyhound serve` or a workload that goes
 * on loading the host for the following tests. Criterion's runner is left alone: its child
 * pump spins on a reparented zombie it does not know (workers carry BXFI_MAP, it does not). */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t reaper_pid;

/* Kills the children of this process (orphaned grandchildren are reparented here); returns
 * how many it found. */
static int kill_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], buf[512], *p;
		FILE *f;
		int ppid;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid != reaper_pid)
			continue;
		kill(atoi(e->d_name), SIGKILL);
		n++;
	}
	closedir(d);
	return n;
}

static void reap_leftovers(void)
{
	if (getpid() != reaper_pid)
		return; /* a forked child that exits through exit() */
	for (int round = 0; round < 50; round++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (kill_children() == 0)
			break;
		usleep(20000);
	}
}

__attribute__((constructor)) static void reaper_init(void)
{
	if (!getenv("BXFI_MAP"))
		return;
	reaper_pid = getpid();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	atexit(reap_leftovers);
}
