// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* record, report's hot paths and top, end to end on real processes. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

static char out[1 << 20];

static pid_t start_hot(const char *python, double secs)
{
	char arg[32];
	pid_t p;

	snprintf(arg, sizeof(arg), "%.1f", secs);
	p = fork();
	if (!p) {
		execl(python, python, workload("hot_loop.py"), arg, NULL);
		_exit(127);
	}
	usleep(300 * 1000);
	return p;
}

/* CPU time of a process so far, in seconds (utime + stime from /proc/PID/stat) */
static double cpu_seconds(pid_t pid)
{
	char f[64], buf[1024], *q;
	unsigned long long ut = 0, st = 0;
	FILE *fp;
	int i;

	snprintf(f, sizeof(f), "/proc/%d/stat", (int)pid);
	fp = fopen(f, "r");
	if (!fp)
		return -1;
	if (!fgets(buf, sizeof(buf), fp))
		buf[0] = '\0';
	fclose(fp);
	q = strrchr(buf, ')');
	for (i = 3; q && i < 14; i++) /* utime is field 14, stime 15 */
		q = strchr(q + 1, ' ');
	if (!q || sscanf(q + 1, "%llu %llu", &ut, &st) != 2)
		return -1;
	return (ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void reap(pid_t p)
{
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

/* count of samples on collapsed lines containing needle */
static long collapsed_count(const char *path, const char *needle)
{
	char line[8192];
	long n = 0;
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		char *sp = strrchr(line, ' ');

		cr_assert_not_null(sp, "collapsed line without count: %s", line);
		if (strstr(line, needle))
			n += atol(sp + 1);
	}
	fclose(f);
	return n;
}

/* count of samples on collapsed lines containing both a and b */
static long collapsed_count2(const char *path, const char *a, const char *b)
{
	char line[8192];
	long n = 0;
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, a) && strstr(line, b))
			n += atol(strrchr(line, ' ') + 1);
	fclose(f);
	return n;
}

Test(record, all_formats_from_a_live_process, .timeout = 120)
{
	pid_t p = start_hot(python_for(11, true), 30);
	char cmd[1024], needle[128];
	long total, leaf;
	double cpu0, cpu;

	snprintf(cmd, sizeof(cmd), "%s record -d 3 --pid %d -o /tmp/pyhound-rec.collapsed", bin(),
		 (int)p);
	cpu0 = cpu_seconds(p);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cpu = cpu_seconds(p) - cpu0; /* includes pyhound's start-up and exit: an upper bound */
	cr_expect(strstr(out, "wrote "), "%s", out);
	snprintf(needle, sizeof(needle), "python3.11 (%d);main thread %d;", (int)p, (int)p);
	total = collapsed_count("/tmp/pyhound-rec.collapsed", needle);
	leaf = collapsed_count("/tmp/pyhound-rec.collapsed", ";hot_outer (");
	/* one sample per 1/99 s on CPU: the count follows the CPU time the process got */
	cr_expect_gt(total, 50, "samples: %ld", total);
	cr_expect_leq(total, cpu * 99 * 1.1 + 5, "samples %ld for %.2f s of CPU", total, cpu);
	cr_expect_geq(total, (cpu - 0.5) * 99 * 0.85, "samples %ld for %.2f s of CPU", total, cpu);
	cr_expect_geq(leaf, total * 95 / 100, "hot_outer in %ld of %ld samples", leaf, total);
	cr_expect_gt(collapsed_count("/tmp/pyhound-rec.collapsed",
				     ";<module> (" ), 0);
	cr_expect_gt(collapsed_count("/tmp/pyhound-rec.collapsed", "hot_loop.py:11)"), 0,
		     "the line being executed in hot_leaf is named");

	snprintf(cmd, sizeof(cmd), "%s record -d 2 --pid %d -o /tmp/pyhound-rec.svg && "
		 "xmllint --noout /tmp/pyhound-rec.svg && grep -c hot_leaf /tmp/pyhound-rec.svg",
		 bin(), (int)p);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "svg: %s", out);
	snprintf(cmd, sizeof(cmd), "%s record -d 2 --pid %d -o /tmp/pyhound-rec.pb.gz && "
		 "go tool pprof -top /tmp/pyhound-rec.pb.gz", bin(), (int)p);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "pprof: %s", out);
	cr_expect(strstr(out, "hot_leaf"), "pprof -top: %s", out);
	snprintf(cmd, sizeof(cmd), "%s record -d 2 --pid %d -o /tmp/pyhound-rec.json && "
		 "/usr/bin/python3.11 -c \"import json; d=json.load(open('/tmp/pyhound-rec.json')); "
		 "n=[f['name'] for f in d['shared']['frames']]; assert 'hot_leaf' in n, n; "
		 "assert sum(d['profiles'][0]['weights']) > 20\"", bin(), (int)p);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "speedscope: %s", out);
	reap(p);
}

