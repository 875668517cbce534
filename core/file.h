/* SPDX-License-Identifier: ISC */
/*
 * Reading whole small files (keys, certificates, kubeconfigs, tokens) at
 * start-up or on a timer; regular files only, bounded. A read of a local
 * file is the one blocking call dns01 allows itself on the loop: these
 * live on tmpfs or the root filesystem and are a few KiB.
 */
#ifndef D01_FILE_H
#define D01_FILE_H

#include <stddef.h>

#include "core/err.h"

/*
 * Read a whole file of at most `max` bytes into a new NUL-terminated buffer
 * (*out, caller frees; *len excludes the NUL). D01_E_NOTFOUND when it does
 * not exist, D01_E_LIMIT when it is larger than `max`.
 */
enum d01_err d01_file_read(const char *path, size_t max, char **out,
    size_t *len, struct d01_error *err);

#endif
