/* SPDX-License-Identifier: ISC */
/*
 * Files that must never be seen half-written: private keys and the
 * certificate set of `dns01 issue --out`. Each file is written to a
 * temporary name in the same directory, fsync'd, then renamed over the
 * target, and the directory is fsync'd. Synchronous: called before the
 * event loop starts or after it has finished, never from a callback.
 */
#ifndef D01_FILES_H
#define D01_FILES_H

#include <stddef.h>

#include "core/err.h"
#include "core/file.h"

/* One file of a set; all pointers borrowed. */
struct d01_file_out {
	const char *name; /* file name inside the directory, no '/' */
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
 * Write every file of `files` into `dir`: all temporaries are written and
 * synced first; only when all of them succeeded are they renamed into
 * place, so a failure to write (disk full, permissions) leaves the
 * previous set untouched and no temporary behind.
 */
enum d01_err d01_files_commit(const char *dir, const struct d01_file_out *files,
    size_t n, struct d01_error *err);

#endif
