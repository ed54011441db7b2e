// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <capstone.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>
#include "calls.skel.h"
#include "collect/calls_user.h"
#include "host/elf.h"
#include "cpython/insn_check.h"
#include "lib/log.h"
#include "cpython/offsets.h"
#include "cpython/opcodes.h"
#include "cpython/tailcall.h"
#include "collect/sampler.h"
#include "cpython/symbolize.h"
#include "cpython/tstate_locate.h"
#include "collect/uprobe_multi.h"

#define MAX_BINARIES 64
#define MAX_SITES 8
#define NAME_CACHE_MAX 262144

struct binary {
	uint64_t dev, ino;
	char path[4096];
	int source, minor;
	struct eval_site sites[MAX_SITES];
	int kinds[MAX_SITES]; /* enum calls_site_kind */
	int nsites;
	uint64_t usdt_sema;  /* USDT: the semaphore's file offset (0: none) */
	struct bpf_link *links[MAX_SITES]; /* perf-event links, one per site (no uprobe_multi) */
	int nlinks;
	int multi_fd;	     /* or one uprobe_multi link for all sites (-1: none) */
	int live;	     /* registered processes of it not exited: none, it is not attached */
	int attach_err;	     /* the last attach failed (-errno; 0: attached or not tried) */
	char attach_why[256];
};

struct proc {
	pid_t pid;
	int bin;
	bool exited;
	uint64_t hits;	   /* probe hits in it, read from calls_procs (kept after its exit) */
	uint64_t cpu0;	   /* its CPU time (ns, all threads) when registered */
	uint64_t cpu_seen; /* ... when last read */
	uint64_t cpu_win;  /* ... spent inside windows (probes attached) */
	uint64_t cpu_mark; /* ... when the open window opened (0: none open) */
	uint64_t hits_win, hits_mark; /* probe hits inside windows, at the open one's start */
	struct py_offsets off;
};

struct name {
	pid_t pid;
	uint32_t fp;
	uint64_t code;
	char name[160], file[256];
	int first_line;
	int next; /* chain in the index, -1 ends */
};

#define NAME_BUCKETS 65536

struct calls_collector {
	struct calls_bpf *skel;
	struct symbolizer *sym;
	struct binary bins[MAX_BINARIES];
	int nbins;
	struct proc *procs;
	size_t nprocs, cap_procs;
	struct name *names;
	size_t nnames, cap_names;
	int name_index[NAME_BUCKETS]; /* first name of each bucket, -1: none */
	uint64_t names_stale;	      /* fallback names refused: code object gone or reused */
	pid_t *purge;		      /* processes whose entries go at the next resolve */
	size_t npurge, cap_purge;
	bool walk;		      /* the stats map holds entries the probes did not name */
	uint64_t name_drops;	      /* CC_DROP_NAMES at the last walk */
	bool attached;
	bool multi; /* uprobe_multi links */
	bool counts_only;
	bool usdt;	    /* USDT function probes before handler uprobes (--usdt) */
	double trap_cpu_ns; /* a hit's trap in the CPU time of the process it traps in */
};

static const char *const counter_names[CC_MAX] = {
	[CC_HIT_ENTRY] = "hits_entry",	   [CC_HIT_RESUME] = "hits_resume",
	[CC_HIT_RETURN] = "hits_return",   [CC_HIT_USDT] = "hits_usdt",
	[CC_CALLS] = "calls",		   [CC_GEN_RESUME] = "generator_resumes",
	[CC_YIELD] = "yields",		   [CC_IP_LAG] = "ip_lag",
	[CC_NOT_RESUME] = "not_resume",	   [CC_UNMATCHED] = "unmatched_returns",
	[CC_UNWOUND] = "unwound",	   [CC_OVERFLOW] = "stack_overflow",
	[CC_DROP_STATS_FULL] = "drop_stats_full", [CC_DROP_SHADOW] = "drop_shadow_full",
	[CC_ERR_NO_PROC] = "err_no_proc",  [CC_ERR_TSTATE] = "err_tstate",
	[CC_ERR_READ] = "err_read",	   [CC_CALIB] = "calibration_hits",
	[CC_NAMED] = "named_at_first_call", [CC_DROP_NAMES] = "drop_names",
	[CC_HIT_SEQ] = "hits_all",	   [CC_TIMED] = "timed_runs",
	[CC_BPF_NS] = "timed_ns",	   [CC_GEN_TIMED] = "generators_timed",
};

static uint64_t counter_value(struct calls_collector *c, __u32 k)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0;

	if (ncpu <= 0)
		return 0;
	{
		__u64 vals[ncpu];

		if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.calls_counters), &k, vals))
			return 0;
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	}
	return sum;
}

const char *calls_counter_name(unsigned int i)
{
	return i < CC_MAX && counter_names[i] ? counter_names[i] : "?";
}

const char *calls_source_name(int source)
{
	switch (source) {
	case CALLS_SRC_EVAL_ENTRY: return "uprobe:eval-entry+RETURN_VALUE";
	case CALLS_SRC_RESUME: return "uprobe:RESUME+RETURN";
	case CALLS_SRC_USDT: return "usdt:function__return";
	}
	return "none";
}

int calls_open(const struct calls_collector_opts *opts, struct calls_collector **out)
{
	struct calls_collector *c = calloc(1, sizeof(*c));
	unsigned int max = opts->max_stats ? opts->max_stats : 65536;
	int err;

	if (!c)
		return -ENOMEM;
	if (max > CALLS_MAX_STATS)
		max = CALLS_MAX_STATS;
	c->sym = symbolizer_new();
	c->skel = calls_bpf__open();
	if (!c->sym || !c->skel) {
		err = -ENOMEM;
		pr_err("cannot open the call collector BPF object");
		goto err_free;
	}
	bpf_map__set_max_entries(c->skel->maps.calls_stats, max);
	/* names wait here at most one resolve period (100 ms) */
	bpf_map__set_max_entries(c->skel->maps.calls_names,
				 max / 8 < 1024 ? 1024 : max / 8 > CALLS_MAX_NAMES ?
				 CALLS_MAX_NAMES : max / 8);
	memset(c->name_index, 0xff, sizeof(c->name_index));
	bpf_map__set_max_entries(c->skel->maps.calls_procs,
				 opts->max_procs ? opts->max_procs : 4096);
	c->counts_only = opts->counts_only;
	c->usdt = opts->usdt;
	c->skel->rodata->counts_only = opts->counts_only;
	c->multi = uprobe_multi_supported();
	if (c->multi) {
		bpf_program__set_expected_attach_type(c->skel->progs.calls_site,
						      UPROBE_MULTI_ATTACH_TYPE);
		bpf_program__set_expected_attach_type(c->skel->progs.calls_calib,
						      UPROBE_MULTI_ATTACH_TYPE);
	} else {
		pr_info("calls: this kernel has no uprobe_multi links (Linux 6.6+): one link per "
			"probe site, slower to detach (budget windows overrun more)");
	}
	err = bpf_map__reuse_fd(c->skel->maps.tracked_pids, opts->tracked_fd);
	if (err) {
		pr_err("cannot share the tracked-process map: %s", strerror(-err));
		goto err_free;
	}
	err = calls_bpf__load(c->skel);
	if (err) {
		pr_err("cannot load the call collector BPF programs: %s (run with -vv for libbpf's "
		       "log)", strerror(-err));
		goto err_free;
	}
	*out = c;
	return 0;
err_free:
	calls_bpf__destroy(c->skel);
	symbolizer_free(c->sym);
	free(c);
	return err;
}

