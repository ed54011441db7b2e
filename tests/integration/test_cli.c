// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pyhound binary end to end: its output on real workloads, and its errors. */
#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"
#include "host/elf.h"

static char out[1 << 20];
static char out2[1 << 16];

/* shell: wait (up to 10 s) until pyhound says on stderr that it is attached */
#define WAIT_READY(errfile)                                                                    \
	"i=0; until grep -q watching " errfile " 2>/dev/null || [ $i -ge 500 ]; do sleep 0.02; "     \
	"i=$((i+1)); done; "

/* Check a JSON report with Python: the checker script prints what failed. */
static int check_json(const char *file, const char *expr)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3.11 -c 'import json,sys; r=json.load(open(\"%s\")); "
		 "ok=(%s); print(\"ok\" if ok else \"FAILED\"); sys.exit(0 if ok else 1)'",
		 file, expr);
	return run_cmd(cmd, out, sizeof(out));
}

Test(cli, help_and_version)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s --help", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0);
	cr_assert(strstr(out, "report") && strstr(out, "list"), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s --version", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0);
	cr_assert(!strncmp(out, "pyhound ", 8), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s report --help", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0);
	cr_assert(strstr(out, "--duration"), "%s", out);
	/* finding kinds, thresholds and the evidence rule; what the location column is */
	cr_expect(strstr(out, "tiny-writes, tiny-reads  >= 1000 calls"), "%s", out);
	cr_expect(strstr(out, "gc-time                  collections took more than 2% of wall"),
		  "%s", out);
	cr_expect(strstr(out, "gc-long-pause            a gen-2 collection"), "%s", out);
	cr_expect(strstr(out, "memory-growth            resident memory grew by >= 32 MiB"), "%s",
		  out);
	cr_expect(strstr(out, "GC findings need the process observed >= 2 s and >= 3 collections"),
		  "%s", out);
	cr_expect(strstr(out, "FILE:HOT_LINE is the function's line with most samples"), "%s",
		  out);
	/* the code findings and the opcode view */
	cr_expect(strstr(out, "linear-membership  70% of a line's samples"), "%s", out);
	cr_expect(strstr(out, "deep-recursion     a function calling itself"), "%s", out);
	cr_expect(strstr(out, "--opcodes"), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s calls --help", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0);
	cr_expect(strstr(out, "No latency ('-') for calls seen through USDT"), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s list --help", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0);
	cr_assert(strstr(out, "--json"), "%s", out);
}

Test(cli, bad_flags_are_usage_errors)
{
	static const char *const bad[] = { "report --duration abc", "report --duration -1",
					   "report --pid 0", "report --pid x", "report --nope",
					   "list --nope", "frobnicate", "report --max-stats 1" };
	char cmd[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s", bin(), bad[i]);
		cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "'%s' should exit 2: %s", bad[i], out);
		cr_expect(strstr(out, "pyhound: error:"), "'%s': %s", bad[i], out);
	}
}

Test(cli, not_root_is_one_clear_line)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all %s report -d 1",
		 bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "must run as root"), "%s", out);
	cr_assert(strstr(out, "CAP_BPF"), "%s", out);
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "more than one line: %s", out);
}

Test(cli, no_btf_is_a_clear_error)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "PYHOUND_SYS_BTF=/nonexistent %s report -d 1", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_assert(strstr(out, "no BTF"), "%s", out);
}

Test(cli, pid_gone_or_not_python)
{
	char cmd[512];
	pid_t p = fork();

	if (!p) {
		execl("/bin/sleep", "sleep", "30", NULL);
		_exit(1);
	}
	usleep(100000);
	snprintf(cmd, sizeof(cmd), "%s report -d 1 --pid %d", bin(), (int)p);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "is not running CPython"), "%s", out);
	cr_expect(strstr(out, "(sleep)"), "%s", out);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	snprintf(cmd, sizeof(cmd), "%s report -d 1 --pid %d", bin(), (int)p);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "does not exist"), "%s", out);
}

