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
#include "calls.skel.h"
#include "calls_user.h"
#include "elf.h"
#include "insn_check.h"
#include "log.h"
#include "offsets.h"
#include "sampler.h"
#include "symbolize.h"

#define MAX_BINARIES 64
#define MAX_SITES 8
#define NAME_CACHE_MAX 262144

struct binary {
	uint64_t dev, ino;
	char path[4096];
	int source, minor;
	struct eval_site sites[MAX_SITES];
	int kinds[MAX_SITES]; /* 0 entry, 1 resume, 2 return, 3 return (frame in arg 2), 4 usdt */
	int nsites;
	struct bpf_link *links[MAX_SITES];
	int nlinks;
};

struct proc {
	pid_t pid;
	int bin;
	struct py_offsets off;
};

struct name {
	pid_t pid;
	uint64_t code;
	char name[160], file[256];
	int first_line;
};

struct calls_collector {
	struct calls_bpf *skel;
	struct symbolizer *sym;
	struct binary bins[MAX_BINARIES];
	int nbins;
	struct proc *procs;
	size_t nprocs, cap_procs;
	struct name *names;
	size_t nnames, cap_names;
	bool attached;
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
	[CC_BPF_NS] = "bpf_ns",
};

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
	bpf_map__set_max_entries(c->skel->maps.calls_shadow,
				 opts->max_threads ? opts->max_threads : 16384);
	bpf_map__set_max_entries(c->skel->maps.calls_procs,
				 opts->max_procs ? opts->max_procs : 4096);
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

/* opcode numbers of each version: RESUME and its specialised forms, the return opcodes */
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
	}
	return -ENOTSUP;
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)addr, len };

	return process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EIO;
}

/* Decide how calls of a binary are seen and prove its probe sites. */
static int setup_binary(struct binary *b, const struct py_proc *p, char *why, size_t whylen)
{
	int resume[4], ret[4], nres, nret, err, i;
	char why2[256] = "";

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
	err = version_ops(p->minor, resume, &nres, ret, &nret);
	if (err) {
		snprintf(why, whylen, "CPython 3.%d: no opcode table known", p->minor);
		goto usdt;
	}
	if (p->minor <= 10) {
		int regs[] = { X86_REG_RDI, X86_REG_EDI, X86_REG_RSI, X86_REG_ESI };

		err = eval_locate_entry(b->path, regs, 4, &b->sites[0], why, whylen);
		if (err)
			goto usdt;
		b->kinds[0] = 0;
		b->nsites = 1;
	} else {
		err = eval_locate_handlers(b->path, resume, nres, b->sites, why, whylen);
		if (err)
			goto usdt;
		for (i = 0; i < nres; i++)
			b->kinds[i] = 1;
		b->nsites = nres;
	}
	err = eval_locate_handlers(b->path, ret, nret, b->sites + b->nsites, why, whylen);
	if (err)
		goto usdt;
	for (i = 0; i < nret; i++) {
		struct eval_site *s = &b->sites[b->nsites + i];

		/* a call as the branch: only _PyEval_FrameClearAndPop(tstate, frame), which
		 * pops the returning frame (3.13), whose frame is then argument 2 */
		if (s->is_call && strcmp(s->callee, "_PyEval_FrameClearAndPop")) {
			snprintf(why, whylen, "return handler of opcode %d branches first with a "
				 "call to %s (%s) whose arguments are unknown", s->opcode, s->callee,
				 s->insn);
			err = -ENOTSUP;
			goto usdt;
		}
		b->kinds[b->nsites + i] = s->is_call ? 3 : 2;
	}
	b->nsites += nret;
	b->source = p->minor <= 10 ? CALLS_SRC_EVAL_ENTRY : CALLS_SRC_RESUME;
	return 0;
usdt:
	if (p->minor == 11 && (p->usdt_mask & PY_USDT_FUNCTION_RETURN)) {
		snprintf(why2, sizeof(why2), "%s", why);
		snprintf(why, whylen, "handler probes refused (%s): counting with USDT", why2);
		b->source = CALLS_SRC_USDT;
		b->nsites = 1;
		b->kinds[0] = 4;
		memset(&b->sites[0], 0, sizeof(b->sites[0]));
		snprintf(b->sites[0].insn, sizeof(b->sites[0].insn), "python:function__return");
		return 0;
	}
	b->source = 0;
	return err ? err : -ENOTSUP;
}