/* opcode numbers of each version: RESUME and its specialised forms, the return opcodes (fixed
 * within a minor, as its bytecode magic number; 3.14 and 3.15 from dis.opmap and
 * _opcode_metadata._specialized_opmap of sid's 3.14.10 and 3.15.2) */
static int version_ops(int minor, int *resume, int *nres, int *ret, int *nret)
{
	*nres = *nret = 0;
	switch (minor) {
	case 8: case 9: case 10:
		ret[(*nret)++] = 83; /* RETURN_VALUE */
		return 0;
	case 11:
		resume[(*nres)++] = 151; /* RESUME */
		resume[(*nres)++] = 150; /* RESUME_QUICK */
		ret[(*nret)++] = 83;
		return 0;
	case 12:
		resume[(*nres)++] = 151;
		ret[(*nret)++] = 83;	/* RETURN_VALUE */
		ret[(*nret)++] = 121; /* RETURN_CONST */
		return 0;
	case 13:
		resume[(*nres)++] = 149; /* RESUME */
		resume[(*nres)++] = 207; /* RESUME_CHECK */
		ret[(*nret)++] = 36;	 /* RETURN_VALUE */
		ret[(*nret)++] = 103;	 /* RETURN_CONST */
		return 0;
	case 14: /* RETURN_CONST is gone: LOAD_CONST + RETURN_VALUE */
		resume[(*nres)++] = 128; /* RESUME */
		resume[(*nres)++] = 196; /* RESUME_CHECK */
		ret[(*nret)++] = 35;	 /* RETURN_VALUE */
		return 0;
	case 15:
		resume[(*nres)++] = 128; /* RESUME */
		resume[(*nres)++] = 200; /* RESUME_CHECK */
		resume[(*nres)++] = 201; /* RESUME_CHECK_JIT */
		ret[(*nret)++] = 33;	 /* RETURN_VALUE */
		return 0;
	}
	return -ENOTSUP;
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)addr, len };

	return process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EIO;
}

static int usdt_sites(struct binary *b, char *why, size_t whylen);
static uint64_t proc_cpu_ns(pid_t pid);

/* A tail-calling interpreter (user/cpython/tailcall.h) is refused, with what was found: its
 * RESUME and return opcodes' functions (the dispatch table's entries, checked by name) would be
 * the probe sites, but no tail-calling CPython is at hand to prove exact counts on, and a
 * specialised RESUME deoptimising enters the generic one's function a second time. */
static int tailcall_refuse(const char *path, int minor, const int *ops, int n, char *why,
			   size_t whylen)
{
	const struct py_optab *t = py_optab_for(minor);
	struct tailcall_op to[8];
	struct eval_site s[8];
	char w[256] = "";
	int i, j, err;

	if (!t || n > 8) {
		snprintf(why, whylen, "tail-calling interpreter: no opcode names known for CPython "
			 "3.%d", minor);
		return -ENOTSUP;
	}
	for (i = 0; i < n; i++) {
		to[i].opcode = ops[i];
		to[i].name = t->names[ops[i]] ? t->names[ops[i]] : "?";
		to[i].generic = -1;
		for (j = 0; j < n; j++)
			if (j != i && t->deopt[ops[i]] == ops[j])
				to[i].generic = j;
	}
	err = tailcall_locate(path, minor, to, n, s, w, sizeof(w));
	if (err)
		snprintf(why, whylen, "tail-calling interpreter: %s", w);
	else
		snprintf(why, whylen, "tail-calling interpreter: its opcode functions are found "
			 "(_TAIL_CALL_%s at 0x%llx and %d more, each its opcode's dispatch table "
			 "entry) but not probed yet: no such build has been tested", to[0].name,
			 (unsigned long long)s[0].probe, n - 1);
	return err ? err : -ENOTSUP;
}

/* Whether CPython 3.<minor>'s own dtrace hook can change what the program does while its
 * function__entry/return semaphores are raised: 3.11's encodes the code object's file and name
 * with PyUnicode_AsUTF8 and leaves the error of a name holding a lone surrogate set, so the
 * program gets a SystemError at its next check (seen on Debian's 3.11.2). 3.15's saves the
 * pending exception around those calls and restores it (PyErr_GetRaisedException /
 * PyErr_SetRaisedException in dtrace_function_entry/return, read in sid's python3.15d), and an
 * unencodable name becomes a placeholder: tests/integration/test_calls_sid.c runs such a
 * function under the probes on 3.15 and 3.11. */
static bool usdt_hook_harms(int minor)
{
	return minor < 15;
}

/* Decide how calls of a binary are seen and prove its probe sites. Handler uprobes first (they
 * give latency and raise no semaphore in the target); the USDT probe function__return when
 * they are refused and the interpreter's hook is harmless, or when usdt asks for it. */
