// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/outfile.h"

/* fopencookie write: keeps the first failure's errno */
static ssize_t cookie_write(void *c, const char *buf, size_t len)
{
	struct outfile *of = c;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(of->fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!of->write_err)
				of->write_err = n < 0 ? errno : EIO;
			return done ? (ssize_t)done : -1;
		}
		done += n;
	}
	return (ssize_t)done;
}

static int cookie_close(void *c)
{
	(void)c; /* the descriptor is closed by outfile_commit/abort */
	return 0;
}

static int wrap(struct outfile *of)
{
	cookie_io_functions_t io = { .write = cookie_write, .close = cookie_close };

	of->f = fopencookie(of, "w", io);
	return of->f ? 0 : -errno;
}

int outfile_open(struct outfile *of, const char *path)
{
	char dir[PATH_MAX], base[PATH_MAX], real[PATH_MAX];
	struct stat st;
	mode_t um;
	int err;

	memset(of, 0, sizeof(*of));
	of->fd = -1;
	if (snprintf(of->path, sizeof(of->path), "%s", path) >= (int)sizeof(of->path))
		return -ENAMETOOLONG;
	if (!strcmp(path, "-")) {
		of->is_stdout = true;
		of->fd = STDOUT_FILENO;
		return wrap(of);
	}
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		/* a device, FIFO or socket (/dev/stdout, a pipe): written in place, never
		 * replaced by a regular file */
		of->direct = true;
		of->fd = open(path, O_WRONLY | O_CLOEXEC);
		if (of->fd < 0)
			return -errno;
		err = wrap(of);
		if (err)
			outfile_abort(of);
		return err;
	}
	/* through a symlink: the temporary file goes beside the file it names, and replaces
	 * that file, not the link */
	if (realpath(path, real)) {
		if (snprintf(of->path, sizeof(of->path), "%s", real) >= (int)sizeof(of->path))
			return -ENAMETOOLONG;
		path = of->path;
	} else if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		/* a link to a file not made yet: the file it names, relative to the link */
		ssize_t n = readlink(path, real, sizeof(real) - 1);

		if (n <= 0)
			return n < 0 ? -errno : -EINVAL;
		real[n] = '\0';
		snprintf(dir, sizeof(dir), "%s", path);
		if (real[0] == '/') {
			if (snprintf(of->path, sizeof(of->path), "%s", real) >= (int)sizeof(of->path))
				return -ENAMETOOLONG;
		} else if (snprintf(of->path, sizeof(of->path), "%s/%s", dirname(dir), real) >=
			   (int)sizeof(of->path)) {
			return -ENAMETOOLONG;
		}
		path = of->path;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	if (snprintf(of->tmp, sizeof(of->tmp), "%s/.%s.pyhound-XXXXXX", dirname(dir),
		     basename(base)) >= (int)sizeof(of->tmp))
		return -ENAMETOOLONG;
	of->fd = mkostemp(of->tmp, O_CLOEXEC);
	if (of->fd < 0) {
		err = -errno;
		of->tmp[0] = '\0';
		return err;
	}
	um = umask(0);
	umask(um);
	if (fchmod(of->fd, 0666 & ~um)) {
		err = -errno;
		outfile_abort(of);
		return err;
	}
	err = wrap(of);
	if (err)
		outfile_abort(of);
	return err;
}

int outfile_error(const struct outfile *of, int fallback)
{
	return of->write_err ? -of->write_err : fallback;
}

int outfile_commit(struct outfile *of)
{
	int err = 0;

	if (of->f && fflush(of->f))
		err = outfile_error(of, -EIO);
	if (!err && of->write_err)
		err = -of->write_err;
	if (of->f) {
		fclose(of->f);
		of->f = NULL;
	}
	if (of->is_stdout)
		return err;
	if (of->direct) {
		if (close(of->fd) && !err)
			err = -errno;
		of->fd = -1;
		return err;
	}
	if (!err && fsync(of->fd))
		err = -errno;
	if (close(of->fd) && !err)
		err = -errno;
	of->fd = -1;
	if (!err && rename(of->tmp, of->path))
		err = -errno;
	if (err) {
		unlink(of->tmp);
		of->tmp[0] = '\0';
		return err;
	}
	of->tmp[0] = '\0';
	return 0;
}

void outfile_abort(struct outfile *of)
{
	if (of->f) {
		fclose(of->f);
		of->f = NULL;
	}
	if (of->is_stdout)
		return;
	if (of->fd >= 0) {
		close(of->fd);
		of->fd = -1;
	}
	if (of->tmp[0]) {
		unlink(of->tmp);
		of->tmp[0] = '\0';
	}
}
