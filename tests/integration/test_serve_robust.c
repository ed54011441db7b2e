// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound serve under hostile conditions (issue 15): concurrent profiles never block a scrape,
 * slow clients and bad-password floods do not lock a legitimate scraper out, a storm of
 * short-lived processes leaves memory and /metrics bounded, and a binary's GC probes go with
 * its last process. Bounds are generous: this runs on a loaded 2-core host. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

static char out[16 << 20];

/* what a test started, killed when it ends however it ends (an assertion leaves at once) */
static pid_t started[256];

static void track(pid_t pid)
{
	for (size_t i = 0; i < sizeof(started) / sizeof(started[0]); i++)
		if (!started[i]) {
			started[i] = pid;
			return;
		}
}

static void untrack(pid_t pid)
{
	for (size_t i = 0; i < sizeof(started) / sizeof(started[0]); i++)
		if (started[i] == pid)
			started[i] = 0;
}

static int scrape_max = 10;

static void cleanup(void)
{
	scrape_max = 10;
	for (size_t i = 0; i < sizeof(started) / sizeof(started[0]); i++)
		if (started[i] > 0) {
			kill(started[i], SIGKILL);
			waitpid(started[i], NULL, 0);
			started[i] = 0;
		}
}

TestSuite(serve_robust, .fini = cleanup);

static void serve_start(struct server *s, const char *conf)
{
	write_file("/tmp/pyhound-robust.conf", conf);
	serve_start_as(s, "pyhound-robust", "--config /tmp/pyhound-robust.conf", 20);
	track(s->pid);
}

/* SIGTERM; the seconds it took to exit 0 (fails past 10 s) */
static double serve_stop(struct server *s)
{
	double took = serve_stop_within(s, 10);

	untrack(s->pid);
	return took;
}

/* curl's -m (cleanup() sets it back to 10 after each test) */

/* curl: HTTP code (0: failed) and the seconds it took */
static int scrape(const struct server *s, const char *path, const char *opts, double *secs)
{
	char cmd[1024];
	double t0 = mono_seconds();
	int code;

	snprintf(cmd, sizeof(cmd), "curl -s -m %d -o /tmp/pyhound-robust.body -w '%%{http_code}' "
		 "%s 'http://127.0.0.1:%d%s'", scrape_max, opts ? opts : "", s->port, path);
	run_cmd(cmd, out, sizeof(out));
	code = atoi(out);
	if (secs)
		*secs = mono_seconds() - t0;
	return code;
}

static char *body(void)
{
	FILE *f = fopen("/tmp/pyhound-robust.body", "r");
	size_t n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;

	if (f)
		fclose(f);
	out[n] = '\0';
	return out;
}

/* 8 concurrent 6 s profiles with max_profiles = 4: 4 answered, 4 refused with 429 at once,
 * and /metrics answers meanwhile; SIGTERM with a profile pending answers it 503. */