static int setup_binary(struct binary *b, const struct py_proc *p, bool usdt, char *why,
			size_t whylen)
{
	int resume[4], ret[4], nres, nret, err, i;
	char why2[256] = "", why3[320] = "";

	b->minor = p->minor;
	snprintf(b->path, sizeof(b->path), "%s", p->obj_open_path);
	{
		/* the path in our own mount namespace when it is the same file: it outlives
		 * the process, and libbpf's USDT code wants no /proc/PID/root prefix */
		struct stat st;

		if (!stat(p->obj_path, &st) && st.st_dev == p->obj_dev &&
		    st.st_ino == p->obj_inode)
			snprintf(b->path, sizeof(b->path), "%s", p->obj_path);
	}
	if (usdt && (p->usdt_mask & PY_USDT_FUNCTION_RETURN)) {
		snprintf(why, whylen, "--usdt");
		err = 0;
		goto usdt;
	}
	err = version_ops(p->minor, resume, &nres, ret, &nret);
	if (err) {
		snprintf(why, whylen, "CPython 3.%d: no opcode table known", p->minor);
		goto usdt;
	}
	if (p->minor >= 14) {
		char tw[256] = "";
		int tc = tailcall_detect(b->path, p->minor, tw, sizeof(tw)), ops[8];

		if (tc == TAILCALL_STRIPPED) {
			snprintf(why, whylen, "tail-calling interpreter without symbols: %s", tw);
			err = -ENOTSUP;
			goto usdt;
		}
		if (tc == TAILCALL_SYMBOLS) {
			memcpy(ops, resume, nres * sizeof(*ops));
			memcpy(ops + nres, ret, nret * sizeof(*ops));
			err = tailcall_refuse(b->path, p->minor, ops, nres + nret, why, whylen);
			goto usdt;
		}
	}
	if (p->minor <= 10) {
		int regs[] = { X86_REG_RDI, X86_REG_EDI, X86_REG_RSI, X86_REG_ESI };

		err = eval_locate_entry(b->path, regs, 4, &b->sites[0], why, whylen);
		if (err)
			goto usdt;
		b->kinds[0] = CALLS_SITE_EVAL_ENTRY;
		b->nsites = 1;
		err = eval_locate_handlers(b->path, p->minor, ret, nret, b->sites + b->nsites, why, whylen);
	} else {
		int ops[8];

		/* one pass over the eval loop for the RESUME and the return handlers */
		memcpy(ops, resume, nres * sizeof(*ops));
		memcpy(ops + nres, ret, nret * sizeof(*ops));
		err = eval_locate_handlers(b->path, p->minor, ops, nres + nret, b->sites, why, whylen);
		for (i = 0; i < nres; i++)
			b->kinds[i] = CALLS_SITE_RESUME;
		b->nsites = nres;
	}
	if (err)
		goto usdt;
	for (i = 0; i < nret; i++) {
		struct eval_site *s = &b->sites[b->nsites + i];

		/* a call as the branch: _PyEval_FrameClearAndPop(tstate, frame), which pops the
		 * returning frame (3.13), whose frame is then argument 2; or, in the unoptimised
		 * -dbg builds of 3.14+, PyStackRef_MakeHeapSafe(retval), the handler's first
		 * statement, made while the returning frame is still the thread's */
		if (s->is_call && !strcmp(s->callee, "PyStackRef_MakeHeapSafe")) {
			b->kinds[b->nsites + i] = CALLS_SITE_RETURN;
			continue;
		}
		if (s->is_call && strcmp(s->callee, "_PyEval_FrameClearAndPop")) {
			snprintf(why, whylen, "return handler of opcode %d branches first with a "
				 "call to %s (%s) whose arguments are unknown", s->opcode, s->callee,
				 s->insn);
			err = -ENOTSUP;
			goto usdt;
		}
		b->kinds[b->nsites + i] = s->is_call ? CALLS_SITE_RETURN_ARG2 : CALLS_SITE_RETURN;
	}
	b->nsites += nret;
	b->source = p->minor <= 10 ? CALLS_SRC_EVAL_ENTRY : CALLS_SRC_RESUME;
	return 0;
usdt:
	b->nsites = 0;
	if ((p->minor == 11 || p->minor == 15) && (p->usdt_mask & PY_USDT_FUNCTION_RETURN)) {
		snprintf(why2, sizeof(why2), "%s", why);
		if (usdt_hook_harms(p->minor) && !usdt) {
			snprintf(why, whylen, "handler probes refused (%s); the USDT probe "
				 "function__return is not used without --usdt: CPython 3.%d's dtrace "
				 "hook raises SystemError in a function whose name cannot be encoded in "
				 "UTF-8 while the probe is enabled", why2, p->minor);
			b->source = 0;
			return -ENOTSUP;
		}
		if (usdt && usdt_hook_harms(p->minor))
			pr_warn("calls: %s: USDT function__return as asked (--usdt): a function of "
				"CPython 3.%d whose name cannot be encoded in UTF-8 gets a SystemError "
				"while the probe is enabled", b->path, p->minor);
		if (usdt)
			snprintf(why, whylen, "USDT asked for (--usdt)");
		else
			snprintf(why, whylen, "handler probes refused (%s): counting with USDT", why2);
		b->source = CALLS_SRC_USDT;
		err = usdt_sites(b, why3, sizeof(why3));
		if (err < 0) {
			snprintf(why, whylen, "%s%s%s, and %s", usdt ? "" : "handler probes refused (",
				 usdt ? "--usdt" : why2, usdt ? "" : ")", why3);
			b->source = 0;
			b->nsites = 0;
			return err;
		}
		return 0;
	}
	b->source = 0;
	return err ? err : -ENOTSUP;
}

struct usdt_ctx {
	struct elf_file *ef;
	struct binary *b;
	uint64_t base; /* .stapsdt.base's address: notes record theirs, prelinking moves it */
	int err;
};

static int usdt_note(const struct elf_usdt_note *n, void *arg)
{
	struct usdt_ctx *u = arg;
	struct binary *b = u->b;
	struct eval_site *s;
	uint64_t pc = n->pc, sema = 0;

	if (strcmp(n->provider, "python") || strcmp(n->name, "function__return"))
		return 0;
	if (b->nsites == MAX_SITES) {
		u->err = -E2BIG;
		return 1;
	}
	if (n->base && u->base)
		pc += u->base - n->base;
	s = &b->sites[b->nsites];
	memset(s, 0, sizeof(*s));
	if (elf_vaddr_to_offset(u->ef, pc, &s->offset) ||
	    (n->semaphore && elf_vaddr_to_offset(u->ef, n->semaphore, &sema))) {
		u->err = -ENOENT;
		return 1;
	}
	if (b->usdt_sema && sema != b->usdt_sema) {
		u->err = -ENOTSUP; /* one semaphore per probe name */
		return 1;
	}
	b->usdt_sema = sema;
	s->probe = s->handler = pc;
	snprintf(s->insn, sizeof(s->insn), "python:function__return");
	b->kinds[b->nsites++] = CALLS_SITE_USDT_RETURN;
	return 0;
}

/* The python:function__return sites of a binary and its semaphore, for a uprobe_multi link
 * (libbpf's USDT support attaches them otherwise), each proved a probe point's nop first: the
 * notes are not loaded, so a corrupt one does not stop the interpreter from running. */
static int usdt_sites(struct binary *b, char *why, size_t whylen)
{
	struct usdt_ctx u = { .b = b };
	int n, err;

	err = usdt_check_probe(b->path, "python", "function__return", NULL, why, whylen);
	if (err)
		return err;
	u.ef = elf_open(b->path);
	if (!u.ef) {
		err = -errno;
		snprintf(why, whylen, "cannot open %.200s: %s", b->path, strerror(-err));
		return err;
	}
	elf_section_addr(u.ef, ".stapsdt.base", &u.base);
	n = elf_foreach_usdt(u.ef, usdt_note, &u);
	elf_close(u.ef);
	if (n >= 0 && !u.err && !b->nsites)
		u.err = -ENOENT;
	if (n < 0 || u.err) {
		err = n < 0 ? n : u.err;
		snprintf(why, whylen, "the USDT notes of %.200s unusable: %s", b->path,
			 strerror(-err));
		return err;
	}
	return 0;
}

/* counts only: the sites where calls start (and USDT, which counts at returns) */
static bool site_needed(const struct calls_collector *c, int kind)
{
	return !c->counts_only ||
	       (kind != CALLS_SITE_RETURN && kind != CALLS_SITE_RETURN_ARG2);
}

