// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound serve end to end: metrics against known workloads, promtool, a real Prometheus
 * server, bad requests, load, auth, TLS, reload, ageing, shutdown. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

static char out[4 << 20];

/* Start `pyhound serve --listen 127.0.0.1:PORT extra...`, wait for its "serving on" line. */
static void serve_start(struct server *s, const char *extra)
{
	serve_start_as(s, "pyhound-serve", extra, 15);
}

static double serve_stop(struct server *s)
{
	return serve_stop_within(s, 5);
}

static int curl(const struct server *s, const char *path, const char *opts)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "curl -s -m 10 %s 'http://127.0.0.1:%d%s'", opts ? opts : "",
		 s->port, path);
	return run_cmd(cmd, out, sizeof(out));
}

static int http_code(const struct server *s, const char *path, const char *opts)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "curl -s -m 10 -o /dev/null -w '%%{http_code}' %s "
		 "'http://127.0.0.1:%d%s'", opts ? opts : "", s->port, path);
	run_cmd(cmd, out, sizeof(out));
	return atoi(out);
}

static pid_t run_io_workload(void)
{
	char *argv[] = { (char *)python_for(11, true), (char *)workload("io_batching.py"), "--now",
			 NULL };
	char buf[64];
	struct child c;

	cr_assert_eq(child_start(&c, argv), 0);
	cr_assert_eq(child_wait(&c, buf, sizeof(buf)), 0, "workload failed: %s", buf);
	return c.pid;
}

Test(serve, metrics_match_the_workload_and_pass_promtool, .timeout = 60)
{
	struct server s;
	char key[256];
	pid_t pid;

	/* the kernel's BPF run-time statistics are asked for (off by default: host-wide cost) */
	write_file("/tmp/pyhound-serve-stats.conf", "bpf_run_stats = yes\n");
	serve_start(&s, "--config /tmp/pyhound-serve-stats.conf");
	pid = run_io_workload();
	usleep(1200 * 1000); /* past the 1 s render cache */
	cr_assert_eq(curl(&s, "/metrics", NULL), 0);
	snprintf(key, sizeof(key), "pyhound_io_calls_total{pid=\"%d\",comm=\"python3.11\","
		 "python_version=\"3.11.2\",syscall=\"write\",fd_kind=\"file\"}", (int)pid);
	cr_expect_eq(sample(out, key), 20000, "%s missing or wrong", key);
	snprintf(key, sizeof(key), "pyhound_io_bytes_total{pid=\"%d\",comm=\"python3.11\","
		 "python_version=\"3.11.2\",syscall=\"sendto\",fd_kind=\"socket\"}", (int)pid);
	cr_expect_eq(sample(out, key), 5000 * 1024, "%s", key);
	snprintf(key, sizeof(key), "pyhound_io_call_bytes_bucket{pid=\"%d\",comm=\"python3.11\","
		 "python_version=\"3.11.2\",direction=\"write\",fd_kind=\"file\",le=\"15\"}",
		 (int)pid);
	cr_expect_eq(sample(out, key), 0, "%s", key);
	snprintf(key, sizeof(key), "pyhound_io_call_bytes_bucket{pid=\"%d\",comm=\"python3.11\","
		 "python_version=\"3.11.2\",direction=\"write\",fd_kind=\"file\",le=\"63\"}",
		 (int)pid);
	cr_expect_eq(sample(out, key), 20000, "%s", key);
	cr_expect_geq(sample(out, "pyhound_python_processes_seen_total"), 1);
	cr_expect(strstr(out, "# TYPE pyhound_syscall_seconds_total counter"));
	cr_expect(strstr(out, "pyhound_cpu_seconds_total "));
	cr_expect_gt(sample(out, "pyhound_bpf_run_seconds_total{program=\"sc_enter\"}"), 0,
		     "BPF run time for the syscall program");
	cr_expect_geq(sample(out, "pyhound_bpf_runs_total{program=\"sc_enter\"}"), 20000,
		      "runs of the syscall program (the workload made 20000 writes)");
	cr_expect_eq(sample(out, "pyhound_dropped_total{reason=\"syscall_stats_full\"}"), 0);
	cr_expect_eq(sample(out, "pyhound_dropped_total{reason=\"sample_drop_ringbuf\"}"), 0);
	cr_expect_geq(sample(out, "pyhound_sampler_events_total{event=\"samples\"}"), 0);
	cr_expect(strstr(out, "pyhound_last_scrape_duration_seconds "));
	cr_expect(strstr(out, "pyhound_map_capacity{map=\"sc_stats\"} 16384"));
	/* promtool lints the exposition */
	{
		FILE *f = fopen("/tmp/pyhound-metrics.txt", "w");

		fputs(out, f);
		fclose(f);
	}
	cr_expect_eq(run_cmd("promtool check metrics < /tmp/pyhound-metrics.txt", out,
			     sizeof(out)), 0, "promtool: %s", out);
	cr_expect_lt(serve_stop(&s), 2.0, "SIGTERM must stop serve within 2 s");
}

