// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "lib/hashidx.h"
#include "out/out_svg.h"
#include "wall.h"

enum node_kind {
	NODE_ROOT,
	NODE_PROCESS,
	NODE_THREAD,
	NODE_TRUNCATED,
	NODE_FRAME,
	NODE_SYSCALL,
};

struct node {
	const char *name;
	const char *file; /* NODE_FRAME only, else NULL */
	int line;	  /* NODE_FRAME: the frame's line; NODE_PROCESS: pid; NODE_THREAD: tid */
	enum node_kind kind;
	uint32_t parent; /* UINT32_MAX for the root */
	uint32_t depth;
	uint64_t total, self;
	uint64_t start; /* samples left of this box */
};

struct tree {
	struct node *v;
	size_t n, cap;
	struct hashidx idx;
	uint32_t max_depth;
};

static bool node_eq(const void *ctx, uint32_t i)
{
	const void *const *k = ctx;
	const struct node *a = k[0], *b = &((const struct tree *)k[1])->v[i];

	return a->parent == b->parent && a->kind == b->kind && a->name == b->name &&
	       a->file == b->file && a->line == b->line;
}

/* The child of parent with this key, created if new; its index or negative errno */
static int64_t child(struct tree *t, uint32_t parent, enum node_kind kind, const char *name,
		     const char *file, int line)
{
	struct node key = {
		.name = name, .file = file, .line = line, .kind = kind, .parent = parent,
	};
	const void *ctx[2] = { &key, t };
	uint32_t h = HASH_SEED;
	int64_t i;

	h = hash_u64(h, (uint64_t)parent << 32 | (uint32_t)kind);
	h = hash_u64(hash_ptr(hash_ptr(h, name), file), (uint32_t)line);
	i = hashidx_find(&t->idx, h, node_eq, ctx);
	if (i >= 0)
		return i;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 256;
		struct node *nv = realloc(t->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = ncap;
	}
	if (hashidx_insert(&t->idx, h, t->n))
		return -ENOMEM;
	key.depth = t->v[parent].depth + 1;
	if (key.depth > t->max_depth)
		t->max_depth = key.depth;
	t->v[t->n] = key;
	return t->n++;
}

/* Walk one stack down from the root, creating nodes and adding its count */
static int add_stack(struct tree *t, const struct prof_stack *s)
{
	int64_t cur = 0;
	uint32_t j;

	t->v[0].total += s->count;
	cur = child(t, cur, NODE_PROCESS, s->process, NULL, s->pid);
	if (cur < 0)
		return cur;
	t->v[cur].total += s->count;
	cur = child(t, cur, NODE_THREAD, s->thread, NULL, s->tid);
	if (cur < 0)
		return cur;
	t->v[cur].total += s->count;
	if (s->truncated) {
		cur = child(t, cur, NODE_TRUNCATED, PROF_TRUNCATED_NAME, NULL, 0);
		if (cur < 0)
			return cur;
		t->v[cur].total += s->count;
	}
	for (j = 0; j < s->nframes; j++) {
		const struct prof_frame *fr = &s->frames[j];

		cur = child(t, cur, NODE_FRAME, fr->name, fr->file, prof_frame_line(fr));
		if (cur < 0)
			return cur;
		t->v[cur].total += s->count;
	}
	if (s->in_syscall) {
		cur = child(t, cur, NODE_SYSCALL, PROF_SYSCALL_NAME, NULL, 0);
		if (cur < 0)
			return cur;
		t->v[cur].total += s->count;
	}
	t->v[cur].self += s->count;
	return 0;
}

/* siblings together, parents' groups in index order, siblings by kind then name, file, line */
static int cmp_node(const void *x, const void *y, void *ctx)
{
	const struct tree *t = ctx;
	const struct node *a = &t->v[*(const uint32_t *)x];
	const struct node *b = &t->v[*(const uint32_t *)y];
	int c;

	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	c = strcmp(a->name, b->name);
	if (c)
		return c;
	c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (c)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* Length of the valid UTF-8 sequence at s that XML allows, or 0 */
static int xml_utf8_len(const unsigned char *s)
{
	int n, i;

	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, UTF-16 surrogates, past U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90) ||
	    (s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)) /* U+FFFE, U+FFFF */
		return 0;
	return n;
}

