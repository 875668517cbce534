/* SPDX-License-Identifier: ISC */
/*
 * An LD_PRELOAD shim for integration/test_store_sqlite.py: while the
 * file named by $D01_SLOWSYNC_FILE exists, fsync and fdatasync sleep
 * $D01_SLOWSYNC_MS before doing their work, a disk that takes that long
 * to make a write durable (start-up, before the file exists, is not
 * slowed). The SQLite store must keep
 * such waits on its worker thread, off the event loop that answers DNS.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
nap(void)
{
	const char *v = getenv("D01_SLOWSYNC_MS");
	const char *f = getenv("D01_SLOWSYNC_FILE");
	long ms = v != NULL ? atol(v) : 0;
	struct timespec ts;
	struct stat st;

	if (ms <= 0 || f == NULL || stat(f, &st) != 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

int
fsync(int fd)
{
	int (*real)(int);

	*(void **)&real = dlsym(RTLD_NEXT, "fsync"); /* POSIX's own idiom */

	nap();
	return real(fd);
}

int
fdatasync(int fd)
{
	int (*real)(int);

	*(void **)&real = dlsym(RTLD_NEXT, "fdatasync");

	nap();
	return real(fd);
}
