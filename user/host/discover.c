// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cpython/offsets.h"
#include "cpython/tailcall.h"
#include "host/discover.h"
#include "host/elf.h"
#include "lib/log.h"
#include "host/procmaps.h"

/* What one ELF object tells about CPython, cached by file identity so that a host with many
 * Python processes parses each interpreter binary once. Negative results are cached too. */
struct obj_info {
	dev_t dev;
	ino_t ino;
	off_t size;
	time_t mtime;
	bool valid, has_runtime;
	bool runtime_unknown; /* CPython (its API exported) without _PyRuntime's symbol or section */
	bool has_symtab;   /* .symtab present (not stripped) */
	bool layout_ok;    /* pyhound knows how to walk this interpreter */
	char why[192];     /* when not: why */
	int elf_type;
	uint64_t first_load_vaddr, runtime_vaddr;
	uint32_t version_hex;
	int major, minor, micro;
	uint32_t usdt_mask;
	int usdt_count;
	int tail_call;	   /* enum tailcall_kind (3.14+) */
};

#define OBJ_CACHE_SIZE 256 /* distinct executables/libpythons; replaced round-robin */
static struct obj_info obj_cache[OBJ_CACHE_SIZE];
static unsigned int obj_cache_next;

int py_parse_version_string(const char *s, int *major, int *minor, int *micro)
{
	int a, b, c, n = 0;

	if (sscanf(s, "%d.%d.%d%n", &a, &b, &c, &n) != 3 || a != 3 || b < 0 || b > 99 || c < 0 ||
	    c > 99)
		return -EINVAL;
	s += n;
	if (*s) { /* optional release level: a1, b2, rc1, + */
		if (!strncmp(s, "rc", 2))
			s += 2;
		else if (*s == 'a' || *s == 'b')
			s++;
		else if (*s == '+' && !s[1])
			s++;
		else
			return -EINVAL;
		while (isdigit((unsigned char)*s))
			s++;
		if (*s == '+')
			s++;
		if (*s)
			return -EINVAL;
	}
	*major = a;
	*minor = b;
	*micro = c;
	return 0;
}

int py_version_from_libname(const char *name, int *major, int *minor)
{
	const char *base = strrchr(name, '/');
	int a, b, n = 0;

	base = base ? base + 1 : name;
	if (sscanf(base, "libpython%d.%d%n", &a, &b, &n) != 2 || a != 3 || b < 0 || b > 99)
		return -EINVAL;
	/* followed by an ABI flag (d, m, t) and/or ".so" */
	base += n;
	while (*base && strchr("dmtu", *base))
		base++;
	if (strncmp(base, ".so", 3) && strncmp(base, ".a", 2))
		return -EINVAL;
	*major = a;
	*minor = b;
	return 0;
}

struct vscan {
	int want_minor; /* -1: any */
	int major, minor, micro, distinct;
};

static int vscan_cb(const char *s, size_t len, void *ctx)
{
	struct vscan *v = ctx;
	int a, b, c;

	/* PY_VERSION ("3.9.18") may be tail-merged into a longer string such as a build path
	 * ending in "Python-3.9.18", so look at the version-shaped suffix of each string. */
	size_t i = len;

	while (i > 0 && strchr("0123456789.abrc+", s[i - 1]))
		i--;
	if (i > 0 && s[i - 1] != '-' && s[i - 1] != ' ' && s[i - 1] != '/')
		return 0;
	s += i;
	len -= i;
	if (len < 5 || len > 12 || s[0] != '3' || s[1] != '.')
		return 0;
	if (py_parse_version_string(s, &a, &b, &c))
		return 0;
	if (v->want_minor >= 0 && b != v->want_minor)
		return 0;
	if (v->distinct && (v->minor != b || v->micro != c)) {
		v->distinct++;
		return 0;
	}
	if (!v->distinct) {
		v->major = a;
		v->minor = b;
		v->micro = c;
		v->distinct = 1;
	}
	return 0;
}

static void fill_version_hex(struct obj_info *oi)
{
	oi->version_hex = ((uint32_t)oi->major << 24) | ((uint32_t)oi->minor << 16) |
			  ((uint32_t)(oi->micro < 0 ? 0 : oi->micro) << 8) | 0xf0;
}

