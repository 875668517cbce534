/* SPDX-License-Identifier: ISC */
/*
 * Test-only LD_PRELOAD shim: while the file named by $D01_FAILMALLOC_FILE
 * exists, malloc, calloc and realloc fail with ENOMEM, as they do once
 * `ulimit -v` is exhausted. A test switches failure on and off by creating
 * and removing the file, so start-up and the TLS handshake it needs are
 * unaffected. glibc only (it forwards to __libc_malloc and friends, so
 * that looking the real functions up cannot itself allocate); never under
 * ASan or valgrind, which replace malloc themselves.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);

/* The file is looked at every CHECK_NS at most: a stat() per allocation
 * would slow the server down more than a test can afford. */
#define CHECK_NS 2000000L

static _Atomic long next_check_ns;
static atomic_int failing;

static long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int
should_fail(void)
{
	const char *path;
	struct stat st;
	long now = now_ns();
	int saved = errno;

	if (now >= atomic_load(&next_check_ns)) {
		atomic_store(&next_check_ns, now + CHECK_NS);
		path = getenv("D01_FAILMALLOC_FILE");
		atomic_store(&failing, path != NULL && stat(path, &st) == 0);
		errno = saved;
	}
	if (!atomic_load(&failing))
		return 0;
	errno = ENOMEM;
	return 1;
}

void *
malloc(size_t n)
{
	return should_fail() ? NULL : __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	/* realloc(p, 0) frees: nothing to fail. */
	return n != 0 && should_fail() ? NULL : __libc_realloc(p, n);
}
