// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The writers on a hand-built profile (tests/unit/sample_profile.h), checked with the tools that
 * read each format: xmllint (libxml2-utils) for the SVG, python3's json for speedscope, and
 * `go tool pprof` (golang-go) for pprof. scripts/install-deps.sh installs them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include "out/out_collapsed.h"
#include "out/out_format.h"
#include "out/out_pprof.h"
#include "out/out_speedscope.h"
#include "out/out_svg.h"
#include "sample_profile.h"

/* Write p with writer into a string */
static char *write_mem(const struct profile *p, int (*writer)(const struct profile *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(writer(p, f), 0);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

/* Write p with writer into a new temporary file whose name ends with suffix; its path */
static char *write_tmp(const struct profile *p, int (*writer)(const struct profile *, FILE *),
		       const char *suffix)
{
	char *path;
	FILE *f;
	int fd;

	cr_assert_gt(asprintf(&path, "/tmp/pyhound-test-XXXXXX%s", suffix), 0);
	fd = mkstemps(path, strlen(suffix));
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	cr_assert_eq(writer(p, f), 0);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/* Run a shell command; its stdout, every line trimmed and its runs of blanks made one space.
 * The command must exit 0. */
static char *run(const char *fmt, const char *arg)
{
	char *cmd, *out = NULL, line[4096];
	size_t len = 0;
	FILE *f, *mem;
	int status;

	cr_assert_gt(asprintf(&cmd, fmt, arg), 0);
	f = popen(cmd, "r");
	cr_assert_not_null(f, "cannot run %s", cmd);
	mem = open_memstream(&out, &len);
	while (fgets(line, sizeof(line), f)) {
		const char *c = line;
		bool blank = false, any = false;

		for (; *c && *c != '\n'; c++) {
			if (*c == ' ' || *c == '\t') {
				blank = true;
				continue;
			}
			if (blank && any)
				fputc(' ', mem);
			fputc(*c, mem);
			blank = false;
			any = true;
		}
		fputc('\n', mem);
	}
	fclose(mem);
	status = pclose(f);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "`%s` failed (status %d); scripts/install-deps.sh installs the tools it needs",
		  cmd, status);
	free(cmd);
	return out;
}

static void assert_has(const char *hay, const char *needle)
{
	cr_assert_not_null(strstr(hay, needle), "missing:\n%s\n--- in:\n%s", needle, hay);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

Test(collapsed, exact_text)
{
	struct profile *p = sample_profile();
	char *out = write_mem(p, out_collapsed_write);

	cr_assert_str_eq(out,
			 "python3 (100);MainThread;<module> (main.py:10);a\\x3bb (main.py:12) 1\n"
			 "python3 (100);MainThread;<module> (main.py:10);wait (main.py:40);"
			 "[syscall] 3\n"
			 "python3 (100);MainThread;<module> (main.py:10);work (main.py:5);"
			 "compute (lib/calc.py:20) 7\n"
			 "python3 (100);MainThread;<module> (main.py:10);work (main.py:5);"
			 "na\xc3\xafve_\xcf\x83 (lib/calc.py:30) 2\n"
			 "python3 (100);MainThread;[truncated];work (main.py:5);"
			 "compute (lib/calc.py:20) 1\n"
			 "python3.11 (200);worker;<module> (job.py:3);run (job.py:8) 2\n");
	free(out);
	profile_free(p);
}

Test(collapsed, escapes_and_missing_lines)
{
	struct prof_frame fr[] = {
		{ "multi\nline", "dir;x/a.py", 0, 7 }, /* no current line: the definition's */
		{ "back\\slash\x01", "", 3, 1 },	/* no file: the name alone */
		{ "noline", "b.py", 0, 0 },		/* no line at all */
	};
	struct profile *p = profile_new(1, 99);
	char *out;

	cr_assert_eq(profile_add(p, 5, 6, "py;3", "T\r", fr, 3, false, false, 9), 0);
	out = write_mem(p, out_collapsed_write);
	cr_assert_str_eq(out, "py\\x3b3;T\\r;multi\\nline (dir\\x3bx/a.py:7);back\\\\slash\\x01;"
			      "noline (b.py) 9\n");
	free(out);
	profile_free(p);
}

/* The <g> of the box whose tooltip starts with title_start */
static const char *svg_box(const char *svg, const char *title_start)
{
	char *needle;
	const char *g;

	cr_assert_gt(asprintf(&needle, "<title>%s\n", title_start), 0);
	g = strstr(svg, needle);
	cr_assert_not_null(g, "no box %s", title_start);
	free(needle);
	return g;
}

/* The value of attr in the first <rect> after s */
static char *rect_attr(const char *s, const char *attr)
{
	char *needle, *v;
	const char *r = strstr(s, "<rect "), *a, *end;

	cr_assert_not_null(r);
	cr_assert_gt(asprintf(&needle, " %s=\"", attr), 0);
	a = strstr(r, needle);
	cr_assert_not_null(a);
	a += strlen(needle);
	end = strchr(a, '"');
	v = strndup(a, end - a);
	free(needle);
	return v;
}

static void assert_box(const char *svg, const char *title, const char *x, const char *y,
		       const char *width)
{
	const char *g = svg_box(svg, title);
	char *vx = rect_attr(g, "x"), *vy = rect_attr(g, "y"), *vw = rect_attr(g, "width");

	cr_assert_str_eq(vx, x, "%s: x", title);
	cr_assert_str_eq(vy, y, "%s: y", title);
	cr_assert_str_eq(vw, width, "%s: width", title);
	free(vx);
	free(vy);
	free(vw);
}

Test(svg, well_formed_with_frames_widths_and_percentages)
{
	struct profile *p = sample_profile();
	char *path = write_tmp(p, out_svg_write, ".svg");
	char *out = run("xmllint --noout '%s' && echo well-formed", path);
	char *svg = write_mem(p, out_svg_write);
	char *fill_compute, *fill_naive, *fill_work, *fill_run;

	cr_assert_str_eq(out, "well-formed\n");
	/* 16 samples over 1180 px: 73.75 px a sample; depth 5 (the leaves) at y 54 */
	assert_box(svg, "all", "10.00", "134.00", "1180.00");
	assert_box(svg, "python3 (100)", "10.00", "118.00", "1032.50");
	assert_box(svg, "python3.11 (200)", "1042.50", "118.00", "147.50");
	assert_box(svg, "[truncated]", "10.00", "86.00", "73.75");
	assert_box(svg, "&lt;module&gt; (main.py:10)", "83.75", "86.00", "958.75");
	assert_box(svg, "a;b (main.py:12)", "83.75", "70.00", "73.75");
	assert_box(svg, "wait (main.py:40)", "157.50", "70.00", "221.25");
	assert_box(svg, "[syscall]", "157.50", "54.00", "221.25");
	assert_box(svg, "work (main.py:5)", "378.75", "70.00", "663.75");
	assert_box(svg, "compute (lib/calc.py:20)", "378.75", "54.00", "516.25");
	assert_box(svg, "na\xc3\xafve_\xcf\x83 (lib/calc.py:30)", "895.00", "54.00", "147.50");
	assert_box(svg, "run (job.py:8)", "1042.50", "70.00", "147.50");
	/* tooltips: samples, percentage of all, self samples */
	assert_has(svg, "<title>all\n16 samples (100.00%)</title>");
	assert_has(svg, "<title>compute (lib/calc.py:20)\n7 samples (43.75%), self 7</title>");
	assert_has(svg, "<title>compute (lib/calc.py:20)\n1 sample (6.25%), self 1</title>");
	assert_has(svg, "<title>&lt;module&gt; (main.py:10)\n13 samples (81.25%)</title>");
	assert_has(svg, "<title>[syscall]\n3 samples (18.75%), self 3</title>");
	assert_has(svg, "<title>na\xc3\xafve_\xcf\x83 (lib/calc.py:30)\n2 samples (12.50%), self 2"
			"</title>");
	/* text cut to fit its box */
	assert_has(svg, ">a;b (ma..</text>");
	assert_has(svg, ">compute (lib/calc.py:20)</text>");
	cr_assert_eq(count_of(svg, "<g class=\"f\""), 17);
	/* colour by module: one file, one colour */
	fill_compute = rect_attr(svg_box(svg, "compute (lib/calc.py:20)"), "fill");
	fill_naive = rect_attr(svg_box(svg, "na\xc3\xafve_\xcf\x83 (lib/calc.py:30)"), "fill");
	fill_work = rect_attr(svg_box(svg, "work (main.py:5)"), "fill");
	fill_run = rect_attr(svg_box(svg, "run (job.py:8)"), "fill");
	cr_assert_str_eq(fill_compute, fill_naive);
	cr_assert_str_neq(fill_compute, fill_work);
	cr_assert_str_neq(fill_run, fill_work);
	/* title, duration, interactivity */
	assert_has(svg, ">pyhound: python3 (100), python3.11 (200)</text>");
	assert_has(svg, ">2.0 s, 16 samples at 100 Hz, 2 processes</text>");
	assert_has(svg, "<script type=\"text/ecmascript\"><![CDATA[");
	assert_has(svg, "addEventListener('click'");
	assert_has(svg, "new RegExp(q)");
	cr_assert_eq(count_of(svg, "]]>"), 1);
	free(fill_compute);
	free(fill_naive);
	free(fill_work);
	free(fill_run);
	unlink(path);
	free(path);
	free(out);
	free(svg);
	profile_free(p);
}

Test(svg, escapes_markup_and_bad_bytes)
{
	struct prof_frame fr[] = {
		{ "<&>\"'", "a.py", 1, 1 },
		{ "bad\xff\x01utf8\xed\xa0\x80", "b&c.py", 2, 1 },
	};
	struct profile *p = profile_new(1, 99);
	char *path, *out, *svg;

	cr_assert_eq(profile_add(p, 1, 1, "]]> & <proc>", "t", fr, 2, false, false, 1), 0);
	path = write_tmp(p, out_svg_write, ".svg");
	out = run("xmllint --noout '%s' && echo well-formed", path);
	cr_assert_str_eq(out, "well-formed\n");
	svg = write_mem(p, out_svg_write);
	assert_has(svg, "<title>&lt;&amp;&gt;&quot;&apos; (a.py:1)\n1 sample (100.00%)</title>");
	assert_has(svg, "<title>bad\xef\xbf\xbd\xef\xbf\xbdutf8\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			" (b&amp;c.py:2)\n");
	assert_has(svg, ">pyhound: ]]&gt; &amp; &lt;proc&gt;</text>");
	unlink(path);
	free(path);
	free(out);
	free(svg);
	profile_free(p);
}

Test(svg, leaves_out_boxes_too_narrow_to_see)
{
	struct prof_frame wide[] = { { "main", "a.py", 1, 1 }, { "hot", "a.py", 2, 2 } };
	struct prof_frame thin[] = { { "main", "a.py", 1, 1 }, { "cold", "b.py", 5, 5 },
				     { "colder", "b.py", 6, 6 } };
	struct profile *p = profile_new(1, 99);
	char *svg;

	cr_assert_eq(profile_add(p, 1, 1, "p", "t", wide, 2, false, false, 20000), 0);
	/* 1180 px / 20001 samples: 0.059 px, under OUT_SVG_MIN_WIDTH */
	cr_assert_eq(profile_add(p, 1, 1, "p", "t", thin, 3, false, false, 1), 0);
	svg = write_mem(p, out_svg_write);
	cr_assert_eq(count_of(svg, "<g class=\"f\""), 5); /* all, p, t, main, hot */
	cr_assert_null(strstr(svg, "cold"));
	assert_has(svg, "<title>main (a.py:1)\n20001 samples (100.00%)</title>");
	free(svg);
	profile_free(p);
}

/* python3 prints a speedscope file as: schema, then per profile its header and each sample's
 * weight and frames (name@file:line, root first) */
static const char speedscope_summary[] =
	"python3 -c '\n"
	"import json, sys\n"
	"d = json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
	"print(d[\"$schema\"])\n"
	"fr = d[\"shared\"][\"frames\"]\n"
	"def f(i):\n"
	"    x = fr[i]\n"
	"    at = \"@%%s:%%d\" %% (x[\"file\"], x[\"line\"]) if \"file\" in x else \"\"\n"
	"    return x[\"name\"] + at\n"
	"for p in d[\"profiles\"]:\n"
	"    print(p[\"type\"], p[\"name\"], p[\"unit\"], p[\"startValue\"], p[\"endValue\"])\n"
	"    for s, w in zip(p[\"samples\"], p[\"weights\"], strict=True):\n"
	"        print(w, \" > \".join(f(i) for i in s))\n"
	"' '%s'";

Test(speedscope, parses_with_right_frames_and_weights)
{
	struct profile *p = sample_profile();
	char *path = write_tmp(p, out_speedscope_write, ".speedscope.json");
	char *out = run(speedscope_summary, path);

	cr_assert_str_eq(out,
		"https://www.speedscope.app/file-format-schema.json\n"
		"sampled python3 (100) / MainThread none 0 14\n"
		"1 <module>@main.py:10 > a;b@main.py:12\n"
		"3 <module>@main.py:10 > wait@main.py:40 > [syscall]\n"
		"7 <module>@main.py:10 > work@main.py:5 > compute@lib/calc.py:20\n"
		"2 <module>@main.py:10 > work@main.py:5 > na\xc3\xafve_\xcf\x83@lib/calc.py:30\n"
		"1 [truncated] > work@main.py:5 > compute@lib/calc.py:20\n"
		"sampled python3.11 (200) / worker none 0 2\n"
		"2 <module>@job.py:3 > run@job.py:8\n");
	unlink(path);
	free(path);
	free(out);
	profile_free(p);
}

Test(pprof, go_tool_pprof_reads_functions_counts_and_labels)
{
	struct profile *p = sample_profile();
	char *path = write_tmp(p, out_pprof_write, ".pb.gz");
	char *top = run("go tool pprof -top -sample_index=samples '%s' 2>/dev/null", path);
	char *cpu = run("go tool pprof -top -sample_index=cpu '%s' 2>/dev/null", path);
	char *traces = run("go tool pprof -traces -sample_index=samples '%s' 2>/dev/null", path);
	char *raw = run("go tool pprof -raw '%s' 2>/dev/null", path);
	FILE *f = fopen(path, "rb");
	unsigned char magic[2];

	cr_assert_not_null(f);
	cr_assert_eq(fread(magic, 1, 2, f), 2);
	fclose(f);
	cr_assert(magic[0] == 0x1f && magic[1] == 0x8b, "not gzip");

	/* flat flat% sum% cum cum% name: check flat and cum of each function */
	assert_has(top, "Total samples = 16\n");
	assert_has(top, "8 50.00% 50.00% 8 50.00% compute\n");
	assert_has(top, "% 3 18.75% [syscall]\n");
	assert_has(top, "% 2 12.50% na\xc3\xafve_\xcf\x83\n");
	assert_has(top, "% 2 12.50% run\n");
	assert_has(top, "1 6.25% 100% 1 6.25% a;b\n");
	assert_has(top, "0 0% 100% 15 93.75% <module>\n"); /* two <module>s, one name */
	assert_has(top, "0 0% 100% 3 18.75% wait\n");
	assert_has(top, "0 0% 100% 10 62.50% work\n");
	assert_has(top, "0 0% 100% 1 6.25% [truncated]\n");
	/* value 2 is count * period (1e9 / 100 Hz) */
	assert_has(cpu, "Duration: 2s, Total samples = 160ms");
	assert_has(cpu, "80ms 50.00% 50.00% 80ms 50.00% compute\n");
	/* stacks leaf first with their labels */
	assert_has(traces, "pid: 100\ntid: 100\n7 compute\nwork\n<module>\n");
	assert_has(traces, "pid: 100\ntid: 100\n3 [syscall]\nwait\n<module>\n");
	assert_has(traces, "pid: 100\ntid: 100\n1 compute\nwork\n[truncated]\n");
	assert_has(traces, "thread: worker\nprocess: python3.11 (200)\npid: 200\ntid: 201\n"
			   "2 run\n<module>\n");
	/* the header fields, and functions with their file and line of definition */
	assert_has(raw, "PeriodType: cpu nanoseconds\nPeriod: 10000000\nDuration: 2s\n");
	assert_has(raw, "samples/count cpu/nanoseconds\n");
	assert_has(raw, "Mappings\n1: 0x0/0x0/0x0 python [FN][FL][LN]\n");
	assert_has(raw, "7 70000000: ");
	assert_has(raw, "process:[python3.11 (200)] thread:[worker]\npid:[200] tid:[201]\n");
	assert_has(raw, " compute lib/calc.py:20 s=18");
	assert_has(raw, " na\xc3\xafve_\xcf\x83 lib/calc.py:30 s=28");
	assert_has(raw, " <module> main.py:10 s=1");
	assert_has(raw, " <module> job.py:3 s=1");
	assert_has(raw, " a;b main.py:12 s=11");
	unlink(path);
	free(path);
	free(top);
	free(cpu);
	free(traces);
	free(raw);
	profile_free(p);
}

Test(pprof, string_table_starts_empty_and_header_fields)
{
	struct profile *p = sample_profile();
	struct pb_buf b;
	/* field 6 (string_table), length 0: the first string is "" */
	static const unsigned char empty_first[] = { 0x32, 0x00, 0x32, 0x07, 's', 'a', 'm', 'p',
						     'l', 'e', 's' };
	/* sample_type {type 1 ("samples"), unit 2 ("count")} comes first */
	static const unsigned char first[] = { 0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,
					       0x0a, 0x04, 0x08, 0x03, 0x10, 0x04 };
	/* period_type {cpu, nanoseconds}, period 10000000 close the message */
	static const unsigned char last[] = { 0x5a, 0x04, 0x08, 0x03, 0x10, 0x04,
					      0x60, 0x80, 0xad, 0xe2, 0x04 };

	pb_init(&b);
	cr_assert_eq(out_pprof_encode(p, &b), 0);
	cr_assert_geq(b.len, sizeof(first) + sizeof(last));
	cr_assert_eq(memcmp(b.data, first, sizeof(first)), 0);
	cr_assert_eq(memcmp(b.data + b.len - sizeof(last), last, sizeof(last)), 0);
	cr_assert_not_null(memmem(b.data, b.len, empty_first, sizeof(empty_first)));
	pb_free(&b);
	profile_free(p);
}

Test(format, from_path)
{
	cr_assert_str_eq(profile_format_from_path("out.collapsed"), "collapsed");
	cr_assert_str_eq(profile_format_from_path("out.folded"), "collapsed");
	cr_assert_str_eq(profile_format_from_path("out.txt"), "collapsed");
	cr_assert_str_eq(profile_format_from_path("/a/b/flame.SVG"), "svg");
	cr_assert_str_eq(profile_format_from_path("x.speedscope.json"), "speedscope");
	cr_assert_str_eq(profile_format_from_path("x.json"), "speedscope");
	cr_assert_str_eq(profile_format_from_path("cpu.pb.gz"), "pprof");
	cr_assert_str_eq(profile_format_from_path("cpu.pprof"), "pprof");
	cr_assert_null(profile_format_from_path("cpu.gz"));
	cr_assert_null(profile_format_from_path("svg"));
	cr_assert_null(profile_format_from_path(".svg"));
	cr_assert_null(profile_format_from_path(NULL));
}

Test(format, write_dispatches)
{
	struct profile *p = sample_profile();
	char *direct = write_mem(p, out_collapsed_write), *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(profile_write(p, "collapsed", f), 0);
	cr_assert_eq(profile_write(p, "flamegraph", f), -EINVAL);
	cr_assert_eq(profile_write(p, NULL, f), -EINVAL);
	fclose(f);
	cr_assert_str_eq(buf, direct);
	free(buf);
	free(direct);
	profile_free(p);
}

Test(format, every_writer_handles_an_empty_profile)
{
	struct profile *p = profile_new(0, 0);
	char *out, *path;

	out = write_mem(p, out_collapsed_write);
	cr_assert_str_eq(out, "");
	free(out);

	path = write_tmp(p, out_svg_write, ".svg");
	out = run("xmllint --noout '%s' && echo well-formed", path);
	cr_assert_str_eq(out, "well-formed\n");
	unlink(path);
	free(path);
	free(out);

	path = write_tmp(p, out_speedscope_write, ".json");
	out = run("python3 -c 'import json, sys; "
		  "print(json.load(open(sys.argv[1]))[\"profiles\"])' '%s'", path);
	cr_assert_str_eq(out, "[]\n");
	unlink(path);
	free(path);
	free(out);

	path = write_tmp(p, out_pprof_write, ".pb.gz");
	out = run("go tool pprof -raw '%s' 2>/dev/null", path);
	assert_has(out, "PeriodType: cpu nanoseconds\nPeriod: 0\n");
	unlink(path);
	free(path);
	free(out);
	profile_free(p);
}

Test(format, write_errors_are_eio)
{
	static const char *const formats[] = { "collapsed", "svg", "speedscope", "pprof" };
	struct profile *p = sample_profile();
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		FILE *f = fopen("/dev/full", "w");

		cr_assert_not_null(f);
		cr_assert_eq(profile_write(p, formats[i], f), -EIO, "%s", formats[i]);
		fclose(f);
	}
	profile_free(p);
}
