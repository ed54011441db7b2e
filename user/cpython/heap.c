// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Heap census (see heap.h). Reads go through host/rmem.c; layouts come from cpython/heap_layout.c.
 *
 * Bytes per object follow sys.getsizeof: the collector's header and any pre-header, the basic size
 * plus ob_size items, and for lists, dicts and sets the storage they own (item array, keys and
 * values tables, hash table). An instance's attribute storage (its __dict__, or 3.11+ managed or
 * inline values) is counted with the instance, except a __dict__ the collector tracks itself (it
 * holds containers): that is counted once, as a dict of its own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cpython/debug_offsets.h"
#include "cpython/heap.h"
#include "cpython/heap_walker.h"
#include "cpython/heap_layout.h"
#include "host/elf.h"
#include "host/rmem.h"
#include "lib/hashidx.h"
#include "lib/log.h"

const char *heap_skip_name(int s)
{
	static const char *n[] = { "bad_type", "bad_name", "bad_size", "types_full" };

	return s >= 0 && s < HEAP_SKIP_MAX ? n[s] : "?";
}

const char *heap_stop_name(int s)
{
	static const char *n[] = { "complete", "list changed under the walk",
				   "implausible link", "node unreadable", "loop",
				   "reached another list", "object limit" };

	return s >= 0 && s < HEAP_STOP_MAX ? n[s] : "?";
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- objects ---- */

static void top_add(struct heap_container *top, int *n, const struct heap_container *c)
{
	int i;

	if (*n == HEAP_TOP_CONTAINERS && top[*n - 1].bytes >= c->bytes)
		return;
	if (*n < HEAP_TOP_CONTAINERS)
		(*n)++;
	for (i = *n - 1; i > 0 && top[i - 1].bytes < c->bytes; i--)
		top[i] = top[i - 1];
	top[i] = *c;
}

/* Attribute storage of an instance o of ti (hdr: its GC header and first 48 bytes). bytes: what
 * is counted with the instance; sbytes: the storage, whoever it is counted with. */

static void skip(struct walker *w, const struct tinfo *ti, uint64_t o, int why, const char *what,
		 uint64_t v1, uint64_t v2)
{
	w->pend_skip[why]++;
	pr_debug("heap: object at 0x%llx (%s) skipped, %s: %s %llu %llu", (unsigned long long)o,
		 ti && ti->skip < 0 ? ti->name : "?", heap_skip_name(why), what,
		 (unsigned long long)v1, (unsigned long long)v2);
}

static void count_object(struct walker *w, uint64_t o, const uint8_t *hdr)
{
	const struct py_heap_layout *L = w->L;
	struct tinfo *ti = heap_type_get(w, u64at(hdr, 16 + L->ob_type));
	int64_t n = 0;
	uint64_t own, storage = 0, len = 0, ib, sb, names;
	bool has;

	if (!ti) {
		skip(w, NULL, o, HEAP_SKIP_TYPES_FULL, "types kept", w->ntypes, 0);
		return;
	}
	if (ti->skip >= 0) {
		skip(w, ti, o, ti->skip, "type at", ti->addr, 0);
		return;
	}
	/* 3.11+ generators and coroutines size their frame from the code object and have no
	 * ob_size: counted at their basic size (the frame's slots are not counted) */
	if (ti->itemsize && !(ti->kind == K_GEN && L->version_hex >= 0x030b0000)) {
		n = (int64_t)u64at(hdr, 16 + L->ob_size);
		if (n < 0)
			n = -n;
		if ((uint64_t)n > MAX_ITEMS) {
			skip(w, ti, o, HEAP_SKIP_BAD_SIZE, "ob_size", (uint64_t)n, 0);
			return;
		}
	}
	own = ti->preheader + (uint64_t)ti->basicsize + (uint64_t)n * (uint64_t)ti->itemsize;
	switch (ti->kind) {
	case K_LIST: {
		uint64_t alloc = u64at(hdr, 16 + L->list_allocated);

		len = u64at(hdr, 16 + L->ob_size);
		if (alloc > MAX_ITEMS || len > alloc) {
			skip(w, ti, o, HEAP_SKIP_BAD_SIZE, "list length, allocated", len, alloc);
			return;
		}
		storage = alloc * 8;
		break;
	}
	case K_DICT:
		len = u64at(hdr, 16 + L->dict_used);
		if (len > MAX_ITEMS || heap_dict_storage(w, u64at(hdr, 16 + L->dict_keys),
						     u64at(hdr, 16 + L->dict_values), &storage)) {
			storage = 0;
			w->pend_unread++;
			pr_debug("heap: %s at 0x%llx: keys unreadable", ti->name, (unsigned long long)o);
		}
		break;
	case K_SET: {
		uint64_t mask = u64at(hdr, 16 + L->set_mask), table = u64at(hdr, 16 + L->set_table);

		len = u64at(hdr, 16 + L->set_mask - 8); /* used precedes mask */
		if (mask > MAX_ITEMS || ((mask + 1) & mask)) {
			skip(w, ti, o, HEAP_SKIP_BAD_SIZE, "set mask", mask, 0);
			return;
		}
		if (table != o + (uint64_t)L->set_smalltable)
			storage = (mask + 1) * (uint64_t)L->set_entry_size;
		break;
	}
	default:
		break;
	}
	if (ti->dictoffset || (L->flag_managed_dict != HL_NONE &&
			       (ti->flags & (uint64_t)L->flag_managed_dict))) {
		if (heap_instance_storage(w, ti, o, hdr, &ib, &sb, &names, &has)) {
			w->pend_unread++;
			pr_debug("heap: %s at 0x%llx: attribute storage unreadable", ti->name,
				 (unsigned long long)o);
		} else if (has) {
			storage += ib;
			ti->pend.attr_count++;
			ti->pend.attr_bytes += sb;
			ti->pend.attr_names += names;
		}
	}
	if (own + storage > MAX_OBJ_BYTES) {
		skip(w, ti, o, HEAP_SKIP_BAD_SIZE, "bytes", own, storage);
		return;
	}
	ti->pend.count++;
	ti->pend.own_bytes += own;
	ti->pend.bytes += own + storage;
	if (ti->kind == K_LIST || ti->kind == K_DICT || ti->kind == K_SET) {
		struct heap_container c = { .addr = o, .len = len, .bytes = own + storage };

		snprintf(c.type, sizeof(c.type), "%s", ti->name);
		top_add(w->pend_top, &w->npend_top, &c);
	}
}

static void pending_reset(struct walker *w)
{
	for (size_t i = 0; i < w->ntypes; i++)
		memset(&w->types[i].pend, 0, sizeof(w->types[i].pend));
	memset(w->pend_skip, 0, sizeof(w->pend_skip));
	w->pend_unread = 0;
	w->npend_top = 0;
}

static void pending_commit(struct walker *w, struct heap_census *c)
{
	for (size_t i = 0; i < w->ntypes; i++) {
		struct heap_type_stat *s = &w->types[i].st, *p = &w->types[i].pend;

		s->count += p->count;
		s->bytes += p->bytes;
		s->own_bytes += p->own_bytes;
		s->attr_count += p->attr_count;
		s->attr_bytes += p->attr_bytes;
		s->attr_names += p->attr_names;
	}
	for (int i = 0; i < HEAP_SKIP_MAX; i++)
		c->skipped[i] += w->pend_skip[i];
	c->storage_unread += w->pend_unread;
	for (int i = 0; i < w->npend_top; i++)
		top_add(w->top, &w->ntop, &w->pend_top[i]);
	pending_reset(w);
}

static bool is_other_head(const struct walker *w, uint64_t g, uint64_t head)
{
	for (int i = 0; i < w->nheads; i++)
		if (w->heads[i] == g && g != head)
			return true;
	return false;
}

/* A node's GC header and its object's first 48 bytes. An object may end less than 48 bytes
 * before an unmapped page: then the header and as much as its type's basic size says it has. */
static int read_node(struct walker *w, uint64_t g, uint8_t *hdr, size_t len)
{
	const struct py_heap_layout *L = w->L;
	uint64_t head = (uint64_t)L->gc_head_size + 16, bs;
	int err = rd(w, g, hdr, len);
	struct tinfo *ti;

	if (err != -EFAULT)
		return err;
	if ((err = rd(w, g, hdr, head)))
		return err;
	memset(hdr + head, 0, len - head);
	ti = heap_type_get(w, u64at(hdr, L->gc_head_size + L->ob_type));
	if (!ti || ti->skip >= 0)
		return 0; /* skipped by count_object, for its type */
	bs = (uint64_t)ti->basicsize + (uint64_t)L->gc_head_size;
	if (bs > len)
		bs = len;
	return bs > head ? rd(w, g + head, hdr + head, bs - head) : 0;
}

/* One walk of the list whose head (a PyGC_Head) is at head. Returns enum heap_stop, or -ESRCH. */
static int walk_list(struct walker *w, uint64_t head, uint64_t *objects)
{
	const struct py_heap_layout *L = w->L;
	uint64_t mask = ~((1ull << L->gc_prev_shift) - 1);
	uint64_t prev = head, cur, tortoise = head, power = 1, lam = 0;
	uint8_t hdr[16 + HL_OBJ_PREFIX];
	int err;

	*objects = 0;
	if ((err = rd64(w, head + (uint64_t)L->gc_head_next, &cur)))
		return err == -ESRCH ? -ESRCH : HEAP_STOP_UNREADABLE;
	while (cur != head) {
		if (w->visited >= w->max_objects)
			return HEAP_STOP_LIMIT;
		if (!plausible(cur))
			return HEAP_STOP_BAD_POINTER;
		if (is_other_head(w, cur, head))
			return HEAP_STOP_OTHER_LIST;
		if (cur == tortoise)
			return HEAP_STOP_LOOP;
		if (power == lam) {
			tortoise = cur;
			power <<= 1;
			lam = 0;
		}
		lam++;
		err = read_node(w, cur, hdr, sizeof(hdr));
		if (err) {
			pr_debug("heap: node 0x%llx (after 0x%llx) unreadable: %s",
				 (unsigned long long)cur, (unsigned long long)prev, strerror(-err));
			return err == -ESRCH ? -ESRCH : HEAP_STOP_UNREADABLE;
		}
		if ((u64at(hdr, L->gc_head_prev) & mask) != prev)
			return HEAP_STOP_CHANGED;
		w->visited++;
		(*objects)++;
		count_object(w, cur + (uint64_t)L->gc_head_size, hdr);
		prev = cur;
		cur = u64at(hdr, L->gc_head_next);
	}
	return HEAP_STOP_DONE;
}

/* ---- set-up and checks ---- */

static int find_types(struct walker *w, const struct py_proc *p, char *why, size_t whylen)
{
	static const char *names[] = { "PyType_Type", "PyList_Type", "PyDict_Type",
				       "PySet_Type", "PyFrozenSet_Type", "PyUnicode_Type",
				       "PyGen_Type", "PyCoro_Type", "PyAsyncGen_Type" };
	uint64_t *dst[] = { &w->t_type, &w->t_list, &w->t_dict, &w->t_set, &w->t_frozenset,
			    &w->t_unicode, &w->t_gen, &w->t_coro, &w->t_agen };
	struct elf_file *ef = elf_open(p->obj_open_path);
	struct elf_sym sym;

	if (!ef) {
		snprintf(why, whylen, "cannot open %s: %s", p->obj_path, strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (elf_find_symbol(ef, names[i], &sym)) {
			snprintf(why, whylen, "%s has no %s symbol", p->obj_path, names[i]);
			elf_close(ef);
			return -ENOTSUP;
		}
		*dst[i] = p->load_bias + sym.value;
	}
	elf_close(ef);
	return 0;
}

/* The built-in types' sizes as the table says: a wrong type layout fails here. */
static int check_types(struct walker *w, char *why, size_t whylen)
{
	const struct py_heap_layout *L = w->L;
	struct {
		const char *name;
		uint64_t t;
		int64_t size;
	} c[] = {
		{ "type", w->t_type, L->heaptype_size }, /* first: its items are slot descriptors */
		{ "list", w->t_list, L->list_size },
		{ "dict", w->t_dict, L->dict_size },
		{ "set", w->t_set, L->set_size },
	};
	uint64_t meta, bs, is;
	int err;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if ((err = rd64(w, c[i].t + (uint64_t)L->ob_type, &meta)) ||
		    (err = rd64(w, c[i].t + (uint64_t)L->tp_basicsize, &bs)) ||
		    (err = rd64(w, c[i].t + (uint64_t)L->tp_itemsize, &is))) {
			snprintf(why, whylen, "cannot read the %s type object: %s", c[i].name,
				 strerror(-err));
			return err == -ESRCH ? -ESRCH : -EPROTO;
		}
		if (meta != w->t_type || bs != (uint64_t)c[i].size || (i && is != 0)) {
			snprintf(why, whylen,
				 "layout check failed: the %s type reports basic size %llu, item size "
				 "%llu (expected %lld, 0)", c[i].name, (unsigned long long)bs,
				 (unsigned long long)is, (long long)c[i].size);
			return -EPROTO;
		}
	}
	/* the dict keys layout (not in 3.8-3.10's installed headers): list's own type dict must
	 * read as a dict holding "append". 3.12+ keep static types' dicts per interpreter (tp_dict
	 * is NULL); their layout is the headers'. */
	if ((err = rd64(w, w->t_list + (uint64_t)L->tp_dict, &meta)))
		return err == -ESRCH ? -ESRCH : -EPROTO;
	if (meta && (heap_dict_lookup_str(w, meta, "append", NULL, &bs) || !plausible(bs))) {
		snprintf(why, whylen, "layout check failed: list's type dict at 0x%llx does not read "
			 "as a dict holding 'append'", (unsigned long long)meta);
		return -EPROTO;
	}
	return 0;
}

/* The collector's state of one interpreter (or 3.8's runtime) at gc: its lists' heads after a
 * check that generation0 points at the first generation's head. */
static int add_gc_state(struct walker *w, uint64_t gc, int interp, struct heap_census *c,
			char *why, size_t whylen)
{
	const struct py_heap_layout *L = w->L;
	uint64_t gen0, first = gc + (uint64_t)L->gc_generations;
	int err;

	if ((err = rd64(w, gc + (uint64_t)L->gc_generation0, &gen0))) {
		snprintf(why, whylen, "cannot read the collector's state: %s", strerror(-err));
		return err == -ESRCH ? -ESRCH : -EPROTO;
	}
	if (gen0 != first) {
		snprintf(why, whylen,
			 "layout check failed: generation0 is 0x%llx, expected the first "
			 "generation's head at 0x%llx", (unsigned long long)gen0,
			 (unsigned long long)first);
		return -EPROTO;
	}
	for (int g = 0; g <= L->gc_num_generations && w->nheads < HEAP_MAX_LISTS; g++) {
		uint64_t h = g < L->gc_num_generations
				     ? first + (uint64_t)(g * L->gc_generation_size)
				     : gc + (uint64_t)L->gc_permanent;

		w->heads[w->nheads++] = h;
		c->lists[c->nlists].interp = interp;
		c->lists[c->nlists].gen = g;
		c->nlists++;
	}
	return 0;
}

/* 3.13+: the layout from the interpreter's own _Py_DebugOffsets over the measured one (lay). */
static int resolve_layout(const struct py_proc *p, struct walker *w, struct py_heap_layout *lay,
			  char *why, size_t whylen)
{
	struct py_debug_offsets d;
	struct elf_file *ef;
	char dwhy[192] = "";
	int err;

	if (p->minor < 13)
		return 0;
	ef = elf_open(p->obj_open_path);
	if (!ef) {
		snprintf(why, whylen, "cannot open %s", p->obj_path);
		return -EPROTO;
	}
	err = py_debug_offsets_read(ef, p->version_hex, &d, NULL, dwhy, sizeof(dwhy));
	elf_close(ef);
	if (err) {
		snprintf(why, whylen, "%s", dwhy);
		return err == -ENOTSUP ? -ENOTSUP : -EPROTO;
	}
	err = py_heap_layout_resolve(w->L, &d, lay, why, whylen);
	if (err)
		return err;
	w->L = lay;
	return 0;
}

static int collect_heads(struct walker *w, const struct py_proc *p, struct heap_census *c,
			 char *why, size_t whylen)
{
	const struct py_heap_layout *L = w->L;
	uint64_t interp;
	int err, n = 0;

	if (L->gc_in_runtime == 1)
		return add_gc_state(w, p->runtime_addr + (uint64_t)L->gc_state, 0, c, why, whylen);
	if ((err = rd64(w, p->runtime_addr + (uint64_t)L->runtime_interp_head, &interp)))
		goto unreadable;
	if (!plausible(interp)) {
		snprintf(why, whylen, "no interpreter yet (interpreters.head is 0x%llx)",
			 (unsigned long long)interp);
		return -EPROTO;
	}
	for (; interp && n < MAX_INTERPS; n++) {
		if (!plausible(interp)) {
			snprintf(why, whylen, "implausible interpreter pointer 0x%llx",
				 (unsigned long long)interp);
			return -EPROTO;
		}
		err = add_gc_state(w, interp + (uint64_t)L->gc_state, n, c, why, whylen);
		if (err)
			return err;
		if ((err = rd64(w, interp + (uint64_t)L->interp_next, &interp)))
			goto unreadable;
	}
	return 0;
unreadable:
	snprintf(why, whylen, "cannot read the runtime: %s", strerror(-err));
	return err == -ESRCH ? -ESRCH : -EPROTO;
}

/* ---- results ---- */

static int stat_cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct heap_type_stat *)a)->name,
		      ((const struct heap_type_stat *)b)->name);
}

