/* SPDX-License-Identifier: ISC */
/*
 * bcrypt on worker threads (acmedns_api_crypt.h). One mutex guards both
 * queues and every job's state; the workers only ever touch a job they
 * took from the queue, and a job cancelled while a worker runs it is
 * freed by that worker. Results go to the loop one wake-up byte at a
 * time through a non-blocking pipe (a full pipe already holds a byte, so
 * nothing is lost).
 */
#include <crypt.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "server/acmedns_api_crypt.h"

#define MAX_THREADS 8
#define PW_MAX	    128

enum job_state { J_QUEUED, J_RUNNING, J_DONE };

struct d01_adns_job {
	TAILQ_ENTRY(d01_adns_job) link;
	struct d01_adns_crypt *c;
	enum job_state st;
	int verify;    /* else hash */
	int cancelled; /* while running: the worker frees it */
	int ok;
	char pw[PW_MAX];
	char hash[D01_ADNS_HASH_MAX];
	d01_adns_crypt_fn fn;
	void *arg;
};
TAILQ_HEAD(jobq, d01_adns_job);

struct d01_adns_crypt {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct jobq todo, done;
	size_t busy, max; /* queued, running or not yet delivered */
	int stop, cost;
	int fds[2];
	struct event *ev;
	pthread_t tid[MAX_THREADS];
	int nthreads;
};

static void
job_free(struct d01_adns_job *j)
{
	OPENSSL_cleanse(j->pw, sizeof(j->pw));
	OPENSSL_cleanse(j->hash, sizeof(j->hash));
	free(j);
}

/* Run one job with this thread's crypt_data. */
static void
job_run(struct d01_adns_job *j, struct crypt_data *cd, int cost)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *out;
	size_t n;

	memset(cd, 0, sizeof(*cd));
	if (j->verify) {
		out = crypt_r(j->pw, j->hash, cd);
		n = strlen(j->hash);
		j->ok = out != NULL && out[0] != '*' && strlen(out) == n &&
		    CRYPTO_memcmp(out, j->hash, n) == 0;
	} else {
		j->ok = 0;
		/* NULL random bytes: libxcrypt reads the OS's. */
		if (crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, salt,
			(int)sizeof(salt)) != NULL &&
		    (out = crypt_r(j->pw, salt, cd)) != NULL && out[0] != '*' &&
		    strlen(out) < sizeof(j->hash)) {
			strcpy(j->hash, out);
			j->ok = 1;
		}
	}
	OPENSSL_cleanse(cd, sizeof(*cd));
}

static void *
worker(void *arg)
{
	struct d01_adns_crypt *c = arg;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	struct d01_adns_job *j;
	ssize_t wrote;
	char b = 1;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->stop && TAILQ_EMPTY(&c->todo))
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		j = TAILQ_FIRST(&c->todo);
		TAILQ_REMOVE(&c->todo, j, link);
		j->st = J_RUNNING;
		pthread_mutex_unlock(&c->mu);
		if (cd != NULL)
			job_run(j, cd, c->cost);
		else
			j->ok = 0;
		pthread_mutex_lock(&c->mu);
		if (j->cancelled) {
			c->busy--;
			job_free(j);
			continue;
		}
		j->st = J_DONE;
		TAILQ_INSERT_TAIL(&c->done, j, link);
		/* A full pipe already holds a wake-up byte. */
		wrote = write(c->fds[1], &b, 1);
		(void)wrote;
	}
	pthread_mutex_unlock(&c->mu);
	free(cd);
	return NULL;
}

/* On the loop: deliver finished jobs one by one (a callback may cancel
 * another job, which must then not be delivered). */
static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct d01_adns_crypt *c = arg;
	struct d01_adns_job *j;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	for (;;) {
		pthread_mutex_lock(&c->mu);
		if ((j = TAILQ_FIRST(&c->done)) != NULL) {
			TAILQ_REMOVE(&c->done, j, link);
			c->busy--;
		}
		pthread_mutex_unlock(&c->mu);
		if (j == NULL)
			return;
		j->fn(j->arg, j->ok, j->ok && !j->verify ? j->hash : NULL);
		job_free(j);
	}
}

