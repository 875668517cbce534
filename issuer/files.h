/* SPDX-License-Identifier: ISC */
/*
 * Files that must never be seen half-written: private keys and the
 * certificate set of `dns01 issue --out`. Synchronous: called before the
 * event loop starts or after it has finished, never from a callback.
 *
 * A certificate set (privkey.pem, cert.pem, ...) is committed with a
 * journal inside the directory, so that the files always belong to one
 * certificate, even when a rename fails (an immutable file, a bind mount)
 * or the process dies half-way:
 *
 *   DIR/.commit/new/NAME   the new files, written and fsync'd first
 *   DIR/.commit/old/NAME   hard links of the files being replaced (absent
 *                          when NAME did not exist)
 *   DIR/.commit/names      the names of the set; written (temp + rename)
 *                          once all of the above is on disk: the commit
 *                          point
 *   DIR/.commit/rollback   present once a rollback has started
 *
 * Before the commit point nothing in DIR has changed and an interrupted
 * commit is simply discarded. After it, the new files are renamed into
 * place one by one; if one rename fails, every name is put back from
 * old/ (link + rename, so a repeated rollback is harmless) and checked by
 * inode. d01_files_recover() finishes what a killed process left: forward
 * when the rollback marker is absent, backward otherwise. Renames of
 * single files are atomic; between the first and the last rename of a
 * commit (microseconds, no I/O but the renames) a reader opening two
 * files may still see one old and one new: the only cure would be
 * symlinked names, which the users' NGINX configurations and bind mounts
 * of these files do not expect.
 *
 * DIR/.lock is held (flock) by the run that owns DIR; it is never
 * removed, so that two runs can never lock two different files.
 */
#ifndef D01_FILES_H
#define D01_FILES_H

#include <stddef.h>

#include "core/err.h"
#include "core/file.h"

/* At most this many files in one set. */
#define D01_FILES_MAX 8

/* One file of a set; all pointers borrowed. */
struct d01_file_out {
	const char *name; /* file name inside the directory: no '/', no
			     leading '.' (dot names belong to the journal) */
	const void *data;
	size_t len;
	int mode; /* permission bits, e.g. 0600 or 0644 */
};

/*
 * Write `path` atomically with permission `mode` (applied before any byte
 * is written, so a private key is never readable by others).
 */
enum d01_err d01_file_write_atomic(const char *path, const void *data,
    size_t len, int mode, struct d01_error *err);

/*
 * Lock `dir` for this process: open (creating it 0600) DIR/.lock and take
 * an exclusive flock without waiting. *fd receives the descriptor; close
 * it to unlock (exit does too). D01_E_CONFLICT when another process (or
 * another descriptor of this one) holds it.
 */
enum d01_err d01_files_lock(const char *dir, int *fd, struct d01_error *err);

/*
 * Can a set with these names be committed in `dir`? Creates and removes
 * the journal directory (so an unwritable or read-only DIR fails here),
 * and checks that each existing NAME is a regular file or a symlink that
 * can be hard-linked (an immutable file or a bind-mounted one cannot).
 * Nothing in DIR changes. Call it under the lock, after recovery.
 */
enum d01_err d01_files_check(
    const char *dir, const char *const *names, size_t n, struct d01_error *err);

enum d01_files_recovery {
	D01_FILES_CLEAN = 0,	  /* no interrupted commit */
	D01_FILES_DISCARDED,	  /* one before its commit point: dropped */
	D01_FILES_ROLLED_FORWARD, /* one after it: completed */
	D01_FILES_ROLLED_BACK,	  /* one being undone: the old set is back */
};

/*
 * Finish an interrupted commit in `dir` (see above); *what (may be NULL)
 * says what was done. Fails, leaving the journal for the next attempt,
 * when the set cannot be made whole. Call it under the lock.
 */
enum d01_err d01_files_recover(
    const char *dir, enum d01_files_recovery *what, struct d01_error *err);

/*
 * Replace the set in `dir` with `files`, all or nothing (recovering a
 * previous interrupted commit first). On failure the previous set is in
 * place, byte for byte, and no journal is left behind, except when even
 * the rollback failed: then the message says so and the journal stays
 * for d01_files_recover().
 */
enum d01_err d01_files_commit(const char *dir, const struct d01_file_out *files,
    size_t n, struct d01_error *err);

/*
 * For tests only: in the next commit, rename number `fail_at` (0-based,
 * -1: none) fails with EIO; or, with `crash_at` >= 0, the commit stops
 * after that many renames and returns D01_E_INTERNAL leaving the journal
 * as a killed process would. Both disarm after one commit.
 */
void d01_files_test_hook(int fail_at, int crash_at);

#endif
