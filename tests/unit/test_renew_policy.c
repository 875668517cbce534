/* SPDX-License-Identifier: ISC */
/*
 * The renewal policy across lifetimes (issuer/renew.h): 6-day (Let's
 * Encrypt's shortlived profile), 45-day and 90-day certificates, with and
 * without an ARI window; --renew-before absolute and as a percentage; the
 * per-certificate jitter stays inside its window and is the same on every
 * run. No real time: `now` is an input.
 */
#include <string.h>

#include "harness.h"
#include "issuer/renew.h"

#define DAY  86400L
#define HOUR 3600L
static const time_t NB = 1780000000; /* notBefore of every certificate */

static char name0[] = "www.example.test";
static char *names[] = {name0};
static const char *const want[] = {"www.example.test"};

static void
cert(struct d01_cert_info *ci, long life_days, const char *serial)
{
	memset(ci, 0, sizeof(*ci));
	ci->not_before = NB;
	ci->not_after = NB + life_days * DAY;
	ci->names = names;
	ci->nnames = 1;
	snprintf(ci->ari_id, sizeof(ci->ari_id), "aki.%s", serial);
}

static struct d01_renew_decision
at(const struct d01_cert_info *ci, time_t now, long rb, int pct,
    const struct d01_ari_window *ari, double pick)
{
	struct d01_renew_input in = {0};
	struct d01_renew_decision d;

	in.cert = ci;
	in.names = want;
	in.nnames = 1;
	in.now = now;
	in.renew_before = rb;
	in.renew_pct = pct;
	in.ari = ari;
	in.pick = pick;
	d01_renew_decide(&in, &d);
	return d;
}

/* Default (no ARI): renew when less than a third of the lifetime is
 * left, never on the run right after issuance. */
static void
t_third_of_lifetime(void)
{
	static const long lives[] = {6, 45, 90};
	struct d01_cert_info ci;
	struct d01_renew_decision d;
	time_t third;
	size_t i;

	for (i = 0; i < 3; i++) {
		cert(&ci, lives[i], "01");
		third = ci.not_after - lives[i] * DAY / 3;
		/* Twelve hours after issuance: a twice-a-day timer's next
		 * run (a 6-day certificate used to be re-issued here with
		 * a 30-day --renew-before). */
		d = at(&ci, NB + 12 * HOUR, -1, 0, NULL, 0);
		CHECK(!d.due && d.why == D01_RENEW_NOT_DUE);
		CHECK_INT(d.when, ==, third);
		d = at(&ci, third - 1, -1, 0, NULL, 0);
		CHECK(!d.due);
		d = at(&ci, third, -1, 0, NULL, 0);
		CHECK(d.due && d.why == D01_RENEW_EXPIRING);
		/* Expired: due whatever the policy. */
		d = at(&ci, ci.not_after + 1, 0, 0, NULL, 0);
		CHECK(d.due);
	}
end:;
}

/* --renew-before overrides: absolute, and as a percentage. */
static void
t_renew_before(void)
{
	struct d01_cert_info ci;
	struct d01_renew_decision d;

	cert(&ci, 90, "02");
	d = at(&ci, NB, 30 * DAY, 0, NULL, 0); /* 30d of a 90d: at day 60 */
	CHECK_INT(d.when, ==, NB + 60 * DAY);
	d = at(&ci, NB, -1, 10, NULL, 0); /* 10% of 90d: day 81 */
	CHECK_INT(d.when, ==, NB + 81 * DAY);
	d = at(&ci, NB + 81 * DAY, -1, 10, NULL, 0);
	CHECK(d.due);
	cert(&ci, 6, "03");
	d = at(&ci, NB, -1, 50, NULL, 0); /* half of 6 days */
	CHECK_INT(d.when, ==, NB + 3 * DAY);
	/* A 30-day absolute renew-before on a 6-day certificate: due at
	 * once (what the operator asked for). */
	d = at(&ci, NB + HOUR, 30 * DAY, 0, NULL, 0);
	CHECK(d.due);
	cert(&ci, 45, "04");
	d = at(&ci, NB, -1, 33, NULL, 0);
	CHECK_INT(d.when, ==, ci.not_after - (time_t)(45 * DAY * 0.33));
end:;
}

/* With ARI the CA's window decides, for every lifetime. */
static void
t_ari(void)
{
	static const long lives[] = {6, 45, 90};
	struct d01_cert_info ci;
	struct d01_ari_window w;
	struct d01_renew_decision d;
	size_t i;

	for (i = 0; i < 3; i++) {
		cert(&ci, lives[i], "05");
		memset(&w, 0, sizeof(w));
		/* A window in the middle of the lifetime, an hour long. */
		w.start = NB + lives[i] * DAY / 2;
		w.end = w.start + HOUR;
		d = at(&ci, w.start - 1, -1, 0, &w, 0);
		CHECK(!d.due && d.why == D01_RENEW_ARI_NOT_DUE);
		d = at(&ci, w.end, -1, 0, &w, 0.999);
		CHECK(d.due && d.why == D01_RENEW_ARI);
		/* The window beats the third-of-lifetime default both ways
		 * (early: revocation pending; late: the CA's choice). */
		w.start = NB + HOUR;
		w.end = NB + 2 * HOUR;
		d = at(&ci, NB + 2 * HOUR, -1, 0, &w, 0.5);
		CHECK(d.due && d.why == D01_RENEW_ARI);
		w.start = ci.not_after - HOUR;
		w.end = ci.not_after - 1;
		d = at(&ci, ci.not_after - 2 * HOUR, -1, 0, &w, 0.5);
		CHECK(!d.due);
	}
end:;
}

/* The jitter: inside its window for every pick; fixed per certificate;
 * spread across certificates. */
static void
t_jitter(void)
{
	struct d01_cert_info ci, other;
	struct d01_ari_window w = {0};
	struct d01_renew_decision d;
	double p, q, lo = 1, hi = 0;
	char serial[16];
	time_t third;
	int i, k;

	static const long lives[] = {6, 45, 90};
	for (k = 0; k < 3; k++) {
		for (i = 0; i < 1000; i++) {
			snprintf(serial, sizeof(serial), "%04x", i);
			cert(&ci, lives[k], serial);
			p = d01_renew_pick(&ci);
			CHECK(p >= 0 && p < 1);
			if (p < lo)
				lo = p;
			if (p > hi)
				hi = p;
			/* Without ARI: the tenth of the span before the
			 * threshold, never past it. */
			third = ci.not_after - lives[k] * DAY / 3;
			d = at(&ci, NB, -1, 0, NULL, p);
			CHECK(d.when <= third &&
			    d.when >= third - lives[k] * DAY / 30);
			/* With ARI: inside [start, end]. */
			w.start = NB + DAY;
			w.end = w.start + 7 * HOUR;
			d = at(&ci, NB, -1, 0, &w, p);
			CHECK(d.when >= w.start && d.when <= w.end);
		}
	}
	/* 1000 certificates spread over (nearly) the whole window. */
	CHECK(lo < 0.01 && hi > 0.99);
	/* Deterministic: the same certificate, the same pick, every run. */
	cert(&ci, 90, "beef");
	cert(&other, 90, "beef");
	p = d01_renew_pick(&ci);
	q = d01_renew_pick(&other);
	CHECK(p == q);
	cert(&other, 90, "bee0");
	CHECK(d01_renew_pick(&other) != p);
	CHECK(d01_renew_pick(NULL) == 0);
end:;
}

int
main(void)
{
	RUN(t_third_of_lifetime);
	RUN(t_renew_before);
	RUN(t_ari);
	RUN(t_jitter);
	return harness_done();
}