static int stat_cmp_bytes(const void *a, const void *b)
{
	const struct heap_type_stat *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->name, y->name);
}

static int export_types(struct walker *w, struct heap_census *c)
{
	size_t n = 0;

	c->types = calloc(w->ntypes ? w->ntypes : 1, sizeof(*c->types));
	if (!c->types)
		return -ENOMEM;
	for (size_t i = 0; i < w->ntypes; i++) {
		if (w->types[i].skip >= 0 || !w->types[i].st.count)
			continue;
		c->types[n] = w->types[i].st;
		snprintf(c->types[n].name, sizeof(c->types[n].name), "%s", w->types[i].name);
		c->types[n].is_class = w->types[i].is_class;
		n++;
	}
	/* classes of the same name (a module reloaded, a class made in a loop) in one row */
	qsort(c->types, n, sizeof(*c->types), stat_cmp_name);
	c->ntypes = 0;
	for (size_t i = 0; i < n; i++) {
		struct heap_type_stat *d = &c->types[c->ntypes];

		if (c->ntypes && !strcmp(d[-1].name, c->types[i].name)) {
			d[-1].count += c->types[i].count;
			d[-1].bytes += c->types[i].bytes;
			d[-1].own_bytes += c->types[i].own_bytes;
			d[-1].attr_count += c->types[i].attr_count;
			d[-1].attr_bytes += c->types[i].attr_bytes;
			d[-1].attr_names += c->types[i].attr_names;
			continue;
		}
		*d = c->types[i];
		c->ntypes++;
	}
	qsort(c->types, c->ntypes, sizeof(*c->types), stat_cmp_bytes);
	for (size_t i = 0; i < c->ntypes; i++) {
		c->objects += c->types[i].count;
		c->bytes += c->types[i].bytes;
	}
	memcpy(c->top, w->top, sizeof(c->top));
	c->ntop = w->ntop;
	return 0;
}

