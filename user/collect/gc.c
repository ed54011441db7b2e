// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <elf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "host/elf.h"
#include "host/usdt_args.h"
#include "gc.skel.h"
#include "collect/gc_user.h"
#include "collect/uprobe_multi.h"
#include "cpython/insn_check.h"
#include "lib/log.h"
#include "lib/ringbuf.h"

#define BIN_LINKS 16  /* links per binary: uprobes (3.8 clones: 8) and USDT sites (perf links) */
#define MAX_BINS GC_MAX_BINS
#define BIN_FDS 3     /* uprobe_multi links per binary */
#define MAX_DESTROY_THREADS 256 /* links destroyed at once (each waits for RCU) */

struct gc_bin {
	uint64_t dev, ino;
	char source[GC_SOURCE_LEN];
	bool imports;
	struct bpf_link *links[BIN_LINKS]; /* perf-event uprobe links */
	int nlinks;
	int fds[BIN_FDS]; /* or uprobe_multi links: its USDT sites; or entries, returns and
			   * 3.13's helper of the collection function */
	int nfds;
	int live;      /* running processes of this binary: at 0 its probes go */
	int refs;      /* process records pointing here: at 0 the slot may be reused */
	bool released; /* probes detached after its last process exited */
	uint64_t idle_ns; /* when its last process exited (0: a process runs, or released) */
};

/* a binary's probes go this long after its last process: a binary whose processes come and
 * go (a CLI run every few seconds) keeps them rather than detach and attach each time */
#define RELEASE_GRACE_NS (10ULL * 1000000000ULL)

struct gc_pid {
	pid_t pid;
	bool live;
	int bin; /* index in bins, -1 while unknown */
	uint64_t nimports, imports_ns;
	struct gc_import *imp; /* longest first, up to imports_per_proc */
	size_t nimp;
};

struct gc_collector {
	struct gc_bpf *skel;
	struct ring_buffer *rb;
	unsigned int max_procs, imports_per_proc;
	bool prefer_uprobes;
	bool multi;	   /* USDT sites through uprobe_multi links (Linux 6.6+) */
	uint32_t spec_gen; /* last gen written to gc_usdt_specs */
	struct gc_bin *bins;
	size_t nbins;
	struct gc_pid *pids;
	size_t npids, cap;
	struct gc_release *releases; /* binaries' probes being destroyed in the background */
	int links;		     /* links held (attached, or not yet destroyed) */
};

/* the probes of a binary whose last process exited, destroyed on their own thread: each destroy
 * waits for an RCU grace period, and the caller holds serve's lock */
struct gc_release {
	struct gc_collector *c;
	struct bpf_link *links[BIN_LINKS];
	int n;
	int fds[BIN_FDS];
	int nfds;
	pthread_t th;
	bool done;
	struct gc_release *next;
};

int gc_open(const struct gc_collector_opts *opts, struct gc_collector **out)
{
	struct gc_collector *c = calloc(1, sizeof(*c));
	unsigned int max = opts->max_procs ? opts->max_procs : 4096;
	unsigned int threads = opts->max_threads ? opts->max_threads : 16384;
	unsigned int rb_kb = opts->ringbuf_kb ? opts->ringbuf_kb : 512;
	int err;

	if (!c)
		return -ENOMEM;
	if (max > GC_MAX_PROCS)
		max = GC_MAX_PROCS;
	c->max_procs = max;
	c->prefer_uprobes = opts->prefer_uprobes;
	c->imports_per_proc = opts->imports_per_proc ? opts->imports_per_proc : 32;
	if (c->imports_per_proc > GC_IMPORTS_MAX)
		c->imports_per_proc = GC_IMPORTS_MAX;
	c->bins = calloc(MAX_BINS, sizeof(*c->bins));
	if (!c->bins) {
		err = -ENOMEM;
		goto err_free;
	}
	c->skel = gc_bpf__open();
	if (!c->skel) {
		err = -errno;
		pr_err("cannot open the GC collector BPF object: %s", strerror(-err));
		goto err_free;
	}
	bpf_map__set_max_entries(c->skel->maps.gc_stats, max);
	bpf_map__set_max_entries(c->skel->maps.gc_inflight, threads);
	bpf_map__set_max_entries(c->skel->maps.imp_inflight, threads);
	bpf_map__set_max_entries(c->skel->maps.gc_events, ringbuf_bytes(rb_kb));
	/* a binary's USDT sites are one uprobe_multi link where the kernel has them (one
	 * breakpoint removal and RCU wait for all), else a perf-event link each */
	c->multi = uprobe_multi_supported();
	if (c->multi) { /* and the uprobes of the collection function */
		bpf_program__set_expected_attach_type(c->skel->progs.gc_usdt_site,
						      UPROBE_MULTI_ATTACH_TYPE);
		bpf_program__set_expected_attach_type(c->skel->progs.gc_enter,
						      UPROBE_MULTI_ATTACH_TYPE);
		bpf_program__set_expected_attach_type(c->skel->progs.gc_return,
						      UPROBE_MULTI_ATTACH_TYPE);
		bpf_program__set_expected_attach_type(c->skel->progs.gc_fix_gen,
						      UPROBE_MULTI_ATTACH_TYPE);
	}
	bpf_program__set_autoload(c->multi ? c->skel->progs.gc_usdt_site_perf :
					     c->skel->progs.gc_usdt_site, false);
	err = bpf_map__reuse_fd(c->skel->maps.tracked_pids, opts->tracked_fd);
	if (err) {
		pr_err("cannot share the tracked-process map: %s", strerror(-err));
		goto err_destroy;
	}
	err = gc_bpf__load(c->skel);
	if (err) {
		pr_err("cannot load the GC collector BPF programs: %s (run with -vv for "
		       "libbpf's log)", strerror(-err));
		goto err_destroy;
	}
	*out = c;
	return 0;

err_destroy:
	gc_bpf__destroy(c->skel);
err_free:
	free(c->bins);
	free(c);
	return err;
}