static int attach_binary(struct calls_collector *c, struct binary *b)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	int i, err;

	for (i = 0; i < b->nsites; i++) {
		struct bpf_program *prog;
		struct bpf_link *l;

		switch (b->kinds[i]) {
		case 0: prog = c->skel->progs.calls_eval_entry; break;
		case 1: prog = c->skel->progs.calls_resume; break;
		case 2: prog = c->skel->progs.calls_return; break;
		case 3: prog = c->skel->progs.calls_return_arg2; break;
		default: prog = c->skel->progs.calls_usdt_return; break;
		}
		if (b->kinds[i] == 4)
			l = bpf_program__attach_usdt(prog, -1, b->path, "python", "function__return",
						     NULL);
		else
			l = bpf_program__attach_uprobe_opts(prog, -1, b->path, b->sites[i].offset,
							    &uo);
		if (!l) {
			err = -errno;
			pr_err("cannot attach to %s at 0x%llx: %s", b->path,
			       (unsigned long long)b->sites[i].offset, strerror(-err));
			for (; b->nlinks > 0; b->nlinks--)
				bpf_link__destroy(b->links[b->nlinks - 1]);
			return err;
		}
		b->links[b->nlinks++] = l;
	}
	return 0;
}

static void detach_binary(struct binary *b)
{
	for (; b->nlinks > 0; b->nlinks--)
		bpf_link__destroy(b->links[b->nlinks - 1]);
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
		err = setup_binary(b, p, why, whylen);
		if (err)
			return err;
		bi = c->nbins++;
		for (i = 0; i < b->nsites; i++)
			pr_info("calls: %s: %s site %d at 0x%llx (handler 0x%llx): %s%s%s%s", b->path,
				calls_source_name(b->source), b->sites[i].opcode,
				(unsigned long long)b->sites[i].probe,
				(unsigned long long)b->sites[i].handler, b->sites[i].insn,
				b->sites[i].is_call ? " -> " : "",
				b->sites[i].is_call ? b->sites[i].callee : "",
				b->sites[i].stepped ? " (single-stepped)" : "");
		if (c->attached) {
			err = attach_binary(c, b);
			if (err) {
				c->nbins--;
				snprintf(why, whylen, "cannot attach probes: %s", strerror(-err));
				return err;
			}
		}
	}
	b = &c->bins[bi];
	if (!b->source)
		return -ENOTSUP;
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
	cp.tsd_base = PH_TSD_GLIBC_BASE;
	cp.tsd_stride = PH_TSD_GLIBC_STRIDE;
	cp.tsd_max_keys = PH_TSD_GLIBC_KEYS;
	cp.source = b->source;
	cp.entry_arg = p->minor == 8 ? 1 : 2;
	cp.runtime_tsskey = pr->off.runtime_tsskey;
	/* the key is fixed once the interpreter runs: saves the probes a read per hit */
	if (read_mem(p->pid, p->runtime_addr + pr->off.runtime_tsskey, &cp.tss_key, 4) ||
	    cp.tss_key < 0 || (__u32)cp.tss_key >= PH_TSD_GLIBC_KEYS)
		cp.tss_key = -1;
	cp.tstate_thread_id = pr->off.tstate_thread_id;
	cp.tstate_frame = pr->off.tstate_frame;
	cp.cframe_current_frame = pr->off.walk_kind == PY_WALK_CFRAME ?
					  pr->off.cframe_current_frame : PY_OFF_NONE;
	cp.frame_code = pr->off.frame_code;
	cp.frame_lasti = pr->off.frame_lasti;
	cp.frame_owner = p->minor >= 11 ? pr->off.frame_owner : PY_OFF_NONE;
	cp.gen_state_delta = p->minor == 11 ? -5 : 0; /* gi_frame_state @75, gi_iframe @80 */
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
	return 0;
}

static struct proc *find_proc(const struct calls_collector *c, pid_t pid)
{
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].pid == pid)
			return &c->procs[i];
	return NULL;
}

void calls_remove_process(struct calls_collector *c, pid_t pid)
{
	__u32 key = pid;
	struct proc *p = find_proc(c, pid);

	bpf_map_delete_elem(bpf_map__fd(c->skel->maps.calls_procs), &key);
	if (p) {
		*p = c->procs[--c->nprocs];
		symbolizer_remove_process(c->sym, pid);
	}
}

void calls_process_exited(struct calls_collector *c, pid_t pid)
{
	__u32 key = pid;

	bpf_map_delete_elem(bpf_map__fd(c->skel->maps.calls_procs), &key);
	symbolizer_remove_process(c->sym, pid);
}