struct d01_adns_crypt *
d01_adns_crypt_new(struct event_base *base, int threads, size_t max_queue,
    int cost, struct d01_error *err)
{
	struct d01_adns_crypt *c = calloc(1, sizeof(*c));
	int i;

	if (c == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	c->fds[0] = c->fds[1] = -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	TAILQ_INIT(&c->todo);
	TAILQ_INIT(&c->done);
	c->max = max_queue;
	c->cost = cost;
	if (threads < 1 || threads > MAX_THREADS || pipe(c->fds) != 0 ||
	    fcntl(c->fds[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(c->fds[1], F_SETFL, O_NONBLOCK) != 0 ||
	    (c->ev = event_new(
		 base, c->fds[0], EV_READ | EV_PERSIST, on_wake, c)) == NULL ||
	    event_add(c->ev, NULL) != 0) {
		d01_error_set(err, D01_E_INTERNAL,
		    "acme-dns API: cannot set up the bcrypt workers");
		goto fail;
	}
	for (i = 0; i < threads; i++) {
		if (pthread_create(&c->tid[i], NULL, worker, c) != 0) {
			d01_error_set(err, D01_E_INTERNAL,
			    "acme-dns API: cannot start a bcrypt worker");
			goto fail;
		}
		c->nthreads++;
	}
	return c;
fail:
	d01_adns_crypt_free(c);
	return NULL;
}

void
d01_adns_crypt_free(struct d01_adns_crypt *c)
{
	struct d01_adns_job *j;
	int i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (i = 0; i < c->nthreads; i++)
		pthread_join(c->tid[i], NULL);
	while ((j = TAILQ_FIRST(&c->todo)) != NULL) {
		TAILQ_REMOVE(&c->todo, j, link);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&c->done)) != NULL) {
		TAILQ_REMOVE(&c->done, j, link);
		job_free(j);
	}
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->fds[0] >= 0)
		close(c->fds[0]);
	if (c->fds[1] >= 0)
		close(c->fds[1]);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static struct d01_adns_job *
submit(struct d01_adns_crypt *c, int verify, const char *pw, const char *hash,
    d01_adns_crypt_fn fn, void *arg)
{
	struct d01_adns_job *j;

	if (strlen(pw) >= PW_MAX ||
	    (hash != NULL && strlen(hash) >= D01_ADNS_HASH_MAX))
		return NULL;
	pthread_mutex_lock(&c->mu);
	if (c->busy >= c->max || (j = calloc(1, sizeof(*j))) == NULL) {
		pthread_mutex_unlock(&c->mu);
		return NULL;
	}
	j->c = c;
	j->verify = verify;
	j->fn = fn;
	j->arg = arg;
	strcpy(j->pw, pw);
	if (hash != NULL)
		strcpy(j->hash, hash);
	j->st = J_QUEUED;
	TAILQ_INSERT_TAIL(&c->todo, j, link);
	c->busy++;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return j;
}

struct d01_adns_job *
d01_adns_crypt_hash(struct d01_adns_crypt *c, const char *password,
    d01_adns_crypt_fn fn, void *arg)
{
	return submit(c, 0, password, NULL, fn, arg);
}

struct d01_adns_job *
d01_adns_crypt_verify(struct d01_adns_crypt *c, const char *password,
    const char *hash, d01_adns_crypt_fn fn, void *arg)
{
	return submit(c, 1, password, hash, fn, arg);
}

void
d01_adns_crypt_cancel(struct d01_adns_job *j)
{
	struct d01_adns_crypt *c;

	if (j == NULL)
		return;
	c = j->c;
	pthread_mutex_lock(&c->mu);
	switch (j->st) {
	case J_QUEUED:
		TAILQ_REMOVE(&c->todo, j, link);
		c->busy--;
		job_free(j);
		break;
	case J_RUNNING:
		j->cancelled = 1; /* the worker frees it */
		break;
	case J_DONE:
		TAILQ_REMOVE(&c->done, j, link);
		c->busy--;
		job_free(j);
		break;
	}
	pthread_mutex_unlock(&c->mu);
}

int
d01_adns_crypt_hash_now(
    const char *password, int cost, char out[D01_ADNS_HASH_MAX])
{
	struct d01_adns_job j = {0};
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	int ok;

	if (cd == NULL || strlen(password) >= PW_MAX) {
		free(cd);
		return -1;
	}
	strcpy(j.pw, password);
	job_run(&j, cd, cost);
	free(cd);
	if ((ok = j.ok))
		memcpy(out, j.hash, D01_ADNS_HASH_MAX);
	OPENSSL_cleanse(&j, sizeof(j));
	return ok ? 0 : -1;
}