Test(serve, endpoints_and_bad_requests, .timeout = 60)
{
	struct server s, s2;
	char cmd[512];

	serve_start(&s, NULL);
	cr_expect_eq(http_code(&s, "/", NULL), 200);
	cr_expect(strstr(out, "") != NULL);
	cr_assert_eq(curl(&s, "/", NULL), 0);
	cr_expect(strstr(out, "href=\"/metrics\""), "%s", out);
	cr_expect_eq(http_code(&s, "/healthz", NULL), 200);
	/* without bpf_run_stats the kernel's statistics stay off and their families absent */
	cr_assert_eq(curl(&s, "/metrics", NULL), 0);
	cr_expect_null(strstr(out, "pyhound_bpf_run_seconds_total"), "statistics on by default");
	cr_expect_eq(http_code(&s, "/nope", NULL), 404);
	cr_expect_eq(http_code(&s, "/metrics", "-X POST"), 405);
	/* a second server on the same port: one clear line, exit 1 */
	snprintf(cmd, sizeof(cmd), "%s serve --listen 127.0.0.1:%d", bin(), s.port);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "cannot listen on 127.0.0.1:") && strstr(out, "Address already in use"),
		  "%s", out);
	/* non-loopback without allow_remote: refused */
	snprintf(cmd, sizeof(cmd), "%s serve --listen 0.0.0.0:%d", bin(), s.port + 1);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	cr_expect(strstr(out, "allow_remote"), "%s", out);
	snprintf(cmd, sizeof(cmd), "%s serve --listen nonsense", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 2, "%s", out);
	serve_stop(&s);
	(void)s2;
}

/* wrk's socket errors: none connecting, writing or timing out; reads cut by the server at most
 * one per 100,000 requests. Seen once in the final quiet run of a stop (1 read error in 256,817
 * requests; 0 in ~780,000 by hand after it; cause not found): a Prometheus scrape that fails so
 * is retried at the next interval. Anything more is a defect. */
static void socket_errors_rare(const char *wrk)
{
	const char *p = strstr(wrk, "Socket errors:"), *q = strstr(wrk, "requests in");
	long conn = 0, rd = 0, wr = 0, to = 0, reqs = 0;

	while (q && q > wrk && q[-1] == ' ')
		q--;
	while (q && q > wrk && q[-1] >= '0' && q[-1] <= '9')
		q--;
	cr_assert(q && sscanf(q, "%ld requests in", &reqs) == 1, "%s", wrk);
	if (!p)
		return;
	cr_assert_eq(sscanf(p, "Socket errors: connect %ld, read %ld, write %ld, timeout %ld", &conn,
			    &rd, &wr, &to), 4, "%s", wrk);
	cr_log_info("wrk: %ld requests, socket errors: connect %ld read %ld write %ld timeout %ld",
		    reqs, conn, rd, wr, to);
	cr_expect(conn == 0 && wr == 0 && to == 0 && rd <= reqs / 100000, "socket errors: %s",
		  wrk);
}

Test(serve, two_hundred_concurrent_scrapes, .timeout = 90)
{
	struct server s;
	char cmd[512];
	long before, after;

	serve_start(&s, NULL);
	/* warm up, then measure RSS growth across a 10 s, 200-connection run */
	snprintf(cmd, sizeof(cmd), "wrk -c200 -t2 -d3s http://127.0.0.1:%d/metrics", s.port);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	before = rss_kb(s.pid);
	snprintf(cmd, sizeof(cmd), "wrk -c200 -t2 -d10s http://127.0.0.1:%d/metrics", s.port);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	after = rss_kb(s.pid);
	cr_expect(strstr(out, "requests in"), "%s", out);
	cr_expect_null(strstr(out, "Non-2xx"), "failed requests: %s", out);
	socket_errors_rare(out);
	cr_expect_lt(after - before, 8 * 1024, "RSS grew from %ld to %ld kB", before, after);
	serve_stop(&s);
}

