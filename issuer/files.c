/* SPDX-License-Identifier: ISC */
/* Atomic file writes (temp + fsync + rename + directory fsync). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "issuer/files.h"

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Sync the directory holding `path` so a rename survives a crash. */
static void
sync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return;
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Write data to a fresh temporary beside `path`; its name goes to tmp. */
static enum d01_err
write_temp(const char *path, const void *data, size_t len, int mode, char *tmp,
    size_t tmplen, struct d01_error *err)
{
	int fd;

	if (snprintf(tmp, tmplen, "%s.tmp.XXXXXX", path) >= (int)tmplen)
		return d01_error_set(
		    err, D01_E_INVAL, "%s: path too long", path);
	if ((fd = mkstemp(tmp)) < 0)
		return d01_error_set(
		    err, D01_E_INTERNAL, "%s: %s", path, strerror(errno));
	if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		d01_error_set(
		    err, D01_E_INTERNAL, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		return err ? err->code : D01_E_INTERNAL;
	}
	if (close(fd) != 0) {
		unlink(tmp);
		return d01_error_set(
		    err, D01_E_INTERNAL, "%s: %s", path, strerror(errno));
	}
	return D01_OK;
}

enum d01_err
d01_file_write_atomic(const char *path, const void *data, size_t len, int mode,
    struct d01_error *err)
{
	char tmp[PATH_MAX];
	enum d01_err rc;

	if ((rc = write_temp(path, data, len, mode, tmp, sizeof(tmp), err)) !=
	    D01_OK)
		return rc;
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return d01_error_set(
		    err, D01_E_INTERNAL, "%s: %s", path, strerror(errno));
	}
	sync_parent(path);
	return D01_OK;
}
