/* SPDX-License-Identifier: ISC */
/*
 * Deploy hooks: `/bin/sh -c CMD` run from the event loop after a
 * certificate's new files are committed (`--deploy-hook`, `deploy_hook`
 * in a renew file). The loop never waits on a hook: the child is forked
 * with its stdout and stderr on a pipe the loop reads (each line logged,
 * bounded), its exit is collected on SIGCHLD (a libevent signal event,
 * waitpid WNOHANG), and a timer kills its process group when it runs
 * past its timeout. Start returns a handle, or NULL with err; the
 * callback runs once, from the loop (docs/DESIGN.md,
 * "The async call shape").
 *
 * Ownership: the runner belongs to whoever runs the loop and is freed
 * after it; freeing it kills (SIGKILL to the process group) and reaps
 * every hook still running, silently.
 */
#ifndef D01_ISSUER_HOOK_H
#define D01_ISSUER_HOOK_H

#include "core/err.h"

struct event_base;
struct d01_hooks;
struct d01_hook;

/* The default time a deploy hook may run before its group is killed. */
#define D01_HOOK_TIMEOUT_MS (5 * 60 * 1000)
/* Output logged per hook: lines, and bytes per line (the rest is cut). */
#define D01_HOOK_LOG_LINES 200
#define D01_HOOK_LINE_MAX  1024

struct d01_hooks *d01_hooks_new(struct event_base *base, struct d01_error *err);
void d01_hooks_free(struct d01_hooks *h);

/*
 * err OK when the hook exited 0; otherwise D01_E_UPSTREAM "exited with
 * status N" / "killed by signal N", or D01_E_TIMEOUT.
 */
typedef void (*d01_hook_cb)(void *arg, const struct d01_error *err);

/*
 * Run `cmd` with the process environment plus `env` ("NAME=value"
 * strings, NULL-terminated, replacing variables of the same name);
 * `label` names it in the log (the out directory). Strings are copied.
 */
struct d01_hook *d01_hook_start(struct d01_hooks *h, const char *cmd,
    const char *const *env, const char *label, long timeout_ms, d01_hook_cb cb,
    void *arg, struct d01_error *err);

/* Running hooks (those whose callback has not run yet). */
unsigned d01_hooks_running(const struct d01_hooks *h);

#endif
