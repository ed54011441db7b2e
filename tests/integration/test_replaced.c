// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Files that change under pyhound: an output file kept whole when record fails, and an
 * interpreter deleted on disk (or with a newline in its path) after its process started. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

static char out[1 << 20];

static int check_json(const char *file, const char *expr)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3.11 -c 'import json,sys; r=json.load(open(\"%s\")); "
		 "ok=(%s); print(\"ok\" if ok else \"FAILED\"); sys.exit(0 if ok else 1)'",
		 file, expr);
	return run_cmd(cmd, out, sizeof(out));
}

static void expect_file(const char *path, const char *content)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");

	cr_assert(f, "%s is gone", path);
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	cr_expect_str_eq(buf, content, "%s was changed", path);
}

/* nothing but the named files in dir: no temporary file left behind */
static void expect_only(const char *dir, const char *names)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "ls -A %s | tr '\\n' ' '", dir);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0);
	cr_expect_str_eq(out, names, "files left in %s", dir);
}

/* record failing before it records (a dead PID) leaves the output file as it was */
Test(replaced, record_failure_keeps_the_output, .timeout = 60)
{
	char dir[] = "/tmp/pyhound-out-XXXXXX", path[128], cmd[512];
	pid_t dead = fork();
	FILE *f;

	if (!dead)
		_exit(0);
	waitpid(dead, NULL, 0);
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.svg", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("precious\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s record --pid %d -d 1 -o %s", bin(), (int)dead, path);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "does not exist"), "%s", out);
	expect_file(path, "precious\n");
	expect_only(dir, "x.svg ");
	/* a run that works replaces it with the whole profile */
	snprintf(cmd, sizeof(cmd), "%s record -d 0.5 -o %s", bin(), path);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	snprintf(cmd, sizeof(cmd), "tail -c 7 %s", path);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "</svg>\n");
	expect_only(dir, "x.svg ");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run_cmd(cmd, out, sizeof(out));
}

/* No space: the real errno, the old file untouched, no partial file; stdout too */
Test(replaced, record_enospc_says_so_and_keeps_the_output, .timeout = 60)
{
	char dir[] = "/tmp/pyhound-full-XXXXXX", path[128], cmd[512];
	FILE *f;

	cr_assert(mkdtemp(dir));
	cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=64k"), 0, "mount tmpfs: %m");
	snprintf(path, sizeof(path), "%s/x.svg", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("precious\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s/fill bs=4k 2>/dev/null; sync", dir);
	run_cmd(cmd, out, sizeof(out)); /* fails when full, as meant */
	snprintf(cmd, sizeof(cmd), "%s record -d 0.3 -o %s", bin(), path);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "No space left on device"), "%s", out);
	cr_expect(!strstr(out, "Input/output error"), "%s", out);
	expect_file(path, "precious\n");
	expect_only(dir, "fill x.svg ");
	umount(dir);
	rmdir(dir);

	snprintf(cmd, sizeof(cmd), "{ %s record -d 0.3 -f svg -o - > /dev/full; } 2>&1", bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 1, "%s", out);
	cr_expect(strstr(out, "writing -: No space left on device"), "%s", out);
}

static char *const busy_gc_script =
	"import gc, sys\n"
	"n = [0, 0, 0]\n"
	"def cb(ph, info):\n"
	"    if ph == 'start': n[info['generation']] += 1\n"
	"gc.callbacks.append(cb)\n"
	"sys.stdin.readline()\n"
	"def burn():\n"
	"    s = 0\n"
	"    for i in range(200000): s += i\n"
	"    return s\n"
	"for i in range(60):\n"
	"    burn(); gc.collect(0)\n"
	"gc.disable()\n"
	"print(*n, flush=True)\n";

/* Start a copy of Debian's python3.11 at path (in dir) running the script, delete the copy
 * when del; then list must show it and report walk its stacks and count its collections
 * (USDT through /proc/PID/map_files). */
