/* SPDX-License-Identifier: ISC */
/* Whole small files into memory; see file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/file.h"

enum d01_err
d01_file_read(const char *path, size_t max, char **out, size_t *len,
    struct d01_error *err)
{
	struct stat st;
	char *buf = NULL;
	ssize_t r;
	size_t got = 0;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return d01_error_set(err,
		    errno == ENOENT ? D01_E_NOTFOUND : D01_E_CONFIG, "%s: %s",
		    path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return d01_error_set(err, D01_E_CONFIG, "%s: not a file", path);
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return d01_error_set(
		    err, D01_E_LIMIT, "%s: larger than %zu bytes", path, max);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size &&
	    (r = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			OPENSSL_cleanse(buf, got);
			free(buf);
			return d01_error_set(
			    err, D01_E_CONFIG, "%s: %s", path, strerror(errno));
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	if (len != NULL)
		*len = got;
	return D01_OK;
}