Test(serve_robust, profiles_never_block_scrapes, .timeout = 90)
{
	struct server s;
	char cmd[1024];
	int i, ok = 0, busy = 0;
	double t, worst = 0;

	serve_start(&s, "max_profiles = 4\ncache_seconds = 0\n");
	snprintf(cmd, sizeof(cmd), "for i in 1 2 3 4 5 6 7 8; do curl -s -m 60 -o /dev/null -w "
		 "'%%{http_code}\\n' 'http://127.0.0.1:%d/profile?seconds=6' & done; wait", s.port);
	{
		FILE *p = popen(cmd, "r");
		char line[64];

		cr_assert_not_null(p);
		usleep(800 * 1000);
		for (i = 0; i < 6; i++) {
			cr_expect_eq(scrape(&s, "/metrics", NULL, &t), 200, "scrape %d", i);
			if (t > worst)
				worst = t;
			usleep(300 * 1000);
		}
		while (fgets(line, sizeof(line), p)) {
			ok += atoi(line) == 200;
			busy += atoi(line) == 429;
		}
		pclose(p);
	}
	cr_expect_lt(worst, 3.0, "a scrape took %.2f s while profiles ran", worst);
	cr_expect_eq(ok, 4, "profiles answered");
	cr_expect_eq(busy, 4, "profiles refused with 429");
	cr_expect_eq(scrape(&s, "/metrics", NULL, NULL), 200);
	cr_expect_geq(sample(body(), "pyhound_http_refused_total{reason=\"max_profiles\"}"), 4);
	/* a pending profile does not hold SIGTERM */
	snprintf(cmd, sizeof(cmd), "curl -s -m 30 -o /dev/null -w '%%{http_code}' "
		 "'http://127.0.0.1:%d/profile?seconds=30' > /tmp/pyhound-robust.code", s.port);
	{
		FILE *p = popen(cmd, "r");

		cr_assert_not_null(p);
		usleep(1000 * 1000);
		cr_log_info("SIGTERM with a profile pending took %.2f s", serve_stop(&s));
		pclose(p);
	}
	cr_assert_eq(run_cmd("cat /tmp/pyhound-robust.code", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "503", "the pending profile's answer");
}

/* The HTTP abuse run: 300 slow clients, a 16-thread bad-password flood against a cost-12
 * bcrypt hash and 6 concurrent profiles for 20 s; a legitimate scrape every second keeps
 * succeeding. A password with a NUL is refused. */
Test(serve_robust, abuse_run_legit_scrape_succeeds, .timeout = 120)
{
	char hash[256], conf[1024], cmd[1024], auth[128], res[512];
	struct server s;
	FILE *abuse;
	double t, worst = 0, t0, conns = 0;
	int n = 0, good = 0, slow, refused, cut, overdue;

	cr_assert_eq(run_cmd("/usr/bin/python3.11 -W ignore -c \"import crypt; "
			     "print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, "
			     "rounds=4096)), end='')\"", hash, sizeof(hash)), 0, "%s", hash);
	snprintf(conf, sizeof(conf), "basic_auth_user = prom\nbasic_auth_hash = %s\n"
		 "header_timeout = 3\nmax_connections_per_ip = 100\nmax_profiles = 4\n", hash);
	serve_start(&s, conf);
	cr_expect_eq(scrape(&s, "/metrics", "-u prom:s3cret", NULL), 200);
	cr_expect_eq(scrape(&s, "/metrics", "-u prom:wrong", NULL), 401);
	/* "prom:s3cret\0x": a NUL must not cut the password to a valid one */
	snprintf(auth, sizeof(auth), "-H 'Authorization: Basic %s'", "cHJvbTpzM2NyZXQAeA==");
	cr_expect_eq(scrape(&s, "/metrics", auth, NULL), 401, "a password with a NUL passed");

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3.11 %s %d 20 300 3 prom:s3cret",
		 workload("http_abuse.py"), s.port);
	abuse = popen(cmd, "r");
	cr_assert_not_null(abuse);
	sleep(2);
	for (t0 = mono_seconds(); mono_seconds() - t0 < 16; n++) {
		int code = scrape(&s, "/metrics", "-u prom:s3cret", &t);
		double c;

		good += code == 200;
		if (code != 200)
			cr_log_warn("legitimate scrape %d: HTTP %d after %.2f s", n, code, t);
		c = code == 200 ? sample(body(), "pyhound_http_connections") : -1;
		if (c > conns)
			conns = c;
		if (t > worst)
			worst = t;
		usleep(700 * 1000);
	}
	res[0] = '\0';
	if (!fgets(res, sizeof(res), abuse))
		res[0] = '\0';
	pclose(abuse);
	cr_log_info("abuse: %s; %d legitimate scrapes, %d ok, slowest %.2f s, at most %.0f "
		    "connections open", res, n, good, worst, conns);
	cr_expect_eq(good, n, "%d of %d legitimate scrapes failed during the abuse (%s)",
		     n - good, n, res);
	cr_expect_lt(worst, 5.0, "a legitimate scrape took %.2f s during the abuse (%s)", worst,
		     res);
	cr_assert(sscanf(res, "slow=%d slow_refused=%d slow_cut=%d slow_overdue=%d", &slow,
			 &refused, &cut, &overdue) == 4, "%s", res);
	cr_expect_eq(overdue, 0, "slow clients outlived header_timeout: %s", res);
	cr_expect_gt(cut, 0, "no slow client cut by header_timeout: %s", res);
	cr_expect_gt(refused, 0, "the per-IP limit refused no slow client: %s", res);
	/* 100 slow ones at most, 16 flooders, 6 profiles, the scraper */
	cr_expect_leq(conns, 100 + 16 + 6 + 4, "%.0f connections open at once", conns);
	cr_expect_eq(scrape(&s, "/metrics", "-u prom:s3cret", NULL), 200);
	cr_expect_gt(sample(body(), "pyhound_http_refused_total{reason=\"header_timeout\"}"), 0);
	cr_expect_gt(sample(body(), "pyhound_http_refused_total{reason=\"bad_credentials\"}"), 0);
	serve_stop(&s);
}

