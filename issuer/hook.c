/* SPDX-License-Identifier: ISC */
/* Deploy hooks: fork/exec from the loop, exits collected on SIGCHLD. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "issuer/hook.h"

extern char **environ;

/* Variables a hook gets on top of the process environment. */
#define HOOK_ENV_MAX 16

struct d01_hook {
	struct d01_hooks *owner;
	struct d01_hook *next;
	pid_t pid;
	int fd; /* read end of the output pipe; -1 once at EOF */
	struct event *rd, *timer;
	char label[256];
	char line[D01_HOOK_LINE_MAX];
	size_t len;
	unsigned lines;
	int timed_out;
	long timeout_ms;
	d01_hook_cb cb;
	void *arg;
};

struct d01_hooks {
	struct event_base *base;
	struct event *sigchld;
	struct d01_hook *running;
	unsigned n;
};

static void
log_line(struct d01_hook *k)
{
	char ql[300], qt[D01_HOOK_LINE_MAX + 64];

	if (k->len == 0)
		return;
	if (k->lines < D01_HOOK_LOG_LINES)
		d01_log(D01_LOG_INFO, "deploy_hook", "out=%s output=%s",
		    d01_log_quote(ql, sizeof(ql), k->label),
		    d01_log_quote(qt, sizeof(qt), k->line));
	else if (k->lines == D01_HOOK_LOG_LINES)
		d01_log(D01_LOG_WARN, "deploy_hook",
		    "out=%s output=\"(more lines not logged)\"",
		    d01_log_quote(ql, sizeof(ql), k->label));
	k->lines++;
	k->len = 0;
}

/* Read what is there; 1 at EOF or error (the pipe is then closed). */
static int
drain(struct d01_hook *k)
{
	char buf[4096];
	ssize_t n, i;

	while (k->fd >= 0) {
		n = read(k->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				log_line(k);
			} else if (k->len < sizeof(k->line) - 1) {
				k->line[k->len++] = buf[i];
				k->line[k->len] = '\0';
			}
		}
	}
	log_line(k);
	if (k->rd != NULL)
		event_del(k->rd);
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	return 1;
}

static void
on_output(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain(arg);
}

static void
hook_free(struct d01_hook *k)
{
	if (k->rd != NULL)
		event_free(k->rd);
	if (k->timer != NULL)
		event_free(k->timer);
	if (k->fd >= 0)
		close(k->fd);
	free(k);
}

static void
unlink_hook(struct d01_hook *k)
{
	struct d01_hook **pp;

	for (pp = &k->owner->running; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == k) {
			*pp = k->next;
			k->owner->n--;
			return;
		}
	}
}

/* The child is gone: finish the output, report, free. */
static void
reaped(struct d01_hook *k, int status)
{
	struct d01_error err;
	d01_hook_cb cb = k->cb;
	void *arg = k->arg;

	d01_error_clear(&err);
	drain(k); /* what a grandchild still writes is not waited for */
	if (k->timed_out)
		d01_error_set(&err, D01_E_TIMEOUT,
		    "deploy hook timed out after %ld s (killed)",
		    k->timeout_ms / 1000);
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		d01_error_set(&err, D01_E_UPSTREAM,
		    "deploy hook exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		d01_error_set(&err, D01_E_UPSTREAM,
		    "deploy hook killed by signal %d", WTERMSIG(status));
	unlink_hook(k);
	hook_free(k);
	cb(arg, &err);
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct d01_hooks *h = arg;
	struct d01_hook *k, *next;
	int status;
	pid_t r;

	(void)sig;
	(void)what;
	/* Signals merge: look at every child of ours. */
	for (k = h->running; k != NULL; k = next) {
		next = k->next;
		r = waitpid(k->pid, &status, WNOHANG);
		if (r == k->pid)
			reaped(k, status);
	}
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct d01_hook *k = arg;

	(void)fd;
	(void)what;
	k->timed_out = 1;
	kill(-k->pid, SIGKILL); /* its whole process group */
	kill(k->pid, SIGKILL);
}

