/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* From what the BPF walker records per frame (code object address, fingerprint, instruction
 * offset) to a named frame: qualified name, file, first line and executing line, read from the
 * target's memory with process_vm_readv and cached per (pid, code address, fingerprint).
 * The pure decoders (line tables, CPython string kinds -> UTF-8) work on byte arrays. */
#ifndef PYHOUND_SYMBOLIZE_H
#define PYHOUND_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stack/profile.h"
#include "py_offsets.h"

struct symbolizer;

struct symbolizer_stats {
	uint64_t lookups, hits;
	uint64_t read_errors; /* code object, string or line table unreadable */
	uint64_t stale;	      /* fingerprint mismatch: code object freed and its address reused */
	uint64_t entries;     /* cached code objects now */
	uint64_t bytecode_errors; /* code objects whose bytecode could not be read */
	uint64_t ops, op_unknown; /* leaf instructions named / not (not an instruction start) */
};

struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *sym);
/* Processes must be added (with their version's offsets) before their frames are resolved.
 * 0, -ENOMEM. Adding a known pid replaces its offsets and forgets its cache. */
int symbolizer_add_process(struct symbolizer *sym, pid_t pid, const struct py_offsets *off);
void symbolizer_remove_process(struct symbolizer *sym, pid_t pid);

/* Resolve one frame. Returns 0 with out filled; 1 when the frame is an interpreter-internal
 * shim that should be left out (3.13's __init__ cleanup frame); -errno when the code object
 * could not be read (out then holds "<unknown>" placeholders). out's strings stay valid until
 * the next call into the symbolizer that may evict (add/remove/resolve) -- copy them to keep. */
int symbolizer_frame(struct symbolizer *sym, pid_t pid, uint64_t code, uint64_t name_ptr,
		     uint32_t first_line, int32_t instr, struct prof_frame *out);
/* The instruction the frame last resolved by symbolizer_frame() (call it right after) sat on,
 * e.g. "CONTAINS_OP", "BINARY_OP_ADD_INT", "COMPARE_OP in" (user/cpython/opcodes.h), read
 * from the code object's bytecode as it runs, and the number of loops around it in its
 * function (*loop_depth). 0 with buf filled, or -ENOENT. */
int symbolizer_op(struct symbolizer *sym, char *buf, size_t len, int *loop_depth);
void symbolizer_get_stats(const struct symbolizer *sym, struct symbolizer_stats *st);

/* Line executing at byte offset instr of a code object whose line table is tab[0..len) and
 * first line first_line; 0 when it has none. minor selects the format: <= 9 co_lnotab, 10
 * co_linetable (PEP 626), >= 11 the location table (PEP 657). */
int py_line_lnotab(const uint8_t *tab, size_t len, int first_line, int instr);
int py_line_linetable310(const uint8_t *tab, size_t len, int first_line, int instr);
int py_line_loctable(const uint8_t *tab, size_t len, int first_line, int instr);
int py_line_for(int minor, const uint8_t *tab, size_t len, int first_line, int instr);

/* A str object's text at addr in process pid, as malloc'd UTF-8 in *out. 0 or -errno. */
int py_read_string(pid_t pid, const struct py_offsets *o, uint64_t addr, char **out);

/* Convert nchars characters of a CPython string of kind 1 (latin-1), 2 (UCS-2) or 4 (UCS-4)
 * to NUL-terminated UTF-8 in out (truncated at a character boundary to fit outlen). Returns the
 * bytes written (without the NUL) or -EINVAL for a bad kind or an invalid code point. */
int py_unicode_to_utf8(const void *data, size_t nchars, int kind, char *out, size_t outlen);

#endif
