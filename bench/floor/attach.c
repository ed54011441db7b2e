// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Load a BPF object, attach every program in it, print "attached", wait for SIGINT/SIGTERM.
 *   attach OBJ.bpf.o */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct bpf_object *obj;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OBJ.bpf.o\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "cannot load %s: %s\n", argv[1], strerror(-err));
		goto out;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			err = -errno;
			fprintf(stderr, "cannot attach %s: %s\n", bpf_program__name(prog),
				strerror(-err));
			goto out;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
out:
	bpf_object__close(obj);
	return err ? 1 : 0;
}
