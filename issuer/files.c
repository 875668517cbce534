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

#define D01_FILES_MAX 8

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

enum d01_err
d01_files_commit(const char *dir, const struct d01_file_out *files, size_t n,
    struct d01_error *err)
{
	char paths[D01_FILES_MAX][PATH_MAX], tmps[D01_FILES_MAX][PATH_MAX];
	enum d01_err rc = D01_OK;
	size_t i, done = 0;

	if (n > D01_FILES_MAX)
		return d01_error_set(err, D01_E_LIMIT, "too many files");
	for (i = 0; i < n; i++) {
		if (strchr(files[i].name, '/') != NULL ||
		    snprintf(paths[i], PATH_MAX, "%s/%s", dir, files[i].name) >=
			PATH_MAX) {
			rc = d01_error_set(err, D01_E_INVAL, "%s/%s: bad name",
			    dir, files[i].name);
			goto out;
		}
		rc = write_temp(paths[i], files[i].data, files[i].len,
		    files[i].mode, tmps[i], PATH_MAX, err);
		if (rc != D01_OK)
			goto out;
		done++;
	}
	/* Every temporary is complete on disk: only renames remain. */
	for (i = 0; i < n; i++) {
		if (rename(tmps[i], paths[i]) != 0) {
			rc = d01_error_set(err, D01_E_INTERNAL, "%s: %s",
			    paths[i], strerror(errno));
			break;
		}
	}
	if (n > 0)
		sync_parent(paths[0]);
out:
	/* Unlink what was not renamed (harmless ENOENT for the rest). */
	for (i = 0; i < done; i++)
		if (rc != D01_OK)
			unlink(tmps[i]);
	return rc;
}