/* record --opcodes: each sample running Python ends in an [op:NAME] pseudo-frame. A line that is
 * all membership test (patterns.py, marked "# FINDING linear-membership") sits on CONTAINS_OP
 * (3.8: COMPARE_OP in) in >= 80% of its samples; every format carries the pseudo-frame. */
Test(record, opcode_leaf_frames_in_every_format, .timeout = 120)
{
	const int minors[2] = { 8, 12 };
	const char *ops[2] = { "[op:COMPARE_OP in] ", "[op:CONTAINS_OP] " };
	char cmd[2048], line[512], needle[256];
	pid_t p[2];
	int mline = 0, n = 0;
	FILE *f = fopen(workload("patterns.py"), "r");

	cr_assert(f);
	while (fgets(line, sizeof(line), f))
		if (++n && strstr(line, "# FINDING linear-membership"))
			mline = n;
	fclose(f);
	cr_assert_gt(mline, 0);
	for (int i = 0; i < 2; i++) {
		p[i] = fork();
		if (!p[i]) {
			execl(python_for(minors[i], false), "python3", workload("patterns.py"),
			      "membership", "bad", "60", NULL);
			_exit(127);
		}
	}
	usleep(500 * 1000);
	snprintf(cmd, sizeof(cmd), "%s record -d 3 -F 499 --opcodes --pid %d,%d -o "
		 "/tmp/pyhound-op.collapsed", bin(), (int)p[0], (int)p[1]);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	for (int i = 0; i < 2; i++) {
		const char *col = "/tmp/pyhound-op.collapsed";
		char proc[32];
		long on_line, on_op, py, with_op;

		snprintf(proc, sizeof(proc), "(%d);", (int)p[i]);
		py = collapsed_count(col, proc);
		with_op = collapsed_count2(col, proc, ";[op:");
		snprintf(needle, sizeof(needle), "patterns.py:%d);[op:", mline);
		on_line = collapsed_count2(col, proc, needle);
		snprintf(needle, sizeof(needle), "patterns.py:%d);%s", mline, ops[i]);
		on_op = collapsed_count2(col, proc, needle);
		/* every sample but those in a syscall (sorted() holds none) ends in [op:...] */
		cr_expect_gt(py, 50, "3.%d: %ld samples", minors[i], py);
		cr_expect_geq(with_op, py * 95 / 100, "3.%d: %ld of %ld with [op:]", minors[i],
			      with_op, py);
		cr_expect_gt(on_line, py / 4, "3.%d: %ld of %ld on line %d", minors[i], on_line, py,
			     mline);
		cr_expect_geq(on_op, on_line * 8 / 10, "3.%d: line %d: %ld of %ld samples on %s",
			      minors[i], mline, on_op, on_line, ops[i]);
	}
	/* one [op:...] pseudo-frame per stack, always the leaf */
	snprintf(cmd, sizeof(cmd), "! grep -E '\\[op:[^]]*\\];' /tmp/pyhound-op.collapsed");
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "[op:] not a leaf: %s", out);
	snprintf(cmd, sizeof(cmd), "%s record -d 1 --opcodes --pid %d -o /tmp/pyhound-op.svg && "
		 "xmllint --noout /tmp/pyhound-op.svg && grep -c '\\[op:CONTAINS_OP\\]' "
		 "/tmp/pyhound-op.svg", bin(), (int)p[1]);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "svg: %s", out);
	snprintf(cmd, sizeof(cmd), "%s record -d 1 --opcodes --pid %d -o /tmp/pyhound-op.pb.gz && "
		 "go tool pprof -top /tmp/pyhound-op.pb.gz", bin(), (int)p[1]);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "pprof: %s", out);
	cr_expect(strstr(out, "[op:CONTAINS_OP]"), "pprof -top: %s", out);
	snprintf(cmd, sizeof(cmd), "%s record -d 1 --opcodes --pid %d -o /tmp/pyhound-op.json && "
		 "/usr/bin/python3.11 -c \"import json; d=json.load(open('/tmp/pyhound-op.json')); "
		 "n=[f['name'] for f in d['shared']['frames']]; assert '[op:CONTAINS_OP]' in n, n\"",
		 bin(), (int)p[1]);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "speedscope: %s", out);
	reap(p[0]);
	reap(p[1]);
}

Test(record, bad_arguments)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s record -d 1", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	snprintf(cmd, sizeof(cmd), "%s record -d 1 -o /tmp/x.unknownext", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	snprintf(cmd, sizeof(cmd), "%s record -d 1 -o /tmp/x.svg --format gif", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	snprintf(cmd, sizeof(cmd), "%s record -d 1 -F 0 -o /tmp/x.svg", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	snprintf(cmd, sizeof(cmd), "%s record -d 1 -o /nonexistent-dir/x.svg", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "cannot write"), "%s", out);
}