Test(serve, basic_auth_tls_and_reload, .timeout = 90)
{
	char conf[1024], hash[256], cmd[1024];
	struct server s;
	int rc;

	rc = run_cmd("/usr/bin/python3.11 -W ignore -c \"import crypt; print(crypt.crypt('s3cret', "
		     "crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)), end='')\"", hash, sizeof(hash));
	cr_assert_eq(rc, 0, "%s", hash);
	cr_assert_eq(run_cmd("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
			     "-keyout /tmp/pyhound-tls.key -out /tmp/pyhound-tls.crt", out,
			     sizeof(out)), 0, "%s", out);
	snprintf(conf, sizeof(conf), "basic_auth_user = prom\nbasic_auth_hash = %s\n"
		 "tls_cert = /tmp/pyhound-tls.crt\ntls_key = /tmp/pyhound-tls.key\ntop_syscalls = 15\n",
		 hash);
	write_file("/tmp/pyhound-auth.conf", conf);
	serve_start(&s, "--config /tmp/pyhound-auth.conf");
	snprintf(cmd, sizeof(cmd), "curl -sk -m 10 -o /dev/null -w '%%{http_code}' "
		 "https://127.0.0.1:%d/metrics", s.port);
	run_cmd(cmd, out, sizeof(out));
	cr_expect_str_eq(out, "401", "no credentials");
	snprintf(cmd, sizeof(cmd), "curl -sk -m 10 -u prom:wrong -o /dev/null -w '%%{http_code}' "
		 "https://127.0.0.1:%d/metrics", s.port);
	run_cmd(cmd, out, sizeof(out));
	cr_expect_str_eq(out, "401", "wrong password");
	snprintf(cmd, sizeof(cmd), "curl -sk -m 10 -u prom:s3cret -o /dev/null -w '%%{http_code}' "
		 "https://127.0.0.1:%d/metrics", s.port);
	run_cmd(cmd, out, sizeof(out));
	cr_expect_str_eq(out, "200", "right password over TLS");
	/* plain HTTP to a TLS port does not get metrics */
	snprintf(cmd, sizeof(cmd), "curl -s -m 5 -u prom:s3cret http://127.0.0.1:%d/metrics", s.port);
	run_cmd(cmd, out, sizeof(out));
	cr_expect_null(strstr(out, "pyhound_python_processes"), "served without TLS");

	/* SIGHUP reloads: a bound of one syscall per process folds the rest into "other" */
	run_io_workload();
	snprintf(conf, sizeof(conf), "basic_auth_user = prom\nbasic_auth_hash = %s\n"
		 "tls_cert = /tmp/pyhound-tls.crt\ntls_key = /tmp/pyhound-tls.key\ntop_syscalls = 1\n",
		 hash);
	write_file("/tmp/pyhound-auth.conf", conf);
	kill(s.pid, SIGHUP);
	usleep(500 * 1000);
	snprintf(cmd, sizeof(cmd), "curl -sk -m 10 -u prom:s3cret https://127.0.0.1:%d/metrics",
		 s.port);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0);
	cr_expect(strstr(out, "syscall=\"other\""), "reload did not apply top_syscalls");
	cr_expect_gt(sample(out, "pyhound_series_folded"), 0);
	serve_stop(&s);
}

Test(serve, exited_processes_age_out, .timeout = 60)
{
	struct server s;
	char key[128];
	pid_t pid;

	write_file("/tmp/pyhound-age.conf", "process_max_age = 2\ncache_seconds = 0\n");
	serve_start(&s, "--config /tmp/pyhound-age.conf");
	pid = run_io_workload();
	cr_assert_eq(curl(&s, "/metrics", NULL), 0);
	snprintf(key, sizeof(key), "pid=\"%d\"", (int)pid);
	cr_expect(strstr(out, key), "exited process's series must stay for process_max_age");
	sleep(4);
	cr_assert_eq(curl(&s, "/metrics", NULL), 0);
	cr_expect_null(strstr(out, key), "series of an exited process lingered");
	cr_expect_geq(sample(out, "pyhound_processes_forgotten_total"), 1);
	serve_stop(&s);
}

/* A real Prometheus server scrapes pyhound; its HTTP API shows the series. */
Test(serve, real_prometheus_scrapes_it, .timeout = 120)
{
	char conf[1024], cmd[1024];
	struct server s;
	int pport = free_port(), i, ok = 0;
	pid_t prom, pid;

	serve_start(&s, NULL);
	snprintf(conf, sizeof(conf),
		 "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pyhound\n"
		 "    static_configs:\n      - targets: ['127.0.0.1:%d']\n", s.port);
	write_file("/tmp/pyhound-prom.yml", conf);
	run_cmd("rm -rf /tmp/pyhound-prom-data", out, sizeof(out));
	prom = fork();
	if (!prom) {
		char listen[64];
		int fd = open("/tmp/pyhound-prom.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", pport);
		execl("/usr/bin/prometheus", "prometheus", "--config.file=/tmp/pyhound-prom.yml",
		      "--storage.tsdb.path=/tmp/pyhound-prom-data", listen, NULL);
		_exit(127);
	}
	pid = run_io_workload();
	for (i = 0; i < 60 && !ok; i++) {
		sleep(1);
		snprintf(cmd, sizeof(cmd),
			 "curl -s -m 5 'http://127.0.0.1:%d/api/v1/query?query="
			 "pyhound_io_calls_total%%7Bpid%%3D%%22%d%%22,syscall%%3D%%22write%%22,"
			 "fd_kind%%3D%%22file%%22%%7D'", pport, (int)pid);
		if (run_cmd(cmd, out, sizeof(out)) == 0 && strstr(out, "\"20000\""))
			ok = 1;
	}
	kill(prom, SIGTERM);
	waitpid(prom, NULL, 0);
	cr_expect(ok, "Prometheus never showed the workload's 20000 writes: %s", out);
	serve_stop(&s);
}