static void replaced_interpreter(const char *dir, const char *path, bool del)
{
	char *argv[] = { (char *)path, "-c", busy_gc_script, NULL };
	char cmd[1024], json[128], res[160] = "";
	struct child c;
	pid_t ph;
	int rc, g0, g1, g2;

	snprintf(cmd, sizeof(cmd), "cp /usr/bin/python3.11 '%s'", path);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_assert_eq(child_start(&c, argv), 0);
	usleep(500000);
	if (del)
		cr_assert_eq(unlink(path), 0);
	snprintf(json, sizeof(json), "/tmp/pyhound-replaced-%d.json", (int)c.pid);
	snprintf(cmd, sizeof(cmd), "%s list --json > %s", bin(), json);
	cr_assert_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	/* the object as the process mapped it: deleted flagged, a newline in its path kept */
	snprintf(cmd, sizeof(cmd), "[(p[\"version\"][:5], p[\"object\"].endswith(\"%s\"), "
		 "p[\"object_deleted\"]) for p in r[\"processes\"] if p[\"pid\"] == %d] == "
		 "[(\"3.11.\", True, %s)]", del ? "/python3.11" : "/a\\nb/python3.11", (int)c.pid,
		 del ? "True" : "False");
	cr_expect_eq(check_json(json, cmd), 0, "list does not show PID %d: %s", (int)c.pid, out);

	snprintf(cmd, sizeof(cmd), "rm -f %s.err; exec %s report -d 10 --pid %d --json > %s "
		 "2>%s.err", json, bin(), (int)c.pid, json, json);
	snprintf(res, sizeof(res), "%s.err", json);
	ph = start_until_ready(cmd, res, "watching", 60, out, sizeof(out));
	cr_assert(ph > 0, "report did not start: %s", out);
	cr_assert_eq(child_go(&c), 0);
	rc = child_wait(&c, res, sizeof(res));
	cr_assert_eq(rc, 0, "workload failed");
	cr_assert_eq(wait_exit(ph, 60), 0);
	cr_assert_eq(sscanf(res, "%d %d %d", &g0, &g1, &g2), 3, "workload said %s", res);
	cr_assert_geq(g0, 60, "workload counted %s collections", res);
	/* gc.callbacks saw every collection until it printed; the interpreter's own at exit
	 * (gen 2) come after */
	snprintf(cmd, sizeof(cmd),
		 "[(p[\"gc\"][\"source\"], p[\"gc\"][\"collections\"][:2], "
		 "p[\"gc\"][\"collections\"][2] >= %d, p[\"samples\"] > 0, "
		 "any(f[\"name\"] == \"burn\" for f in p[\"hot_functions\"])) "
		 "for p in r[\"processes\"] if p[\"pid\"] == %d] == "
		 "[(\"usdt\", [%d, %d], True, True, True)]", g2, (int)c.pid, g0, g1);
	rc = check_json(json, cmd);
	if (rc) {
		snprintf(res, sizeof(res), "cat %s", json);
		run_cmd(res, out, sizeof(out));
	}
	cr_expect_eq(rc, 0, "report of PID %d (%s%s): %s", (int)c.pid, path,
		     del ? ", deleted" : "", out);
	unlink(json);
	strcat(json, ".err");
	unlink(json);
	(void)dir;
}

Test(replaced, deleted_interpreter_is_listed_walked_and_probed, .timeout = 120)
{
	char dir[] = "/tmp/pyhound-del-XXXXXX", path[128];

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/python3.11", dir);
	replaced_interpreter(dir, path, true);
	rmdir(dir);
}

Test(replaced, newline_in_interpreter_path, .timeout = 120)
{
	char dir[] = "/tmp/pyhound-nl-XXXXXX", sub[128], path[160];

	cr_assert(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/a\nb", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/python3.11", sub);
	replaced_interpreter(dir, path, false);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

/* Not every output is a regular file to replace: /dev/stdout is written in place (and stays a
 * link), a symlink's target is replaced and the link kept */
Test(replaced, record_to_devices_and_through_symlinks, .timeout = 60)
{
	char dir[] = "/tmp/pyhound-lnk-XXXXXX", real[128], link[128], cmd[512];
	struct stat st;

	snprintf(cmd, sizeof(cmd), "%s record -d 0.3 -f collapsed -o /dev/stdout > /dev/null",
		 bin());
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out);
	cr_expect(lstat("/dev/stdout", &st) == 0 && S_ISLNK(st.st_mode), "/dev/stdout replaced");
	cr_assert(mkdtemp(dir));
	snprintf(real, sizeof(real), "%s/real.svg", dir);
	snprintf(link, sizeof(link), "%s/link.svg", dir);
	cr_assert_eq(symlink("real.svg", link), 0);
	snprintf(cmd, sizeof(cmd), "%s record -d 0.3 -o %s", bin(), link);
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out); /* a link to no file yet */
	cr_expect_eq(run_cmd(cmd, out, sizeof(out)), 0, "%s", out); /* to the file written */
	cr_expect(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
	cr_expect(stat(real, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 100,
		  "the link's target was not written");
	expect_only(dir, "link.svg real.svg ");
	unlink(link);
	unlink(real);
	rmdir(dir);
}
