// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* /proc/PID/maps lines, version strings, ELF symbols and USDT notes of the real interpreters. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common/pythons.h"
#include "host/discover.h"
#include "host/elf.h"
#include "host/procmaps.h"

Test(procmaps, parses_file_and_anonymous_lines)
{
	struct map_entry e;

	cr_assert_eq(procmaps_parse_line("7f1c2a400000-7f1c2a4c7000 r--p 00000000 fe:01 1837463"
					 "                    /root/.pyenv/versions/3.12.1/lib/"
					 "libpython3.12.so.1.0\n", &e), 0);
	cr_expect_eq(e.start, 0x7f1c2a400000ULL);
	cr_expect_eq(e.end, 0x7f1c2a4c7000ULL);
	cr_expect_str_eq(e.perms, "r--p");
	cr_expect_eq(e.offset, 0);
	cr_expect_eq(e.dev_major, 0xfe);
	cr_expect_eq(e.dev_minor, 1);
	cr_expect_eq(e.inode, 1837463);
	cr_expect_str_eq(e.path, "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0");

	cr_assert_eq(procmaps_parse_line("55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0 "
					 "                         [heap]", &e), 0);
	cr_expect_str_eq(e.path, "[heap]");
	cr_assert_eq(procmaps_parse_line("7ffd1000-7ffd2000 r-xp 00001000 00:00 0", &e), 0);
	cr_expect_str_eq(e.path, "");
	cr_expect_eq(e.offset, 0x1000);
	/* paths with spaces stay whole; the deleted marker is a flag, the newline escape undone */
	cr_assert_eq(procmaps_parse_line("1000-2000 r-xp 00000000 08:01 42 /opt/my app/python3 "
					 "(deleted)", &e), 0);
	cr_expect_str_eq(e.path, "/opt/my app/python3");
	cr_expect(e.deleted);
	cr_assert_eq(procmaps_parse_line("1000-2000 r-xp 00000000 08:01 42 /opt/a\\012b/py", &e),
		     0);
	cr_expect_str_eq(e.path, "/opt/a\nb/py");
	cr_expect(!e.deleted);
	cr_expect_eq(procmaps_parse_line("garbage", &e), -EINVAL);
	cr_expect_eq(procmaps_parse_line("2000-1000 r-xp 00000000 08:01 42 /x", &e), -EINVAL);
}

