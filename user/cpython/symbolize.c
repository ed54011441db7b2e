// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include "lib/log.h"
#include "cpython/opcodes.h"
#include "cpython/symbolize.h"

#define SYM_BUCKETS 16384	/* hash buckets for cached code objects */
#define SYM_MAX_ENTRIES 200000	/* cache bound: everything is flushed past it */
#define SYM_MAX_PROCS 4096	/* bound on processes known to the symbolizer */
#define MAX_STR_CHARS 1024	/* longer names/filenames are cut */
#define MAX_LINETABLE (1 << 20) /* longer line tables are not read (line reported as 0) */
#define CODE_READ_SIZE 256	/* > every PyCodeObject field we use, 3.8-3.13 */
#define BC_MAX_BYTES (64u << 10) /* longer bytecode is not read (no opcode or loop depth) */
#define BC_REFRESH_NS 1000000000ull /* 3.11+: re-read the adaptive copy after this long */

struct sym_entry {
	struct sym_entry *next;
	pid_t pid;
	uint64_t code, name_ptr;
	uint32_t first_line;
	char *name, *file;
	uint8_t *linetable;
	size_t linetable_len;
	int minor;
	bool skip;
	/* bytecode as it runs, read on first use (3.11+: the adaptive copy, re-read after
	 * BC_REFRESH_NS as it specialises), and the loop depth of each code unit */
	uint8_t *bc, *depth;
	size_t bc_len;
	uint64_t bc_ns;
	bool bc_failed;
};

struct sym_proc {
	pid_t pid;
	struct py_offsets off;
};

struct symbolizer {
	struct sym_entry *buckets[SYM_BUCKETS];
	struct sym_proc *procs;
	size_t nprocs, cap;
	struct symbolizer_stats st;
	struct sym_entry *last; /* the entry of the last frame resolved (symbolizer_op) */
	struct sym_proc *last_proc;
	int32_t last_instr;
};

/* ---- pure decoders ---- */

int py_line_lnotab(const uint8_t *tab, size_t len, int first_line, int instr)
{
	/* CPython 3.8/3.9 PyCode_Addr2Line */
	int line = first_line, addr = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > instr)
			break;
		line += (int8_t)tab[i + 1];
	}
	return line;
}

int py_line_linetable310(const uint8_t *tab, size_t len, int first_line, int instr)
{
	/* CPython 3.10 address ranges: (length in bytes, line delta or -128 for none) */
	int line = first_line, start = 0;

	if (instr < 0)
		return first_line;
	for (size_t i = 0; i + 1 < len; i += 2) {
		int end = start + tab[i], ar_line;
		int8_t d = (int8_t)tab[i + 1];

		if (d == -128) {
			ar_line = 0;
		} else {
			line += d;
			ar_line = line;
		}
		if (instr >= start && instr < end)
			return ar_line;
		start = end;
	}
	return 0;
}

static size_t scan_varint(const uint8_t *tab, size_t len, size_t i, unsigned int *out)
{
	unsigned int read, val, shift = 0;

	if (i >= len) {
		*out = 0;
		return i;
	}
	read = tab[i++];
	val = read & 63;
	while ((read & 64) && i < len && shift < 26) {
		read = tab[i++];
		shift += 6;
		val |= (read & 63) << shift;
	}
	*out = val;
	return i;
}