Test(serve, systemd_unit_verifies, .timeout = 60)
{
	char cmd[1024];
	const char *src = getenv("PYHOUND_SRC");

	snprintf(cmd, sizeof(cmd),
		 "cd %s && rm -rf /tmp/pyhound-unit && make -s install PREFIX=/tmp/pyhound-unit "
		 "UNITDIR=/tmp/pyhound-unit/unit SYSCONFDIR=/tmp/pyhound-unit/etc OUTPUT=%s && "
		 "systemd-analyze verify /tmp/pyhound-unit/unit/pyhound.service",
		 src && *src ? src : ".", getenv("PYHOUND_OUTPUT") ? getenv("PYHOUND_OUTPUT") : "build");
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect_eq(access("/tmp/pyhound-unit/etc/pyhound/pyhound.conf", R_OK), 0);
}

Test(serve, on_demand_profile_and_cpu_metrics, .timeout = 90)
{
	char arg[] = "30", path[256], cmd[1024];
	struct server s;
	pid_t p;

	serve_start(&s, NULL);
	p = fork();
	if (!p) {
		execl(python_for(12, false), "python3.12", workload("hot_loop.py"), arg, NULL);
		_exit(127);
	}
	usleep(500 * 1000);
	snprintf(path, sizeof(path), "/profile?seconds=2&pid=%d", (int)p);
	cr_assert_eq(curl(&s, path, NULL), 0);
	cr_expect(strstr(out, ";hot_outer (") && strstr(out, ";hot_leaf ("), "collapsed: %.500s", out);
	snprintf(cmd, sizeof(cmd), "curl -s -m 10 -o /tmp/pyhound-prof.pb.gz "
		 "'http://127.0.0.1:%d/profile?seconds=2&format=pprof&pid=%d' && "
		 "go tool pprof -top /tmp/pyhound-prof.pb.gz", s.port, (int)p);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "hot_leaf"), "pprof: %s", out);
	snprintf(cmd, sizeof(cmd), "curl -s -m 10 'http://127.0.0.1:%d/profile?seconds=1&format=svg' "
		 "| xmllint --noout -", s.port);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "svg: %s", out);
	cr_expect_eq(http_code(&s, "/profile?seconds=0", NULL), 400);
	cr_expect_eq(http_code(&s, "/profile?seconds=abc", NULL), 400);
	cr_expect_eq(http_code(&s, "/profile?seconds=1&format=gif", NULL), 400);
	cr_expect_eq(http_code(&s, "/profile?seconds=1&pid=x", NULL), 400);
	cr_expect_eq(http_code(&s, "/profile?seconds=1&pid=1", NULL), 400, "PID 1 is not CPython");
	/* CPU metrics: the hottest function gets its own series, counting from admission */
	cr_assert_eq(curl(&s, "/metrics", NULL), 0);
	usleep(2200 * 1000);
	cr_assert_eq(curl(&s, "/metrics", NULL), 0);
	snprintf(path, sizeof(path), "pyhound_function_samples_total{pid=\"%d\",comm=\"python3.12\","
		 "python_version=\"3.12.1\",function=\"hot_leaf\",file=", (int)p);
	cr_expect(strstr(out, path), "no series for hot_leaf");
	snprintf(path, sizeof(path), "pyhound_cpu_samples_total{pid=\"%d\",comm=\"python3.12\","
		 "python_version=\"3.12.1\",state=\"python\"}", (int)p);
	cr_expect_gt(sample(out, path), 20, "%s", path);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	serve_stop(&s);
}

Test(serve, dashboard_and_scrape_config_are_valid)
{
	char cmd[1024];
	const char *src = getenv("PYHOUND_SRC") && *getenv("PYHOUND_SRC") ? getenv("PYHOUND_SRC") : ".";

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3.11 %s/scripts/dashboard-rules.py "
		 "%s/deploy/grafana-dashboard.json > /tmp/pyhound-dash-rules.yml && "
		 "promtool check rules /tmp/pyhound-dash-rules.yml", src, src);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "dashboard queries: %s", out);
	snprintf(cmd, sizeof(cmd), "promtool check config %s/deploy/prometheus.yml", src);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "prometheus.yml: %s", out);
}