static int count_maps(const struct map_entry *e, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

Test(procmaps, walks_own_maps_and_reports_gone_process)
{
	int n = 0;

	cr_assert_eq(procmaps_foreach(getpid(), count_maps, &n), 0);
	cr_expect_gt(n, 5);
	cr_expect_eq(procmaps_foreach(999999999, count_maps, &n), -ENOENT);
}

Test(version, strings_and_library_names)
{
	int a, b, c;

	cr_assert_eq(py_parse_version_string("3.9.18", &a, &b, &c), 0);
	cr_expect(a == 3 && b == 9 && c == 18);
	cr_assert_eq(py_parse_version_string("3.13.0rc2", &a, &b, &c), 0);
	cr_expect(b == 13 && c == 0);
	cr_assert_eq(py_parse_version_string("3.12.0a7+", &a, &b, &c), 0);
	cr_expect_eq(py_parse_version_string("2.7.18", &a, &b, &c), -EINVAL);
	cr_expect_eq(py_parse_version_string("3.9", &a, &b, &c), -EINVAL);
	cr_expect_eq(py_parse_version_string("3.9.18 (main)", &a, &b, &c), -EINVAL);
	cr_assert_eq(py_version_from_libname("libpython3.9.so.1.0", &a, &b), 0);
	cr_expect(a == 3 && b == 9);
	cr_assert_eq(py_version_from_libname("/usr/lib/x86_64-linux-gnu/libpython3.12d.so", &a, &b),
		     0);
	cr_expect_eq(b, 12);
	cr_expect_eq(py_version_from_libname("libpython3.so", &a, &b), -EINVAL);
	cr_expect_eq(py_version_from_libname("libpythonista.so", &a, &b), -EINVAL);
}

struct usdt_seen {
	int gc_start, gc_done, fentry, line;
	uint64_t gc_start_sema;
};

static int usdt_cb(const struct elf_usdt_note *n, void *ctx)
{
	struct usdt_seen *s = ctx;

	cr_expect_str_eq(n->provider, "python");
	if (!strcmp(n->name, "gc__start")) {
		s->gc_start++;
		s->gc_start_sema = n->semaphore;
		cr_expect(!strncmp(n->args, "-4@", 3), "gc__start arg is an int: %s", n->args);
	}
	s->gc_done += !strcmp(n->name, "gc__done");
	s->fentry += !strcmp(n->name, "function__entry");
	s->line += !strcmp(n->name, "line");
	return 0;
}

Test(elf, debian_static_python311)
{
	struct test_python py[16];
	struct usdt_seen seen = {};
	char missing[256];
	struct elf_file *ef;
	struct elf_sym sym;
	uint32_t ver = 0;
	int n = test_pythons(py, 16, missing, sizeof(missing));

	cr_assert(n > 0 && py[0].debian, "Debian's python3.11 not found:%s", missing);
	ef = elf_open(py[0].path);
	cr_assert_not_null(ef);
	cr_expect_eq(elf_type(ef), ET_EXEC);
	cr_expect_eq(elf_first_load_vaddr(ef), 0x400000);
	cr_assert_eq(elf_find_symbol(ef, "_PyRuntime", &sym), 0);
	cr_expect_gt(sym.value, 0x400000);
	cr_expect_eq(sym.type, STT_OBJECT);
	cr_assert_eq(elf_find_symbol(ef, "Py_Version", &sym), 0);
	cr_assert_eq(elf_read_vaddr(ef, sym.value, &ver, sizeof(ver)), 0);
	cr_expect_eq(ver >> 16, 0x030b, "Py_Version %#x", ver);
	cr_expect_eq(elf_find_symbol(ef, "no_such_symbol_here", &sym), -ENOENT);
	cr_expect_eq(elf_foreach_usdt(ef, usdt_cb, &seen), 8, "one note per probe");
	cr_expect_eq(seen.gc_start, 1);
	cr_expect_eq(seen.gc_done, 1);
	cr_expect_geq(seen.fentry, 1);
	cr_expect_geq(seen.line, 1);
	cr_expect_neq(seen.gc_start_sema, 0, "USDT semaphores are recorded");
	elf_close(ef);
}

Test(elf, pyenv_shared_libpython)
{
	struct test_python py[16];
	char missing[256], lib[PATH_MAX + 64];
	struct elf_file *ef;
	struct elf_sym sym;
	int n = test_pythons(py, 16, missing, sizeof(missing)), i, checked = 0;

	for (i = 0; i < n; i++) {
		if (py[i].debian)
			continue;
		snprintf(lib, sizeof(lib), "%.*s/lib/libpython3.%d.so.1.0",
			 (int)(strstr(py[i].path, "/bin/") - py[i].path), py[i].path, py[i].minor);
		ef = elf_open(lib);
		cr_assert_not_null(ef, "%s", lib);
		cr_expect_eq(elf_type(ef), ET_DYN);
		cr_expect_eq(elf_find_symbol(ef, "_PyRuntime", &sym), 0, "%s", lib);
		cr_expect_not_null(elf_soname(ef));
		if (elf_soname(ef)) {
			int a, b;

			cr_expect_eq(py_version_from_libname(elf_soname(ef), &a, &b), 0);
			cr_expect_eq(b, py[i].minor);
		}
		/* .symtab is there: static functions such as the GC's are found */
		cr_expect_eq(elf_find_symbol(ef, py[i].minor >= 10  ? "gc_collect_main"
						 : py[i].minor == 9 ? "collect"
								    : "collect.constprop.0",
					     &sym), 0, "%s", lib);
		cr_expect_eq(elf_foreach_usdt(ef, NULL, NULL), 0, "pyenv builds have no USDT");
		elf_close(ef);
		checked++;
	}
	cr_expect_eq(checked, 6, "pyenv 3.8-3.13:%s", missing);
	errno = 0;
	cr_expect_null(elf_open("/etc/hostname"));
	cr_expect_eq(errno, ENOEXEC);
}