static size_t cp_count(const char *s)
{
	const unsigned char *c = (const unsigned char *)s;
	size_t n = 0;

	while (*c) {
		int l = xml_utf8_len(c);

		c += l ? l : 1;
		n++;
	}
	return n;
}

void out_svg_put_text(FILE *f, const char *s, size_t max_cp)
{
	const unsigned char *c = (const unsigned char *)s;

	for (; *c && max_cp; max_cp--) {
		int l = xml_utf8_len(c);

		switch (*c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if (l)
				fwrite(c, 1, l, f);
			else
				fputs("\xef\xbf\xbd", f); /* U+FFFD */
		}
		c += l ? l : 1;
	}
}

static char *node_label(const struct node *n)
{
	char *s;
	int r;

	if (n->kind == NODE_ROOT)
		return strdup("all");
	if (n->kind != NODE_FRAME || !n->file[0])
		return strdup(n->name);
	if (n->line)
		r = asprintf(&s, "%s (%s:%d)", n->name, n->file, n->line);
	else
		r = asprintf(&s, "%s (%s)", n->name, n->file);
	return r < 0 ? NULL : s;
}

/* warm colours for Python frames, one per file */
static void node_color(const struct node *n, char *buf, size_t size)
{
	uint32_t h;

	switch (n->kind) {
	case NODE_ROOT: snprintf(buf, size, "rgb(200,200,200)"); return;
	case NODE_PROCESS: snprintf(buf, size, "rgb(150,170,200)"); return;
	case NODE_THREAD: snprintf(buf, size, "rgb(180,195,220)"); return;
	case NODE_TRUNCATED: snprintf(buf, size, "rgb(170,170,170)"); return;
	case NODE_SYSCALL: snprintf(buf, size, "rgb(90,170,220)"); return;
	case NODE_FRAME: break;
	}
	h = hash_str(HASH_SEED, n->file);
	h ^= h >> 15;
	h *= 0x2c1b3c6d;
	h ^= h >> 12;
	snprintf(buf, size, "rgb(%u,%u,%u)", 205 + (h & 0xff) % 51, 60 + (h >> 8 & 0xff) % 171,
		 (h >> 16 & 0xff) % 56);
}