/* Process storm: short-lived Pythons at 80 per second asked for 30 s (the rate reached is the
 * host's, and logged; at least 250 must start). /metrics stays under 4 MB at every scrape
 * (max_exited = 200), the totals of the forgotten stay (folded per command), and once the
 * exited ones have aged out (process_max_age = 5) RSS is back under its pre-storm level +
 * 24 MB. */
Test(serve_robust, process_storm_soak, .timeout = 120)
{
	struct server s;
	char cmd[512], res[128];
	FILE *storm;
	long before, after, peak = 0;
	size_t biggest = 0;
	int nstarted = 0, scrapes = 0;
	double rate = 0, forgotten, t;

	/* a storm on a loaded 2-core host can starve a scrape for seconds: the bound is on size */
	scrape_max = 30;
	serve_start(&s, "max_exited = 200\nprocess_max_age = 5\ncache_seconds = 0\n");
	cr_assert_eq(scrape(&s, "/metrics", NULL, &t), 200, "first scrape (%.2f s)", t);
	sleep(1);
	cr_assert_eq(scrape(&s, "/metrics", NULL, &t), 200, "second scrape (%.2f s)", t);
	before = rss_kb(s.pid);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3.11 %s /usr/bin/python3.11 80 30",
		 workload("process_storm.py"));
	storm = popen(cmd, "r");
	cr_assert_not_null(storm);
	{
		int fd = fileno(storm);
		fd_set rd;
		struct timeval tv;

		for (;;) {
			long r;

			FD_ZERO(&rd);
			FD_SET(fd, &rd);
			tv = (struct timeval){ 2, 0 };
			if (select(fd + 1, &rd, NULL, NULL, &tv) > 0)
				break;
			cr_expect_eq(scrape(&s, "/metrics", NULL, NULL), 200);
			if (strlen(body()) > biggest)
				biggest = strlen(out);
			scrapes++;
			r = rss_kb(s.pid);
			if (r > peak)
				peak = r;
		}
	}
	res[0] = '\0';
	if (!fgets(res, sizeof(res), storm))
		res[0] = '\0';
	pclose(storm);
	cr_assert(sscanf(res, "started=%d rate=%lf", &nstarted, &rate) == 2, "%s", res);
	cr_expect_geq(nstarted, 250, "the storm started only %d processes", nstarted);
	sleep(7); /* process_max_age + the once-a-second ageing */
	cr_assert_eq(scrape(&s, "/metrics", NULL, NULL), 200);
	if (strlen(body()) > biggest)
		biggest = strlen(out);
	forgotten = sample(out, "pyhound_forgotten_processes_total{comm=\"python3.11\"}");
	cr_expect_geq(sample(out, "pyhound_python_processes_seen_total"), nstarted * 9 / 10,
		      "%s", res);
	cr_expect_geq(forgotten, nstarted * 9 / 10, "forgotten %.0f of %d", forgotten, nstarted);
	cr_expect_gt(sample(out, "pyhound_forgotten_cpu_samples_total{comm=\"python3.11\","
				 "state=\"python\"}"), 0, "the forgotten's CPU samples");
	after = rss_kb(s.pid);
	cr_expect_lt(biggest, 4 << 20, "/metrics reached %zu bytes", biggest);
	cr_expect_lt(after, before + 24 * 1024, "RSS %ld kB before, %ld kB peak, %ld kB after",
		     before, peak, after);
	cr_log_info("storm: %.*s, %d scrapes, biggest /metrics %zu bytes, RSS %ld -> peak %ld -> "
		    "%ld kB", (int)strcspn(res, "\n"), res, scrapes, biggest, before, peak, after);
	serve_stop(&s);
}

/* A binary's GC probes go with its last process (10 s after): 8 copies of python3.11 (their 4
 * USDT sites each in one uprobe_multi link) add 8 links that leave after they exit (before,
 * they stayed until serve stopped). */
/* The uprobe_multi links process pid holds on files under dir (their fdinfo names the file):
 * how many, their probe sites in *sites and the sites with a USDT semaphore in *semas. Counts
 * the test's own binaries exactly, whatever other interpreters the host runs meanwhile. */
