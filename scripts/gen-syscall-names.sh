#!/bin/sh
# Regenerate the name table in user/collect/syscall_names.c from the installed UAPI header.
set -eu
hdr=${1:-/usr/include/x86_64-linux-gnu/asm/unistd_64.h}
grep -E '^#define __NR_[a-z0-9_]+ [0-9]+$' "$hdr" | awk '{sub("__NR_","",$2); printf "\t[%d] = \"%s\",\n", $3, $2}'