Test(serve, gc_metrics, .timeout = 60)
{
	char *argv[] = { (char *)python_for(12, false), "-c",
			 "import gc, sys, time\nsys.stdin.readline()\n"
			 "for _ in range(50): gc.collect(2)\nprint('done', flush=True)\n"
			 "sys.stdin.readline()\n", NULL };
	char key[256];
	struct server s;
	struct child c;

	serve_start(&s, NULL);
	cr_assert_eq(child_start(&c, argv), 0);
	/* found and its GC probes attached (its source shows) before it collects: a fixed
	 * sleep raced serve's discovery of the process on a busy host */
	snprintf(key, sizeof(key), "pyhound_gc_source_info{pid=\"%d\",comm=\"python3.12\","
		 "python_version=\"3.12.1\",source=\"uprobe\"}", (int)c.pid);
	for (int i = 0; i < 150 && (curl(&s, "/metrics", NULL) || sample(out, key) != 1); i++)
		usleep(100 * 1000);
	cr_assert_eq(sample(out, key), 1, "%s not in /metrics within 15 s", key);
	cr_assert_eq(write(c.in_fd, "\n", 1), 1);
	/* the 50 collections done ("done") and read by serve (within a poll) */
	cr_assert_gt(read_line(c.out_fd, key, sizeof(key), 30), 0, "the workload did not finish");
	snprintf(key, sizeof(key), "pyhound_gc_collections_total{pid=\"%d\",comm=\"python3.12\","
		 "python_version=\"3.12.1\",generation=\"2\"}", (int)c.pid);
	for (int i = 0; i < 50 && (curl(&s, "/metrics", NULL) || sample(out, key) != 50); i++)
		usleep(100 * 1000);
	cr_expect_eq(sample(out, key), 50, "%s", key);
	snprintf(key, sizeof(key), "pyhound_gc_pause_seconds_count{pid=\"%d\",comm=\"python3.12\","
		 "python_version=\"3.12.1\",generation=\"2\"}", (int)c.pid);
	cr_expect_eq(sample(out, key), 50, "%s", key);
	snprintf(key, sizeof(key), "pyhound_gc_source_info{pid=\"%d\",comm=\"python3.12\","
		 "python_version=\"3.12.1\",source=\"uprobe\"}", (int)c.pid);
	cr_expect_eq(sample(out, key), 1, "%s", key);
	child_go(&c);
	child_wait(&c, NULL, 0);
	serve_stop(&s);
}

/* A 3.15 container (its own PID namespace, chrooted into the sid root): its process info,
 * exact GC collections (USDT) and CPU samples, under its host PID. */
Test(serve, sid_315_container_metrics, .timeout = 90)
{
	static const char code[] = "import gc, sys, time\n"
				   "print(sys.version.split()[0], flush=True)\n"
				   "sys.stdin.readline()\n"
				   "for _ in range(50): gc.collect(2)\n"
				   "def container_spin():\n"
				   "    end = time.monotonic() + 60\n"
				   "    while time.monotonic() < end: pass\n"
				   "container_spin()\n";
	char proc_mnt[PATH_MAX + 16], key[512], ver[32] = "";
	char *argv[] = { "/usr/bin/unshare", "--pid", "--fork", proc_mnt, "/usr/sbin/chroot",
			 (char *)sid_root(), "/usr/bin/python3.15", "-c", (char *)code, NULL };
	struct server s;
	struct child c;
	pid_t host;
	ssize_t k;

	snprintf(proc_mnt, sizeof(proc_mnt), "--mount-proc=%s/proc", sid_root());
	snprintf(key, sizeof(key), "%s/usr/bin/python3.15", sid_root());
	cr_assert_eq(access(key, X_OK), 0, "%s missing (make sid-root)", key);
	serve_start(&s, NULL);
	cr_assert_eq(child_start(&c, argv), 0);
	k = read(c.out_fd, ver, sizeof(ver) - 1);
	ver[k > 0 ? k : 0] = '\0';
	ver[strcspn(ver, "\n")] = '\0';
	cr_assert(!strncmp(ver, "3.15.", 5), "version '%s'", ver);
	host = only_child_of(c.pid);
	cr_assert_gt(host, 1);
	/* found and its GC probes attached (metrics say its source) before it collects */
	snprintf(key, sizeof(key), "pyhound_gc_source_info{pid=\"%d\",comm=\"python3.15\","
		 "python_version=\"%s\",source=\"usdt\"}", (int)host, ver);
	for (int i = 0; i < 75; i++) {
		cr_assert_eq(curl(&s, "/metrics", NULL), 0);
		if (sample(out, key) == 1)
			break;
		usleep(200 * 1000);
	}
	cr_assert_eq(sample(out, key), 1, "%s not in /metrics within 15 s", key);
	cr_assert_eq(write(c.in_fd, "\n", 1), 1);
	/* scrapes until the spin has 20 samples and its own series (bounded: a loaded host) */
	for (int i = 0; i < 20; i++) {
		char cpu[256], fn[256];

		usleep(1000 * 1000);
		cr_assert_eq(curl(&s, "/metrics", NULL), 0);
		snprintf(cpu, sizeof(cpu), "pyhound_cpu_samples_total{pid=\"%d\",comm=\"python3.15\","
			 "python_version=\"%s\",state=\"python\"}", (int)host, ver);
		snprintf(fn, sizeof(fn), "pyhound_function_samples_total{pid=\"%d\",comm=\"python3.15"
			 "\",python_version=\"%s\",function=\"container_spin\",file=\"<string>\"}",
			 (int)host, ver);
		if (sample(out, cpu) > 20 && sample(out, fn) > 0)
			break;
	}
	snprintf(key, sizeof(key), "pyhound_python_process_info{pid=\"%d\",comm=\"python3.15\","
		 "python_version=\"%s\"", (int)host, ver);
	cr_expect(strstr(out, key), "no %s in %.3000s", key, out);
	snprintf(key, sizeof(key), "pyhound_gc_collections_total{pid=\"%d\",comm=\"python3.15\","
		 "python_version=\"%s\",generation=\"2\"}", (int)host, ver);
	cr_expect_eq(sample(out, key), 50, "%s", key);
	snprintf(key, sizeof(key), "pyhound_gc_source_info{pid=\"%d\",comm=\"python3.15\","
		 "python_version=\"%s\",source=\"usdt\"}", (int)host, ver);
	cr_expect_eq(sample(out, key), 1, "%s", key);
	snprintf(key, sizeof(key), "pyhound_cpu_samples_total{pid=\"%d\",comm=\"python3.15\","
		 "python_version=\"%s\",state=\"python\"}", (int)host, ver);
	cr_expect_gt(sample(out, key), 20, "%s", key);
	snprintf(key, sizeof(key), "pyhound_function_samples_total{pid=\"%d\",comm=\"python3.15\","
		 "python_version=\"%s\",function=\"container_spin\",file=\"<string>\"}",
		 (int)host, ver);
	cr_expect_gt(sample(out, key), 0, "%s", key);
	kill(host, SIGKILL);
	child_wait(&c, NULL, 0);
	/* Each uprobe link's release waits for an RCU tasks-trace grace period; with the
	 * host's other interpreters' GC/import probes that took over 5 s on a loaded 2-core
	 * host (seen in gc_free), which is not what this test is about: logged, bounded at 30 */
	cr_log_info("serve stopped in %.2f s", serve_stop_within(&s, 30));
}

