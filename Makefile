# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# pyhound: see README.md. `make V=1` shows every command.
OUTPUT ?= build
PREFIX ?= /usr/local
DESTDIR ?=
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PKG_CONFIG ?= pkg-config

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
ifeq ($(filter x86,$(ARCH)),)
$(error pyhound builds for x86_64 only for now (uname -m says $(shell uname -m)))
endif
VMLINUX := vmlinux/$(ARCH)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# clang's own system include dirs, for the BPF target (libbpf-bootstrap's trick)
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

LIBS_PC := libbpf libelf zlib libmicrohttpd gnutls capstone
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PC_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null || echo -lbpf -lelf -lz -lmicrohttpd -lgnutls -lcapstone)

CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -MMD -MP \
	-D_GNU_SOURCE -DPYHOUND_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(OUTPUT)/skel $(PC_CFLAGS)
LDLIBS += $(PC_LIBS) -lcrypt -lpthread -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Wno-unused-function \
	-I$(dir $(VMLINUX)) -Iinclude -Ibpf $(CLANG_BPF_SYS_INCLUDES) -MMD -MP

BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/skel/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(sort $(wildcard user/*/*.c))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/user/cmd/main.o,$(USER_OBJS))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%.o,$(UNIT_SRCS))
INTEG_SRCS := $(sort $(wildcard tests/integration/*.c))
INTEG_OBJS := $(patsubst tests/integration/%.c,$(OUTPUT)/tests/integration/%.o,$(INTEG_SRCS))
COMMON_SRCS := $(sort $(wildcard tests/common/*.c))
COMMON_OBJS := $(patsubst tests/common/%.c,$(OUTPUT)/tests/common/%.o,$(COMMON_SRCS))
TEST_LIBS := $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null || echo -lcriterion)

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: sid-root soak all deps demo test test-unit test-integration install uninstall clean vmlinux fmt bench

all: $(OUTPUT)/pyhound

deps:
	$(Q)scripts/install-deps.sh

# Debian sid's python3.14/3.15 (release and -dbg), run chrooted by the tests (PYHOUND_SID_ROOT)
sid-root: deps
	$(Q)scripts/sid-root.sh

$(OUTPUT)/bpf $(OUTPUT)/skel $(OUTPUT)/user $(OUTPUT)/tests/unit $(OUTPUT)/tests/integration $(OUTPUT)/tests/common:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(OUTPUT)/skel/%.skel.h: $(OUTPUT)/bpf/%.bpf.o | $(OUTPUT)/skel
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(OUTPUT)/user/%.o: user/%.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/pyhound: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/unit/%.o: tests/unit/%.c $(SKELS) | $(OUTPUT)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(OUTPUT)/tests/integration/%.o: tests/integration/%.c $(SKELS) | $(OUTPUT)/tests/integration
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(OUTPUT)/tests/common/%.o: tests/common/%.c $(SKELS) | $(OUTPUT)/tests/common
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(OUTPUT)/tests/unit-tests: $(UNIT_OBJS) $(COMMON_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) $(TEST_LIBS) -o $@

$(OUTPUT)/tests/integration-tests: $(INTEG_OBJS) $(COMMON_OBJS) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) $(TEST_LIBS) -o $@

# The README's test command: installs what is missing, builds, runs every test.
test: deps sid-root
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/tests/unit-tests $(OUTPUT)/tests/integration-tests
	$(Q)scripts/run-tests.sh $(OUTPUT)

test-unit: $(OUTPUT)/tests/unit-tests
	$(Q)$(OUTPUT)/tests/unit-tests

test-integration: $(OUTPUT)/pyhound $(OUTPUT)/tests/integration-tests
	$(Q)PYHOUND=$(OUTPUT)/pyhound $(OUTPUT)/tests/integration-tests

# The README's first command: install, build, run pyhound against bundled workloads.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh $(OUTPUT)/pyhound

bench: all
	$(Q)bench/run.sh $(OUTPUT)/pyhound

UNITDIR ?= /lib/systemd/system
SYSCONFDIR ?= /etc

# binary, systemd unit (ExecStart pointed at $(PREFIX)) and default config (kept if present)
install: $(OUTPUT)/pyhound
	install -D -m 0755 $(OUTPUT)/pyhound $(DESTDIR)$(PREFIX)/sbin/pyhound
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/pyhound
	sed 's|/usr/local/sbin/pyhound|$(PREFIX)/sbin/pyhound|; s|/etc/pyhound/|$(SYSCONFDIR)/pyhound/|' \
		deploy/pyhound.service > $(DESTDIR)$(UNITDIR)/pyhound.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/pyhound.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/pyhound/pyhound.conf ] || \
		install -m 0644 deploy/pyhound.conf $(DESTDIR)$(SYSCONFDIR)/pyhound/pyhound.conf

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/pyhound $(DESTDIR)$(UNITDIR)/pyhound.service

vmlinux:
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

fmt:
	clang-format -i bpf/*.c user/*/*.c user/*/*.h include/*.h tests/*/*.c

clean:
	rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*/*.d $(OUTPUT)/user/*/*.d $(OUTPUT)/tests/*/*.d $(OUTPUT)/bpf/*.bpf.d)

# The long soak of issue 6: `pyhound serve` for 10 minutes against 50 short-lived processes.
soak: all $(OUTPUT)/tests/integration-tests
	$(Q)PYHOUND=$(abspath $(OUTPUT))/pyhound PYHOUND_SRC=$(CURDIR) PYHOUND_SOAK_SECONDS=$${PYHOUND_SOAK_SECONDS:-600} \
		$(OUTPUT)/tests/integration-tests --filter 'soak/*' --verbose