static int attach_perf_links(struct calls_collector *c, struct binary *b)
{
	int i, err;

	for (i = 0; i < b->nsites; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .bpf_cookie = b->kinds[i]);
		struct bpf_link *l;

		if (!site_needed(c, b->kinds[i]))
			continue;
		if (b->kinds[i] == CALLS_SITE_USDT_RETURN) {
			if (i) /* libbpf's USDT attach covers every site of the probe */
				continue;
			l = bpf_program__attach_usdt(c->skel->progs.calls_usdt_return, -1, b->path,
						     "python", "function__return", NULL);
		} else {
			l = bpf_program__attach_uprobe_opts(c->skel->progs.calls_site, -1, b->path,
							    b->sites[i].offset, &uo);
		}
		if (!l) {
			err = -errno;
			snprintf(b->attach_why, sizeof(b->attach_why), "cannot attach to %.180s at "
				 "0x%llx: %s", b->path, (unsigned long long)b->sites[i].offset,
				 strerror(-err));
			for (; b->nlinks > 0; b->nlinks--)
				bpf_link__destroy(b->links[b->nlinks - 1]);
			return err;
		}
		b->links[b->nlinks++] = l;
	}
	return 0;
}

static int attach_binary(struct calls_collector *c, struct binary *b)
{
	uint64_t offs[MAX_SITES], refs[MAX_SITES], cookies[MAX_SITES];
	int i, n = 0, fd;

	if (!c->multi)
		return attach_perf_links(c, b);
	for (i = 0; i < b->nsites; i++) {
		if (!site_needed(c, b->kinds[i]))
			continue;
		offs[n] = b->sites[i].offset;
		refs[n] = b->kinds[i] == CALLS_SITE_USDT_RETURN ? b->usdt_sema : 0;
		cookies[n++] = b->kinds[i];
	}
	fd = uprobe_multi_attach(bpf_program__fd(c->skel->progs.calls_site), b->path, offs, refs,
				 cookies, n, 0);
	if (fd < 0) {
		snprintf(b->attach_why, sizeof(b->attach_why), "cannot attach to %.180s (%d sites): %s",
			 b->path, n, strerror(-fd));
		return fd;
	}
	b->multi_fd = fd;
	return 0;
}

static bool bin_attached(const struct binary *b)
{
	return b->nlinks > 0 || b->multi_fd >= 0;
}

/* the byte range of a structure a probe reads at once */
struct span {
	unsigned int lo, hi;
};

static void span_add(struct span *sp, unsigned int off, unsigned int size)
{
	if (off == PY_OFF_NONE)
		return;
	if (!sp->hi || off < sp->lo)
		sp->lo = off;
	if (off + size > sp->hi)
		sp->hi = off + size;
}

static int span_set(const struct span *sp, __u16 *lo, __u16 *len)
{
	if (sp->hi <= sp->lo || sp->hi - sp->lo >= CALLS_READ_MAX)
		return -E2BIG;
	*lo = sp->lo;
	*len = sp->hi - sp->lo;
	return 0;
}

/* The one span of the thread state, of the frame and of the code object each probe reads. */
static int read_spans(struct calls_proc *cp, int minor)
{
	struct span ts = {}, fr = {}, co = {};

	span_add(&ts, cp->tstate_thread_id, 8);
	span_add(&ts, cp->tstate_frame, 8);
	span_add(&fr, cp->frame_code, 8);
	span_add(&fr, cp->frame_lasti, minor <= 10 ? 4 : 8);
	span_add(&fr, cp->frame_owner, 1);
	span_add(&co, cp->code_firstlineno, 4);
	span_add(&co, cp->code_name, 8);
	span_add(&co, cp->code_qualname, 8);
	span_add(&co, cp->code_filename, 8);
	if (span_set(&ts, &cp->tstate_read_lo, &cp->tstate_read_len) ||
	    span_set(&fr, &cp->frame_read_lo, &cp->frame_read_len) ||
	    span_set(&co, &cp->code_read_lo, &cp->code_read_len))
		return -E2BIG;
	return 0;
}

static bool purging(const struct calls_collector *c, pid_t pid)
{
	for (size_t i = 0; i < c->npurge; i++)
		if (c->purge[i] == pid)
			return true;
	return false;
}

#define PROBE_CACHE 16

int calls_probe_source(const struct py_proc *p, char *why, size_t whylen)
{
	static struct {
		uint64_t dev, ino;
		int source;
		char why[256];
	} cache[PROBE_CACHE];
	static int ncache;
	struct binary *b;
	int i, err;

	why[0] = 0;
	for (i = 0; i < ncache; i++)
		if (cache[i].dev == p->obj_dev && cache[i].ino == p->obj_inode) {
			snprintf(why, whylen, "%s", cache[i].why);
			return cache[i].source;
		}
	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	err = setup_binary(b, p, false, why, whylen);
	if (err && !why[0])
		snprintf(why, whylen, "%s", strerror(-err));
	i = ncache < PROBE_CACHE ? ncache++ : PROBE_CACHE - 1;
	cache[i].dev = p->obj_dev;
	cache[i].ino = p->obj_inode;
	cache[i].source = err ? 0 : b->source;
	snprintf(cache[i].why, sizeof(cache[i].why), "%s", why);
	free(b);
	return cache[i].source;
}