int gc_symbol_mode(int minor, const char *name, int *mode)
{
	if (minor >= 8 && minor <= 9) {
		if (!strcmp(name, "collect")) {
			*mode = GC_MODE_ARG2;
			return 0;
		}
		/* GCC's clones of 3.8's collect(): see enum gc_gen_mode */
		if (minor == 8 && !strncmp(name, "collect.constprop.", 18)) {
			*mode = GC_MODE_CLONE;
			return 0;
		}
		return -ENOENT;
	}
	/* 3.14/3.15 (gdb on sid's -dbg builds): gc_collect_main(tstate, generation, reason) and
	 * invoke_gc_callback(tstate, phase, generation, ...) as in 3.13, the same _PyGC_Reason */
	if (minor >= 10 && minor <= 15) {
		if (!strcmp(name, "gc_collect_main")) {
			*mode = minor >= 13 ? GC_MODE_313 : GC_MODE_ARG2;
			return 0;
		}
		if (minor >= 13 && (!strcmp(name, "invoke_gc_callback") ||
				    !strncmp(name, "invoke_gc_callback.isra.", 24))) {
			*mode = GC_MODE_FIX_ARG3;
			return 0;
		}
	}
	return -ENOENT;
}

struct sym_pick {
	int minor;
	struct {
		uint64_t vaddr;
		int mode;
		char name[64];
	} s[4];
	int n;
	bool have_main; /* a collection function (not only the 3.13 helper) */
	int clones_other; /* gc_collect_main clones with unknown arguments */
};

static int sym_cb(const struct elf_sym *sym, void *ctx)
{
	struct sym_pick *sp = ctx;
	int mode, i;

	if (sym->type != STT_FUNC || !sym->size || !sym->value)
		return 0;
	if (gc_symbol_mode(sp->minor, sym->name, &mode)) {
		if (!strncmp(sym->name, "gc_collect_main.", 16))
			sp->clones_other++;
		return 0;
	}
	for (i = 0; i < sp->n; i++)
		if (sp->s[i].vaddr == sym->value)
			return 0; /* .dynsym and .symtab both list it */
	if (sp->n >= (int)(sizeof(sp->s) / sizeof(sp->s[0])))
		return 0;
	sp->s[sp->n].vaddr = sym->value;
	sp->s[sp->n].mode = mode;
	snprintf(sp->s[sp->n].name, sizeof(sp->s[sp->n].name), "%s", sym->name);
	sp->n++;
	if (mode != GC_MODE_FIX_ARG3)
		sp->have_main = true;
	return 0;
}

static void put_links(struct gc_bin *b)
{
	while (b->nlinks > 0)
		bpf_link__destroy(b->links[--b->nlinks]);
	while (b->nfds > 0)
		close(b->fds[--b->nfds]);
}

/* links to destroy, shared by the threads of destroy_links */
struct destroy_work {
	struct gc_collector *c;
	struct bpf_link **links; /* perf-event uprobe links */
	int n;
	const int *fds; /* uprobe_multi links */
	int nfds;
	int next; /* next item, links then fds (atomic) */
};

