/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finding CPython processes and what pyhound needs to know about each. */
#ifndef PYHOUND_DISCOVER_H
#define PYHOUND_DISCOVER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* USDT probes of provider "python" that pyhound knows (bit per probe). */
enum py_usdt {
	PY_USDT_FUNCTION_ENTRY = 1u << 0,
	PY_USDT_FUNCTION_RETURN = 1u << 1,
	PY_USDT_LINE = 1u << 2,
	PY_USDT_GC_START = 1u << 3,
	PY_USDT_GC_DONE = 1u << 4,
	PY_USDT_IMPORT_START = 1u << 5,
	PY_USDT_IMPORT_DONE = 1u << 6,
	PY_USDT_AUDIT = 1u << 7,
};

struct py_proc {
	pid_t pid;
	uint64_t start_ticks; /* /proc/PID/stat starttime: tells a reused PID apart */
	char comm[16];
	char cmdline[256];
	/* CPython version, e.g. 0x030b02f0 for 3.11.2 final; micro is -1 when only the
	 * major.minor could be proved (soname) */
	uint32_t version_hex;
	int major, minor, micro;
	bool static_build; /* _PyRuntime is in the main executable (Debian) */
	bool supported;	   /* stack walking layout known (3.8-3.12) or read and checked (3.13+) */
	bool stripped;	   /* the object has no .symtab */
	char unsupported[192]; /* !supported: why, one line */
	/* the ELF object holding _PyRuntime: its path in the target's mount namespace, a path
	 * pyhound can open (through /proc/PID/root or map_files), and its identity */
	char obj_path[PATH_MAX];
	char obj_open_path[PATH_MAX];
	bool obj_deleted; /* deleted or replaced on disk since mapped: opened via map_files */
	uint64_t obj_dev, obj_inode;
	uint64_t load_bias;
	uint64_t runtime_addr; /* absolute address of _PyRuntime in the target */
	uint32_t usdt_mask;    /* enum py_usdt bits present in the object's .note.stapsdt */
	int usdt_count;	       /* all python:* USDT notes */
	int tail_call;	       /* the tail-calling interpreter (3.14+): enum tailcall_kind
				* (cpython/tailcall.h), 0 for none */
};

/* Inspect one process. Returns 0 when it runs CPython (p filled), -ESRCH when the process
 * does not exist or has exited (a zombie included), -ENOEXEC when it is not running CPython, other -errno on
 * failure (e.g. -EACCES). */
int py_proc_inspect(pid_t pid, struct py_proc *p);

/* Inspect every process in /proc; cb gets each CPython process. Returns the number found or
 * -errno. A non-zero return from cb stops the scan. */
typedef int (*py_proc_cb)(const struct py_proc *p, void *ctx);
int py_proc_scan(py_proc_cb cb, void *ctx);

/* The version parsed from a string "3.X.Y" (optionally followed by a/b/rc and a number).
 * Returns 0 and fills major/minor/micro, or -EINVAL. */
int py_parse_version_string(const char *s, int *major, int *minor, int *micro);
/* major.minor from a soname / file name like "libpython3.9.so.1.0" or "libpython3.12d.so". */
int py_version_from_libname(const char *name, int *major, int *minor);

/* "static" / "shared" and the USDT probe names, for output. */
const char *py_proc_build(const struct py_proc *p);
/* "static,stripped,usdt", "shared,symbols,tailcall", ...: the build, symbols, USDT probes,
 * the tail-calling interpreter. */
void py_proc_build_flags(const struct py_proc *p, char *buf, size_t len);
void py_usdt_names(uint32_t mask, char *buf, size_t len);

/* The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or 0. */
uint64_t proc_start_ticks(pid_t pid);
bool proc_alive(pid_t pid, uint64_t start_ticks);
/* utime+stime of a process (field 14 + 15 of /proc/PID/stat) in clock ticks; -ESRCH when it
 * is gone or its start time is not start_ticks (0: any). */
int proc_cpu_ticks(pid_t pid, uint64_t start_ticks, uint64_t *ticks);
/* The process has exited but is not reaped yet (state Z or X). */
bool proc_is_zombie(pid_t pid);

#endif