int calls_add_process(struct calls_collector *c, const struct py_proc *p, char *why,
		      size_t whylen)
{
	struct calls_proc cp = {};
	struct proc *pr;
	struct binary *b = NULL;
	__u32 pid = p->pid;
	int i, err, bi = -1;

	why[0] = 0;
	/* the PID of a process purged moments ago, reused: drop the old one's entries now, before
	 * the new one's probes can add any (the queued purge would take those too) */
	if (purging(c, p->pid))
		calls_resolve(c);
	for (i = 0; i < c->nbins; i++)
		if (c->bins[i].dev == p->obj_dev && c->bins[i].ino == p->obj_inode) {
			bi = i;
			break;
		}
	if (bi < 0) {
		if (c->nbins == MAX_BINARIES) {
			snprintf(why, whylen, "more than %d distinct interpreter binaries",
				 MAX_BINARIES);
			return -ENOSPC;
		}
		b = &c->bins[c->nbins];
		memset(b, 0, sizeof(*b));
		b->dev = p->obj_dev;
		b->ino = p->obj_inode;
		b->multi_fd = -1;
		{
			struct timespec t0, t1;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			err = setup_binary(b, p, c->usdt, why, whylen);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			pr_debug("calls: %s: probe sites proven in %.1f ms", b->path,
				 (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
		}
		if (err)
			return err;
		bi = c->nbins++;
		b->attach_err = 0;
		for (i = 0; i < b->nsites; i++)
			pr_info("calls: %s: %s site %d at 0x%llx (handler 0x%llx): %s%s%s%s", b->path,
				calls_source_name(b->source), b->sites[i].opcode,
				(unsigned long long)b->sites[i].probe,
				(unsigned long long)b->sites[i].handler, b->sites[i].insn,
				b->sites[i].is_call ? " -> " : "",
				b->sites[i].is_call ? b->sites[i].callee : "",
				b->sites[i].stepped ? " (single-stepped)" : "");
	}
	b = &c->bins[bi];
	if (!b->source)
		return -ENOTSUP;
	/* a new binary, or one whose processes had all gone (not attached since) */
	if (c->attached && !bin_attached(b)) {
		err = attach_binary(c, b);
		if (err) {
			snprintf(why, whylen, "%s", b->attach_why);
			if (bi == c->nbins - 1 && !b->live)
				c->nbins--; /* new: proved again for the next process */
			return err;
		}
	}
	if (c->nprocs == c->cap_procs) {
		size_t nc = c->cap_procs ? c->cap_procs * 2 : 64;
		struct proc *a = realloc(c->procs, nc * sizeof(*a));

		if (!a)
			return -ENOMEM;
		c->procs = a;
		c->cap_procs = nc;
	}
	pr = &c->procs[c->nprocs];
	memset(pr, 0, sizeof(*pr));
	pr->pid = p->pid;
	pr->bin = bi;
	err = py_offsets_resolve(p, &pr->off);
	if (err) {
		snprintf(why, whylen, "no structure offsets for CPython 3.%d: %s", p->minor,
			 strerror(-err));
		return err;
	}
	cp.runtime_addr = p->runtime_addr;
	{
		/* the thread state as the sampler finds it: a pthread key in the target's own
		 * libc's layout, or 3.15's thread-local pointer */
		struct py_proc_info info = { .off = pr->off };

		err = py_tstate_locate(p, &info, why, whylen);
		if (err)
			return err;
		cp.tstate_src = info.tstate_src;
		cp.tls_offset = info.tls_offset;
		cp.tsd_base = info.tsd_base;
		cp.tsd_stride = info.tsd_stride;
		cp.tsd_max_keys = info.tsd_max_keys;
	}
	cp.source = b->source;
	cp.entry_arg = p->minor == 8 ? 1 : 2;
	cp.runtime_tsskey = pr->off.runtime_tsskey;
	/* the key is fixed once the interpreter runs: saves the probes a read per hit */
	if (cp.tstate_src != PH_TSTATE_TSD ||
	    read_mem(p->pid, p->runtime_addr + pr->off.runtime_tsskey, &cp.tss_key, 4) ||
	    cp.tss_key < 0 || (__u32)cp.tss_key >= cp.tsd_max_keys)
		cp.tss_key = -1;
	cp.tstate_thread_id = pr->off.tstate_thread_id;
	cp.tstate_frame = pr->off.tstate_frame;
	cp.cframe_current_frame = pr->off.walk_kind == PY_WALK_CFRAME ?
					  pr->off.cframe_current_frame : PY_OFF_NONE;
	cp.frame_code = pr->off.frame_code;
	cp.frame_code_tag = pr->off.frame_code_tag;
	cp.frame_lasti = pr->off.frame_lasti;
	cp.frame_owner = p->minor >= 11 ? pr->off.frame_owner : PY_OFF_NONE;
	cp.gen_state_delta = p->minor == 11 ? -5 : 0; /* gi_frame_state @75, gi_iframe @80 */
	cp.usdt_yield_ops[0] = cp.usdt_yield_ops[1] = CALLS_OP_NONE;
	if (p->minor == 15) {
		cp.usdt_yield_ops[0] = 119; /* YIELD_VALUE */
		cp.usdt_yield_ops[1] = 246; /* INSTRUMENTED_YIELD_VALUE */
	}
	cp.code_firstlineno = pr->off.code_firstlineno;
	cp.code_name = pr->off.code_name;
	cp.code_qualname = pr->off.code_qualname != PY_OFF_NONE ? pr->off.code_qualname :
								    pr->off.code_name;
	cp.code_filename = pr->off.code_filename;
	cp.unicode_length = pr->off.unicode_length;
	cp.unicode_state = pr->off.unicode_state;
	cp.unicode_hash = pr->off.unicode_length + 8; /* Py_hash_t hash follows the length */
	cp.unicode_ascii_data = pr->off.unicode_ascii_data;
	cp.unicode_compact_data = pr->off.unicode_compact_data;
	err = read_spans(&cp, p->minor);
	if (err) {
		snprintf(why, whylen, "thread state / frame fields too far apart for one read");
		return err;
	}
	{
		int resume[4], ret[4], nres, nret;

		version_ops(p->minor, resume, &nres, ret, &nret);
		for (i = 0; i < CALLS_RESUME_OPS; i++)
			cp.resume_ops[i] = i < nres ? resume[i] : CALLS_OP_NONE;
	}
	err = symbolizer_add_process(c->sym, p->pid, &pr->off);
	if (err)
		return err;
	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.calls_procs), &pid, &cp, BPF_ANY)) {
		err = -errno;
		snprintf(why, whylen, "cannot register: %s", strerror(errno));
		symbolizer_remove_process(c->sym, p->pid);
		return err;
	}
	c->nprocs++;
	b->live++;
	pr->cpu0 = pr->cpu_seen = proc_cpu_ns(pr->pid);
	if (c->attached && bin_attached(b)) /* a window is open */
		pr->cpu_mark = pr->cpu0;
	return 0;
}

/* A process's CPU time (ns, every thread), or 0 when it is gone. */
static uint64_t proc_cpu_ns(pid_t pid)
{
	struct timespec ts;
	clockid_t cid;

	if (clock_getcpuclockid(pid, &cid) || clock_gettime(cid, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* its probe hits and CPU time now (each kept at its last value once the process is gone) */
static void proc_read(struct calls_collector *c, struct proc *p)
{
	struct calls_proc cp;
	__u32 key = p->pid;
	uint64_t cpu = proc_cpu_ns(p->pid);

	if (!bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.calls_procs), &key, &cp))
		p->hits = cp.hits;
	if (cpu > p->cpu_seen)
		p->cpu_seen = cpu;
}

static void proc_mark(struct calls_collector *c, struct proc *p, enum calls_mark what)
{
	proc_read(c, p);
	if (what == CALLS_MARK_OPEN) {
		p->cpu_mark = p->cpu_seen;
		p->hits_mark = p->hits;
	} else if (what == CALLS_MARK_CLOSE && p->cpu_mark) {
		p->cpu_win += p->cpu_seen - p->cpu_mark;
		p->hits_win += p->hits - p->hits_mark;
		p->cpu_mark = 0;
	}
}

void calls_usage_mark(struct calls_collector *c, enum calls_mark what)
{
	for (size_t i = 0; i < c->nprocs; i++)
		if (!c->procs[i].exited)
			proc_mark(c, &c->procs[i], what);
}

static struct proc *find_proc(const struct calls_collector *c, pid_t pid);

int calls_proc_usage(const struct calls_collector *c, pid_t pid, struct calls_usage *u)
{
	const struct proc *p = find_proc(c, pid);

	memset(u, 0, sizeof(*u));
	if (!p)
		return -ENOENT;
	u->hits = p->hits;
	u->cpu_ns = p->cpu_seen > p->cpu0 ? p->cpu_seen - p->cpu0 : 0;
	u->cpu_win_ns = p->cpu_win;
	u->hits_win = p->hits_win;
	u->exited = p->exited;
	return 0;
}

static struct proc *find_proc(const struct calls_collector *c, pid_t pid)
{
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].pid == pid)
			return &c->procs[i];
	return NULL;
}