/* The main job: a report over a workload started 100 ms after pyhound, with the finding. */
Test(cli, report_json_and_text_on_a_live_workload, .timeout = 60)
{
	char cmd[1024];
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "rm -f /tmp/pyhound-report.err; %s report --duration 8 --json > /tmp/pyhound-report.json 2>/tmp/pyhound-report.err & "
		 "ph=$!; " WAIT_READY("/tmp/pyhound-report.err") "sleep 0.1; "
		 "/usr/bin/python3.11 %s --now > /dev/null; wait $ph",
		 bin(), workload("io_batching.py"));
	rc = run_cmd(cmd, out, sizeof(out));
	cr_assert_eq(rc, 0, "%s", out);
	rc = check_json("/tmp/pyhound-report.json",
			"any(p[\"cmdline\"].endswith(\"io_batching.py --now\") and p[\"exited\"] "
			"and any(i[\"syscall\"]==\"write\" and i[\"fd_kind\"]==\"file\" and "
			"i[\"calls\"]==20000 and i[\"median_le_bytes\"]==16 for i in p[\"io\"]) and "
			"any(i[\"syscall\"]==\"sendto\" and i[\"fd_kind\"]==\"socket\" and "
			"i[\"calls\"]==5000 and i[\"bytes\"]==5120000 for i in p[\"io\"]) and "
			"any(f[\"kind\"]==\"tiny-writes\" and f[\"calls\"]==20000 for f in "
			"p[\"findings\"]) and not any(f.get(\"syscall\")==\"sendto\" for f in "
			"p[\"findings\"]) for p in r[\"processes\"])");
	cr_assert_eq(rc, 0, "JSON report check: %s", out);

	snprintf(cmd, sizeof(cmd),
		 "rm -f /tmp/pyhound-report.err; %s report --duration 8 > /tmp/pyhound-report.txt 2>/tmp/pyhound-report.err & ph=$!; "
		 WAIT_READY("/tmp/pyhound-report.err") "sleep 0.1; "
		 "/usr/bin/python3.11 %s --now > /dev/null; wait $ph; cat /tmp/pyhound-report.txt",
		 bin(), workload("io_batching.py"));
	rc = run_cmd(cmd, out, sizeof(out));
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "Syscalls by time"), "%s", out);
	cr_assert(strstr(out, "I/O batching"), "%s", out);
	cr_assert(strstr(out, "unbatched writes: 20000 write calls on file fds moved a median of "
			      "16 B each"), "%s", out);
}

Test(cli, ctrl_c_prints_what_was_gathered, .timeout = 60)
{
	char cmd[1024];
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "rm -f /tmp/pyhound-int.err; %s report --duration 60 --json > /tmp/pyhound-int.json 2>/tmp/pyhound-int.err & ph=$!; "
		 WAIT_READY("/tmp/pyhound-int.err")
		 "/usr/bin/python3.11 %s --now > /dev/null; sleep 0.3; kill -INT $ph; wait $ph",
		 bin(), workload("io_batching.py"));
	rc = run_cmd(cmd, out, sizeof(out));
	cr_assert_eq(rc, 0, "%s", out);
	rc = check_json("/tmp/pyhound-int.json",
			"r[\"interrupted\"] and r[\"duration_s\"] < 30 and any(i[\"calls\"]==20000 "
			"for p in r[\"processes\"] for i in p[\"io\"])");
	cr_assert_eq(rc, 0, "interrupted report: %s", out);
}

/* versions, builds and how each process's calls would be counted */
Test(cli, list_shows_versions_and_builds, .timeout = 60)
{
	struct test_python py[16];
	struct child c[16];
	char missing[256], cmd[512], line[256];
	int n = test_pythons(py, 16, missing, sizeof(missing)), i;

	cr_assert_str_empty(missing, "interpreters missing:%s", missing);
	for (i = 0; i < n; i++) {
		char *argv[] = { py[i].path, "-c", "import sys; sys.stdin.readline()", NULL };

		cr_assert_eq(child_start(&c[i], argv), 0);
	}
	usleep(500000);
	snprintf(cmd, sizeof(cmd), "%s list", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	for (i = 0; i < n; i++) {
		char *l;

		snprintf(line, sizeof(line), "\n%-8d 3.%d.", (int)c[i].pid, py[i].minor);
		l = strstr(out, line);
		cr_expect(l, "%s (PID %d) not listed as 3.%d: %s", py[i].label, (int)c[i].pid,
			  py[i].minor, out);
		if (l) {
			const char *calls = py[i].minor <= 10 ? "uprobe:eval-entry+RETURN_VALUE" :
								"uprobe:RESUME+RETURN";

			cr_expect(!strncmp(l + 1 + 8 + 1 + 9,
					   py[i].debian ? "static,stripped,usdt " : "shared,symbols ",
					   py[i].debian ? 21 : 15), "%s build column wrong: %.80s",
				  py[i].label, l + 1);
			/* the call source, its probe sites proved as `calls` would */
			cr_expect(!strncmp(l + 1 + 8 + 1 + 9 + 23, calls, strlen(calls)),
				  "%s calls column not %s: %.100s", py[i].label, calls, l + 1);
		}
	}
	snprintf(cmd, sizeof(cmd), "%s list --json > /tmp/pyhound-list.json", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	snprintf(cmd, sizeof(cmd), "len([p for p in r[\"processes\"] if p[\"pid\"] in (%d",
		 (int)c[0].pid);
	for (i = 1; i < n; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), ",%d", (int)c[i].pid);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), ")]) == %d", n);
	cr_expect_eq(check_json("/tmp/pyhound-list.json", cmd), 0, "%s", out);
	for (i = 0; i < n; i++)
		child_wait(&c[i], NULL, 0);
}