/* value of the first sample whose line starts with prefix (labels may follow), or -1 */
static double sample_prefix(const char *text, const char *prefix)
{
	const char *p = text, *sp;

	while ((p = strstr(p, prefix))) {
		if (p == text || p[-1] == '\n') {
			const char *nl = strchr(p, '\n');

			sp = nl ? nl : p + strlen(p);
			while (sp > p && sp[-1] != ' ')
				sp--;
			return atof(sp);
		}
		p += strlen(prefix);
	}
	return -1;
}

/* how many BPF programs named calls_* the process holds (through its fds) */
static int calls_progs_of(pid_t pid)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "for f in /proc/%d/fdinfo/*; do sed -n 's/^prog_id:[[:space:]]*//p' "
		 "$f; done 2>/dev/null | sort -u | while read id; do bpftool prog show id $id; done "
		 "| grep -c 'name calls_'", (int)pid);
	run_cmd(cmd, out, sizeof(out));
	return atoi(out);
}

/* /metrics with only the lines of process pid and the global ones into out: serve watches the
 * whole host, and with calls_budget = 100 and many Python processes of other suites running a
 * scrape can pass out's 4 MiB (curl then fails writing). curl's exit status. */
static int scrape_pid(const struct server *s, pid_t pid)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "f=/tmp/pyhound-calls-scrape-%d.txt; curl -s -m 30 -o $f "
		 "'http://127.0.0.1:%d/metrics'; rc=$?; "
		 "grep -E '^#|pid=\"%d\"|^pyhound_calls_[a-z_]+ |^pyhound_dropped_total' $f; "
		 "rm -f $f; exit $rc", s->port, s->port, (int)pid);
	return run_cmd(cmd, out, sizeof(out));
}

/* serve with calls_budget = 100 (attached throughout: exact) against tests/workloads/calls.py:
 * f called 100,000 times, g 2,500 times (timed unless the source is USDT) */