/* A process is gone: a binary with no process left is not attached again at the next window
 * (it may be deleted by now); its links stay until then (a detach waits for an RCU grace
 * period, not to be done in the poll loop at every exit). */
static void proc_gone(struct calls_collector *c, struct proc *p)
{
	struct binary *b;

	if (p->exited)
		return;
	p->exited = true;
	b = &c->bins[p->bin];
	if (--b->live > 0)
		return;
	b->attach_err = 0;
}

void calls_remove_process(struct calls_collector *c, pid_t pid)
{
	__u32 key = pid;
	struct proc *p = find_proc(c, pid);

	if (p && !p->exited)
		proc_mark(c, p, CALLS_MARK_CLOSE);
	bpf_map_delete_elem(bpf_map__fd(c->skel->maps.calls_procs), &key);
	if (p) {
		proc_gone(c, p);
		*p = c->procs[--c->nprocs];
		symbolizer_remove_process(c->sym, pid);
	}
}

void calls_process_exited(struct calls_collector *c, pid_t pid)
{
	__u32 key = pid;
	struct proc *p = find_proc(c, pid);

	if (p && !p->exited) /* its hits, and its CPU time while its zombie lasts */
		proc_mark(c, p, CALLS_MARK_CLOSE);
	bpf_map_delete_elem(bpf_map__fd(c->skel->maps.calls_procs), &key);
	symbolizer_remove_process(c->sym, pid);
	if (p)
		proc_gone(c, p);
}

int calls_purge_pid(struct calls_collector *c, pid_t pid)
{
	calls_remove_process(c, pid);
	if (c->npurge == c->cap_purge) {
		size_t nc = c->cap_purge ? c->cap_purge * 2 : 64;
		pid_t *a = realloc(c->purge, nc * sizeof(*a));

		if (!a)
			return -ENOMEM;
		c->purge = a;
		c->cap_purge = nc;
	}
	c->purge[c->npurge++] = pid;
	return 0;
}

static size_t name_bucket(pid_t pid, uint64_t code, uint32_t fp);

/* drop the purged processes' names and rebuild the index */
static void purge_names(struct calls_collector *c)
{
	size_t i, n = 0;

	memset(c->name_index, 0xff, sizeof(c->name_index));
	for (i = 0; i < c->nnames; i++) {
		struct name *e = &c->names[i];
		size_t b;

		if (purging(c, e->pid))
			continue;
		if (n != i)
			c->names[n] = *e;
		b = name_bucket(c->names[n].pid, c->names[n].code, c->names[n].fp);
		c->names[n].next = c->name_index[b];
		c->name_index[b] = n;
		n++;
	}
	c->nnames = n;
}

int calls_source_of(const struct calls_collector *c, pid_t pid, char *desc, size_t desclen)
{
	struct proc *p = find_proc(c, pid);
	const struct binary *b;
	size_t off = 0;

	if (desc && desclen)
		desc[0] = 0;
	if (!p)
		return 0;
	b = &c->bins[p->bin];
	if (desc && desclen) {
		desc[0] = 0;
		for (int i = 0; i < b->nsites && off < desclen; i++)
			off += snprintf(desc + off, desclen - off, "%s%s%d@0x%llx%s",
					i ? ", " : "", b->kinds[i] == CALLS_SITE_USDT_RETURN ? "usdt" : "op",
					b->sites[i].opcode, (unsigned long long)b->sites[i].probe,
					b->sites[i].stepped ? "(stepped)" : "");
	}
	return b->source;
}

/* A binary's probes failed: only its processes go uncounted (said once per failure). */
static void bin_failed(struct calls_collector *c, struct binary *b, int err)
{
	char pids[128] = "";
	size_t off = 0;
	int n = 0;

	if (b->attach_err == err)
		return;
	b->attach_err = err;
	for (size_t i = 0; i < c->nprocs; i++) {
		const struct proc *p = &c->procs[i];

		if (p->exited || &c->bins[p->bin] != b)
			continue;
		if (off < sizeof(pids) - 16)
			off += snprintf(pids + off, sizeof(pids) - off, "%s%d", n ? "," : "", p->pid);
		n++;
	}
	pr_warn("calls: pid%s %s not counted while this lasts: %s", n == 1 ? "" : "s", pids,
		b->attach_why);
}

int calls_attach(struct calls_collector *c)
{
	int i, err;

	if (c->attached)
		return 0;
	for (i = 0; i < c->nbins; i++) {
		struct binary *b = &c->bins[i];

		if (!b->source || !b->live) /* no process left: dropped */
			continue;
		err = attach_binary(c, b);
		if (err) {
			bin_failed(c, b, err);
			continue;
		}
		if (b->attach_err)
			pr_info("calls: %s: probes attached again", b->path);
		b->attach_err = 0;
	}
	c->attached = true;
	return 0;
}

int calls_failure_of(const struct calls_collector *c, pid_t pid, char *why, size_t whylen)
{
	const struct proc *p = find_proc(c, pid);
	const struct binary *b = p ? &c->bins[p->bin] : NULL;

	if (why && whylen)
		why[0] = 0;
	if (!b || !b->attach_err)
		return 0;
	if (why && whylen)
		snprintf(why, whylen, "%s", b->attach_why);
	return b->attach_err;
}

int calls_counting(const struct calls_collector *c)
{
	int n = 0;

	for (size_t i = 0; i < c->nprocs; i++)
		n += !c->procs[i].exited && !c->bins[c->procs[i].bin].attach_err;
	return n;
}

static void *destroy_link(void *l)
{
	bpf_link__destroy(l);
	return NULL;
}

/* Destroying a uprobe link removes its breakpoints, then waits for an RCU grace period (about
 * 100-400 ms on a busy host) before returning. One after another, the probes not yet removed
 * keep firing through the earlier waits: destroy them all at once, one thread each. */
void calls_detach(struct calls_collector *c)
{
	pthread_t th[MAX_BINARIES * MAX_SITES];
	bool started[MAX_BINARIES * MAX_SITES];
	int n = 0;

	for (int i = 0; i < c->nbins; i++) {
		struct binary *b = &c->bins[i];

		if (b->multi_fd >= 0) { /* every breakpoint goes, then one grace period */
			close(b->multi_fd);
			b->multi_fd = -1;
		}
		for (int k = 0; k < b->nlinks; k++, n++)
			started[n] = !pthread_create(&th[n], NULL, destroy_link, b->links[k]);
		for (int k = 0; k < b->nlinks; k++)
			if (!started[n - b->nlinks + k])
				bpf_link__destroy(b->links[k]);
		b->nlinks = 0;
	}
	for (int i = 0; i < n; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	c->attached = false;
}

bool calls_attached(const struct calls_collector *c)
{
	return c->attached;
}

void calls_reset_shadow(struct calls_collector *c)
{
	/* each thread's stack empties itself at its next probe hit */
	__atomic_add_fetch(&c->skel->bss->window_gen, 1, __ATOMIC_RELAXED);
}

static size_t name_bucket(pid_t pid, uint64_t code, uint32_t fp)
{
	uint64_t h = (code >> 4) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)pid << 32 | fp) *
		     0xff51afd7ed558ccdull;

	return (h >> 40) % NAME_BUCKETS;
}