/* A bad value is one error line in the flag's unit, then the hint; a missing value is named. */
Test(cli, bad_values_are_one_line_in_the_flags_unit)
{
	static const struct {
		const char *args, *want;
	} cases[] = {
		{ "report --duration abc",
		  "pyhound: error: invalid --duration 'abc' (expected seconds from 0.1 to 86400)\n"
		  "Try 'pyhound report --help'.\n" },
		{ "calls --budget 0",
		  "pyhound: error: invalid --budget '0' (expected a percentage from 0.001 to 100)\n"
		  "Try 'pyhound calls --help'.\n" },
		{ "report --frequency",
		  "pyhound: error: option '--frequency' needs a value\nTry 'pyhound report --help'.\n" },
		{ "record -o x.svg -F", "pyhound: error: option '-F' needs a value\n"
					"Try 'pyhound record --help'.\n" },
		{ "top --pid 0", "pyhound: error: invalid PID '0' (expected an integer from 1 to "
				 "4194304)\nTry 'pyhound top --help'.\n" },
		{ "--nope", "pyhound: error: unknown option '--nope'\nTry 'pyhound --help'.\n" },
		{ "frobnicate", "pyhound: error: unknown command 'frobnicate'\nTry 'pyhound --help'.\n" },
	};
	char cmd[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s", bin(), cases[i].args);
		cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "'%s' should exit 2: %s",
			     cases[i].args, out);
		cr_expect_str_eq(out, cases[i].want, "'%s'", cases[i].args);
	}
}

/* A --pid list longer than any fixed buffer is read whole: the bad last entry is the one named. */
Test(cli, long_pid_list_is_not_truncated)
{
	char cmd[1024];
	int i;

	snprintf(cmd, sizeof(cmd), "%s report --pid ", bin());
	for (i = 0; i < 30; i++) /* 30 x 15 characters: "1" with leading zeros */
		strcat(cmd, "00000000000001,");
	strcat(cmd, "12345x");
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	cr_assert(strstr(out, "invalid PID '12345x'"), "%s", out);
}

/* An exited, unreaped Python process has exited: it is not "not running CPython". */
Test(cli, zombie_python_has_exited, .timeout = 60)
{
	char cmd[512];
	pid_t p = fork();
	int i;

	if (!p) {
		execl("/usr/bin/python3.11", "python3.11", "-c", "pass", NULL);
		_exit(1);
	}

	for (i = 0; i < 1000; i++) { /* until it is a zombie (not reaped: no waitpid yet) */
		char f[64], st[256] = "";
		FILE *sf;

		snprintf(f, sizeof(f), "/proc/%d/stat", (int)p);
		sf = fopen(f, "r");
		if (sf) {
			if (!fgets(st, sizeof(st), sf))
				st[0] = '\0';
			fclose(sf);
		}
		if (strstr(st, ") Z "))
			break;
		usleep(20000);
	}
	snprintf(cmd, sizeof(cmd), "%s report -d 1 --pid %d", bin(), (int)p);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "has exited"), "%s", out);
	cr_expect(!strstr(out, "not running CPython"), "%s", out);
	waitpid(p, NULL, 0);
}

/* serve --listen 127.0.0.1:0 says which port it bound, as information, not a warning; the port
 * answers. */