const struct heap_type_stat *heap_census_find(const struct heap_census *c, const char *name)
{
	for (size_t i = 0; i < c->ntypes; i++)
		if (!strcmp(c->types[i].name, name))
			return &c->types[i];
	return NULL;
}

void heap_census_free(struct heap_census *c)
{
	free(c->types);
	c->types = NULL;
	c->ntypes = 0;
}

static bool collecting(struct walker *w, uint64_t head, int gen)
{
	const struct py_heap_layout *L = w->L;
	uint64_t gc = head - (uint64_t)(gen < L->gc_num_generations
						? L->gc_generations + gen * L->gc_generation_size
						: L->gc_permanent);
	int32_t v = 0;

	return !rd(w, gc + (uint64_t)L->gc_collecting, &v, 4) && v;
}

/* Before walking a list: wait while the collector runs (IDLE_WAIT s at most over the whole
 * census), since it relinks the lists and reuses the back links for reference counts; a retry
 * also backs off a little.
 * true when the collector was still running at the end of the wait. */
static bool wait_idle(struct walker *w, uint64_t head, int gen, int attempt)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	double start = now_mono(), end = start + w->wait_left;
	bool busy = false;

	if (attempt > 1) {
		struct timespec b = { 0, 20 * 1000 * 1000 * (long)attempt };

		nanosleep(&b, NULL);
	}
	while (collecting(w, head, gen)) {
		if (now_mono() >= end) {
			busy = true;
			break;
		}
		nanosleep(&ts, NULL);
	}
	w->wait_left -= now_mono() - start;
	if (w->wait_left < 0)
		w->wait_left = 0;
	return busy;
}