static int usdt_cb(const struct elf_usdt_note *n, void *ctx)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} known[] = {
		{ "function__entry", PY_USDT_FUNCTION_ENTRY },
		{ "function__return", PY_USDT_FUNCTION_RETURN },
		{ "line", PY_USDT_LINE },
		{ "gc__start", PY_USDT_GC_START },
		{ "gc__done", PY_USDT_GC_DONE },
		{ "import__find__load__start", PY_USDT_IMPORT_START },
		{ "import__find__load__done", PY_USDT_IMPORT_DONE },
		{ "audit", PY_USDT_AUDIT },
	};
	struct obj_info *oi = ctx;
	size_t i;

	if (strcmp(n->provider, "python"))
		return 0;
	oi->usdt_count++;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(n->name, known[i].name))
			oi->usdt_mask |= known[i].bit;
	return 0;
}

/* Symbols only CPython defines (an embedding program imports them, undefined: not counted). */
static int cpython_api_cb(const struct elf_sym *s, void *ctx)
{
	static const char *const names[] = { "Py_Version", "Py_Initialize", "Py_InitializeEx",
					     "Py_BytesMain", "Py_Main" };

	(void)ctx;
	if (s->name[0] != 'P' || s->name[1] != 'y' || s->name[2] != '_')
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s->name, names[i]))
			return 1;
	return 0;
}

/* Fill oi from the ELF file at path (oi's identity fields already set). */
static void analyse_object(const char *path, const char *name_hint, struct obj_info *oi)
{
	struct elf_file *ef = elf_open(path);
	struct elf_sym sym;
	const char *soname;

	oi->valid = true;
	if (!ef)
		return;
	/* _PyRuntime by symbol, or (3.10+, a binary that does not export it) its own section.
	 * Without either, a binary defining CPython's API is still CPython: listed, and refused
	 * with the reason (its interpreter state cannot be found, so nothing is read from it). */
	if (!elf_find_symbol(ef, "_PyRuntime", &sym))
		oi->runtime_vaddr = sym.value;
	else if (!elf_section_addr(ef, ".PyRuntime", &oi->runtime_vaddr))
		;
	else if (elf_foreach_symbol(ef, cpython_api_cb, NULL) == 1)
		oi->runtime_unknown = true;
	else
		goto out;
	oi->has_runtime = !oi->runtime_unknown;
	oi->has_symtab = elf_has_section(ef, ".symtab");
	oi->elf_type = elf_type(ef);
	oi->first_load_vaddr = elf_first_load_vaddr(ef);

	/* Version: Py_Version (3.11+) is exact; before that the soname gives major.minor and a
	 * "3.X.Y" string in .rodata the micro. A static pre-3.11 binary has only its strings. */
	oi->micro = -1;
	if (!elf_find_symbol(ef, "Py_Version", &sym) &&
	    !elf_read_vaddr(ef, sym.value, &oi->version_hex, sizeof(oi->version_hex))) {
		oi->major = oi->version_hex >> 24;
		oi->minor = (oi->version_hex >> 16) & 0xff;
		oi->micro = (oi->version_hex >> 8) & 0xff;
	} else {
		struct vscan v = { .want_minor = -1 };

		soname = elf_soname(ef);
		if ((soname && !py_version_from_libname(soname, &oi->major, &oi->minor)) ||
		    !py_version_from_libname(name_hint, &oi->major, &oi->minor))
			v.want_minor = oi->minor;
		elf_foreach_rodata_string(ef, vscan_cb, &v);
		if (v.distinct == 1) {
			oi->major = v.major;
			oi->minor = v.minor;
			oi->micro = v.micro;
		} else if (v.want_minor < 0) {
			pr_debug("%s: has _PyRuntime but no provable version (%d candidates)", path,
				 v.distinct);
			oi->has_runtime = false; /* refuse rather than guess */
			oi->runtime_unknown = false;
			goto out;
		}
		fill_version_hex(oi);
	}
	elf_foreach_usdt(ef, usdt_cb, oi);
	if (oi->runtime_unknown) {
		snprintf(oi->why, sizeof(oi->why), "neither a _PyRuntime symbol nor a .PyRuntime "
			 "section (stripped, not exported): its interpreter state cannot be found");
		goto out;
	}
	/* can its stacks be walked: offsets known (3.8-3.12) or its own _Py_DebugOffsets checked */
	{
		struct py_offsets off;

		oi->layout_ok = !py_offsets_resolve_elf(path, oi->version_hex, &off, oi->why,
							sizeof(oi->why));
	}
	/* the tail-calling interpreter (3.14+): the same frames, other probe sites for calls */
	if (oi->major == 3) {
		int tc = tailcall_detect(path, oi->minor, NULL, 0);

		oi->tail_call = tc > 0 ? tc : TAILCALL_NO;
	}
out:
	elf_close(ef);
}