static struct name *find_name(struct calls_collector *c, pid_t pid, uint64_t code, uint32_t fp)
{
	for (int i = c->name_index[name_bucket(pid, code, fp)]; i >= 0; i = c->names[i].next)
		if (c->names[i].pid == pid && c->names[i].code == code && c->names[i].fp == fp)
			return &c->names[i];
	return NULL;
}

/* a new name slot for (pid, code, fp), in the index; NULL when the cache is full */
static struct name *add_name(struct calls_collector *c, pid_t pid, uint64_t code, uint32_t fp)
{
	struct name *n;
	size_t b;

	if (c->nnames == c->cap_names) {
		size_t nc = c->cap_names ? c->cap_names * 2 : 256;
		struct name *a;

		if (nc > NAME_CACHE_MAX)
			return NULL;
		a = realloc(c->names, nc * sizeof(*a));
		if (!a)
			return NULL;
		c->names = a;
		c->cap_names = nc;
	}
	b = name_bucket(pid, code, fp);
	n = &c->names[c->nnames];
	memset(n, 0, sizeof(*n));
	n->pid = pid;
	n->code = code;
	n->fp = fp;
	n->next = c->name_index[b];
	c->name_index[b] = c->nnames++;
	return n;
}

/* raw characters of kind 1/2/4 as the probe copied them, to UTF-8 */
static void decode(const uint8_t *raw, unsigned int bytes, int kind, bool cut, bool tail,
		   char *out, size_t outlen)
{
	size_t off = 0;

	out[0] = 0;
	if (!kind || !bytes)
		return;
	if (cut && tail)
		off = snprintf(out, outlen, "...");
	if (py_unicode_to_utf8(raw, bytes / kind, kind, out + off, outlen - off) < 0) {
		snprintf(out, outlen, "<undecodable>");
		return;
	}
	if (cut && !tail && strlen(out) + 4 < outlen)
		strcat(out, "...");
}

static void name_from(struct name *n, const struct calls_name *v)
{
	decode(v->name, v->name_bytes, v->name_kind, v->name_cut, false, n->name, sizeof(n->name));
	decode(v->file, v->file_bytes, v->file_kind, v->file_cut, true, n->file, sizeof(n->file));
	n->first_line = v->first_line;
}

/* Take the names the probes copied at first sight. */
static void take_names(struct calls_collector *c)
{
	int fd = bpf_map__fd(c->skel->maps.calls_names);
	struct calls_key key, next;
	struct calls_name v;
	int err = bpf_map_get_next_key(fd, NULL, &next);

	while (!err) {
		struct name *n;

		key = next;
		err = bpf_map_get_next_key(fd, &key, &next);
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		bpf_map_delete_elem(fd, &key);
		if (!v.name_bytes && !purging(c, key.pid))
			c->walk = true; /* not a compact string: named from the process */
		if (!v.name_bytes || purging(c, key.pid) || find_name(c, key.pid, key.code, key.fp))
			continue;
		n = add_name(c, key.pid, key.code, key.fp);
		if (!n)
			return;
		name_from(n, &v);
	}
}

/* Name a counted code object the probes could not name (names map full, a legacy string) from
 * the process, if the code object there is still the one counted (same fingerprint). */
static int name_late(struct calls_collector *c, const struct proc *p, const struct calls_key *k,
		     struct name *n)
{
	const struct py_offsets *o = &p->off;
	uint64_t name = 0, qual = 0, file = 0, hash = 0;
	uint32_t first = 0;
	char *qs = NULL, *fs = NULL;
	int err;

	if (read_mem(k->pid, k->code + o->code_name, &name, 8) ||
	    read_mem(k->pid, k->code + o->code_firstlineno, &first, 4) ||
	    read_mem(k->pid, name + o->unicode_length + 8, &hash, 8))
		return -ESRCH;
	if (CALLS_FP(name, hash, first) != k->fp)
		return -ESTALE; /* freed, its address reused */
	qual = name;
	if (o->code_qualname != PY_OFF_NONE && read_mem(k->pid, k->code + o->code_qualname, &qual, 8))
		return -ESRCH;
	if (read_mem(k->pid, k->code + o->code_filename, &file, 8))
		return -ESRCH;
	err = py_read_string(k->pid, o, qual, &qs);
	if (!err)
		err = py_read_string(k->pid, o, file, &fs);
	if (!err) {
		snprintf(n->name, sizeof(n->name), "%s", qs);
		snprintf(n->file, sizeof(n->file), "%s", fs);
		n->first_line = first;
	}
	free(qs);
	free(fs);
	return err;
}

void calls_resolve(struct calls_collector *c)
{
	int fd = bpf_map__fd(c->skel->maps.calls_stats);
	int nfd = bpf_map__fd(c->skel->maps.calls_names);
	struct calls_key key, next;
	struct calls_stats s;
	struct calls_name v;
	uint64_t drops;
	int err;

	take_names(c);
	/* Walk the stats map (a syscall or two per entry) only when some entry may lack a name:
	 * the probes queue one name per new entry, unless the names map was full. */
	drops = counter_value(c, CC_DROP_NAMES);
	if (drops != c->name_drops)
		c->walk = true;
	if (!c->walk && !c->npurge)
		return;
	c->name_drops = drops;
	c->walk = false;
	err = bpf_map_get_next_key(fd, NULL, &next);
	while (!err) {
		struct name tmp, *n;
		struct proc *p;

		key = next;
		err = bpf_map_get_next_key(fd, &key, &next);
		if (c->npurge && purging(c, key.pid)) {
			bpf_map_delete_elem(fd, &key);
			continue;
		}
		if (find_name(c, key.pid, key.code, key.fp) || !(p = find_proc(c, key.pid)) ||
		    bpf_map_lookup_elem(fd, &key, &s) || !s.name_ptr)
			continue;
		/* the probe sets name_ptr after queueing the name: take it if it came since */
		if (!bpf_map_lookup_elem(nfd, &key, &v) && v.name_bytes) {
			bpf_map_delete_elem(nfd, &key);
			n = add_name(c, key.pid, key.code, key.fp);
			if (!n)
				return;
			name_from(n, &v);
			continue;
		}
		memset(&tmp, 0, sizeof(tmp));
		if (name_late(c, p, &key, &tmp)) {
			c->names_stale++;
			continue;
		}
		n = add_name(c, key.pid, key.code, key.fp);
		if (!n)
			return;
		snprintf(n->name, sizeof(n->name), "%s", tmp.name);
		snprintf(n->file, sizeof(n->file), "%s", tmp.file);
		n->first_line = tmp.first_line;
	}
	if (c->npurge) {
		purge_names(c);
		c->npurge = 0;
	}
}

