/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What an fd refers to, decided from its inode's mode and device (BPF and userspace). */
#ifndef PYHOUND_FDKIND_H
#define PYHOUND_FDKIND_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

enum fd_kind {
	FD_KIND_FILE = 0, /* regular file */
	FD_KIND_SOCKET,
	FD_KIND_PIPE,	/* pipe or FIFO */
	FD_KIND_TTY,	/* terminal: tty, console, pseudo-terminal */
	FD_KIND_OTHER,	/* everything else: eventfd, /dev/null, block devices, ... */
	FD_KIND_MAX,
};

#define PH_S_IFMT 0170000
#define PH_S_IFSOCK 0140000
#define PH_S_IFREG 0100000
#define PH_S_IFIFO 0010000
#define PH_S_IFCHR 0020000

/* mode: inode->i_mode; rdev: the kernel's internal dev_t (major in the top 12 bits) */
static __always_inline unsigned int ph_fd_kind(unsigned int mode, unsigned int rdev)
{
	unsigned int major = rdev >> 20;

	switch (mode & PH_S_IFMT) {
	case PH_S_IFREG:
		return FD_KIND_FILE;
	case PH_S_IFSOCK:
		return FD_KIND_SOCKET;
	case PH_S_IFIFO:
		return FD_KIND_PIPE;
	case PH_S_IFCHR:
		/* 4: tty, 5: tty/console/ptmx, 136-143: Unix98 pty slaves */
		if (major == 4 || major == 5 || (major >= 136 && major <= 143))
			return FD_KIND_TTY;
		return FD_KIND_OTHER;
	default:
		return FD_KIND_OTHER;
	}
}

#endif