int py_line_loctable(const uint8_t *tab, size_t len, int first_line, int instr)
{
	/* CPython 3.11+ location table (Objects/locations.md) */
	int line = first_line, start = 0;
	size_t i = 0;

	if (instr < 0)
		return first_line;
	while (i < len) {
		uint8_t b = tab[i];
		int code = (b >> 3) & 15, end = start + ((b & 7) + 1) * 2, ar_line;
		unsigned int u;

		if (!(b & 0x80))
			return 0; /* not at an entry start: corrupt table */
		switch (code) {
		case 15: /* no location */
			break;
		case 13: /* no columns */
		case 14: /* long form */
			scan_varint(tab, len, i + 1, &u);
			line += (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
			break;
		case 10:
		case 11:
		case 12:
			line += code - 10;
			break;
		default: /* 0-9: short form, same line */
			break;
		}
		ar_line = code == 15 ? 0 : line;
		if (instr >= start && instr < end)
			return ar_line;
		start = end;
		do
			i++;
		while (i < len && !(tab[i] & 0x80));
	}
	return 0;
}

int py_line_for(int minor, const uint8_t *tab, size_t len, int first_line, int instr)
{
	if (minor <= 9)
		return py_line_lnotab(tab, len, first_line, instr);
	if (minor == 10)
		return py_line_linetable310(tab, len, first_line, instr);
	return py_line_loctable(tab, len, first_line, instr);
}

int py_unicode_to_utf8(const void *data, size_t nchars, int kind, char *out, size_t outlen)
{
	const uint8_t *p = data;
	size_t o = 0;

	if (!outlen)
		return -EINVAL;
	if (kind != 1 && kind != 2 && kind != 4) {
		out[0] = 0;
		return -EINVAL;
	}
	for (size_t i = 0; i < nchars; i++) {
		uint32_t c;
		char b[4];
		size_t n;

		if (kind == 1) {
			c = p[i];
		} else if (kind == 2) {
			uint16_t v;

			memcpy(&v, p + 2 * i, 2);
			c = v;
		} else {
			memcpy(&c, p + 4 * i, 4);
		}
		if (c < 0x80) {
			b[0] = c;
			n = 1;
		} else if (c < 0x800) {
			b[0] = 0xc0 | (c >> 6);
			b[1] = 0x80 | (c & 0x3f);
			n = 2;
		} else if (c < 0x10000) {
			b[0] = 0xe0 | (c >> 12);
			b[1] = 0x80 | ((c >> 6) & 0x3f);
			b[2] = 0x80 | (c & 0x3f);
			n = 3;
		} else if (c <= 0x10ffff) {
			b[0] = 0xf0 | (c >> 18);
			b[1] = 0x80 | ((c >> 12) & 0x3f);
			b[2] = 0x80 | ((c >> 6) & 0x3f);
			b[3] = 0x80 | (c & 0x3f);
			n = 4;
		} else {
			out[o] = 0;
			return -EINVAL;
		}
		if (o + n + 1 > outlen)
			break;
		memcpy(out + o, b, n);
		o += n;
	}
	out[o] = 0;
	return (int)o;
}

/* ---- reading the target ---- */

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static uint64_t get_u64(const uint8_t *b, unsigned int off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

static uint32_t get_u32(const uint8_t *b, unsigned int off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

int py_read_string(pid_t pid, const struct py_offsets *o, uint64_t addr, char **out)
{
	uint8_t hdr[80], *raw = NULL;
	unsigned int state, kind;
	int64_t length;
	uint64_t data;
	size_t n, cap;
	char *s;
	int err;

	*out = NULL;
	if (!addr)
		return -EFAULT;
	err = read_mem(pid, addr, hdr, sizeof(hdr));
	if (err)
		return err;
	memcpy(&length, hdr + o->unicode_length, 8);
	state = hdr[o->unicode_state]; /* only the low byte is defined (3.12+: padding above) */
	kind = (state >> 2) & 7;
	if (length < 0 || (kind != 1 && kind != 2 && kind != 4))
		return -EINVAL;
	n = length > MAX_STR_CHARS ? MAX_STR_CHARS : (size_t)length;
	if (state & 0x20) /* compact */
		data = addr + ((state & 0x40) ? o->unicode_ascii_data : o->unicode_compact_data);
	else
		data = get_u64(hdr, o->unicode_data_ptr);
	raw = malloc(n * kind + 1);
	cap = n * 4 + 1;
	s = malloc(cap);
	if (!raw || !s) {
		err = -ENOMEM;
		goto fail;
	}
	err = read_mem(pid, data, raw, n * kind);
	if (err)
		goto fail;
	err = py_unicode_to_utf8(raw, n, kind, s, cap);
	if (err < 0)
		goto fail;
	free(raw);
	*out = s;
	return 0;
fail:
	free(raw);
	free(s);
	return err;
}

static int read_bytes(pid_t pid, const struct py_offsets *o, uint64_t addr, uint8_t **out,
		      size_t *len)
{
	uint8_t hdr[24];
	int64_t size;
	uint8_t *b;
	int err;

	*out = NULL;
	*len = 0;
	if (!addr)
		return -EFAULT;
	err = read_mem(pid, addr + o->var_size, hdr, 8);
	if (err)
		return err;
	memcpy(&size, hdr, 8);
	if (size < 0 || size > MAX_LINETABLE)
		return -E2BIG;
	b = malloc(size ? size : 1);
	if (!b)
		return -ENOMEM;
	err = read_mem(pid, addr + o->bytes_sval, b, size);
	if (err) {
		free(b);
		return err;
	}
	*out = b;
	*len = size;
	return 0;
}

/* ---- cache ---- */

static size_t bucket_of(pid_t pid, uint64_t code)
{
	uint64_t h = (code >> 4) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)pid * 0xff51afd7ed558ccdull);

	return (h >> 32) % SYM_BUCKETS;
}

static void entry_free(struct sym_entry *e)
{
	free(e->name);
	free(e->file);
	free(e->linetable);
	free(e->bc);
	free(e->depth);
	free(e);
}

static void cache_drop(struct symbolizer *sym, bool all, pid_t pid)
{
	sym->last = NULL;
	sym->last_proc = NULL;
	for (size_t b = 0; b < SYM_BUCKETS; b++) {
		struct sym_entry **pp = &sym->buckets[b];

		while (*pp) {
			struct sym_entry *e = *pp;

			if (all || e->pid == pid) {
				*pp = e->next;
				entry_free(e);
				sym->st.entries--;
			} else {
				pp = &e->next;
			}
		}
	}
}

struct symbolizer *symbolizer_new(void)
{
	return calloc(1, sizeof(struct symbolizer));
}

void symbolizer_free(struct symbolizer *sym)
{
	if (!sym)
		return;
	cache_drop(sym, true, 0);
	free(sym->procs);
	free(sym);
}

static struct sym_proc *find_proc(struct symbolizer *sym, pid_t pid)
{
	for (size_t i = 0; i < sym->nprocs; i++)
		if (sym->procs[i].pid == pid)
			return &sym->procs[i];
	return NULL;
}

int symbolizer_add_process(struct symbolizer *sym, pid_t pid, const struct py_offsets *off)
{
	struct sym_proc *p = find_proc(sym, pid);

	if (p) {
		cache_drop(sym, false, pid);
	} else {
		if (sym->nprocs >= SYM_MAX_PROCS)
			return -ENOSPC;
		if (sym->nprocs == sym->cap) {
			size_t cap = sym->cap ? sym->cap * 2 : 16;
			struct sym_proc *n = realloc(sym->procs, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			sym->procs = n;
			sym->cap = cap;
		}
		p = &sym->procs[sym->nprocs++];
	}
	p->pid = pid;
	p->off = *off;
	return 0;
}

void symbolizer_remove_process(struct symbolizer *sym, pid_t pid)
{
	struct sym_proc *p = find_proc(sym, pid);

	if (!p)
		return;
	cache_drop(sym, false, pid);
	*p = sym->procs[--sym->nprocs];
}

static int load_entry(pid_t pid, const struct py_offsets *o, struct sym_entry *e)
{
	uint8_t code[CODE_READ_SIZE];
	uint64_t name;
	int err;

	size_t need = o->code_linetable + 8;

	if (o->code_filename + 8u > need)
		need = o->code_filename + 8;
	if (o->code_name + 8u > need)
		need = o->code_name + 8;
	if (o->code_qualname != PY_OFF_NONE && o->code_qualname + 8u > need)
		need = o->code_qualname + 8;
	if (need > sizeof(code))
		return -EINVAL;
	err = read_mem(pid, e->code, code, need);
	if (err)
		return err;
	if (get_u32(code, o->code_firstlineno) != e->first_line ||
	    get_u64(code, o->code_name) != e->name_ptr)
		return -ESTALE;
	name = o->code_qualname != PY_OFF_NONE ? get_u64(code, o->code_qualname) : e->name_ptr;
	err = py_read_string(pid, o, name, &e->name);
	if (err)
		return err;
	err = py_read_string(pid, o, get_u64(code, o->code_filename), &e->file);
	if (err)
		return err;
	/* no line table: lines reported as 0, the frame is still named */
	if (read_bytes(pid, o, get_u64(code, o->code_linetable), &e->linetable, &e->linetable_len))
		e->linetable_len = 0;
	e->minor = (o->version_hex >> 16) & 0xff;
	/* 3.13+: the static code object of the __init__ cleanup shim */
	e->skip = e->minor >= 13 && !strcmp(e->name, "__init__") && !strcmp(e->file, "__init__");
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The code object's bytecode as it runs: 3.11+ the adaptive copy inside the code object
 * (Py_SIZE(code) code units at co_code_adaptive, read with the header so the fingerprint is
 * checked again), re-read after BC_REFRESH_NS; 3.8-3.10 the co_code bytes object (immutable). */
static int load_bytecode(struct symbolizer *sym, const struct py_offsets *o, struct sym_entry *e)
{
	uint64_t now = mono_ns();
	uint8_t *buf = NULL;
	size_t len = 0;
	int err;

	if (e->bc_failed)
		return -EIO;
	if (e->bc && (e->minor < 11 || now - e->bc_ns < BC_REFRESH_NS))
		return 0;
	if (o->code_adaptive != PY_OFF_NONE) {
		int64_t units;
		size_t hdr = o->code_adaptive;

		err = read_mem(e->pid, e->code + o->var_size, &units, sizeof(units));
		if (err)
			goto fail;
		if (units <= 0 || (uint64_t)units > BC_MAX_BYTES / 2) {
			err = -E2BIG;
			goto fail;
		}
		len = (size_t)units * 2;
		buf = malloc(hdr + len);
		if (!buf) {
			err = -ENOMEM;
			goto fail;
		}
		err = read_mem(e->pid, e->code, buf, hdr + len);
		if (err)
			goto fail;
		if (get_u32(buf, o->code_firstlineno) != e->first_line ||
		    get_u64(buf, o->code_name) != e->name_ptr) {
			err = -ESTALE;
			goto fail;
		}
		memmove(buf, buf + hdr, len);
	} else if (o->code_code != PY_OFF_NONE) {
		uint64_t ptr;

		err = read_mem(e->pid, e->code + o->code_code, &ptr, sizeof(ptr));
		if (!err)
			err = read_bytes(e->pid, o, ptr, &buf, &len);
		if (err)
			goto fail;
		if (len > BC_MAX_BYTES) {
			err = -E2BIG;
			goto fail;
		}
	} else {
		err = -ENOTSUP;
		goto fail;
	}
	if (e->bc && e->bc_len == len) { /* a refresh: same code, newer specialisations */
		free(e->bc);
		e->bc = buf;
		e->bc_ns = now;
		return 0;
	}
	free(e->bc);
	free(e->depth);
	e->bc = buf;
	e->bc_len = len;
	e->bc_ns = now;
	e->depth = malloc(len / 2 ? len / 2 : 1);
	if (!e->depth || py_loop_depths(py_optab_for(e->minor), e->bc, len, e->depth)) {
		free(e->depth);
		e->depth = NULL;
	}
	return 0;
fail:
	free(buf);
	if (e->bc) { /* keep the copy we had: an earlier read was good */
		e->bc_ns = now;
		return 0;
	}
	e->bc_failed = true;
	sym->st.bytecode_errors++;
	return err;
}

int symbolizer_op(struct symbolizer *sym, char *buf, size_t len, int *loop_depth)
{
	struct sym_entry *e = sym->last;
	const struct py_optab *t;
	int32_t instr = sym->last_instr;

	if (!e || !sym->last_proc)
		return -ENOENT;
	t = py_optab_for(e->minor);
	if (!t || load_bytecode(sym, &sym->last_proc->off, e) || !e->bc) {
		sym->st.op_unknown++;
		return -ENOENT;
	}
	if (py_op_label(t, e->bc, e->bc_len, instr, buf, len, NULL)) {
		sym->st.op_unknown++;
		return -ENOENT;
	}
	*loop_depth = e->depth && (size_t)instr / 2 < e->bc_len / 2 ? e->depth[instr / 2] : 0;
	sym->st.ops++;
	return 0;
}

int symbolizer_frame(struct symbolizer *sym, pid_t pid, uint64_t code, uint64_t name_ptr,
		     uint32_t first_line, int32_t instr, struct prof_frame *out)
{
	size_t b = bucket_of(pid, code);
	struct sym_proc *p;
	struct sym_entry *e;
	int err;

	sym->st.lookups++;
	sym->last = NULL;
	sym->last_proc = NULL;
	for (e = sym->buckets[b]; e; e = e->next)
		if (e->pid == pid && e->code == code && e->name_ptr == name_ptr &&
		    e->first_line == first_line)
			break;
	if (e) {
		sym->st.hits++;
	} else {
		p = find_proc(sym, pid);
		if (!p) {
			err = -ESRCH;
			goto unknown;
		}
		e = calloc(1, sizeof(*e));
		if (!e) {
			err = -ENOMEM;
			goto unknown;
		}
		e->pid = pid;
		e->code = code;
		e->name_ptr = name_ptr;
		e->first_line = first_line;
		err = load_entry(pid, &p->off, e);
		if (err) {
			if (err == -ESTALE)
				sym->st.stale++;
			else
				sym->st.read_errors++;
			entry_free(e);
			goto unknown;
		}
		if (sym->st.entries >= SYM_MAX_ENTRIES) {
			pr_debug("symbolizer: cache full, flushing %llu entries\n",
				 (unsigned long long)sym->st.entries);
			cache_drop(sym, true, 0);
			b = bucket_of(pid, code);
		}
		e->next = sym->buckets[b];
		sym->buckets[b] = e;
		sym->st.entries++;
	}
	out->name = e->name;
	out->file = e->file;
	out->first_line = (int)e->first_line;
	out->line = e->linetable_len ? py_line_for(e->minor, e->linetable, e->linetable_len,
						   (int)e->first_line, instr)
				     : 0;
	if (out->line < 0)
		out->line = 0;
	p = find_proc(sym, pid);
	if (p && !e->skip && py_optab_for(e->minor)) {
		sym->last = e;
		sym->last_proc = p;
		sym->last_instr = instr;
	}
	return e->skip ? 1 : 0;
unknown:
	out->name = "<unknown>";
	out->file = "<unknown>";
	out->first_line = (int)first_line;
	out->line = 0;
	return err;
}

void symbolizer_get_stats(const struct symbolizer *sym, struct symbolizer_stats *st)
{
	*st = sym->st;
}