Test(cli, serve_prints_the_bound_port_as_information, .timeout = 60)
{
	char cmd[512], *l;
	pid_t sh;
	int port = 0;

	snprintf(cmd, sizeof(cmd), "exec %s serve --listen 127.0.0.1:0 2>/tmp/pyhound-port0.err",
		 bin());
	unlink("/tmp/pyhound-port0.err");
	sh = start_until_ready(cmd, "/tmp/pyhound-port0.err", "serving on", 30, out, sizeof(out));
	cr_assert(sh > 0, "serve did not start: %s", out);
	l = strstr(out, "pyhound: serving on http://127.0.0.1:");
	cr_expect(l, "%s", out);
	if (l)
		port = atoi(l + strlen("pyhound: serving on http://127.0.0.1:"));
	cr_expect(port > 0 && port < 65536, "no bound port: %s", out);
	/* only the normal events: other processes on the host may warrant real warnings */
	cr_expect(!strstr(out, "warning: serving"), "normal events logged as warnings: %s", out);
	snprintf(cmd, sizeof(cmd), "curl -sf --max-time 20 http://127.0.0.1:%d/healthz", port);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "port %d does not answer: %s", port, out);
	kill(sh, SIGTERM);
	cr_expect_eq(wait_exit(sh, 20), 0);
	cr_assert_eq(run_cmd("cat /tmp/pyhound-port0.err", out, sizeof(out)), 0);
	cr_expect(strstr(out, "pyhound: stopping\n"), "%s", out);
	cr_expect(!strstr(out, "warning: stopping"), "%s", out);
}

/* The uretprobe syscalls of pyhound's own GC return probes (pyenv 3.12: uprobe source) are
 * probe cost: shown apart, in no syscall total; an idle process is said to be idle. */
Test(cli, probe_syscalls_apart_and_idle_said, .timeout = 120)
{
	const char *py = python_for(12, false);
	char *gcw[] = { (char *)py, "-c",
			"import gc, sys, time\n"
			"class N:\n"
			"    def __init__(s): s.o = s\n"
			"sys.stdin.readline()\n"
			"for i in range(200):\n"
			"    [N() for _ in range(200)]; gc.collect(0); time.sleep(0.002)\n",
			NULL };
	char *idle[] = { "/usr/bin/python3.11", "-c", "import sys; sys.stdin.readline()", NULL };
	struct child g, s;
	char cmd[1024];
	int rc;

	cr_assert_eq(child_start(&g, gcw), 0);
	cr_assert_eq(child_start(&s, idle), 0);
	sleep(1); /* the idle one past its start-up, blocked on stdin */
	/* "go" to the GC workload once pyhound is attached */
	snprintf(cmd, sizeof(cmd),
		 "rm -f /tmp/pyhound-probe.err; exec %s report -d 8 --pid %d,%d --json "
		 "> /tmp/pyhound-probe.json 2>/tmp/pyhound-probe.err",
		 bin(), (int)g.pid, (int)s.pid);
	{
		pid_t ph = start_until_ready(cmd, "/tmp/pyhound-probe.err", "watching", 60, out,
					     sizeof(out));

		cr_assert(ph > 0, "pyhound report did not start: %s", out);
		cr_assert_eq(child_go(&g), 0);
		cr_assert_eq(wait_exit(ph, 60), 0);
	}
	snprintf(cmd, sizeof(cmd),
		 "[(p[\"probe_syscalls\"][\"count\"] >= sum(p[\"gc\"][\"collections\"]) >= 200 "
		 "and p[\"probe_syscalls\"][\"count\"] <= 2 * sum(p[\"gc\"][\"collections\"]) + 5 "
		 "and p[\"gc\"][\"source\"] == \"uprobe\" "
		 "and not any(x[\"name\"] == \"uretprobe\" for x in p[\"syscalls\"]) "
		 "and p[\"syscall_ns\"] == sum(x[\"total_ns\"] for x in p[\"syscalls\"])) "
		 "for p in r[\"processes\"] if p[\"pid\"] == %d] == [True] and "
		 "[p.get(\"no_samples_reason\") for p in r[\"processes\"] if p[\"pid\"] == %d] == "
		 "[\"idle\"]", (int)g.pid, (int)s.pid);
	rc = check_json("/tmp/pyhound-probe.json", cmd);
	if (rc)
		run_cmd("cat /tmp/pyhound-probe.json", out, sizeof(out));
	cr_expect_eq(rc, 0, "probe syscalls / idle: %s", out);
	child_wait(&g, NULL, 0);
	child_go(&s);
	child_wait(&s, NULL, 0);
}