static void check_serve_calls(int minor, bool debian, const char *comm, const char *version,
			      const char *source)
{
	char *argv[] = { (char *)python_for(minor, debian), (char *)workload("calls.py"), "--hold",
			 NULL };
	char key[512], lbl[256], res[4096], line[256];
	bool timed = strncmp(source, "usdt", 4) != 0;
	double g_mean;
	struct server s;
	struct child c;
	double t0;
	int rc;

	write_file("/tmp/pyhound-calls.conf", "calls_budget = 100\ntop_calls = 1000\n"
					       "cache_seconds = 0\n");
	serve_start(&s, "--config /tmp/pyhound-calls.conf");
	cr_expect_gt(calls_progs_of(s.pid), 0, "calls_budget = 100: the call probes are loaded");
	cr_assert_eq(child_start(&c, argv), 0);
	snprintf(lbl, sizeof(lbl), "{pid=\"%d\",comm=\"%s\",python_version=\"%s\"", (int)c.pid,
		 comm, version);
	/* the process must be registered with the call collector before it starts calling */
	snprintf(key, sizeof(key), "pyhound_calls_source_info%s,source=\"%s\"}", lbl, source);
	for (t0 = mono_seconds(); mono_seconds() - t0 < 15; usleep(100 * 1000))
		if (scrape_pid(&s, c.pid) == 0 && sample(out, key) == 1)
			break;
	cr_assert_eq(sample(out, key), 1, "%s never appeared", key);
	/* go, keeping its stdin open: it stays alive after its calls until told (--hold), for
	 * serve names code objects from the live process: with a fixed 0.3 s to live, a serve
	 * busy with the host's other Pythons missed f and g (2 of 3 runs at load 3.4) */
	cr_assert_eq(write(c.in_fd, "go\n", 3), 3);
	res[0] = '\0';
	while (!strstr(res, "g_mean_ns ")) {
		cr_assert_gt(read_line(c.out_fd, line, sizeof(line), 120), 0,
			     "workload ended without g_mean_ns: %s", res);
		strncat(res, line, sizeof(res) - strlen(res) - 2);
		strcat(res, "\n");
	}
	g_mean = strtol(strstr(res, "g_mean_ns ") + 10, NULL, 10) / 1e9;
	/* on a loaded host a scrape can take over curl's 10 s (the first one after many
	 * processes' calls names and sums them all): scrape until f's series is complete or 60
	 * s have passed, then check it exactly */
	snprintf(key, sizeof(key), "pyhound_calls_observed_total%s,function=\"f\",file=\"", lbl);
	for (t0 = mono_seconds(); mono_seconds() - t0 < 60; usleep(500 * 1000))
		if (scrape_pid(&s, c.pid) == 0 && sample_prefix(out, key) == 100000 &&
		    strstr(out, "function=\"g\""))
			break;
	cr_assert_eq(scrape_pid(&s, c.pid), 0);
	rc = child_wait(&c, NULL, 0); /* EOF on its stdin: it exits */
	cr_expect_eq(rc, 0, "workload failed: %s", res);
	snprintf(res, sizeof(res), "/tmp/pyhound-calls-scrape-%d.txt", (int)c.pid);
	write_file(res, out);
	cr_expect_eq(sample_prefix(out, key), 100000, "%s: %f (the scrape: %s)", key,
		     sample_prefix(out, key), res);
	snprintf(key, sizeof(key), "pyhound_calls_observed_total%s,function=\"g\",file=\"", lbl);
	cr_expect_eq(sample_prefix(out, key), 2500, "%s", key);
	snprintf(key, sizeof(key), "pyhound_call_duration_seconds_count%s,function=\"g\",file=\"",
		 lbl);
	if (timed) {
		cr_expect_eq(sample_prefix(out, key), 2500, "%s", key);
		/* g takes ~1 ms (longer on a loaded host): its calls' sum within 10% of the
		 * workload's own measurement */
		snprintf(key, sizeof(key), "pyhound_call_duration_seconds_bucket%s,function=\"g\"",
			 lbl);
		cr_expect(strstr(out, key), "%s", key);
		snprintf(key, sizeof(key), "pyhound_call_duration_seconds_sum%s,function=\"g\",file=\"",
			 lbl);
		cr_expect(fabs(sample_prefix(out, key) - 2500 * g_mean) <= 0.1 * 2500 * g_mean,
			  "%s %f, workload's own %f", key, sample_prefix(out, key), 2500 * g_mean);
	} else {
		snprintf(key, sizeof(key), "pyhound_call_duration_seconds_bucket{pid=\"%d\"",
			 (int)c.pid);
		cr_expect_null(strstr(out, key), "USDT counts only: no histogram");
	}
	cr_expect_gt(sample(out, "pyhound_calls_window_seconds_total"), 0);
	cr_expect_gt(sample(out, "pyhound_calls_probe_cost_seconds_total"), 0);
	cr_expect_eq(sample(out, "pyhound_calls_budget_percent"), 100);
	cr_expect_geq(sample(out, "pyhound_dropped_total{reason=\"calls_stats_full\"}"), 0);
	{
		FILE *f = fopen("/tmp/pyhound-calls-metrics.txt", "w");

		fputs(out, f);
		fclose(f);
	}
	cr_expect_eq(run_cmd("promtool check metrics < /tmp/pyhound-calls-metrics.txt", out,
			     sizeof(out)), 0, "promtool: %s", out);
	/* SIGHUP changes the budget live */
	write_file("/tmp/pyhound-calls.conf", "calls_budget = 2\ntop_calls = 1000\n"
					       "cache_seconds = 0\n");
	kill(s.pid, SIGHUP);
	for (t0 = mono_seconds(); mono_seconds() - t0 < 5; usleep(100 * 1000))
		if (scrape_pid(&s, c.pid) == 0 &&
		    sample(out, "pyhound_calls_budget_percent") == 2)
			break;
	cr_expect_eq(sample(out, "pyhound_calls_budget_percent"), 2, "reload: budget not applied");
	cr_expect_lt(serve_stop(&s), 2.0, "SIGTERM must stop serve within 2 s");
}