static int multi_links(pid_t pid, const char *dir, int *sites, int *semas)
{
	char path[320], line[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	*sites = *semas = 0;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		bool multi = false, ours = false;
		int cnt = 0, sema = 0;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, de->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f)) {
			unsigned long long cookie, off, ref;

			multi |= !strcmp(line, "link_type:\tuprobe_multi\n") ||
				 !strcmp(line, "link_type:\turetprobe_multi\n");
			if (!strncmp(line, "path:\t", 6))
				ours = !strncmp(line + 6, dir, strlen(dir));
			sscanf(line, "uprobe_cnt: %d", &cnt);
			if (sscanf(line, "%llu %llx %llx", &cookie, &off, &ref) == 3 && ref)
				sema++;
		}
		if (f)
			fclose(f);
		if (multi && ours) {
			n++;
			*sites += cnt;
			*semas += sema;
		}
	}
	closedir(d);
	return n;
}

Test(serve_robust, gc_probes_go_with_the_last_process, .timeout = 120)
{
	struct server s;
	char cmd[512];
	pid_t kids[8];
	double gauge = -1, t0;
	int i, during = -1, after = -1, sites = 0, semas = 0;

	cr_assert_eq(run_cmd("rm -rf /tmp/pyhound-robust-bins && mkdir -p /tmp/pyhound-robust-bins"
			     " && for i in 0 1 2 3 4 5 6 7; do cp /usr/bin/python3.11 "
			     "/tmp/pyhound-robust-bins/py$i; done", out, sizeof(out)), 0, "%s", out);
	serve_start(&s, "cache_seconds = 0\n");
	for (i = 0; i < 8; i++) {
		kids[i] = fork();
		if (!kids[i]) {
			snprintf(cmd, sizeof(cmd), "/tmp/pyhound-robust-bins/py%d", i);
			execl(cmd, cmd, "-c", "import time; time.sleep(60)", NULL);
			_exit(127);
		}
		track(kids[i]);
	}
	for (t0 = mono_seconds(); mono_seconds() - t0 < 45; usleep(300 * 1000)) {
		during = multi_links(s.pid, "/tmp/pyhound-robust-bins/", &sites, &semas);
		if (during >= 8)
			break;
	}
	cr_expect_eq(during, 8, "%d uprobe_multi links on the 8 copies", during);
	cr_expect_eq(sites, 8 * 4, "their sites: %d (gc and import, 4 a copy)", sites);
	cr_expect_eq(semas, 8 * 4, "sites with their USDT semaphore: %d", semas);
	if (scrape(&s, "/metrics", NULL, NULL) == 200)
		gauge = sample(body(), "pyhound_bpf_links{collector=\"gc\"}");
	cr_expect_geq(gauge, 8, "the links gauge: %.0f", gauge);
	for (i = 0; i < 8; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
		untrack(kids[i]);
	}
	/* they go 10 s (RELEASE_GRACE_NS) after the last process, on the next poll */
	for (t0 = mono_seconds(); mono_seconds() - t0 < 45; usleep(300 * 1000)) {
		after = multi_links(s.pid, "/tmp/pyhound-robust-bins/", &sites, &semas);
		if (after == 0)
			break;
	}
	cr_expect_eq(after, 0, "%d links on the copies %.0f s after they exited", after,
		     mono_seconds() - t0);
	cr_log_info("the copies' 8 links went %.1f s after their processes; SIGTERM took %.2f s",
		    mono_seconds() - t0, serve_stop(&s));
	run_cmd("rm -rf /tmp/pyhound-robust-bins", out, sizeof(out));
}

/* Issue 15 item 4: SIGTERM under a second with 200 interpreter binaries running. 200 copies of
 * Debian's python3.11 (each file its own binary with 4 GC/import USDT sites) and 20 copies of
 * pyenv's libpython3.10 (GC by uprobes on gc_collect_main: entry and return) run; serve
 * attaches each USDT copy's sites, proved and with their semaphores, as one uprobe_multi link
 * and each libpython's as two (seen in its fdinfo), and at SIGTERM destroys them on parallel
 * threads. Before: libbpf's USDT links one at a time (and past 64 binaries libbpf ran out of
 * spec ids and serve died), perf-event uprobe links one after another in the kernel. */
