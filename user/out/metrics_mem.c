// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Resident memory per process for Prometheus, read from /proc/PID/status at each scrape. */
#include <stdio.h>
#include "host/rss.h"
#include "model/report.h"
#include "out/metrics.h"

void metrics_write_mem(FILE *f, const struct report *r)
{
	fprintf(f, "# HELP pyhound_process_resident_bytes Resident memory of the process by kind "
		   "(anon, file, shmem), from /proc/PID/status at the scrape.\n"
		   "# TYPE pyhound_process_resident_bytes gauge\n");
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct rep_proc *rp = &r->procs[i];
		uint64_t v[RSS_KINDS];

		if (rp->tp.exited || rss_read(rp->tp.info.pid, v))
			continue;
		/* the PID may have been reused since the snapshot */
		if (proc_start_ticks(rp->tp.info.pid) != rp->tp.info.start_ticks)
			continue;
		for (int k = 0; k < RSS_KINDS; k++) {
			fputs("pyhound_process_resident_bytes{", f);
			metrics_proc_labels(f, rp);
			fprintf(f, ",kind=\"%s\"} %llu\n", rss_kind_name(k), (unsigned long long)v[k]);
		}
	}
}
