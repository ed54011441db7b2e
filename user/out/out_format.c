// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "out/out_collapsed.h"
#include "out/out_format.h"
#include "out/out_pprof.h"
#include "out/out_speedscope.h"
#include "out/out_svg.h"

static const struct {
	const char *name;
	int (*write)(const struct profile *p, FILE *f);
} formats[] = {
	{ "collapsed", out_collapsed_write },
	{ "svg", out_svg_write },
	{ "speedscope", out_speedscope_write },
	{ "pprof", out_pprof_write },
};

static const struct {
	const char *suffix;
	const char *format;
} suffixes[] = {
	{ ".collapsed", "collapsed" },
	{ ".folded", "collapsed" },
	{ ".txt", "collapsed" },
	{ ".svg", "svg" },
	{ ".json", "speedscope" }, /* .speedscope.json too */
	{ ".pb.gz", "pprof" },
	{ ".pprof", "pprof" },
	{ ".pb", "pprof" },
};

int profile_write(const struct profile *p, const char *format, FILE *f)
{
	size_t i;

	if (!format)
		return -EINVAL;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(format, formats[i].name))
			return formats[i].write(p, f);
	return -EINVAL;
}

const char *profile_format_from_path(const char *path)
{
	size_t len, i;

	if (!path)
		return NULL;
	len = strlen(path);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i].suffix);

		if (len > sl && !strcasecmp(path + len - sl, suffixes[i].suffix))
			return suffixes[i].format;
	}
	return NULL;
}