Test(serve_robust, sigterm_with_220_binaries, .timeout = 150)
{
	enum { N = 200, NLIB = 20 };
	static pid_t kids[N + NLIB];
	const char *py310 = python_for(10, false);
	struct server s;
	double t0, took, attached;
	int i, links = -1, sites = 0, semas = 0, libl = -1, libsites = 0, libsemas = 0;
	char path[PATH_MAX + 64], cmd[2 * PATH_MAX], env[128];

	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/pyhound-robust-200 && mkdir -p "
		 "/tmp/pyhound-robust-200 && for i in $(seq 0 %d); do cp /usr/bin/python3.11 "
		 "/tmp/pyhound-robust-200/py$i || exit 1; done && for i in $(seq 0 %d); do mkdir "
		 "/tmp/pyhound-robust-200/lib$i && cp $(dirname %s)/../lib/libpython3.10.so.1.0 "
		 "/tmp/pyhound-robust-200/lib$i/ || exit 1; done", N - 1, NLIB - 1, py310);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	serve_start(&s, "cache_seconds = 0\n");
	for (i = 0; i < N + NLIB; i++) {
		if (i < N)
			snprintf(path, sizeof(path), "/tmp/pyhound-robust-200/py%d", i);
		else
			snprintf(env, sizeof(env), "LD_LIBRARY_PATH=/tmp/pyhound-robust-200/lib%d",
				 i - N);
		kids[i] = fork();
		if (!kids[i]) {
			char *const envp[] = { env, NULL };

			if (i < N)
				execl(path, path, "-I", "-S", "-c", "import time; time.sleep(90)",
				      NULL);
			else
				execle(py310, py310, "-I", "-S", "-c", "import time; time.sleep(90)",
				       NULL, envp);
			_exit(127);
		}
		cr_assert_gt(kids[i], 0);
		track(kids[i]);
	}
	for (t0 = mono_seconds(); mono_seconds() - t0 < 60; usleep(300 * 1000)) {
		links = multi_links(s.pid, "/tmp/pyhound-robust-200/py", &sites, &semas);
		libl = multi_links(s.pid, "/tmp/pyhound-robust-200/lib", &libsites, &libsemas);
		if (links >= N && libl >= 2 * NLIB)
			break;
	}
	attached = mono_seconds() - t0;
	cr_assert_eq(links, N, "%d uprobe_multi links on the %d python3.11 copies", links, N);
	cr_expect_eq(sites, N * 4, "their sites: %d", sites);
	cr_expect_eq(semas, N * 4, "sites with their semaphore: %d", semas);
	cr_assert_eq(libl, 2 * NLIB, "%d uprobe_multi links on the %d libpython copies", libl,
		     NLIB);
	cr_expect_eq(libsites, 2 * NLIB, "their sites: %d (entry and return)", libsites);
	took = serve_stop(&s);
	cr_log_info("%d binaries running (%d + %d links, all attached within %.1f s): SIGTERM "
		    "took %.3f s", N + NLIB, links, libl, attached, took);
	/* the issue asks under a second: 0.1-0.2 s on a quiet host, 0.5-0.9 s at load average
	 * 15 on 2 cores (the RCU grace periods of the links' parallel destroys); the bound
	 * leaves room for a loaded host */
	cr_expect_lt(took, 2.0, "SIGTERM took %.2f s with %d binaries", took, N + NLIB);
	for (i = 0; i < N + NLIB; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
		untrack(kids[i]);
	}
	run_cmd("rm -rf /tmp/pyhound-robust-200", out, sizeof(out));
}

/* A local user's hostile names: a process exec'd as "py\xff" and a hot function named with a
 * lone surrogate. A real Prometheus server keeps scraping (up = 1) and stores the process's
 * series, its comm with U+FFFD; promtool accepts the scrape. */