struct d01_hooks *
d01_hooks_new(struct event_base *base, struct d01_error *err)
{
	struct d01_hooks *h = calloc(1, sizeof(*h));

	if (h == NULL ||
	    (h->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, h)) == NULL ||
	    evsignal_add(h->sigchld, NULL) != 0) {
		d01_hooks_free(h);
		d01_error_set(err, D01_E_NOMEM, "cannot watch deploy hooks");
		return NULL;
	}
	h->base = base;
	return h;
}

void
d01_hooks_free(struct d01_hooks *h)
{
	struct d01_hook *k;
	int status;

	if (h == NULL)
		return;
	while ((k = h->running) != NULL) {
		h->running = k->next;
		kill(-k->pid, SIGKILL);
		kill(k->pid, SIGKILL);
		/* After the loop: nothing else to wait for. */
		while (waitpid(k->pid, &status, 0) < 0 && errno == EINTR)
			;
		hook_free(k);
	}
	if (h->sigchld != NULL)
		event_free(h->sigchld);
	free(h);
}

unsigned
d01_hooks_running(const struct d01_hooks *h)
{
	return h != NULL ? h->n : 0;
}

/* environ with `add` in front, same names dropped; NULL-terminated, the
 * strings borrowed. Built before fork: the child may not allocate. */
static char **
child_env(const char *const *add)
{
	size_t n = 0, na = 0, i, j, k = 0, len;
	char **e;
	int dup;

	while (environ != NULL && environ[n] != NULL)
		n++;
	while (add[na] != NULL && na < HOOK_ENV_MAX)
		na++;
	if ((e = calloc(n + na + 1, sizeof(*e))) == NULL)
		return NULL;
	for (j = 0; j < na; j++)
		e[k++] = (char *)add[j];
	for (i = 0; i < n; i++) {
		for (dup = 0, j = 0; j < na && !dup; j++) {
			len = strcspn(add[j], "=");
			dup = strncmp(environ[i], add[j], len) == 0 &&
			    environ[i][len] == '=';
		}
		if (!dup)
			e[k++] = environ[i];
	}
	return e;
}

/* In the child: only async-signal-safe calls until exec. */
static void
child(const char *cmd, char **envp, int out, int maxfd)
{
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	int fd, null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(126);
	/* The loop's sockets and the lock on --out are not the hook's. */
	for (fd = 3; fd < maxfd; fd++)
		close(fd);
	execve("/bin/sh", argv, envp);
	_exit(127);
}

struct d01_hook *
d01_hook_start(struct d01_hooks *h, const char *cmd, const char *const *env,
    const char *label, long timeout_ms, d01_hook_cb cb, void *arg,
    struct d01_error *err)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	struct d01_hook *k = calloc(1, sizeof(*k));
	char **envp = child_env(env);
	long maxfd = sysconf(_SC_OPEN_MAX);
	int p[2] = {-1, -1};

	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	if (k == NULL || envp == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	k->owner = h;
	k->fd = -1;
	k->cb = cb;
	k->arg = arg;
	k->timeout_ms = timeout_ms;
	snprintf(k->label, sizeof(k->label), "%s", label);
	if (pipe(p) != 0 || fcntl(p[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) != 0) {
		d01_error_set(err, D01_E_INTERNAL, "deploy hook: pipe: %s",
		    strerror(errno));
		goto fail;
	}
	k->fd = p[0];
	if ((k->rd = event_new(
		 h->base, k->fd, EV_READ | EV_PERSIST, on_output, k)) == NULL ||
	    (k->timer = evtimer_new(h->base, on_timeout, k)) == NULL ||
	    event_add(k->rd, NULL) != 0) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	if ((k->pid = fork()) < 0) {
		d01_error_set(err, D01_E_INTERNAL, "deploy hook: fork: %s",
		    strerror(errno));
		goto fail;
	}
	if (k->pid == 0)
		child(cmd, envp, p[1], (int)maxfd);
	setpgid(k->pid, k->pid); /* either side may win the race */
	close(p[1]);
	free(envp);
	evtimer_add(k->timer, &tv);
	k->next = h->running;
	h->running = k;
	h->n++;
	return k;
fail:
	if (p[1] >= 0)
		close(p[1]);
	if (k != NULL)
		hook_free(k);
	else if (p[0] >= 0)
		close(p[0]);
	free(envp);
	return NULL;
}