static void *destroy_worker(void *arg)
{
	struct destroy_work *w = arg;
	int i;

	while ((i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) < w->n + w->nfds) {
		if (i < w->n)
			bpf_link__destroy(w->links[i]);
		else
			close(w->fds[i - w->n]);
		__atomic_sub_fetch(&w->c->links, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Destroy links: each destroy removes its breakpoints and then waits for an RCU grace period
 * (~0.1-0.4 s), so one after another 200 binaries take minutes. Perf-event uprobe links and
 * uprobe_multi links (fds) share no state: up to MAX_DESTROY_THREADS threads take them, and the
 * waits overlap. (libbpf's own USDT links are not used: their destroy returns spec ids to a
 * list without a lock, so they could only go one at a time.) */
static void destroy_links(struct gc_collector *c, struct bpf_link **links, int n, const int *fds,
			  int nfds)
{
	struct destroy_work w = { c, links, n, fds, nfds, 0 };
	int par = n + nfds, nth = 0, i;
	pthread_t *th;

	if (par > MAX_DESTROY_THREADS)
		par = MAX_DESTROY_THREADS;
	th = par > 1 ? calloc(par, sizeof(*th)) : NULL;
	for (i = 0; th && i < par - 1; i++)
		if (!pthread_create(&th[nth], NULL, destroy_worker, &w))
			nth++;
	destroy_worker(&w); /* with the threads, or alone without them */
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	free(th);
}

static void *release_thread(void *arg)
{
	struct gc_release *r = arg;

	destroy_links(r->c, r->links, r->n, r->fds, r->nfds);
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* join the release threads that have finished (all when wait) */
static void reap_releases(struct gc_collector *c, bool wait)
{
	struct gc_release **pp = &c->releases, *r;

	while ((r = *pp)) {
		if (!wait && !__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
			pp = &r->next;
			continue;
		}
		pthread_join(r->th, NULL);
		*pp = r->next;
		free(r);
	}
}

/* the last process of b exited: its probes go (they pin the file and cost fds), off the
 * caller's thread */
static void release_bin(struct gc_collector *c, struct gc_bin *b)
{
	struct gc_release *r;

	if (!b->nlinks && !b->nfds)
		return;
	reap_releases(c, false);
	pr_debug("GC: releasing the %d links of binary %llu:%llu (no process left)",
		 b->nlinks + b->nfds, (unsigned long long)b->dev,
		 (unsigned long long)b->ino);
	r = calloc(1, sizeof(*r));
	if (r) {
		r->c = c;
		r->n = b->nlinks;
		r->nfds = b->nfds;
		memcpy(r->fds, b->fds, sizeof(r->fds));
		memcpy(r->links, b->links, sizeof(r->links));
	}
	if (r && !pthread_create(&r->th, NULL, release_thread, r)) {
		r->next = c->releases;
		c->releases = r;
	} else {
		free(r);
		destroy_links(c, b->links, b->nlinks, b->fds, b->nfds);
	}
	b->nlinks = 0;
	b->nfds = 0;
	b->released = true;
	b->idle_ns = 0;
}

static int add_link(struct gc_bin *b, struct bpf_link *l)
{
	int err = libbpf_get_error(l);

	if (!l)
		return errno ? -errno : -EINVAL;
	if (err)
		return err;
	if (b->nlinks >= BIN_LINKS) {
		bpf_link__destroy(l);
		return -E2BIG;
	}
	b->links[b->nlinks++] = l;
	return 0;
}

/* ---- USDT sites through one uprobe_multi link per binary ---- */

struct multi_site {
	uint64_t off, sema; /* file offsets (sema 0: none) */
	struct gc_usdt_spec spec;
};

struct multi_pick {
	struct elf_file *ef;
	uint64_t base; /* .stapsdt.base's address: notes record theirs, prelinking moves it */
	bool want_gc, want_imports;
	struct multi_site s[GC_USDT_SITES];
	int n;
	int err_gc, err_imp; /* the first refusal of a gc / an import site */
	char why_gc[320], why_imp[320];
};

static int multi_note(const struct elf_usdt_note *n, void *arg)
{
	static const struct {
		const char *name;
		int kind, nargs;
	} probes[] = {
		{ "gc__start", GC_USDT_GC_START, 1 },
		{ "gc__done", GC_USDT_GC_DONE, 1 },
		{ "import__find__load__start", GC_USDT_IMPORT_START, 0 },
		{ "import__find__load__done", GC_USDT_IMPORT_DONE, 2 },
	};
	struct multi_pick *mp = arg;
	struct usdt_arg args[USDT_MAX_ARGS];
	struct multi_site *ms;
	uint64_t pc = n->pc;
	char why[256] = "";
	bool gc;
	int k, *err, nargs;

	if (strcmp(n->provider, "python"))
		return 0;
	for (k = 0; k < (int)(sizeof(probes) / sizeof(probes[0])); k++)
		if (!strcmp(n->name, probes[k].name))
			break;
	if (k == (int)(sizeof(probes) / sizeof(probes[0])))
		return 0;
	gc = probes[k].kind <= GC_USDT_GC_DONE;
	if (gc ? !mp->want_gc : !mp->want_imports)
		return 0;
	err = gc ? &mp->err_gc : &mp->err_imp;
	if (*err)
		return 0;
	if (n->base && mp->base) /* as usdt_check_probe and libbpf do */
		pc += mp->base - n->base;
	/* proved a probe point's nop (the notes are not loaded: a corrupt one leaves the
	 * interpreter running while a breakpoint at its pc would land inside an instruction) */
	*err = usdt_check_site(mp->ef, pc, n->semaphore, why, sizeof(why));
	if (!*err) {
		nargs = usdt_args_parse(n->args, args, USDT_MAX_ARGS, why, sizeof(why));
		if (nargs >= 0 && nargs < probes[k].nargs) {
			snprintf(why, sizeof(why), "%d arguments in '%s'", nargs, n->args);
			nargs = -EINVAL;
		}
		*err = nargs < 0 ? nargs : 0;
	}
	if (!*err && mp->n >= GC_USDT_SITES) {
		snprintf(why, sizeof(why), "more than %d gc and import sites", GC_USDT_SITES);
		*err = -E2BIG;
	}
	ms = &mp->s[mp->n];
	memset(ms, 0, sizeof(*ms));
	if (!*err && (elf_vaddr_to_offset(mp->ef, pc, &ms->off) ||
		      (n->semaphore && elf_vaddr_to_offset(mp->ef, n->semaphore, &ms->sema)))) {
		snprintf(why, sizeof(why), "its address or semaphore is in no loaded section");
		*err = -ENOENT;
	}
	if (*err) {
		snprintf(gc ? mp->why_gc : mp->why_imp, sizeof(mp->why_gc),
			 "USDT python:%s at 0x%llx refused: %s", n->name, (unsigned long long)pc,
			 why);
		return 0;
	}
	ms->spec.kind = probes[k].kind;
	memcpy(ms->spec.args, args, sizeof(args));
	mp->n++;
	return 0;
}

/* drop the sites of one group (gc or imports) from the pick */
static void multi_drop(struct multi_pick *mp, bool gc)
{
	int i, j = 0;

	for (i = 0; i < mp->n; i++)
		if ((mp->s[i].spec.kind <= GC_USDT_GC_DONE) != gc)
			mp->s[j++] = mp->s[i];
	mp->n = j;
}

/* The GC sites (want_gc) and, where the build has both, the import sites of binary slot, each
 * proved a nop and its arguments parsed from its note (pyhound fetches them: gc_usdt_specs),
 * with the USDT semaphores raised: one uprobe_multi link, or without those a perf-event uprobe
 * link per site (libbpf's USDT links are not used: see destroy_links). Import sites refused
 * are warned and left out; 0 with b->imports telling whether they were in, or -errno with why
 * (a gc site refused: nothing attached). */
static int attach_usdt_sites(struct gc_collector *c, struct gc_bin *b, int slot,
			     const struct py_proc *p, bool want_gc, char *why, size_t whylen)
{
	int n0 = b->nlinks;
	uint64_t offs[GC_USDT_SITES], refs[GC_USDT_SITES], cookies[GC_USDT_SITES];
	int specs = bpf_map__fd(c->skel->maps.gc_usdt_specs), i, fd, err = 0;
	struct multi_pick *mp = calloc(1, sizeof(*mp));
	bool gc_seen = false;

	if (!mp)
		return -ENOMEM;
	mp->want_gc = want_gc;
	mp->want_imports = (p->usdt_mask & (PY_USDT_IMPORT_START | PY_USDT_IMPORT_DONE)) ==
			   (PY_USDT_IMPORT_START | PY_USDT_IMPORT_DONE);
	if (!want_gc && !mp->want_imports)
		goto out; /* no import probes in this build */
	mp->ef = elf_open(p->obj_open_path);
	if (!mp->ef) {
		err = -errno;
		snprintf(why, whylen, "cannot open %.200s: %s", p->obj_open_path, strerror(-err));
		goto out;
	}
	elf_section_addr(mp->ef, ".stapsdt.base", &mp->base);
	err = elf_foreach_usdt(mp->ef, multi_note, mp);
	elf_close(mp->ef);
	if (err < 0) {
		snprintf(why, whylen, "USDT notes of %.200s unreadable: %s", p->obj_path,
			 strerror(-err));
		goto out;
	}
	err = 0;
	for (i = 0; i < mp->n; i++)
		gc_seen |= mp->s[i].spec.kind == GC_USDT_GC_START;
	if (want_gc && (mp->err_gc || !gc_seen)) {
		err = mp->err_gc ? mp->err_gc : -ENOENT;
		snprintf(why, whylen, "%s", mp->err_gc ? mp->why_gc : "no python:gc__start site");
		goto out;
	}
	if (mp->err_imp) {
		pr_warn("import probes of %s not attached: %s", p->obj_path, mp->why_imp);
		multi_drop(mp, false);
	}
	if (!mp->n)
		goto out; /* nothing wanted (no import probes, gc not wanted) */
	if (!++c->spec_gen)
		c->spec_gen = 1;
	for (i = 0; i < mp->n; i++) {
		__u32 key = slot * GC_USDT_SITES + i;

		mp->s[i].spec.gen = c->spec_gen;
		err = bpf_map_update_elem(specs, &key, &mp->s[i].spec, BPF_ANY);
		if (err) {
			err = -errno;
			snprintf(why, whylen, "cannot write the USDT site specs: %s",
				 strerror(-err));
			goto out;
		}
		offs[i] = mp->s[i].off;
		refs[i] = mp->s[i].sema;
		cookies[i] = (uint64_t)c->spec_gen << 32 | key;
	}
	if (c->multi) {
		fd = uprobe_multi_attach(bpf_program__fd(c->skel->progs.gc_usdt_site),
					 p->obj_open_path, offs, refs, cookies, mp->n, 0);
		err = fd < 0 ? fd : 0;
		if (!err)
			b->fds[b->nfds++] = fd;
	}
	for (i = 0; !c->multi && i < mp->n && !err; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = cookies[i],
			    .ref_ctr_offset = refs[i]);

		err = add_link(b, bpf_program__attach_uprobe_opts(c->skel->progs.gc_usdt_site_perf,
								  -1, p->obj_open_path, offs[i],
								  &uo));
	}
	if (err) {
		while (b->nlinks > n0)
			bpf_link__destroy(b->links[--b->nlinks]);
		snprintf(why, whylen, "cannot attach %d USDT sites of %.200s: %s", mp->n, p->obj_path,
			 strerror(-err));
		goto out;
	}
	for (i = 0; i < mp->n; i++)
		b->imports |= mp->s[i].spec.kind == GC_USDT_IMPORT_DONE;
	pr_debug("GC: %d USDT sites of %s, %s%s", mp->n, p->obj_path,
		 c->multi ? "in one uprobe_multi link" : "one uprobe link each",
		 b->imports ? " (imports too)" : "");
out:
	free(mp);
	return err;
}

/* The collection function's entries, its returns and 3.13's helper as three uprobe_multi
 * links (one RCU wait each at detach, in parallel, where perf-event links are destroyed one
 * after another under the kernel's event_mutex). */
static int attach_uprobes_multi(struct gc_collector *c, struct gc_bin *b, const struct py_proc *p,
				struct elf_file *ef, const struct sym_pick *sp)
{
	uint64_t offs[2][4], cookies[2][4];
	int n[2] = { 0, 0 }, i, k, fd, err;

	for (i = 0; i < sp->n; i++) {
		k = sp->s[i].mode == GC_MODE_FIX_ARG3;
		/* a symbol's start is an instruction boundary: safe for a uprobe */
		err = elf_vaddr_to_offset(ef, sp->s[i].vaddr, &offs[k][n[k]]);
		if (err)
			return err;
		cookies[k][n[k]++] = sp->s[i].mode;
		pr_debug("GC uprobe on %s at offset 0x%llx of %s (mode %d)", sp->s[i].name,
			 (unsigned long long)offs[k][n[k] - 1], p->obj_path, sp->s[i].mode);
	}
	for (k = 0; k < 3; k++) {
		const struct bpf_program *prog = k == 0 ? c->skel->progs.gc_enter :
						 k == 1 ? c->skel->progs.gc_return :
							  c->skel->progs.gc_fix_gen;
		int set = k == 2;

		if (!n[set])
			continue;
		fd = uprobe_multi_attach_flags(bpf_program__fd(prog), p->obj_open_path, offs[set],
					       NULL, cookies[set], n[set], 0,
					       k == 1 ? UPROBE_MULTI_RETURN : 0);
		if (fd < 0)
			return fd; /* the caller closes those made */
		b->fds[b->nfds++] = fd;
	}
	return 0;
}

static int attach_uprobes(struct gc_collector *c, struct gc_bin *b, const struct py_proc *p)
{
	struct sym_pick sp = { .minor = p->minor };
	struct elf_file *ef;
	int i, err = 0;

	ef = elf_open(p->obj_open_path);
	if (!ef) {
		err = -errno;
		pr_warn("cannot open %.200s: %s", p->obj_open_path, strerror(-err));
		snprintf(b->source, sizeof(b->source), "none: cannot open the binary: %s",
			 strerror(-err));
		return err;
	}
	elf_foreach_symbol(ef, sym_cb, &sp);
	if (p->minor >= 13 && sp.have_main) {
		bool helper = false;

		for (i = 0; i < sp.n; i++)
			helper |= sp.s[i].mode == GC_MODE_FIX_ARG3;
		if (!helper) { /* no generation would ever be known (see GC_MODE_313) */
			elf_close(ef);
			snprintf(b->source, sizeof(b->source),
				 "none: no symbols (invoke_gc_callback missing)");
			return -ENOENT;
		}
	}
	if (!sp.have_main) {
		elf_close(ef);
		snprintf(b->source, sizeof(b->source), "none: no symbols%s",
			 sp.clones_other ? " (only compiler clones of gc_collect_main)" : "");
		return -ENOENT;
	}
	if (c->multi) {
		err = attach_uprobes_multi(c, b, p, ef, &sp);
		goto out;
	}
	for (i = 0; i < sp.n && !err; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = sp.s[i].mode);
		uint64_t off;

		/* a symbol's start is an instruction boundary: safe for a uprobe */
		err = elf_vaddr_to_offset(ef, sp.s[i].vaddr, &off);
		if (err)
			break;
		if (sp.s[i].mode == GC_MODE_FIX_ARG3) {
			err = add_link(b, bpf_program__attach_uprobe_opts(c->skel->progs.gc_fix_gen,
									  -1, p->obj_open_path,
									  off, &uo));
			continue;
		}
		err = add_link(b, bpf_program__attach_uprobe_opts(c->skel->progs.gc_enter, -1,
								  p->obj_open_path, off, &uo));
		if (!err) {
			uo.retprobe = true;
			err = add_link(b, bpf_program__attach_uprobe_opts(c->skel->progs.gc_return,
									  -1, p->obj_open_path,
									  off, &uo));
		}
		pr_debug("GC uprobe on %s at offset 0x%llx of %s (mode %d): %s", sp.s[i].name,
			 (unsigned long long)off, p->obj_path, sp.s[i].mode,
			 err ? strerror(-err) : "ok");
	}
out:
	elf_close(ef);
	if (err) {
		put_links(b);
		snprintf(b->source, sizeof(b->source), "none: uprobe attach failed: %s",
			 strerror(-err));
		return err;
	}
	snprintf(b->source, sizeof(b->source), "uprobe");
	return 0;
}

static int find_bin(struct gc_collector *c, const struct py_proc *p)
{
	struct gc_bin *b;
	size_t i, slot = c->nbins;
	int err = 0;
	char why[320] = "";

	for (i = 0; i < c->nbins; i++)
		if (c->bins[i].dev == p->obj_dev && c->bins[i].ino == p->obj_inode &&
		    !(c->bins[i].released && !c->bins[i].refs))
			break;
	if (i < c->nbins) {
		b = &c->bins[i];
		if (!b->released)
			return i;
		/* a process of a binary whose probes went with its last process: attach again */
		slot = i;
	} else {
		/* a slot no process points to any more, before a new one */
		for (i = 0; i < c->nbins && slot == c->nbins; i++)
			if (c->bins[i].released && !c->bins[i].refs)
				slot = i;
		if (slot >= MAX_BINS)
			return -E2BIG;
	}
	b = &c->bins[slot];
	{
		int refs = slot < c->nbins && b->dev == p->obj_dev && b->ino == p->obj_inode ?
				   b->refs : 0;

		memset(b, 0, sizeof(*b));
		b->refs = refs;
	}
	b->dev = p->obj_dev;
	b->ino = p->obj_inode;
	if (p->major != 3 || p->minor < 8 || !p->supported) {
		snprintf(b->source, sizeof(b->source), "none: CPython %d.%d not supported",
			 p->major, p->minor);
	} else if ((p->usdt_mask & (PY_USDT_GC_START | PY_USDT_GC_DONE)) ==
			   (PY_USDT_GC_START | PY_USDT_GC_DONE) && !c->prefer_uprobes &&
		   !(err = attach_usdt_sites(c, b, slot, p, true, why, sizeof(why)))) {
		snprintf(b->source, sizeof(b->source), "usdt");
	} else {
		if ((p->usdt_mask & PY_USDT_GC_START) && err)
			pr_warn("GC USDT probes of %s not attached (%s); trying uprobes",
				p->obj_path, why[0] ? why : strerror(-err));
		if (attach_uprobes(c, b, p) && why[0]) /* the reason in full was warned */
			snprintf(b->source, sizeof(b->source), "none: USDT site refused (not a "
				 "proved nop), no symbols for uprobes");
	}
	if (strcmp(b->source, "usdt")) { /* imports alone (gc from uprobes, or none) */
		char why2[320];

		if (attach_usdt_sites(c, b, slot, p, false, why2, sizeof(why2)))
			pr_warn("import probes of %s not attached: %s", p->obj_path, why2);
	}
	__atomic_add_fetch(&c->links, b->nlinks + b->nfds, __ATOMIC_RELAXED);
	pr_info("GC source for %s: %s%s", p->obj_path, b->source,
		b->imports ? ", imports traced" : "");
	if (slot == c->nbins)
		c->nbins++;
	return slot;
}

static struct gc_pid *pid_rec(struct gc_collector *c, pid_t pid, bool create)
{
	size_t i;

	for (i = c->npids; i-- > 0;)
		if (c->pids[i].pid == pid)
			return &c->pids[i];
	if (!create)
		return NULL;
	if (c->npids == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		void *n = realloc(c->pids, cap * sizeof(*c->pids));

		if (!n)
			return NULL;
		c->pids = n;
		c->cap = cap;
	}
	memset(&c->pids[c->npids], 0, sizeof(c->pids[0]));
	c->pids[c->npids].pid = pid;
	c->pids[c->npids].bin = -1;
	return &c->pids[c->npids++];
}

int gc_add_proc(struct gc_collector *c, const struct py_proc *p)
{
	struct gc_pid *r = pid_rec(c, p->pid, true);
	int b;

	if (!r)
		return -ENOMEM;
	if (r->bin >= 0) { /* the PID exec'd again */
		c->bins[r->bin].refs--;
		if (r->live && --c->bins[r->bin].live <= 0)
			c->bins[r->bin].idle_ns = now_ns();
		r->bin = -1;
		r->live = false;
	}
	b = find_bin(c, p);
	if (b < 0) {
		pr_warn("GC collector: too many distinct interpreter binaries; PID %d not traced",
			(int)p->pid);
		return 0;
	}
	r->bin = b;
	r->live = true;
	c->bins[b].refs++;
	c->bins[b].live++;
	c->bins[b].idle_ns = 0;
	return 0;
}

void gc_proc_exited(struct gc_collector *c, pid_t pid)
{
	struct gc_pid *r = pid_rec(c, pid, false);

	if (!r || !r->live || r->bin < 0)
		return;
	r->live = false;
	if (--c->bins[r->bin].live <= 0)
		c->bins[r->bin].idle_ns = now_ns();
}

int gc_links(const struct gc_collector *c)
{
	return __atomic_load_n(&c->links, __ATOMIC_RELAXED);
}

static void on_add(const struct tracked_proc *tp, void *ctx)
{
	gc_add_proc(ctx, &tp->info);
}

static void on_exit_(const struct tracked_proc *tp, void *ctx)
{
	gc_proc_exited(ctx, tp->info.pid);
}

static void on_reject(const struct tracked_proc *tp, void *ctx)
{
	gc_purge_pid(ctx, tp->info.pid);
}

struct tracker_hooks gc_tracker_hooks(struct gc_collector *c)
{
	return (struct tracker_hooks){ .on_add = on_add, .on_exit = on_exit_,
				       .on_reject = on_reject, .ctx = c };
}

static void keep_import(struct gc_collector *c, struct gc_pid *r, const struct gc_import_event *e)
{
	size_t i, pos;

	r->nimports++;
	if (!e->depth)
		r->imports_ns += e->dur_ns;
	if (!r->imp) {
		r->imp = calloc(c->imports_per_proc, sizeof(*r->imp));
		if (!r->imp)
			return;
	}
	/* sorted longest first; insert, dropping the shortest when full */
	for (pos = 0; pos < r->nimp && r->imp[pos].dur_ns >= e->dur_ns; pos++)
		;
	if (pos >= c->imports_per_proc)
		return;
	if (r->nimp < c->imports_per_proc)
		r->nimp++;
	for (i = r->nimp - 1; i > pos; i--)
		r->imp[i] = r->imp[i - 1];
	memcpy(r->imp[pos].name, e->name, sizeof(r->imp[pos].name));
	r->imp[pos].name[IMP_NAME_LEN - 1] = '\0';
	r->imp[pos].ts_ns = e->ts_ns;
	r->imp[pos].dur_ns = e->dur_ns;
	r->imp[pos].depth = e->depth;
	r->imp[pos].found = e->found;
}

static int handle_event(void *ctx, void *data, size_t len)
{
	const struct gc_import_event *e = data;
	struct gc_collector *c = ctx;
	struct gc_pid *r;

	if (len < sizeof(*e) || e->type != GC_EV_IMPORT)
		return 0;
	r = pid_rec(c, e->pid, true); /* may precede on_add: the process is still pending */
	if (r)
		keep_import(c, r, e);
	return 0;
}

int gc_attach(struct gc_collector *c)
{
	int err;

	if (c->rb)
		return 0;
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.gc_events), handle_event, c, NULL);
	if (!c->rb) {
		err = -errno;
		pr_err("cannot create the GC collector's ring buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

int gc_poll(struct gc_collector *c, int timeout_ms)
{
	int err;

	reap_releases(c, false);
	if (c->nbins) {
		uint64_t now = now_ns();

		for (size_t i = 0; i < c->nbins; i++) {
			struct gc_bin *b = &c->bins[i];

			if (b->idle_ns && b->live <= 0 && now - b->idle_ns >= RELEASE_GRACE_NS)
				release_bin(c, b);
		}
	}
	if (!c->rb)
		return 0;
	err = timeout_ms ? ring_buffer__poll(c->rb, timeout_ms) : ring_buffer__consume(c->rb);
	return err < 0 && err != -EINTR ? err : 0;
}

const char *gc_source(const struct gc_collector *c, pid_t pid)
{
	size_t i;

	for (i = c->npids; i-- > 0;)
		if (c->pids[i].pid == pid)
			return c->pids[i].bin >= 0 ? c->bins[c->pids[i].bin].source : NULL;
	return NULL;
}

int gc_snapshot(struct gc_collector *c, struct gc_snapshot *snap)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(c->skel->maps.gc_stats);
	__u32 k, key, next;
	size_t i, n = 0, nkeys = 0, cap;
	int err;

	memset(snap, 0, sizeof(*snap));
	snap->max_procs = c->max_procs;
	gc_poll(c, 0);
	for (err = bpf_map_get_next_key(fd, NULL, &next); !err;
	     err = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		nkeys++;
	}
	/* every process added, plus any with stats but no record (pending, not yet classified);
	 * a few spare for keys added while we read */
	cap = c->npids + nkeys + 16;
	snap->procs = calloc(cap, sizeof(*snap->procs));
	if (!snap->procs)
		return -ENOMEM;
	for (i = 0; i < c->npids; i++) {
		const struct gc_pid *r = &c->pids[i];
		struct gc_proc_snap *ps = &snap->procs[n++];

		ps->pid = r->pid;
		if (r->bin >= 0) {
			snprintf(ps->source, sizeof(ps->source), "%s", c->bins[r->bin].source);
			ps->imports_traced = c->bins[r->bin].imports;
		} else {
			snprintf(ps->source, sizeof(ps->source), "none: process not classified");
		}
		ps->nimports = r->nimports;
		ps->imports_ns = r->imports_ns;
		if (r->nimp) {
			ps->imports = calloc(r->nimp, sizeof(*ps->imports));
			if (!ps->imports) {
				gc_snapshot_free(snap);
				return -ENOMEM;
			}
			memcpy(ps->imports, r->imp, r->nimp * sizeof(*ps->imports));
			ps->nimp = r->nimp;
		}
	}
	snap->n = n;
	err = bpf_map_get_next_key(fd, NULL, &next);
	while (!err) {
		struct gc_proc_snap *ps = NULL;

		for (i = 0; i < snap->n; i++)
			if (snap->procs[i].pid == (pid_t)next) {
				ps = &snap->procs[i];
				break;
			}
		if (!ps && snap->n < cap) {
			ps = &snap->procs[snap->n++];
			ps->pid = next;
			snprintf(ps->source, sizeof(ps->source), "none: process not classified");
		}
		if (ps && !bpf_map_lookup_elem(fd, &next, &ps->s))
			ps->has_stats = true;
		key = next;
		err = bpf_map_get_next_key(fd, &key, &next);
	}
	for (k = 0; ncpu > 0 && k < GC_DROP_MAX; k++) {
		__u64 vals[ncpu];
		int j;

		if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.gc_drops), &k, vals))
			continue;
		for (j = 0; j < ncpu; j++)
			snap->drops[k] += vals[j];
	}
	return 0;
}

