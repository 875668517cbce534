/* SPDX-License-Identifier: ISC */
/*
 * Deploy hooks (issuer/hook.c) on a real event loop: the exit status and
 * the environment reach the callback, a hook past its timeout is killed
 * with everything it started (its process group), and its output is
 * logged within the bound (D01_HOOK_LOG_LINES lines, then one line
 * saying the rest was not logged). The log goes to stderr, which the
 * output test points at a file for the length of one hook.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "harness.h"
#include "issuer/hook.h"

struct outcome {
	struct event_base *base;
	struct d01_error err;
	int done;
};

static void
hook_cb(void *arg, const struct d01_error *err)
{
	struct outcome *o = arg;

	o->err = *err;
	o->done++;
	event_base_loopexit(o->base, NULL);
}

/* Run one hook to its end (at most `limit_s` seconds of loop). */
static int
run_hook(
    const char *cmd, const char *const *env, long timeout_ms, struct outcome *o)
{
	struct d01_hooks *h = NULL;
	struct d01_error err;
	struct timeval limit = {30, 0};
	int rc = -1;

	d01_error_clear(&err);
	memset(o, 0, sizeof(*o));
	if ((o->base = event_base_new()) == NULL ||
	    (h = d01_hooks_new(o->base, &err)) == NULL)
		goto out;
	if (d01_hook_start(
		h, cmd, env, "/tmp/out", timeout_ms, hook_cb, o, &err) == NULL)
		goto out;
	event_base_loopexit(o->base, &limit);
	event_base_dispatch(o->base);
	rc = o->done == 1 ? 0 : -1;
out:
	d01_hooks_free(h);
	if (o->base != NULL)
		event_base_free(o->base);
	return rc;
}

static void
t_exit_status_and_environment(void)
{
	const char *env[] = {"DNS01_NAMES=a.test b.test", "DNS01_OUT=/x", NULL};
	struct outcome o;

	CHECK_INT(run_hook("test \"$DNS01_NAMES\" = 'a.test b.test' && "
			   "test \"$DNS01_OUT\" = /x",
		      env, 10000, &o),
	    ==, 0);
	CHECK_INT(o.err.code, ==, D01_OK);
	CHECK_INT(run_hook("exit 7", env, 10000, &o), ==, 0);
	CHECK_INT(o.err.code, ==, D01_E_UPSTREAM);
	CHECK(strstr(o.err.msg, "status 7") != NULL);
end:;
}

static int
alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

/* The hook starts a grandchild that would outlive `sh`; at the timeout
 * both go (the process group is killed), and the callback says timeout. */
static void
t_timeout_kills_the_group(void)
{
	char dir[] = "/tmp/d01hookXXXXXX", path[64], cmd[256];
	const char *env[] = {NULL};
	struct outcome o;
	struct timespec t0, t1;
	FILE *f = NULL;
	long pid = 0;
	int i;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/pid", dir);
	snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! > %s; wait", path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(run_hook(cmd, env, 300, &o), ==, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_INT(o.err.code, ==, D01_E_TIMEOUT);
	/* Generous: cut off at 0.3 s, far before the 60 s sleep. */
	CHECK_INT(t1.tv_sec - t0.tv_sec, <, 20);
	CHECK((f = fopen(path, "r")) != NULL);
	CHECK_INT(fscanf(f, "%ld", &pid), ==, 1);
	CHECK_INT(pid, >, 1);
	/* SIGKILL is delivered at once; the zombie is the init's to reap. */
	for (i = 0; i < 200 && alive((pid_t)pid); i++)
		usleep(10000);
	if (alive((pid_t)pid)) {
		/* A zombie still answers kill(0): look at its state. */
		char st[64], line[256];
		FILE *s;

		snprintf(st, sizeof(st), "/proc/%ld/stat", pid);
		s = fopen(st, "r");
		CHECK(s == NULL ||
		    (fgets(line, sizeof(line), s) != NULL &&
			strstr(line, ") Z ") != NULL));
		if (s != NULL)
			fclose(s);
	}
end:
	if (f != NULL)
		fclose(f);
	unlink(path);
	rmdir(dir);
}

/* 1000 lines of output: D01_HOOK_LOG_LINES are logged, then one line
 * saying the rest was not, and nothing more. */
static void
t_output_bounded(void)
{
	char tmpl[] = "/tmp/d01hooklogXXXXXX", line[4096];
	const char *env[] = {NULL};
	struct outcome o;
	int fd = -1, saved = -1, lines = 0, more = 0;
	FILE *f = NULL;

	CHECK((fd = mkstemp(tmpl)) >= 0);
	fflush(stderr);
	CHECK((saved = dup(2)) >= 0);
	CHECK(dup2(fd, 2) == 2);
	d01_log_set_level(D01_LOG_INFO);
	run_hook("i=0; while [ $i -lt 1000 ]; do echo line $i; i=$((i+1)); "
		 "done",
	    env, 10000, &o);
	fflush(stderr);
	dup2(saved, 2);
	CHECK_INT(o.err.code, ==, D01_OK);
	CHECK((f = fopen(tmpl, "r")) != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "deploy_hook") == NULL)
			continue;
		if (strstr(line, "more lines not logged") != NULL)
			more++;
		else if (strstr(line, "output=") != NULL)
			lines++;
	}
	CHECK_INT(lines, ==, D01_HOOK_LOG_LINES);
	CHECK_INT(more, ==, 1);
end:
	if (saved >= 0)
		close(saved);
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	unlink(tmpl);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(t_exit_status_and_environment);
	RUN(t_timeout_kills_the_group);
	RUN(t_output_bounded);
	return harness_done();
}