static const struct obj_info *object_info(const char *path, const char *name_hint)
{
	struct obj_info *oi;
	struct stat st;
	unsigned int i;

	if (stat(path, &st))
		return NULL;
	for (i = 0; i < OBJ_CACHE_SIZE; i++) {
		oi = &obj_cache[i];
		if (oi->valid && oi->dev == st.st_dev && oi->ino == st.st_ino &&
		    oi->size == st.st_size && oi->mtime == st.st_mtime)
			return oi;
	}
	oi = &obj_cache[obj_cache_next++ % OBJ_CACHE_SIZE];
	memset(oi, 0, sizeof(*oi));
	oi->dev = st.st_dev;
	oi->ino = st.st_ino;
	oi->size = st.st_size;
	oi->mtime = st.st_mtime;
	analyse_object(path, name_hint, oi);
	return oi;
}

uint64_t proc_start_ticks(pid_t pid)
{
	char fname[64], buf[1024], *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd, i;

	snprintf(fname, sizeof(fname), "/proc/%d/stat", (int)pid);
	fd = open(fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p)
		return 0;
	/* after ") " come fields 3.. ; starttime is field 22 */
	for (i = 3, p += 2; i < 22 && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &v) != 1)
		return 0;
	return v;
}

int proc_cpu_ticks(pid_t pid, uint64_t start_ticks, uint64_t *ticks)
{
	char fname[64], buf[1024], *p;
	unsigned long long ut, st, start;
	ssize_t n;
	int fd;

	snprintf(fname, sizeof(fname), "/proc/%d/stat", (int)pid);
	fd = open(fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after ") ": state (3) ... utime (14), stime (15) ... starttime (22) */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
				"%*d %*d %*d %*d %llu", &ut, &st, &start) != 3)
		return -EINVAL;
	if (start_ticks && start != start_ticks)
		return -ESRCH;
	*ticks = ut + st;
	return 0;
}

