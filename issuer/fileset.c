/* SPDX-License-Identifier: ISC */
/*
 * The --out lock and the journalled commit of a certificate set; the
 * journal's layout and its recovery rules are in files.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "issuer/files.h"

/* errno of a file operation to an error code. */
static enum d01_err
errno_code(int e)
{
	return e == EACCES || e == EPERM || e == EROFS ? D01_E_FORBIDDEN
						       : D01_E_INTERNAL;
}

enum d01_err
d01_files_lock(const char *dir, int *fd, struct d01_error *err)
{
	char path[PATH_MAX];
	int f, e;

	*fd = -1;
	if (snprintf(path, sizeof(path), "%s/.lock", dir) >= (int)sizeof(path))
		return d01_error_set(
		    err, D01_E_INVAL, "%s: path too long", dir);
	if ((f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) <
	    0) {
		e = errno;
		return d01_error_set(err, errno_code(e),
		    "%s: not writable: cannot create .lock: %s", dir,
		    strerror(e));
	}
	/* flock, not fcntl: it is per open file, so a --batch naming one
	 * directory twice conflicts with itself as it should. */
	while (flock(f, LOCK_EX | LOCK_NB) != 0) {
		if ((e = errno) == EINTR)
			continue;
		close(f);
		if (e == EWOULDBLOCK)
			return d01_error_set(err, D01_E_CONFLICT,
			    "%s is in use by another dns01 issue (%s is "
			    "locked)",
			    dir, path);
		return d01_error_set(
		    err, errno_code(e), "%s: %s", path, strerror(e));
	}
	*fd = f;
	return D01_OK;
}

/* The journal, relative to the directory's descriptor (files.h). */
#define J_DIR	    ".commit"
#define J_NEW	    ".commit/new"
#define J_OLD	    ".commit/old"
#define J_NAMES	    ".commit/names"
#define J_NAMES_TMP ".commit/names.tmp"
#define J_BACK	    ".commit/rollback"
#define J_TMP	    ".commit/restore"
#define J_PROBE	    ".commit/probe"
#define J_NAME_MAX  64
#define J_REL_MAX   (sizeof(J_NEW) + 1 + J_NAME_MAX + 1)
#define J_LIST_MAX  (D01_FILES_MAX * (J_NAME_MAX + 1))

static int hook_fail_at = -1, hook_crash_at = -1;

void
d01_files_test_hook(int fail_at, int crash_at)
{
	hook_fail_at = fail_at;
	hook_crash_at = crash_at;
}

/* The names of a set, as the journal lists them. */
struct jset {
	char name[D01_FILES_MAX][J_NAME_MAX + 1];
	size_t n;
};

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= J_NAME_MAX && s[0] != '.' &&
	    strchr(s, '/') == NULL;
}

static void
rel(char *buf, const char *sub, const char *name)
{
	snprintf(buf, J_REL_MAX, "%s/%s", sub, name);
}

static enum d01_err
fail(struct d01_error *err, const char *dir, const char *what, int e)
{
	return d01_error_set(
	    err, errno_code(e), "%s/%s: %s", dir, what, strerror(e));
}