/* One process starts during recording, another exits during it: both named. */
Test(record, processes_that_start_and_exit_during_recording, .timeout = 60)
{
	char cmd[1024], needle[64];
	pid_t early = start_hot(python_for(12, false), 2.0), late;
	pid_t rec;
	int st;

	rec = fork();
	if (!rec) {
		snprintf(cmd, sizeof(cmd), "exec %s record -d 5 -o /tmp/pyhound-rec2.collapsed "
			 "2>/tmp/pyhound-rec2.err", bin());
		execl("/bin/sh", "sh", "-c", cmd, NULL);
		_exit(127);
	}
	sleep(1);
	late = start_hot(python_for(11, true), 2.0);
	waitpid(rec, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	waitpid(early, NULL, 0);
	waitpid(late, NULL, 0);
	snprintf(needle, sizeof(needle), "(%d);", (int)early);
	cr_expect_gt(collapsed_count("/tmp/pyhound-rec2.collapsed", needle), 10,
		     "process that exited during recording");
	snprintf(needle, sizeof(needle), "(%d);", (int)late);
	cr_expect_gt(collapsed_count("/tmp/pyhound-rec2.collapsed", needle), 10,
		     "process that started during recording");
	cr_expect_gt(collapsed_count("/tmp/pyhound-rec2.collapsed", ";hot_leaf ("), 20);
}

Test(report, hot_paths_section, .timeout = 60)
{
	pid_t p = start_hot(python_for(10, false), 30);
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s report -d 3 --pid %d", bin(), (int)p);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "Hot paths ("), "%s", out);
	cr_expect(strstr(out, "hot_leaf"), "%s", out);
	/* the hot line (the loop, 10 or 11) with the definition's line */
	cr_expect(strstr(out, "hot_loop.py:10 (def 8)") || strstr(out, "hot_loop.py:11 (def 8)"),
		  "file:hot line of hot_leaf: %s", out);
	cr_expect(strstr(out, "Top stacks"), "%s", out);
	cr_expect(strstr(out, "<module>:21 > hot_outer:18 > hot_leaf:"), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s report -d 2 --pid %d --json | /usr/bin/python3.11 -c "
		 "\"import json,sys; r=json.load(sys.stdin); p=r['processes'][0]; "
		 "h=p['hot_functions'][0]; assert h['name']=='hot_leaf', h; "
		 "assert h['self'] > 0.9*p['samples'], (h, p['samples'])\"", bin(), (int)p);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	reap(p);
}

Test(top, plain_text_when_not_a_terminal, .timeout = 60)
{
	pid_t p = start_hot(python_for(13, false), 30);
	char cmd[512], pidcol[32];

	snprintf(cmd, sizeof(cmd), "%s top -d 2.5 --pid %d < /dev/null", bin(), (int)p);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect_null(strstr(out, "\033["), "escape codes when not on a terminal");
	cr_expect(strstr(out, "pyhound top - 1 CPython process, "), "%s", out);
	snprintf(pidcol, sizeof(pidcol), "%8d python3.13", (int)p);
	cr_expect(strstr(out, pidcol), "%s", out);
	cr_expect(strstr(out, "hot_leaf (hot_loop.py:8)"), "%s", out);
	reap(p);
}

Test(top, keys_on_a_terminal, .timeout = 60)
{
	pid_t p = start_hot(python_for(9, false), 30);
	char cmd[512];

	run_cmd("tmux kill-session -t pyhound-top", out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "tmux new-session -d -s pyhound-top -x 120 -y 30 "
		 "'%s top --pid %d'", bin(), (int)p);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	sleep(3);
	run_cmd("tmux capture-pane -p -t pyhound-top", out, sizeof(out));
	cr_expect(strstr(out, "functions by self"), "%s", out);
	cr_expect(strstr(out, "hot_leaf"), "%s", out);
	run_cmd("tmux send-keys -t pyhound-top t", out, sizeof(out));
	sleep(1);
	run_cmd("tmux capture-pane -p -t pyhound-top", out, sizeof(out));
	cr_expect(strstr(out, "functions by total"), "after 't': %s", out);
	run_cmd("tmux send-keys -t pyhound-top f", out, sizeof(out));
	sleep(1);
	run_cmd("tmux capture-pane -p -t pyhound-top", out, sizeof(out));
	cr_expect(strstr(out, "(focused"), "after 'f': %s", out);
	run_cmd("tmux send-keys -t pyhound-top q", out, sizeof(out));
	sleep(1);
	cr_expect_neq(run_cmd("tmux has-session -t pyhound-top", out, sizeof(out)), 0,
		      "'q' did not quit");
	run_cmd("tmux kill-session -t pyhound-top", out, sizeof(out));
	reap(p);
}