static const char script[] =
"<script type=\"text/ecmascript\"><![CDATA[\n"
"(function () {\n"
"\t'use strict';\n"
"\tvar svg = document.documentElement;\n"
"\tvar W = +svg.getAttribute('width'), PAD = +svg.getAttribute('ph:xpad');\n"
"\tvar CW = +svg.getAttribute('ph:charw'), TOTAL = +svg.getAttribute('ph:total');\n"
"\tvar boxes = Array.prototype.slice.call(document.querySelectorAll('g.f'));\n"
"\tif (!boxes.length)\n"
"\t\treturn;\n"
"\tvar details = document.getElementById('details');\n"
"\tvar matched = document.getElementById('matched');\n"
"\tvar reset = document.getElementById('reset'), unsearch = document.getElementById('unsearch');\n"
"\tvar num = function (g, a) { return +g.getAttribute('ph:' + a); };\n"
"\tvar label = function (g) {\n"
"\t\treturn g.querySelector('title').textContent.split('\\n')[0];\n"
"\t};\n"
"\tvar fit = function (g, x, w) {\n"
"\t\tvar t = g.querySelector('text'), l = Array.from(label(g)), n = Math.floor((w - 6) / CW);\n"
"\t\tt.setAttribute('x', (x + 3).toFixed(2));\n"
"\t\tt.textContent = n < 3 ? '' : l.length <= n ? l.join('') : l.slice(0, n - 2).join('') + '..';\n"
"\t};\n"
"\tvar place = function (g, x, w) {\n"
"\t\tvar r = g.querySelector('rect');\n"
"\t\tr.setAttribute('x', x.toFixed(2));\n"
"\t\tr.setAttribute('width', w.toFixed(2));\n"
"\t\tfit(g, x, w);\n"
"\t};\n"
"\tvar zoom = function (z) {\n"
"\t\tvar s = num(z, 's'), n = num(z, 'n'), d = num(z, 'd'), k = (W - 2 * PAD) / n;\n"
"\t\tboxes.forEach(function (g) {\n"
"\t\t\tvar gs = num(g, 's'), gn = num(g, 'n'), gd = num(g, 'd');\n"
"\t\t\tvar inside = gs >= s && gs + gn <= s + n, above = gs <= s && gs + gn >= s + n;\n"
"\t\t\tif (gd < d && above) {\n"
"\t\t\t\tg.style.display = '';\n"
"\t\t\t\tg.style.opacity = 0.6;\n"
"\t\t\t\tplace(g, PAD, W - 2 * PAD);\n"
"\t\t\t} else if (gd >= d && inside && gn * k >= 0.1) {\n"
"\t\t\t\tg.style.display = '';\n"
"\t\t\t\tg.style.opacity = '';\n"
"\t\t\t\tplace(g, PAD + (gs - s) * k, gn * k);\n"
"\t\t\t} else {\n"
"\t\t\t\tg.style.display = 'none';\n"
"\t\t\t}\n"
"\t\t});\n"
"\t\treset.style.opacity = d > 0 ? 1 : 0;\n"
"\t};\n"
"\tvar search = function (re) {\n"
"\t\tvar spans = [], sum = 0, end = -1;\n"
"\t\tboxes.forEach(function (g) {\n"
"\t\t\tvar r = g.querySelector('rect');\n"
"\t\t\tif (r.origFill === undefined)\n"
"\t\t\t\tr.origFill = r.getAttribute('fill');\n"
"\t\t\tif (re && re.test(label(g))) {\n"
"\t\t\t\tr.setAttribute('fill', 'rgb(220,0,220)');\n"
"\t\t\t\tspans.push([num(g, 's'), num(g, 's') + num(g, 'n')]);\n"
"\t\t\t} else {\n"
"\t\t\t\tr.setAttribute('fill', r.origFill);\n"
"\t\t\t}\n"
"\t\t});\n"
"\t\t/* nested matches count once */\n"
"\t\tspans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n"
"\t\tspans.forEach(function (sp) {\n"
"\t\t\tif (sp[0] >= end) {\n"
"\t\t\t\tsum += sp[1] - sp[0];\n"
"\t\t\t\tend = sp[1];\n"
"\t\t\t} else if (sp[1] > end) {\n"
"\t\t\t\tsum += sp[1] - end;\n"
"\t\t\t\tend = sp[1];\n"
"\t\t\t}\n"
"\t\t});\n"
"\t\tvar pct = TOTAL ? 100 * sum / TOTAL : 0;\n"
"\t\tmatched.textContent = re ? 'Matched: ' + pct.toFixed(2) + '%' : '';\n"
"\t\tunsearch.style.opacity = re ? 1 : 0;\n"
"\t};\n"
"\tvar ask = function () {\n"
"\t\tvar q = window.prompt('Search frames (regular expression)', '');\n"
"\t\tif (q === null || q === '')\n"
"\t\t\treturn;\n"
"\t\ttry {\n"
"\t\t\tsearch(new RegExp(q));\n"
"\t\t} catch (e) {\n"
"\t\t\tmatched.textContent = 'Bad expression: ' + e.message;\n"
"\t\t}\n"
"\t};\n"
"\tsvg.addEventListener('click', function (ev) {\n"
"\t\tvar g = ev.target.closest ? ev.target.closest('g.f') : null;\n"
"\t\tif (g)\n"
"\t\t\tzoom(g);\n"
"\t\telse if (ev.target === reset)\n"
"\t\t\tzoom(boxes[0]);\n"
"\t\telse if (ev.target.id === 'search')\n"
"\t\t\task();\n"
"\t\telse if (ev.target === unsearch)\n"
"\t\t\tsearch(null);\n"
"\t});\n"
"\tsvg.addEventListener('mouseover', function (ev) {\n"
"\t\tvar g = ev.target.closest ? ev.target.closest('g.f') : null;\n"
"\t\tdetails.textContent = g ? g.querySelector('title').textContent.replace('\\n', ': ') : '';\n"
"\t});\n"
"\twindow.addEventListener('keydown', function (ev) {\n"
"\t\tif (ev.key === 'Escape') {\n"
"\t\t\tzoom(boxes[0]);\n"
"\t\t\tsearch(null);\n"
"\t\t} else if ((ev.ctrlKey || ev.metaKey) && ev.key === 'f') {\n"
"\t\t\tev.preventDefault();\n"
"\t\t\task();\n"
"\t\t}\n"
"\t});\n"
"})();\n"
"]]></script>\n";