static void sum_counters(struct calls_collector *c, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();

	for (__u32 k = 0; ncpu > 0 && k < CC_MAX; k++) {
		__u64 vals[ncpu];

		out[k] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.calls_counters), &k, vals))
			continue;
		for (int i = 0; i < ncpu; i++)
			out[k] += vals[i];
	}
}

uint64_t calls_hits(struct calls_collector *c, uint64_t *bpf_ns)
{
	uint64_t hits = counter_value(c, CC_HIT_ENTRY) + counter_value(c, CC_HIT_RESUME) +
			counter_value(c, CC_HIT_RETURN) + counter_value(c, CC_HIT_USDT);

	if (bpf_ns) { /* one run in 16 is timed: their mean times the hits */
		uint64_t timed = counter_value(c, CC_TIMED);

		*bpf_ns = timed ? (uint64_t)((double)counter_value(c, CC_BPF_NS) / timed * hits) : 0;
	}
	return hits;
}

int calls_snapshot(struct calls_collector *c, struct calls_snapshot *snap)
{
	int fd = bpf_map__fd(c->skel->maps.calls_stats);
	struct calls_key key, next;
	size_t cap = 0;
	int err;

	memset(snap, 0, sizeof(*snap));
	calls_resolve(c);
	err = bpf_map_get_next_key(fd, NULL, &next);
	while (!err) {
		struct calls_entry *e;
		struct name *n;

		key = next;
		err = bpf_map_get_next_key(fd, &key, &next);
		if (snap->n == cap) {
			struct calls_entry *a;

			cap = cap ? cap * 2 : 256;
			a = realloc(snap->e, cap * sizeof(*a));
			if (!a) {
				calls_snapshot_free(snap);
				return -ENOMEM;
			}
			snap->e = a;
		}
		e = &snap->e[snap->n];
		memset(e, 0, sizeof(*e));
		if (bpf_map_lookup_elem(fd, &key, &e->s))
			continue;
		e->pid = key.pid;
		e->code = key.code;
		n = find_name(c, key.pid, key.code, key.fp);
		snprintf(e->name, sizeof(e->name), "%s", n ? n->name : "<unknown>");
		snprintf(e->file, sizeof(e->file), "%s", n ? n->file : "");
		e->first_line = n ? n->first_line : 0;
		snap->n++;
	}
	sum_counters(c, snap->counters);
	return 0;
}

void calls_snapshot_free(struct calls_snapshot *snap)
{
	free(snap->e);
	snap->e = NULL;
	snap->n = 0;
}

double calls_trap_cpu_ns(const struct calls_collector *c)
{
	return c->trap_cpu_ns;
}

struct bpf_object *calls_bpf_object(const struct calls_collector *c)
{
	return c->skel->obj;
}

void calls_free(struct calls_collector *c)
{
	if (!c)
		return;
	calls_detach(c);
	calls_bpf__destroy(c->skel);
	symbolizer_free(c->sym);
	free(c->procs);
	free(c->names);
	free(c->purge);
	free(c);
}

uint64_t calls_hist_percentile(const __u64 *lat, unsigned int nslots, double p)
{
	uint64_t total = 0, acc = 0, want;
	unsigned int i;

	for (i = 0; i < nslots; i++)
		total += lat[i];
	if (!total)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)total + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < nslots; i++) {
		acc += lat[i];
		if (acc >= want)
			return i ? (1ULL << i) - 1 : 0;
	}
	return (1ULL << (nslots - 1)) - 1;
}

/* A function of pyhound's own with a known emulated branch for calibration (a test of the
 * argument and a jne), written in assembly so the compiler can't fold the branch away. */
int pyhound_calls_calib_target(int x);
__asm__(".text\n"
	".globl pyhound_calls_calib_target\n"
	".type pyhound_calls_calib_target, @function\n"
	"pyhound_calls_calib_target:\n"
	"	xorl %eax, %eax\n"
	"	testl %edi, %edi\n"
	"	jne 1f\n"
	"	ret\n"
	"1:	movl $1, %eax\n"
	"	ret\n"
	".size pyhound_calls_calib_target, .-pyhound_calls_calib_target\n");

/* wall time of n calls (and the thread's CPU time in *cpu) */
static double calib_loop(int n, double *cpu)
{
	volatile int r = 0;
	struct timespec a, b;

	struct timespec ca, cb;

	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
	for (int i = 0; i < n; i++)
		r += pyhound_calls_calib_target(i & 1);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	(void)r;
	*cpu = (cb.tv_sec - ca.tv_sec) * 1e9 + (cb.tv_nsec - ca.tv_nsec);
	return (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
}

int calls_calibrate(struct calls_collector *c, double *ns_per_hit)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	const int n = 100000;
	uint64_t before[CC_MAX], after[CC_MAX], off = 0, at = 0;
	struct elf_file *ef;
	struct elf_sym sym;
	struct bpf_link *l = NULL;
	int lfd = -1;
	uint8_t code[16];
	double plain, probed, plain_cpu, probed_cpu;
	char why[256];
	int err;

	ef = elf_open("/proc/self/exe");
	if (!ef)
		return -errno;
	err = elf_find_symbol(ef, "pyhound_calls_calib_target", &sym);
	if (!err && sym.size <= sizeof(code))
		err = elf_read_vaddr(ef, sym.value, code, sym.size);
	if (!err)
		err = insn_first_branch(code, sym.size, sym.value, sym.value, 8, NULL, 0, &at, NULL,
					NULL, 0, why, sizeof(why));
	if (!err)
		err = elf_vaddr_to_offset(ef, at, &off);
	elf_close(ef);
	if (err)
		return err;
	if (c->multi) {
		lfd = uprobe_multi_attach(bpf_program__fd(c->skel->progs.calls_calib),
					  "/proc/self/exe", &off, NULL, NULL, 1, getpid());
		if (lfd < 0)
			return lfd;
	} else {
		l = bpf_program__attach_uprobe_opts(c->skel->progs.calls_calib, 0,
						    "/proc/self/exe", off, &uo);
		if (!l)
			return -errno;
	}
	sum_counters(c, before);
	probed = calib_loop(n, &probed_cpu);
	sum_counters(c, after);
	if (l)
		bpf_link__destroy(l);
	else
		close(lfd);
	plain = calib_loop(n, &plain_cpu);
	if (after[CC_CALIB] - before[CC_CALIB] < (uint64_t)n)
		return -EPROTO; /* the probe did not fire on every call */
	*ns_per_hit = (probed - plain) / n;
	if (*ns_per_hit < 1)
		*ns_per_hit = 1;
	c->trap_cpu_ns = (probed_cpu - plain_cpu) / n;
	if (c->trap_cpu_ns < 1)
		c->trap_cpu_ns = 1;
	return 0;
}