static int
sync_at(int dfd, const char *path)
{
	int fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* A new file at dfd/path, complete and on disk; errno on failure. */
static int
write_at(int dfd, const char *path, const void *data, size_t len, int mode)
{
	const char *p = data;
	ssize_t w;
	int fd, e;

	fd = openat(dfd, path,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0777);
	if (fd < 0)
		return -1;
	/* The mode before any byte: umask must not widen nor narrow it. */
	if (fchmod(fd, (mode_t)(mode & 0777)) != 0)
		goto fail;
	while (len > 0) {
		if ((w = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	return close(fd);
fail:
	e = errno;
	close(fd);
	unlinkat(dfd, path, 0);
	errno = e;
	return -1;
}

/* 1 when a and b are the same inode, 0 when not (or b is missing), -1
 * with errno when a cannot be looked at. */
static int
same_file(int dfd, const char *a, const char *b)
{
	struct stat sa, sb;

	if (fstatat(dfd, a, &sa, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	if (fstatat(dfd, b, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* 0 when dfd/path does not exist (ENOENT), 1 when it does, -1 on error. */
static int
exists(int dfd, const char *path)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

static int
unlink_gone(int dfd, const char *path, int flags)
{
	return unlinkat(dfd, path, flags) == 0 || errno == ENOENT ? 0 : -1;
}

/* Remove the files of dfd/path, then the directory itself. */
static int
clear_dir(int dfd, const char *path)
{
	struct dirent *e;
	DIR *d;
	int fd, rc = 0;

	fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0 &&
		    unlinkat(dirfd(d), e->d_name, 0) != 0)
			rc = -1;
	closedir(d);
	return rc == 0 ? unlink_gone(dfd, path, AT_REMOVEDIR) : -1;
}

/* Drop the journal. The list goes first: from then on an interruption
 * leaves a journal without a commit point, which recovery discards. */
static int
journal_remove(int dfd)
{
	if (unlink_gone(dfd, J_NAMES, 0) != 0)
		return -1;
	(void)sync_at(dfd, J_DIR);
	if (clear_dir(dfd, J_NEW) != 0 || clear_dir(dfd, J_OLD) != 0 ||
	    unlink_gone(dfd, J_BACK, 0) != 0 ||
	    unlink_gone(dfd, J_TMP, 0) != 0 ||
	    unlink_gone(dfd, J_NAMES_TMP, 0) != 0 ||
	    unlink_gone(dfd, J_PROBE, 0) != 0 ||
	    unlink_gone(dfd, J_DIR, AT_REMOVEDIR) != 0)
		return -1;
	return sync_at(dfd, ".");
}

static enum d01_err
read_list(int dfd, const char *dir, struct jset *set, struct d01_error *err)
{
	char buf[J_LIST_MAX + 1], *line, *save = NULL;
	ssize_t got;
	size_t len = 0;
	int fd = openat(dfd, J_NAMES, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	set->n = 0;
	if (fd < 0)
		return errno == ENOENT ? D01_E_NOTFOUND
				       : fail(err, dir, J_NAMES, errno);
	while (len < sizeof(buf) &&
	    (got = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			close(fd);
			return fail(err, dir, J_NAMES, errno);
		}
		len += (size_t)got;
	}
	close(fd);
	if (len == sizeof(buf))
		return d01_error_set(
		    err, D01_E_LIMIT, "%s/%s: too long", dir, J_NAMES);
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!valid_name(line) || set->n == D01_FILES_MAX)
			return d01_error_set(err, D01_E_INVAL,
			    "%s/%s: not a journal", dir, J_NAMES);
		snprintf(set->name[set->n++], J_NAME_MAX + 1, "%s", line);
	}
	return D01_OK;
}

/* Keep a hard link of dfd/name in old/, unless it does not exist. */
static enum d01_err
backup(int dfd, const char *dir, const char *name, struct d01_error *err)
{
	char old[J_REL_MAX];
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? D01_OK : fail(err, dir, name, errno);
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return d01_error_set(err, D01_E_CONFLICT,
		    "%s/%s: not a regular file", dir, name);
	rel(old, J_OLD, name);
	if (linkat(dfd, name, dfd, old, 0) != 0)
		return d01_error_set(err, errno_code(errno),
		    "%s/%s: cannot keep a copy to restore (immutable, or a "
		    "mount point?): %s",
		    dir, name, strerror(errno));
	return D01_OK;
}

/* Everything on disk up to the commit point; DIR itself unchanged. */
static enum d01_err
stage(int dfd, const char *dir, const struct d01_file_out *files,
    struct jset *set, struct d01_error *err)
{
	char path[J_REL_MAX], list[J_LIST_MAX];
	enum d01_err rc;
	size_t i, len = 0;

	if (mkdirat(dfd, J_DIR, 0700) != 0 || mkdirat(dfd, J_NEW, 0700) != 0 ||
	    mkdirat(dfd, J_OLD, 0700) != 0)
		return fail(err, dir, J_DIR, errno);
	for (i = 0; i < set->n; i++) {
		if ((rc = backup(dfd, dir, files[i].name, err)) != D01_OK)
			return rc;
		rel(path, J_NEW, files[i].name);
		if (write_at(dfd, path, files[i].data, files[i].len,
			files[i].mode) != 0)
			return fail(err, dir, path, errno);
		len += (size_t)snprintf(
		    list + len, sizeof(list) - len, "%s\n", files[i].name);
	}
	if (sync_at(dfd, J_NEW) != 0 || sync_at(dfd, J_OLD) != 0 ||
	    write_at(dfd, J_NAMES_TMP, list, len, 0600) != 0 ||
	    renameat(dfd, J_NAMES_TMP, dfd, J_NAMES) != 0 ||
	    sync_at(dfd, J_DIR) != 0 || sync_at(dfd, ".") != 0)
		return fail(err, dir, J_NAMES, errno);
	return D01_OK;
}

#define CRASHED (-2)

/* Rename new/NAME over NAME for each name. A missing new/NAME was moved
 * by an earlier attempt. Returns the index that failed (errno set), -1
 * when all are in place, or CRASHED (test hook). */
static int
forward(int dfd, const struct jset *set, int hooked)
{
	char path[J_REL_MAX];
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (hooked && (int)i == hook_crash_at)
			return CRASHED;
		rel(path, J_NEW, set->name[i]);
		if (hooked && (int)i == hook_fail_at) {
			errno = EIO;
			return (int)i;
		}
		if (renameat(dfd, path, dfd, set->name[i]) == 0)
			continue;
		if (errno == ENOENT && exists(dfd, path) == 0)
			continue; /* moved before an interruption */
		return (int)i;
	}
	if (hooked && (int)set->n == hook_crash_at)
		return CRASHED;
	/* The renames are visible; a failed sync cannot be undone by more
	 * renames, so it is not a reason to roll back. */
	(void)sync_at(dfd, ".");
	return -1;
}

/* Make dfd/name what old/name is: the same inode, or absent when old/
 * has no such name. 0, or -1 with errno. */
static int
restore(int dfd, const char *name)
{
	char old[J_REL_MAX];
	int same;

	rel(old, J_OLD, name);
	if ((same = same_file(dfd, old, name)) == 1)
		return 0;
	if (same < 0)
		return errno == ENOENT ? unlink_gone(dfd, name, 0) : -1;
	/* Link, then rename: old/name stays for a repeated rollback. */
	if (unlink_gone(dfd, J_TMP, 0) != 0 ||
	    linkat(dfd, old, dfd, J_TMP, 0) != 0 ||
	    renameat(dfd, J_TMP, dfd, name) != 0)
		return -1;
	return 0;
}

/* 1 when dfd/name is as old/ has it. */
static int
restored(int dfd, const char *name)
{
	char old[J_REL_MAX];
	int same;

	rel(old, J_OLD, name);
	if ((same = same_file(dfd, old, name)) >= 0)
		return same;
	return errno == ENOENT && exists(dfd, name) == 0;
}

/* Put every name back as old/ has it, then check each by inode. The
 * marker makes a later recovery continue backward. */
static enum d01_err
rollback(
    int dfd, const char *dir, const struct jset *set, struct d01_error *err)
{
	const char *bad = NULL;
	int fd, e = 0;
	size_t i;

	fd = openat(
	    dfd, J_BACK, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fsync(fd) != 0 || sync_at(dfd, J_DIR) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return fail(err, dir, J_BACK, e);
	}
	close(fd);
	/* Keep going after a failure: restore all that can be. */
	for (i = 0; i < set->n; i++)
		if (restore(dfd, set->name[i]) != 0 && bad == NULL) {
			e = errno;
			bad = set->name[i];
		}
	(void)sync_at(dfd, ".");
	for (i = 0; bad == NULL && i < set->n; i++)
		if (!restored(dfd, set->name[i])) {
			e = EIO;
			bad = set->name[i];
		}
	return bad == NULL ? D01_OK : fail(err, dir, bad, e);
}

static int
open_dir(const char *dir)
{
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Recovery on an open directory. */
static enum d01_err
recover_at(int dfd, const char *dir, enum d01_files_recovery *what,
    struct d01_error *err)
{
	struct jset set;
	struct stat st;
	enum d01_err rc;
	int back;

	*what = D01_FILES_CLEAN;
	if (fstatat(dfd, J_DIR, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? D01_OK : fail(err, dir, J_DIR, errno);
	if (!S_ISDIR(st.st_mode))
		return d01_error_set(err, D01_E_CONFLICT,
		    "%s/%s: not a directory (not ours?)", dir, J_DIR);
	rc = read_list(dfd, dir, &set, err);
	if (rc == D01_E_NOTFOUND) {
		*what = D01_FILES_DISCARDED;
	} else if (rc != D01_OK) {
		return rc;
	} else if ((back = exists(dfd, J_BACK)) < 0) {
		return fail(err, dir, J_BACK, errno);
	} else if (back == 0 && forward(dfd, &set, 0) < 0) {
		*what = D01_FILES_ROLLED_FORWARD;
	} else {
		if ((rc = rollback(dfd, dir, &set, err)) != D01_OK) {
			d01_error_prefix(err,
			    "interrupted commit in %s could not be "
			    "undone: ",
			    dir);
			return rc;
		}
		*what = D01_FILES_ROLLED_BACK;
	}
	if (journal_remove(dfd) != 0)
		return fail(err, dir, J_DIR, errno);
	return D01_OK;
}

enum d01_err
d01_files_recover(
    const char *dir, enum d01_files_recovery *what, struct d01_error *err)
{
	enum d01_files_recovery w;
	enum d01_err rc;
	int dfd = open_dir(dir);

	if (dfd < 0)
		return d01_error_set(
		    err, errno_code(errno), "%s: %s", dir, strerror(errno));
	rc = recover_at(dfd, dir, what ? what : &w, err);
	close(dfd);
	return rc;
}

enum d01_err
d01_files_check(
    const char *dir, const char *const *names, size_t n, struct d01_error *err)
{
	struct stat st;
	enum d01_err rc = D01_OK;
	size_t i;
	int dfd = open_dir(dir);

	if (dfd < 0)
		return d01_error_set(
		    err, errno_code(errno), "%s: %s", dir, strerror(errno));
	if (mkdirat(dfd, J_DIR, 0700) != 0) {
		rc = d01_error_set(err, errno_code(errno),
		    "%s: not writable: %s", dir, strerror(errno));
		goto out;
	}
	/* Every name must be replaceable the way a commit replaces it. */
	for (i = 0; rc == D01_OK && i < n; i++) {
		if (!valid_name(names[i]))
			rc = d01_error_set(
			    err, D01_E_INVAL, "%s/%s: bad name", dir, names[i]);
		else if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
			rc = errno == ENOENT ? D01_OK
					     : fail(err, dir, names[i], errno);
		else if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			rc = d01_error_set(err, D01_E_CONFLICT,
			    "%s/%s: not a regular file", dir, names[i]);
		else if (linkat(dfd, names[i], dfd, J_PROBE, 0) != 0)
			rc = d01_error_set(err, errno_code(errno),
			    "%s/%s: cannot be replaced safely (immutable, or "
			    "a mount point?): %s",
			    dir, names[i], strerror(errno));
		else if (unlinkat(dfd, J_PROBE, 0) != 0)
			rc = fail(err, dir, J_PROBE, errno);
	}
	(void)unlink_gone(dfd, J_PROBE, 0);
	(void)unlinkat(dfd, J_DIR, AT_REMOVEDIR);
out:
	close(dfd);
	return rc;
}

enum d01_err
d01_files_commit(const char *dir, const struct d01_file_out *files, size_t n,
    struct d01_error *err)
{
	enum d01_files_recovery what;
	struct jset set = {.n = n};
	enum d01_err rc = D01_OK;
	int dfd = -1, at, e;
	size_t i;

	for (i = 0; i < n && n <= D01_FILES_MAX; i++) {
		if (!valid_name(files[i].name)) {
			rc = d01_error_set(err, D01_E_INVAL, "%s/%s: bad name",
			    dir, files[i].name);
			goto out;
		}
		snprintf(set.name[i], J_NAME_MAX + 1, "%s", files[i].name);
	}
	if (n > D01_FILES_MAX) {
		rc = d01_error_set(err, D01_E_LIMIT, "too many files");
		goto out;
	}
	if ((dfd = open_dir(dir)) < 0) {
		rc = d01_error_set(
		    err, errno_code(errno), "%s: %s", dir, strerror(errno));
		goto out;
	}
	if ((rc = recover_at(dfd, dir, &what, err)) != D01_OK)
		goto out;
	if ((rc = stage(dfd, dir, files, &set, err)) != D01_OK) {
		(void)journal_remove(dfd); /* DIR itself was not touched */
		goto out;
	}
	if ((at = forward(dfd, &set, 1)) == CRASHED) {
		rc = d01_error_set(err, D01_E_INTERNAL, "simulated crash");
		goto out;
	}
	if (at >= 0) {
		e = errno;
		if ((rc = rollback(dfd, dir, &set, err)) != D01_OK) {
			d01_error_prefix(err,
			    "%s/%s: %s; restoring the previous set failed "
			    "(the next run retries): ",
			    dir, set.name[at], strerror(e));
			goto out;
		}
		rc = d01_error_set(err, errno_code(e),
		    "%s/%s: %s; the previous set is back in place", dir,
		    set.name[at], strerror(e));
	}
	/* Committed or undone: the journal has done its job. A failure to
	 * remove it is repaired by the next run's recovery. */
	(void)journal_remove(dfd);
out:
	hook_fail_at = hook_crash_at = -1;
	if (dfd >= 0)
		close(dfd);
	return rc;
}