int heap_census_take(const struct py_proc *p, const struct heap_opts *o, struct heap_census *c,
		     char *why, size_t whylen)
{
	struct walker w = { 0 };
	struct py_heap_layout lay;
	struct timespec rt;
	double t0 = now_mono();
	int err;

	memset(c, 0, sizeof(*c));
	c->pid = p->pid;
	c->major = p->major;
	c->minor = p->minor;
	c->micro = p->micro;
	clock_gettime(CLOCK_REALTIME, &rt);
	c->started = rt.tv_sec + rt.tv_nsec / 1e9;
	if (!p->supported) {
		snprintf(why, whylen, "%s", p->unsupported);
		return -ENOTSUP;
	}
	w.L = py_heap_layout_for(p->major, p->minor);
	if (!w.L) {
		snprintf(why, whylen, "CPython %d.%d is not supported by the heap census "
			 "(3.8-3.15 are)", p->major, p->minor);
		return -ENOTSUP;
	}
	if ((err = resolve_layout(p, &w, &lay, why, whylen)))
		return err;
	if ((err = find_types(&w, p, why, whylen)))
		return err;
	w.m = rmem_open(p->pid, 4096);
	if (!w.m) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	hashidx_init(&w.idx);
	w.max_objects = o->max_objects ? o->max_objects : UINT64_MAX;
	w.wait_left = IDLE_WAIT;
	w.max_types = o->max_types ? o->max_types : DEFAULT_MAX_TYPES;
	if ((err = check_types(&w, why, whylen)) || (err = collect_heads(&w, p, c, why, whylen)))
		goto out;
	for (int i = 0; i < c->nlists && !c->truncated; i++) {
		struct heap_list_stat *ls = &c->lists[i];
		uint64_t n = 0;
		int stop = HEAP_STOP_DONE;

		for (ls->attempts = 0; ls->attempts < MAX_ATTEMPTS;) {
			uint64_t before = w.visited;

			ls->attempts++;
			if (wait_idle(&w, w.heads[i], ls->gen, ls->attempts))
				c->collecting_seen = true;
			rmem_flush(w.m);
			stop = walk_list(&w, w.heads[i], &n);
			if (stop < 0) {
				err = stop;
				snprintf(why, whylen, "process %d exited during the heap walk",
					 (int)p->pid);
				goto out;
			}
			if (stop == HEAP_STOP_DONE || stop == HEAP_STOP_LIMIT ||
			    ls->attempts == MAX_ATTEMPTS)
				break;
			w.visited = before; /* discarded: walk the list again */
			pending_reset(&w);
		}
		ls->objects = n;
		ls->stop = stop;
		if (stop == HEAP_STOP_LIMIT)
			c->truncated = true;
		pending_commit(&w, c);
	}
	err = export_types(&w, c);
	if (err)
		snprintf(why, whylen, "out of memory");
out:
	{
		struct rmem_stats rs;

		rmem_stats(w.m, &rs);
		c->reads = rs.reads;
		c->page_fetches = rs.page_fetches;
	}
	c->seconds = now_mono() - t0;
	rmem_close(w.m);
	hashidx_free(&w.idx);
	free(w.types);
	if (err)
		heap_census_free(c);
	return err;
}