int calls_source_of(const struct calls_collector *c, pid_t pid, char *desc, size_t desclen)
{
	struct proc *p = find_proc(c, pid);
	const struct binary *b;
	size_t off = 0;

	if (!p)
		return 0;
	b = &c->bins[p->bin];
	if (desc && desclen) {
		desc[0] = 0;
		for (int i = 0; i < b->nsites && off < desclen; i++)
			off += snprintf(desc + off, desclen - off, "%s%s%d@0x%llx%s",
					i ? ", " : "", b->kinds[i] == 4 ? "usdt" : "op",
					b->sites[i].opcode, (unsigned long long)b->sites[i].probe,
					b->sites[i].stepped ? "(stepped)" : "");
	}
	return b->source;
}

int calls_attach(struct calls_collector *c)
{
	int i, err;

	if (c->attached)
		return 0;
	for (i = 0; i < c->nbins; i++) {
		err = attach_binary(c, &c->bins[i]);
		if (err) {
			while (i-- > 0)
				detach_binary(&c->bins[i]);
			return err;
		}
	}
	c->attached = true;
	return 0;
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
	int fd = bpf_map__fd(c->skel->maps.calls_shadow);
	__u32 key, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
}

static struct name *find_name(struct calls_collector *c, pid_t pid, uint64_t code)
{
	for (size_t i = c->nnames; i-- > 0;) /* newest first */
		if (c->names[i].pid == pid && c->names[i].code == code)
			return &c->names[i];
	return NULL;
}

void calls_resolve(struct calls_collector *c)
{
	int fd = bpf_map__fd(c->skel->maps.calls_stats);
	struct calls_key key, next;
	int err = bpf_map_get_next_key(fd, NULL, &next);

	while (!err) {
		struct proc *p;

		key = next;
		err = bpf_map_get_next_key(fd, &key, &next);
		if (find_name(c, key.pid, key.code) || !(p = find_proc(c, key.pid)))
			continue;
		if (c->nnames == c->cap_names) {
			size_t nc = c->cap_names ? c->cap_names * 2 : 256;
			struct name *a;

			if (nc > NAME_CACHE_MAX)
				return;
			a = realloc(c->names, nc * sizeof(*a));
			if (!a)
				return;
			c->names = a;
			c->cap_names = nc;
		}
		{
			struct name *n = &c->names[c->nnames];
			uint64_t name_ptr = 0;
			uint32_t first = 0;
			struct prof_frame f;

			if (read_mem(key.pid, key.code + p->off.code_name, &name_ptr, 8) ||
			    read_mem(key.pid, key.code + p->off.code_firstlineno, &first, 4))
				continue;
			if (symbolizer_frame(c->sym, key.pid, key.code, name_ptr, first, -1, &f) < 0)
				continue;
			n->pid = key.pid;
			n->code = key.code;
			snprintf(n->name, sizeof(n->name), "%s", f.name);
			snprintf(n->file, sizeof(n->file), "%s", f.file);
			n->first_line = f.first_line;
			c->nnames++;
		}
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
	uint64_t v[CC_MAX] = {};

	sum_counters(c, v);
	if (bpf_ns)
		*bpf_ns = v[CC_BPF_NS];
	return v[CC_HIT_ENTRY] + v[CC_HIT_RESUME] + v[CC_HIT_RETURN] + v[CC_HIT_USDT];
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
		n = find_name(c, key.pid, key.code);
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

void calls_free(struct calls_collector *c)
{
	if (!c)
		return;
	calls_detach(c);
	calls_bpf__destroy(c->skel);
	symbolizer_free(c->sym);
	free(c->procs);
	free(c->names);
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

static double calib_loop(int n)
{
	volatile int r = 0;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		r += pyhound_calls_calib_target(i & 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	(void)r;
	return (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
}

int calls_calibrate(struct calls_collector *c, double *ns_per_hit)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	const int n = 100000;
	uint64_t before[CC_MAX], after[CC_MAX], off = 0, at = 0;
	struct elf_file *ef;
	struct elf_sym sym;
	struct bpf_link *l;
	uint8_t code[16];
	double plain, probed;
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
	l = bpf_program__attach_uprobe_opts(c->skel->progs.calls_calib, 0, "/proc/self/exe", off,
					    &uo);
	if (!l)
		return -errno;
	sum_counters(c, before);
	probed = calib_loop(n);
	sum_counters(c, after);
	bpf_link__destroy(l);
	plain = calib_loop(n);
	if (after[CC_CALIB] - before[CC_CALIB] < (uint64_t)n)
		return -EPROTO; /* the probe did not fire on every call */
	*ns_per_hit = (probed - plain) / n;
	if (*ns_per_hit < 1)
		*ns_per_hit = 1;
	return 0;
}