Test(serve_robust, non_utf8_names_keep_prometheus_up, .timeout = 150)
{
	char conf[1024], cmd[1024], link[64];
	struct server s;
	int pport = free_port(), i, up = 0, seen = 0;
	double t;
	pid_t prom, py;

	serve_start(&s, "cache_seconds = 0\n");
	/* comm is the file name's first 15 bytes: "py\xff". CPython 3.11 fails a call of a
	 * surrogate-named function (SystemError at the next C call: PyUnicode_AsUTF8 fails in its
	 * dtrace hook) while anything holds its function__entry/return USDT semaphores, e.g. a
	 * `pyhound calls` or serve with calls_budget elsewhere on the host: f does pure bytecode
	 * and the loop takes the SystemError */
	snprintf(link, sizeof(link), "/tmp/pyhound-robust-d/py\xff");
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/pyhound-robust-d && mkdir /tmp/pyhound-robust-d && "
		 "cp /usr/bin/python3.11 '%s'", link);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	py = fork();
	if (!py) {
		FILE *e = freopen("/tmp/pyhound-robust-py.err", "w", stderr);

		(void)e;
		execl(link, link, "-c",
		      "import time\n"
		      "def f():\n"
		      "    i = 0\n"
		      "    while i < 300000: i += 1\n"
		      "f.__code__ = f.__code__.replace(co_name='f\\udc80', co_qualname='f\\udc80')\n"
		      "end = time.time() + 90\n"
		      "while time.time() < end:\n"
		      "    try:\n"
		      "        f()\n"
		      "        time.sleep(0.01)\n"
		      "    except SystemError:\n"
		      "        pass\n", NULL);
		_exit(127);
	}
	track(py);
	snprintf(conf, sizeof(conf),
		 "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pyhound\n"
		 "    static_configs:\n      - targets: ['127.0.0.1:%d']\n", s.port);
	write_file("/tmp/pyhound-robust-prom.yml", conf);
	run_cmd("rm -rf /tmp/pyhound-robust-prom-data", out, sizeof(out));
	prom = fork();
	if (!prom) {
		char listen[64];
		FILE *log = freopen("/tmp/pyhound-robust-prom.log", "w", stdout);

		(void)log;
		dup2(1, 2);
		snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", pport);
		execl("/usr/bin/prometheus", "prometheus",
		      "--config.file=/tmp/pyhound-robust-prom.yml",
		      "--storage.tsdb.path=/tmp/pyhound-robust-prom-data", listen, NULL);
		_exit(127);
	}
	track(prom);
	/* the scrape holds the names once the process is tracked and sampled */
	for (i = 0; i < 40; i++) {
		sleep(1);
		/* polled: a scrape slowed past curl's limit by a loaded host is tried again */
		if (scrape(&s, "/metrics", NULL, &t) != 200) {
			cr_log_warn("a scrape failed after %.2f s; polling on", t);
			continue;
		}
		if (strstr(body(), "comm=\"py\xef\xbf\xbd\"") &&
		    strstr(out, "function=\"f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""))
			break;
	}
	cr_expect(strstr(out, "comm=\"py\xef\xbf\xbd\""), "the process's comm never showed");
	cr_expect(strstr(out, "function=\"f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""),
		  "the surrogate-named function never showed");
	write_file("/tmp/pyhound-robust-metrics.txt", out);
	cr_expect_eq(run_cmd("promtool check metrics < /tmp/pyhound-robust-metrics.txt", out,
			     sizeof(out)), 0, "promtool: %s", out);
	/* Prometheus: up = 1 over the last 10 s of scrapes, and the process's series stored */
	for (i = 0; i < 60 && !(up && seen); i++) {
		sleep(1);
		snprintf(cmd, sizeof(cmd), "curl -s -m 5 'http://127.0.0.1:%d/api/v1/query?query="
			 "min_over_time(up%%7Bjob%%3D%%22pyhound%%22%%7D%%5B10s%%5D)'", pport);
		up = run_cmd(cmd, out, sizeof(out)) == 0 && strstr(out, "\"1\"]");
		snprintf(cmd, sizeof(cmd), "curl -s -m 5 'http://127.0.0.1:%d/api/v1/query?query="
			 "pyhound_python_process_info%%7Bpid%%3D%%22%d%%22%%7D'", pport, (int)py);
		seen = run_cmd(cmd, out, sizeof(out)) == 0 && strstr(out, "\"comm\":\"py\xef\xbf\xbd\"");
	}
	kill(prom, SIGTERM);
	waitpid(prom, NULL, 0);
	untrack(prom);
	kill(py, SIGKILL);
	waitpid(py, NULL, 0);
	untrack(py);
	run_cmd("rm -rf /tmp/pyhound-robust-d", out, sizeof(out));
	cr_expect(up, "Prometheus did not keep up = 1 (see /tmp/pyhound-robust-prom.log)");
	cr_expect(seen, "Prometheus never stored the process's series: %s", out);
	serve_stop(&s);
}
