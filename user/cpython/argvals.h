/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Argument sampling: the values of a sampled leaf frame's first arguments (struct ph_args, copied
 * by bpf/sampler.bpf.c), read from the target with process_vm_readv and hashed, for the
 * repeated-arguments finding (user/model/findings_code.c). Only simple immutable types are
 * decoded: int (up to ARGV_MAX_DIGITS 30-bit digits), float, str (compact, up to
 * ARGV_MAX_BYTES bytes of data), bytes (up to ARGV_MAX_BYTES), bool, None, and tuples of up to
 * ARGV_MAX_TUPLE of those (one level). Anything else, or any read or check that fails, makes
 * the sample "unknown": a value is never guessed.
 * The objects are read after the sample (microseconds to milliseconds later): these types are
 * immutable, but an argument freed in between may have been replaced by another object at the
 * same address; it is then hashed as that object if it is of a simple type. */
#ifndef PYHOUND_ARGVALS_H
#define PYHOUND_ARGVALS_H

#include <stdint.h>
#include <sys/types.h>
#include "../../include/sampler.h"

#define ARGV_MAX_DIGITS 8
#define ARGV_MAX_BYTES 256
#define ARGV_MAX_TUPLE 4

/* The addresses of the simple types and singletons in one process (absolute). */
struct argv_types {
	uint64_t t_long, t_float, t_str, t_bytes, t_tuple, none, yes, no;
};

/* Reads len bytes at addr of the process: 0 or -errno. */
typedef int (*argv_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* The hash of the argument tuple a: its first min(argcount, PH_ARG_SLOTS) slots, decoded with
 * the process's offsets (version_hex selects the int and tuple layouts). 0 and *hash, *nargs;
 * 1: not decoded (a type not handled, a value too large, a NULL slot, a failed read or check). */
int argvals_hash(const struct py_offsets *off, const struct argv_types *t,
		 const struct ph_args *a, argv_read_fn rd, void *ctx, uint64_t *hash,
		 unsigned *nargs);

/* process_vm_readv reader: ctx is (void *)(intptr_t)pid */
int argvals_read_pid(void *ctx, uint64_t addr, void *buf, size_t len);

/* The type addresses from the ELF object holding the interpreter (obj_path opened via
 * open_path, loaded at load_bias). 0, or -ENOENT when one of them is not exported. */
int argvals_types(const char *open_path, uint64_t load_bias, struct argv_types *t);

#endif
