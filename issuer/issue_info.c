/* SPDX-License-Identifier: ISC */
/*
 * `dns01 issue --list-profiles` (issue.h): one unauthenticated GET of the
 * directory on a loop of its own, then meta.profiles printed. Nothing is
 * signed and no account is needed.
 */
#include <stdio.h>

#include <event2/event.h>

#include "issuer/acme_http.h"
#include "issuer/directory.h"
#include "issuer/issue.h"

struct info {
	struct d01_acme_dir dir;
	struct d01_error err;
	int parsed;
};

static void
dir_done(void *arg, const struct d01_error *err, const struct d01_acme_reply *r)
{
	struct info *in = arg;

	if (err->code != D01_OK)
		in->err = *err;
	else if (r->status != 200)
		d01_error_set(&in->err, D01_E_UPSTREAM, "HTTP %ld", r->status);
	else if (d01_acme_dir_parse(r->body, r->len, &in->dir, &in->err) ==
	    D01_OK)
		in->parsed = 1;
}

enum d01_issue_status
d01_issue_list_profiles(const char *directory, const char *ca_bundle)
{
	struct event_base *base = event_base_new();
	struct d01_acme_http *http = NULL;
	struct d01_acme_xfer *x;
	struct info in = {.parsed = 0};
	enum d01_issue_status rc = D01_ISSUE_FAILED;
	size_t i;

	d01_error_clear(&in.err);
	if (base == NULL) {
		d01_error_set(&in.err, D01_E_NOMEM, "cannot make a loop");
		goto out;
	}
	if ((http = d01_acme_http_new(base, ca_bundle, &in.err)) == NULL)
		goto out;
	/* The transfer has its own bound (issuer/acme_http.h). */
	x = d01_acme_http_start(
	    http, "GET", directory, NULL, 0, dir_done, &in, &in.err);
	if (x == NULL)
		goto out;
	event_base_dispatch(base);
	if (!in.parsed)
		goto out;
	if (in.dir.nprofiles == 0)
		printf("%s offers no profiles\n", directory);
	for (i = 0; i < in.dir.nprofiles; i++)
		printf(
		    "%-16s %s\n", in.dir.profiles[i], in.dir.profile_desc[i]);
	rc = D01_ISSUE_DONE;
out:
	if (rc != D01_ISSUE_DONE)
		fprintf(stderr, "dns01 issue: directory %s: %s\n", directory,
		    in.err.code ? in.err.msg : "no reply");
	d01_acme_dir_clear(&in.dir);
	d01_acme_http_free(http);
	if (base != NULL)
		event_base_free(base);
	return rc;
}