static void write_title(FILE *f, const struct profile *p, const struct tree *t, double x)
{
	size_t i, nproc = 0, shown = 0;

	fprintf(f, "<text id=\"title\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\" "
		   "font-size=\"%d\">pyhound: ",
		x, OUT_SVG_FONT_SIZE * 2, OUT_SVG_FONT_SIZE + 5);
	for (i = 1; i < t->n; i++)
		if (t->v[i].kind == NODE_PROCESS)
			nproc++;
	for (i = 1; i < t->n && shown < 3; i++) {
		if (t->v[i].kind != NODE_PROCESS)
			continue;
		if (shown++)
			fputs(", ", f);
		out_svg_put_text(f, t->v[i].name, 80);
	}
	if (nproc > shown)
		fprintf(f, " and %zu more", nproc - shown);
	if (!nproc)
		fputs("no samples", f);
	if (p->mode == PH_MODE_MEMORY)
		fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%.2f\" y=\"%d\" "
			   "text-anchor=\"middle\" fill=\"rgb(100,100,100)\">%.1f s, %.1f MiB of "
			   "resident growth still held, %zu process%s</text>\n",
			x, OUT_SVG_FONT_SIZE * 2 + 16, p->duration_s, p->total_samples / 1048576.0,
			nproc, nproc == 1 ? "" : "es");
	else
	fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\" "
		   "fill=\"rgb(100,100,100)\">%.1f s, %" PRIu64 " samples at %u Hz, %zu process%s"
		   "</text>\n",
		x, OUT_SVG_FONT_SIZE * 2 + 16, p->duration_s, p->total_samples, p->frequency_hz,
		nproc, nproc == 1 ? "" : "es");
}

static int write_svg(const struct profile *p, const struct tree *t, const uint32_t *order,
		     FILE *f)
{
	const int top = OUT_SVG_FONT_SIZE * 2 + 30, bottom = OUT_SVG_FONT_SIZE * 2 + 10;
	const int height = top + (t->max_depth + 1) * OUT_SVG_FRAME_HEIGHT + bottom;
	const double charw = OUT_SVG_FONT_SIZE * 0.59;
	uint64_t total = t->v[0].total;
	double scale = total ? (OUT_SVG_WIDTH - 2.0 * OUT_SVG_XPAD) / total : 0;
	/* a box is drawn when it and all its ancestors are wide enough */
	bool *drawn = calloc(t->n, sizeof(*drawn));
	size_t i;

	if (!drawn)
		return -ENOMEM;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		   "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" "
		   "xmlns:ph=\"urn:pyhound:flamegraph\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" ph:xpad=\"%d\" ph:charw=\"%.3f\" "
		   "ph:total=\"%" PRIu64 "\">\n",
		OUT_SVG_WIDTH, height, OUT_SVG_WIDTH, height, OUT_SVG_XPAD, charw, total);
	fprintf(f, "<defs><linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\">"
		   "<stop stop-color=\"#f4f4f4\" offset=\"0%%\"/>"
		   "<stop stop-color=\"#f0e8c8\" offset=\"100%%\"/></linearGradient></defs>\n"
		   "<style type=\"text/css\">text { font-family: monospace; font-size: %dpx; "
		   "fill: rgb(0,0,0); } g.f:hover rect { stroke: rgb(60,60,60); stroke-width: 0.5; "
		   "} g.f { cursor: pointer; } #reset, #search, #unsearch { cursor: pointer; }"
		   "</style>\n",
		OUT_SVG_FONT_SIZE);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#bg)\"/>\n",
		OUT_SVG_WIDTH, height);
	write_title(f, p, t, OUT_SVG_WIDTH / 2.0);
	fprintf(f, "<text id=\"reset\" x=\"%d\" y=\"%d\" style=\"opacity:0\">Reset Zoom</text>\n"
		   "<text id=\"search\" x=\"%d\" y=\"%d\" text-anchor=\"end\">Search</text>\n"
		   "<text id=\"unsearch\" x=\"%d\" y=\"%d\" text-anchor=\"end\" "
		   "style=\"opacity:0\">Clear search</text>\n"
		   "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n"
		   "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n",
		OUT_SVG_XPAD, OUT_SVG_FONT_SIZE * 2, OUT_SVG_WIDTH - OUT_SVG_XPAD,
		OUT_SVG_FONT_SIZE * 2, OUT_SVG_WIDTH - OUT_SVG_XPAD - 60, OUT_SVG_FONT_SIZE * 2,
		OUT_SVG_XPAD, height - OUT_SVG_FONT_SIZE, OUT_SVG_WIDTH - OUT_SVG_XPAD,
		height - OUT_SVG_FONT_SIZE);

	for (i = 0; i < t->n; i++) {
		const struct node *n = &t->v[order[i]];
		double x = OUT_SVG_XPAD + n->start * scale, w = n->total * scale;
		double y = height - bottom - (n->depth + 1.0) * OUT_SVG_FRAME_HEIGHT;
		double room = (w - 6) / charw; /* characters that fit, 3px margins */
		size_t fit = room >= 3 ? (size_t)room : 0, len;
		char color[32], *label;

		if ((n->kind != NODE_ROOT && !drawn[n->parent]) || w < OUT_SVG_MIN_WIDTH)
			continue;
		drawn[order[i]] = true;
		label = node_label(n);
		if (!label) {
			free(drawn);
			return -ENOMEM;
		}
		node_color(n, color, sizeof(color));
		fprintf(f, "<g class=\"f\" ph:s=\"%" PRIu64 "\" ph:n=\"%" PRIu64 "\" ph:d=\"%u\">"
			   "<title>",
			n->start, n->total, n->depth);
		out_svg_put_text(f, label, SIZE_MAX);
		if (p->mode == PH_MODE_MEMORY)
			fprintf(f, "\n%.2f MiB held (%.2f%%)", n->total / 1048576.0,
				total ? 100.0 * n->total / total : 0.0);
		else
			fprintf(f, "\n%" PRIu64 " sample%s (%.2f%%)", n->total,
				n->total == 1 ? "" : "s", total ? 100.0 * n->total / total : 0.0);
		if (n->self)
			fprintf(f, ", self %" PRIu64, n->self);
		fprintf(f, "</title><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%d\" "
			   "fill=\"%s\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%.2f\">",
			x, y, w, OUT_SVG_FRAME_HEIGHT - 1, color, x + 3,
			y + OUT_SVG_FRAME_HEIGHT - 4.5);
		len = cp_count(label);
		if (fit >= 3 && len <= fit) {
			out_svg_put_text(f, label, SIZE_MAX);
		} else if (fit >= 3) {
			out_svg_put_text(f, label, fit - 2);
			fputs("..", f);
		}
		fputs("</text></g>\n", f);
		free(label);
	}
	free(drawn);
	fputs(script, f);
	fputs("</svg>\n", f);
	return 0;
}