bool proc_is_zombie(pid_t pid)
{
	char fname[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(fname, sizeof(fname), "/proc/%d/stat", (int)pid);
	fd = open(fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the state follows comm */
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

bool proc_alive(pid_t pid, uint64_t start_ticks)
{
	uint64_t t = proc_start_ticks(pid);

	return t && (!start_ticks || t == start_ticks);
}

static int read_small_file(const char *fname, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(fname, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

struct maps_scan {
	pid_t pid;
	const char *exe; /* path of the executable as the target sees it */
	struct py_proc *p;
	const struct obj_info *found;
	const struct obj_info *fallback; /* CPython without _PyRuntime, if nothing better */
	bool exe_checked;
};

static int maps_cb(const struct map_entry *e, void *ctx)
{
	struct maps_scan *ms = ctx;
	const char *base = strrchr(e->path, '/');
	char open_path[PATH_MAX + 64];
	const struct obj_info *oi;
	struct stat st;
	bool is_exe;

	if (e->offset || !e->inode || e->path[0] != '/')
		return 0;
	base = base ? base + 1 : e->path;
	is_exe = ms->exe && !strcmp(e->path, ms->exe);
	if (is_exe) {
		if (ms->exe_checked)
			return 0;
		ms->exe_checked = true;
	} else if (strncmp(base, "libpython3", 10)) {
		return 0;
	}
	/* Open through the target's root so containers work; fall back to map_files when the
	 * path there is not the mapped file (deleted, replaced, or overlaid). */
	snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", (int)ms->pid, e->path);
	if (e->deleted || stat(open_path, &st) || st.st_ino != e->inode)
		snprintf(open_path, sizeof(open_path), "/proc/%d/map_files/%lx-%lx", (int)ms->pid,
			 (unsigned long)e->start, (unsigned long)e->end);
	if (strlen(open_path) >= sizeof(ms->p->obj_open_path))
		return 0;
	oi = object_info(open_path, base);
	if (!oi || (!oi->has_runtime && !oi->runtime_unknown))
		return 0;
	if (oi->runtime_unknown) { /* kept unless a mapped object has _PyRuntime */
		if (ms->fallback)
			return 0;
		ms->fallback = oi;
	} else {
		ms->found = oi;
	}
	ms->p->static_build = is_exe;
	snprintf(ms->p->obj_path, sizeof(ms->p->obj_path), "%s", e->path);
	snprintf(ms->p->obj_open_path, sizeof(ms->p->obj_open_path), "%s", open_path);
	ms->p->obj_deleted = e->deleted;
	ms->p->obj_dev = oi->dev;
	ms->p->obj_inode = oi->ino;
	ms->p->load_bias = oi->elf_type == ET_EXEC ? 0 : e->start - oi->first_load_vaddr;
	return oi->has_runtime;
}

int py_proc_inspect(pid_t pid, struct py_proc *p)
{
	char fname[64], exe[PATH_MAX], buf[sizeof(p->cmdline)];
	struct maps_scan ms = { .pid = pid, .p = p };
	const struct obj_info *oi;
	ssize_t n;
	int err, i;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->start_ticks = proc_start_ticks(pid);
	if (!p->start_ticks)
		return -ESRCH;
	snprintf(fname, sizeof(fname), "/proc/%d/exe", (int)pid);
	n = readlink(fname, exe, sizeof(exe) - 1);
	if (n < 0) { /* a kernel thread, a zombie (it has exited: no image left), or gone */
		if (errno == ENOENT && proc_is_zombie(pid))
			return -ESRCH;
		return errno == ENOENT ? -ENOEXEC : -errno;
	}
	exe[n] = '\0';
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = '\0';
	ms.exe = exe;
	for (i = 0; i < 3; i++) { /* retried when the maps could not be read to the end */
		err = procmaps_foreach(pid, maps_cb, &ms);
		if (err != -EAGAIN)
			break;
		memset(&ms, 0, sizeof(ms));
		ms.pid = pid;
		ms.p = p;
		ms.exe = exe;
	}
	if (err < 0)
		return err == -ENOENT ? -ESRCH : err;
	if (!ms.found && !ms.fallback)
		return -ENOEXEC;
	oi = ms.found ? ms.found : ms.fallback;
	p->version_hex = oi->version_hex;
	p->major = oi->major;
	p->minor = oi->minor;
	p->micro = oi->micro;
	p->supported = oi->layout_ok;
	p->stripped = !oi->has_symtab;
	snprintf(p->unsupported, sizeof(p->unsupported), "%s", oi->layout_ok ? "" : oi->why);
	p->runtime_addr = oi->has_runtime ? p->load_bias + oi->runtime_vaddr : 0;
	p->usdt_mask = oi->usdt_mask;
	p->usdt_count = oi->usdt_count;
	p->tail_call = oi->tail_call;

	snprintf(fname, sizeof(fname), "/proc/%d/comm", (int)pid);
	if (read_small_file(fname, p->comm, sizeof(p->comm)) > 0)
		p->comm[strcspn(p->comm, "\n")] = '\0';
	snprintf(fname, sizeof(fname), "/proc/%d/cmdline", (int)pid);
	n = read_small_file(fname, buf, sizeof(buf));
	for (i = 0; i < n; i++) /* arguments joined by spaces, on one line */
		buf[i] = (unsigned char)buf[i] < 0x20 ? ' ' : buf[i];
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	snprintf(p->cmdline, sizeof(p->cmdline), "%s", n > 0 ? buf : p->comm);
	/* The process may have exec'd something else while we looked. */
	if (proc_start_ticks(pid) != p->start_ticks)
		return -ESRCH;
	return 0;
}

int py_proc_scan(py_proc_cb cb, void *ctx)
{
	struct py_proc *p = malloc(sizeof(*p));
	struct dirent *de;
	int found = 0, err;
	DIR *d;

	if (!p)
		return -ENOMEM;
	d = opendir("/proc");
	if (!d) {
		err = -errno;
		free(p);
		return err;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (py_proc_inspect((pid_t)pid, p))
			continue;
		found++;
		if (cb && cb(p, ctx))
			break;
	}
	closedir(d);
	free(p);
	return found;
}

const char *py_proc_build(const struct py_proc *p)
{
	return p->static_build ? "static" : "shared";
}

void py_proc_build_flags(const struct py_proc *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s,%s%s%s", py_proc_build(p), p->stripped ? "stripped" : "symbols",
		 p->usdt_count ? ",usdt" : "", p->tail_call ? ",tailcall" : "");
}

void py_usdt_names(uint32_t mask, char *buf, size_t len)
{
	static const char *const names[] = { "function__entry", "function__return", "line",
					     "gc__start", "gc__done", "import__find__load__start",
					     "import__find__load__done", "audit" };
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && off < len; i++) {
		if (!(mask & (1u << i)))
			continue;
		off += snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i]);
	}
}