void gc_snapshot_free(struct gc_snapshot *snap)
{
	size_t i;

	for (i = 0; snap->procs && i < snap->n; i++)
		free(snap->procs[i].imports);
	free(snap->procs);
	memset(snap, 0, sizeof(*snap));
}

const struct gc_proc_snap *gc_snapshot_find(const struct gc_snapshot *snap, pid_t pid)
{
	size_t i;

	for (i = 0; i < snap->n; i++)
		if (snap->procs[i].pid == pid)
			return &snap->procs[i];
	return NULL;
}

void gc_purge_pid(struct gc_collector *c, pid_t pid)
{
	__u32 key = pid;
	size_t i;

	bpf_map_delete_elem(bpf_map__fd(c->skel->maps.gc_stats), &key);
	for (i = 0; i < c->npids; i++)
		if (c->pids[i].pid == pid) {
			struct gc_pid *r = &c->pids[i];

			if (r->bin >= 0) {
				c->bins[r->bin].refs--;
				if (r->live && --c->bins[r->bin].live <= 0)
					c->bins[r->bin].idle_ns = now_ns();
			}
			free(r->imp);
			c->pids[i] = c->pids[--c->npids];
			break;
		}
}

void gc_free(struct gc_collector *c)
{
	size_t i;

	if (!c)
		return;
	ring_buffer__free(c->rb);
	reap_releases(c, true);
	{ /* every binary's links at once (see destroy_links) */
		struct bpf_link **all = calloc(MAX_BINS * BIN_LINKS, sizeof(*all));
		int *fds = calloc(MAX_BINS * BIN_FDS, sizeof(*fds));
		int n = 0, nfds = 0;

		for (i = 0; all && fds && i < c->nbins; i++) {
			memcpy(all + n, c->bins[i].links, c->bins[i].nlinks * sizeof(*all));
			n += c->bins[i].nlinks;
			c->bins[i].nlinks = 0;
			memcpy(fds + nfds, c->bins[i].fds, c->bins[i].nfds * sizeof(*fds));
			nfds += c->bins[i].nfds;
			c->bins[i].nfds = 0;
		}
		destroy_links(c, all, n, fds, nfds);
		free(all);
		free(fds);
		for (i = 0; i < c->nbins; i++) /* without memory for the above */
			put_links(&c->bins[i]);
	}
	for (i = 0; i < c->npids; i++)
		free(c->pids[i].imp);
	free(c->pids);
	free(c->bins);
	gc_bpf__destroy(c->skel);
	free(c);
}

struct bpf_object *gc_bpf_object(const struct gc_collector *c)
{
	return c->skel->obj;
}