/* Debian sid's 3.14/3.15, release (static, stripped, USDT) and -dbg (symbols), run chrooted:
 * listed with their version and build, and not unsupported (their own _Py_DebugOffsets read
 * and checked, autoTSSkey / _Py_tss_gilstate found). */
Test(cli, list_sid_versions_and_builds, .timeout = 60)
{
	struct test_python py[8];
	struct child c[8];
	char missing[1024], cmd[512], line[256], want[64], ver[16];
	int n = test_sid_pythons(py, 8, missing, sizeof(missing)), i;

	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	cr_assert_eq(n, 4);
	for (i = 0; i < n; i++) {
		char *args[] = { "-c", "import sys; print(sys.version.split()[0], flush=True); "
				       "sys.stdin.readline()", NULL };
		char *argv[8];

		python_argv(&py[i], argv, args);
		cr_assert_eq(child_start(&c[i], argv), 0);
	}
	usleep(800000);
	snprintf(cmd, sizeof(cmd), "%s list", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	for (i = 0; i < n; i++) {
		ssize_t k = read(c[i].out_fd, ver, sizeof(ver) - 1);
		char *l;

		ver[k > 0 ? k : 0] = '\0';
		ver[strcspn(ver, "\n")] = '\0';
		cr_expect(!strncmp(ver, py[i].minor == 14 ? "3.14." : "3.15.", 5), "%s says %s",
			  py[i].label, ver);
		/* the PID pyhound shows is the host's; the version the interpreter's own */
		snprintf(line, sizeof(line), "\n%-8d %-8s ", (int)c[i].pid, ver);
		l = strstr(out, line);
		cr_expect(l, "%s (PID %d) not listed as %s: %s", py[i].label, (int)c[i].pid, ver,
			  out);
		if (!l)
			continue;
		snprintf(want, sizeof(want), "%-22s ",
			 py[i].debug ? "static,symbols,usdt" : "static,stripped,usdt");
		cr_expect(!strncmp(l + 1 + 8 + 1 + 9, want, strlen(want)),
			  "%s build column not %s: %.100s", py[i].label, want, l + 1);
		cr_expect(strstr(l + 1, py[i].path) && strstr(l + 1, "sys.stdin.readline()"),
			  "%s command line: %.160s", py[i].label, l + 1);
	}
	for (i = 0; i < n; i++)
		child_wait(&c[i], NULL, 0);
}

/* A 3.15 in its own PID namespace, chrooted into the sid root (a container): pyhound lists and
 * samples it under its host PID, with the container's command line. (unshare runs before the
 * chroot so that --mount-proc can make its mount namespace private.) */
Test(cli, sid_315_in_pid_namespace, .timeout = 90)
{
	static const char code[] = "import os, time\n"
				   "def ns_spin():\n"
				   "    end = time.monotonic() + 60\n"
				   "    while time.monotonic() < end: pass\n"
				   "print(os.getpid(), flush=True)\n"
				   "ns_spin()\n";
	char proc_mnt[PATH_MAX + 16], cmd[512], line[128], nspid[32] = "";
	char *argv[] = { "/usr/bin/unshare", "--pid", "--fork", proc_mnt, "/usr/sbin/chroot",
			 (char *)sid_root(), "/usr/bin/python3.15", "-c", (char *)code, NULL };
	struct child c;
	pid_t host;
	ssize_t k;
	FILE *f;
	long on_pid = 0, spin = 0, other_pid = 0;

	snprintf(proc_mnt, sizeof(proc_mnt), "--mount-proc=%s/proc", sid_root());
	snprintf(line, sizeof(line), "%s/usr/bin/python3.15", sid_root());
	cr_assert_eq(access(line, X_OK), 0, "%s missing (make sid-root)", line);
	cr_assert_eq(child_start(&c, argv), 0);
	k = read(c.out_fd, nspid, sizeof(nspid) - 1);
	nspid[k > 0 ? k : 0] = '\0';
	cr_assert_eq(atoi(nspid), 1, "not PID 1 in its namespace: '%s'", nspid);
	host = only_child_of(c.pid);
	cr_assert_gt(host, 1, "no process under unshare %d", (int)c.pid);

	snprintf(cmd, sizeof(cmd), "%s list", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	snprintf(line, sizeof(line), "\n%-8d 3.15.", (int)host);
	{
		char *l = strstr(out, line);

		cr_expect(l, "host PID %d not listed as 3.15: %s", (int)host, out);
		if (l)
			cr_expect(strstr(l + 1, "/usr/bin/python3.15 -c import os, time def ns_spin():"),
				  "container command line: %.200s", l + 1);
	}

	snprintf(cmd, sizeof(cmd), "%s record --pid %d -F 499 -d 2 -o /tmp/pyhound-ns.collapsed",
		 bin(), (int)host);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	f = fopen("/tmp/pyhound-ns.collapsed", "r");
	cr_assert_not_null(f);
	snprintf(line, sizeof(line), "python3.15 (%d);", (int)host);
	while (fgets(out, sizeof(out), f)) {
		const char *sp = strrchr(out, ' ');
		long w = sp ? atol(sp + 1) : 0;

		if (!strncmp(out, line, strlen(line))) {
			on_pid += w;
			if (strstr(out, ";<module> (<string>:6);ns_spin (<string>:4)"))
				spin += w;
		} else {
			other_pid += w;
		}
	}
	fclose(f);
	fprintf(stderr, "pid namespace: host PID %d, %ld samples, %ld in ns_spin:4, %ld elsewhere\n",
		(int)host, on_pid, spin, other_pid);
	cr_expect_gt(on_pid, 100, "%ld samples under host PID %d in 2 s at 499 Hz", on_pid,
		     (int)host);
	cr_expect_gt(spin * 10, on_pid * 9, "only %ld of %ld samples in ns_spin:4", spin, on_pid);
	cr_expect_eq(other_pid, 0, "samples under another PID (the namespace's?)");
	/* the heap census of the container's interpreter, by its host PID */
	snprintf(cmd, sizeof(cmd), "%s heap --pid %d --top 3", bin(), (int)host);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "heap: %s", out);
	cr_expect(strstr(out, "CPython 3.15") && strstr(out, "skipped: 0 objects"), "heap: %s",
		  out);
	kill(host, SIGKILL);
	child_wait(&c, NULL, 0);
}

/* A copy of sid's python3.15 whose _Py_DebugOffsets table is patched (file offset of
 * .PyRuntime + off, 8 bytes of val), in the sid root; returns its path inside the root. */
static const char *patched_python(const char *name, size_t off, uint64_t val)
{
	static char inside[8][128];
	static int k;
	char src[PATH_MAX + 32], dst[PATH_MAX + 160], cmd[3 * PATH_MAX];
	char *in = inside[k++ % 8];
	struct elf_file *ef;
	uint64_t addr, foff;
	FILE *f;

	snprintf(src, sizeof(src), "%s/usr/bin/python3.15", sid_root());
	snprintf(in, 128, "/tmp/pyhound-%s-python3.15", name);
	snprintf(dst, sizeof(dst), "%s%s", sid_root(), in);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	ef = elf_open(dst);
	cr_assert_not_null(ef, "%s", dst);
	cr_assert_eq(elf_section_addr(ef, ".PyRuntime", &addr), 0);
	cr_assert_eq(elf_vaddr_to_offset(ef, addr, &foff), 0);
	elf_close(ef);
	f = fopen(dst, "r+b");
	cr_assert_not_null(f);
	cr_assert_eq(fseek(f, (long)(foff + off), SEEK_SET), 0);
	cr_assert_eq(fwrite(&val, 8, 1, f), 1);
	fclose(f);
	return in;
}

/* Bad input: a 3.15 whose debug-offsets table has a wrong cookie, one that says free-threaded,
 * one with an offset past its struct. Each is listed as unsupported with one line of reason
 * (and `record --pid` names it); a good 3.15 beside them is still supported. */
Test(cli, sid_bad_debug_tables_refused, .timeout = 90)
{
	static const struct {
		const char *name, *reason;
		size_t off;
		uint64_t val;
	} bad[] = {
		{ "badcookie", "does not start with the _Py_DebugOffsets cookie", 0,
		  0x7970677562656479ull /* "ydebugpy" */ },
		{ "freethreaded", "free-threaded build: not supported yet", 16, 1 },
		/* thread_state.current_frame (3.15 layout: table offset 208) far past the struct */
		{ "pastsize", "thread_state.current_frame is 100000, past its struct", 208, 100000 },
	};
	char *args[] = { "-c", "import sys; print('up', flush=True); sys.stdin.readline()", NULL };
	struct test_python good[4];
	struct child c[4];
	char missing[1024], cmd[512], line[64], buf[16];
	int n = test_sid_pythons(good, 4, missing, sizeof(missing)), i;

	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	for (i = 0; i < 4; i++) {
		struct test_python py = good[n - 1]; /* sid-3.15d's fields; path replaced */
		char *argv[8];

		if (i < 3)
			snprintf(py.path, sizeof(py.path), "%s",
				 patched_python(bad[i].name, bad[i].off, bad[i].val));
		else
			snprintf(py.path, sizeof(py.path), "/usr/bin/python3.15");
		python_argv(&py, argv, args);
		cr_assert_eq(child_start(&c[i], argv), 0);
		cr_assert_gt(read(c[i].out_fd, buf, sizeof(buf)), 0, "%s did not start", py.path);
	}
	snprintf(cmd, sizeof(cmd), "%s list", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	for (i = 0; i < 4; i++) {
		char *l, *nl;

		snprintf(line, sizeof(line), "\n%-8d 3.15.", (int)c[i].pid);
		l = strstr(out, line);
		cr_expect(l, "PID %d not listed: %s", (int)c[i].pid, out);
		if (!l)
			continue;
		nl = strchr(l + 1, '\n');
		if (i < 3) {
			cr_expect(nl && strstr(l, ",unsupported ") && strstr(l, ",unsupported ") < nl,
				  "%s not marked unsupported: %.200s", bad[i].name, l + 1);
			cr_expect(nl && !strncmp(nl + 1, "         unsupported: ", 22) &&
					  strstr(nl, bad[i].reason),
				  "%s: reason line: %.300s", bad[i].name, nl ? nl + 1 : "");
		} else {
			cr_expect(nl && !strstr(l, "unsupported") , "good 3.15: %.200s", l + 1);
		}
	}
	snprintf(cmd, sizeof(cmd), "%s record -d 1 --pid %d -o /tmp/pyhound-bad.collapsed -v",
		 bin(), (int)c[1].pid);
	run_cmd(cmd, out, sizeof(out));
	cr_expect(strstr(out, "stacks not walked: free-threaded build: not supported yet"),
		  "record: %s", out);
	for (i = 0; i < 4; i++)
		child_wait(&c[i], NULL, 0);
	for (i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "%s/tmp/pyhound-%s-python3.15", sid_root(), bad[i].name);
		unlink(cmd);
	}
}

/* A copy of src at dst with neither a _PyRuntime symbol nor a .PyRuntime section: objcopy renames
 * the section (its bytes stay where the code expects them), and the dynamic symbol's name in
 * .dynstr becomes _PyRuntimX (objcopy cannot remove a dynamic symbol). */
static void strip_runtime(const char *src, const char *dst)
{
	char cmd[3 * PATH_MAX], name[16];
	Elf64_Ehdr eh;
	Elf64_Shdr sh, strsh;
	struct elf_file *ef;
	struct elf_sym sym;
	uint64_t addr;
	char *buf;
	int fd, found = 0;

	snprintf(cmd, sizeof(cmd), "objcopy --rename-section .PyRuntime=.data.pyrt '%s' '%s'", src,
		 dst);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	fd = open(dst, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	cr_assert_eq(pread(fd, &strsh, sizeof(strsh), eh.e_shoff + eh.e_shstrndx * sizeof(sh)),
		     sizeof(strsh));
	for (int i = 0; i < eh.e_shnum && !found; i++) {
		cr_assert_eq(pread(fd, &sh, sizeof(sh), eh.e_shoff + i * sizeof(sh)), sizeof(sh));
		if (pread(fd, name, sizeof(name), strsh.sh_offset + sh.sh_name) <= 0 ||
		    strncmp(name, ".dynstr", 8))
			continue;
		buf = malloc(sh.sh_size);
		cr_assert_not_null(buf);
		cr_assert_eq(pread(fd, buf, sh.sh_size, sh.sh_offset), (ssize_t)sh.sh_size);
		for (size_t k = 0; k + 12 <= sh.sh_size; k++)
			if (!memcmp(buf + k, "\0_PyRuntime\0", 12)) {
				cr_assert_eq(pwrite(fd, "X", 1, sh.sh_offset + k + 10), 1);
				found++;
			}
		free(buf);
	}
	close(fd);
	cr_assert_eq(found, 1, "%s: _PyRuntime in .dynstr %d times", dst, found);
	ef = elf_open(dst);
	cr_assert_not_null(ef);
	cr_assert_neq(elf_find_symbol(ef, "_PyRuntime", &sym), 0, "%s still has _PyRuntime", dst);
	cr_assert_neq(elf_section_addr(ef, ".PyRuntime", &addr), 0);
	elf_close(ef);
}

/* A stripped interpreter with neither a _PyRuntime symbol nor a .PyRuntime section (sid's 3.15,
 * chrooted, and Debian's 3.11): listed as CPython, unsupported, with the reason; heap and record
 * refuse it with that reason; nothing is read from it. */
Test(cli, stripped_without_runtime_listed, .timeout = 90)
{
	static const char reason[] = "neither a _PyRuntime symbol nor a .PyRuntime section";
	char *args[] = { "-c", "import sys; print('up', flush=True); sys.stdin.readline()", NULL };
	struct test_python sid[4], py;
	char missing[1024], cmd[2 * PATH_MAX], src[PATH_MAX + 32];
	char host311[] = "/tmp/pyhound-noruntime-3.11";
	const char *ver[2] = { "3.15.", "3.11." };
	struct child c[2];
	char *argv[8], buf[16], line[64];
	int n = test_sid_pythons(sid, 4, missing, sizeof(missing));

	cr_assert_str_empty(missing, "sid interpreters missing:%s", missing);
	py = sid[n - 1]; /* sid's root; the path replaced */
	snprintf(src, sizeof(src), "%s/usr/bin/python3.15", sid_root());
	snprintf(py.path, sizeof(py.path), "/tmp/pyhound-noruntime-python3.15");
	snprintf(cmd, sizeof(cmd), "%s%s", sid_root(), py.path);
	strip_runtime(src, cmd);
	strip_runtime("/usr/bin/python3.11", host311);
	python_argv(&py, argv, args);
	cr_assert_eq(child_start(&c[0], argv), 0);
	argv[0] = host311;
	argv[1] = args[0];
	argv[2] = args[1];
	argv[3] = NULL;
	cr_assert_eq(child_start(&c[1], argv), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_gt(read(c[i].out_fd, buf, sizeof(buf)), 0, "copy %d did not start", i);
	snprintf(cmd, sizeof(cmd), "%s list", bin());
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	for (int i = 0; i < 2; i++) {
		char *l, *nl;

		snprintf(line, sizeof(line), "\n%-8d %s", (int)c[i].pid, ver[i]);
		l = strstr(out, line);
		cr_expect(l, "PID %d not listed: %s", (int)c[i].pid, out);
		if (!l)
			continue;
		nl = strchr(l + 1, '\n');
		cr_expect(nl && strstr(l, "stripped") && strstr(l, ",unsupported ") &&
				  strstr(l, ",unsupported ") < nl, "not unsupported: %.200s", l + 1);
		cr_expect(nl && !strncmp(nl + 1, "         unsupported: ", 22) &&
				  strstr(nl, reason), "reason line: %.300s", nl ? nl + 1 : "");
		snprintf(cmd, sizeof(cmd), "%s heap --pid %d", bin(), (int)c[i].pid);
		cr_expect_eq(run_cmd(cmd, out2, sizeof(out2)), 1, "heap: %s", out2);
		cr_expect(strstr(out2, reason), "heap: %s", out2);
	}
	snprintf(cmd, sizeof(cmd), "%s record -d 1 --pid %d -o /tmp/pyhound-noruntime.collapsed -v",
		 bin(), (int)c[0].pid);
	run_cmd(cmd, out, sizeof(out));
	cr_expect(strstr(out, reason), "record: %s", out);
	for (int i = 0; i < 2; i++)
		child_wait(&c[i], NULL, 0);
	snprintf(cmd, sizeof(cmd), "%s%s", sid_root(), py.path);
	unlink(cmd);
	unlink(host311);
	unlink("/tmp/pyhound-noruntime.collapsed");
}

/* the right plural: one process is "1 CPython process" */
Test(cli, top_says_one_process, .timeout = 60)
{
	char *argv[] = { "/usr/bin/python3.11", "-c", "import sys; sys.stdin.readline()", NULL };
	struct child c;
	char cmd[512];

	cr_assert_eq(child_start(&c, argv), 0);
	usleep(300000);
	snprintf(cmd, sizeof(cmd), "%s top --pid %d -i 0.5 -d 1.2 < /dev/null", bin(), (int)c.pid);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "pyhound top - 1 CPython process, "), "%s", out);
	cr_expect(!strstr(out, "1 CPython processes"), "%s", out);
	child_go(&c);
	child_wait(&c, NULL, 0);
}