Test(serve, exact_calls_pyenv_3_12, .timeout = 150)
{
	check_serve_calls(12, false, "python3.12", "3.12.1", "uprobe:RESUME+RETURN");
}

/* Debian's stripped python3.11: handler uprobes, the table found by decoding (serve never
 * raises its USDT function probes, whose hook can harm the target) */
Test(serve, exact_calls_debian_3_11, .timeout = 150)
{
	check_serve_calls(11, true, "python3.11", "3.11.2", "uprobe:RESUME+RETURN");
}

/* calls are off by default: no probes, no families; a bad value is a clear config error */
Test(serve, calls_off_by_default_and_bad_values, .timeout = 60)
{
	struct server s;
	char cmd[512];

	serve_start(&s, NULL);
	run_io_workload();
	cr_assert_eq(curl(&s, "/metrics", NULL), 0);
	cr_expect_null(strstr(out, "pyhound_calls"), "calls families without calls_budget");
	cr_expect_null(strstr(out, "pyhound_call_duration"));
	cr_expect_null(strstr(out, "reason=\"calls_"));
	cr_expect_eq(calls_progs_of(s.pid), 0, "call probes loaded with calls_budget = 0");
	serve_stop(&s);

	write_file("/tmp/pyhound-calls-bad.conf", "calls_budget = 101\n");
	snprintf(cmd, sizeof(cmd), "%s serve --config /tmp/pyhound-calls-bad.conf 2>&1", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1);
	cr_expect(strstr(out, "bad value for 'calls_budget': '101' (percent of time"), "%s", out);
	write_file("/tmp/pyhound-calls-bad.conf", "calls_budget = -1\n");
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	write_file("/tmp/pyhound-calls-bad.conf", "calls_budget = nan\n");
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	write_file("/tmp/pyhound-calls-bad.conf", "top_calls = 0\n");
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "bad value for 'top_calls': '0' (an integer from 1 to 1000)"), "%s",
		  out);
	write_file("/tmp/pyhound-calls-bad.conf", "top_calls = 1001\n");
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
}

/* an exited process's call series age out with it, and its entries leave the collector */
Test(serve, calls_age_out, .timeout = 60)
{
	char *argv[] = { (char *)python_for(12, false), "-c",
			 "import sys\ndef f(): pass\nsys.stdin.readline()\n"
			 "for _ in range(10): f()\nprint('done', flush=True)\nsys.stdin.readline()\n",
			 NULL };
	char key[256];
	struct server s;
	struct child c;
	double t0;

	/* top_calls = 1000: f gets a series however many of the interpreter's start-up
	 * functions the probes saw before it (the default 20 were all taken by them when serve
	 * attached early in its start-up: 3 of 3 failures at load 10) */
	write_file("/tmp/pyhound-calls-age.conf", "calls_budget = 100\nprocess_max_age = 2\n"
						   "cache_seconds = 0\ntop_calls = 1000\n");
	serve_start(&s, "--config /tmp/pyhound-calls-age.conf");
	cr_assert_eq(child_start(&c, argv), 0);
	snprintf(key, sizeof(key), "pyhound_calls_source_info{pid=\"%d\",comm=\"python3.12\","
		 "python_version=\"3.12.1\",source=\"uprobe:RESUME+RETURN\"}", (int)c.pid);
	for (t0 = mono_seconds(); mono_seconds() - t0 < 15; usleep(100 * 1000))
		if (scrape_pid(&s, c.pid) == 0 && sample(out, key) == 1)
			break;
	cr_assert_eq(sample(out, key), 1, "%s never appeared", key);
	/* it stays alive after its calls until its stdin closes: serve names a code object from
	 * the live process when the probes' names map was full (other Pythons on the host) */
	cr_assert_eq(write(c.in_fd, "go\n", 3), 3);
	cr_assert_gt(read_line(c.out_fd, key, sizeof(key), 30), 0, "the workload did not call f");
	snprintf(key, sizeof(key), "pyhound_calls_observed_total{pid=\"%d\",comm=\"python3.12\","
		 "python_version=\"3.12.1\",function=\"f\",file=\"<string>\"}", (int)c.pid);
	for (t0 = mono_seconds(); mono_seconds() - t0 < 15; usleep(100 * 1000))
		if (scrape_pid(&s, c.pid) == 0 && sample(out, key) == 10)
			break;
	cr_expect_eq(sample(out, key), 10, "%s", key);
	cr_assert_eq(child_wait(&c, NULL, 0), 0);
	sleep(4);
	cr_assert_eq(scrape_pid(&s, c.pid), 0);
	snprintf(key, sizeof(key), "pid=\"%d\"", (int)c.pid);
	cr_expect_null(strstr(out, key), "call series of an exited process lingered");
	serve_stop(&s);
}