int out_svg_write(const struct profile *p, FILE *f)
{
	struct tree t = { 0 };
	const struct prof_stack **v = NULL;
	uint32_t *order = NULL;
	ssize_t n, i;
	size_t g;
	int err = -ENOMEM;

	if (!p || !f)
		return -EINVAL;
	hashidx_init(&t.idx);
	n = profile_sorted_stacks(p, 0, &v);
	if (n < 0)
		return n;
	t.cap = 256;
	t.v = malloc(t.cap * sizeof(*t.v));
	if (!t.v)
		goto out;
	t.v[0] = (struct node){ .name = "all", .kind = NODE_ROOT, .parent = UINT32_MAX };
	t.n = 1;
	for (i = 0; i < n; i++) {
		err = add_stack(&t, v[i]);
		if (err)
			goto out;
	}

	/* order: the root, then each parent's children together, parents in index order; a node's
	 * parent has a lower index, so its start is known when its children are laid out */
	err = -ENOMEM;
	order = malloc(t.n * sizeof(*order));
	if (!order)
		goto out;
	for (g = 0; g < t.n; g++)
		order[g] = g;
	qsort_r(order + 1, t.n - 1, sizeof(*order), cmp_node, &t);
	for (g = 1; g < t.n;) {
		uint32_t parent = t.v[order[g]].parent;
		uint64_t start = t.v[parent].start;

		for (; g < t.n && t.v[order[g]].parent == parent; g++) {
			t.v[order[g]].start = start;
			start += t.v[order[g]].total;
		}
	}
	err = write_svg(p, &t, order, f);
	if (!err && (fflush(f) || ferror(f)))
		err = -EIO;
out:
	free(order);
	free(v);
	free(t.v);
	hashidx_free(&t.idx);
	return err;
}
