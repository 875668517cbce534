/* SPDX-License-Identifier: ISC */
/*
 * SigV4 against the AWS SigV4 test suite (aws-c-auth's copy, read from
 * ../shared/testdata/sigv4 at run time; the test skips, exit 77, when it is
 * absent): canonical request, string to sign and Authorization header must
 * match for every header-signing case.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/sigv4.h"
#include "harness.h"

static char *
slurp(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if ((buf = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

struct request {
	char method[16], path[1024], query[1024];
	struct d01_sigv4_header h[32];
	size_t nh;
	char values[32][512];
	const char *body;
};

/* Parse request.txt: request line, Name:value lines (continuation lines
 * start with whitespace), blank line, body. Modifies `text`. */
static int
parse_request(char *text, struct request *r)
{
	char *line, *save = NULL, *target, *q, *colon;

	memset(r, 0, sizeof(*r));
	r->body = "";
	if ((line = strtok_r(text, "\n", &save)) == NULL ||
	    sscanf(line, "%15s", r->method) != 1 ||
	    (target = strchr(line, ' ')) == NULL)
		return -1;
	target++;
	*strrchr(target, ' ') = '\0'; /* drop " HTTP/1.1" */
	if ((q = strchr(target, '?')) != NULL)
		*q++ = '\0';
	snprintf(r->path, sizeof(r->path), "%s", target);
	snprintf(r->query, sizeof(r->query), "%s", q ? q : "");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		if ((line[0] == ' ' || line[0] == '\t') && r->nh > 0) {
			strncat(r->values[r->nh - 1], " ",
			    sizeof(r->values[0]) - 1 -
				strlen(r->values[r->nh - 1]));
			strncat(r->values[r->nh - 1], line,
			    sizeof(r->values[0]) - 1 -
				strlen(r->values[r->nh - 1]));
			continue;
		}
		if ((colon = strchr(line, ':')) == NULL || r->nh == 32) {
			r->body = line; /* strtok skipped the blank line */
			break;
		}
		*colon = '\0';
		r->h[r->nh].name = line;
		snprintf(
		    r->values[r->nh], sizeof(r->values[0]), "%s", colon + 1);
		r->nh++;
	}
	for (size_t i = 0; i < r->nh; i++)
		r->h[i].value = r->values[i];
	return 0;
}

/* One case; returns 1 passed, 0 failed. */
static int
run_case(const char *dir, const char *name)
{
	char cdir[4200], *ctx_text = NULL, *req_text = NULL, *creq = NULL,
			 *sts = NULL, *signed_req = NULL, *auth;
	struct d01_sigv4_input in = {0};
	struct d01_sigv4_output out = {0};
	struct request r;
	json_t *ctx = NULL, *cred;
	struct tm tm = {0};
	int ok = 0;

	if (snprintf(cdir, sizeof(cdir), "%.3800s/%.255s", dir, name) < 0)
		return 0;
	ctx_text = slurp(cdir, "context.json");
	req_text = slurp(cdir, "request.txt");
	creq = slurp(cdir, "header-canonical-request.txt");
	sts = slurp(cdir, "header-string-to-sign.txt");
	signed_req = slurp(cdir, "header-signed-request.txt");
	if (!ctx_text || !req_text || !creq || !sts || !signed_req ||
	    (ctx = json_loads(ctx_text, 0, NULL)) == NULL ||
	    parse_request(req_text, &r) != 0)
		goto out;
	cred = json_object_get(ctx, "credentials");
	if (sscanf(json_string_value(json_object_get(ctx, "timestamp")),
		"%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		&tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		goto out;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	in.method = r.method;
	in.path = r.path;
	in.query = r.query;
	in.headers = r.h;
	in.nheaders = r.nh;
	in.payload = (const uint8_t *)r.body;
	in.payload_len = strlen(r.body);
	in.region = json_string_value(json_object_get(ctx, "region"));
	in.service = json_string_value(json_object_get(ctx, "service"));
	in.access_key =
	    json_string_value(json_object_get(cred, "access_key_id"));
	in.secret_key =
	    json_string_value(json_object_get(cred, "secret_access_key"));
	in.session_token = json_string_value(json_object_get(cred, "token"));
	in.when = timegm(&tm);
	in.normalize = json_is_true(json_object_get(ctx, "normalize"));
	in.sign_body = json_is_true(json_object_get(ctx, "sign_body"));
	in.unsigned_token =
	    json_is_true(json_object_get(ctx, "omit_session_token"));
	if (d01_sigv4_sign(&in, &out, NULL) != D01_OK)
		goto out;
	auth = strstr(signed_req, "Authorization:");
	ok = strcmp(out.canonical_request, creq) == 0 &&
	    strcmp(out.string_to_sign, sts) == 0 && auth != NULL &&
	    strncmp(auth + 14, out.authorization, strlen(out.authorization)) ==
		0;
	if (!ok)
		fprintf(stderr, "  %s:\n--- got\n%s\n--- want\n%s\n", name,
		    out.canonical_request, creq);
out:
	d01_sigv4_output_clear(&out);
	json_decref(ctx);
	free(ctx_text);
	free(req_text);
	free(creq);
	free(sts);
	free(signed_req);
	return ok;
}

static void
t_suite(void)
{
	const char *shared = getenv("DNS01_SHARED");
	char dir[4096];
	DIR *d = NULL;
	struct dirent *de;
	int n = 0, passed = 0;

	snprintf(dir, sizeof(dir), "%s/testdata/sigv4",
	    shared ? shared : "../shared");
	if ((d = opendir(dir)) == NULL)
		SKIP("AWS SigV4 test suite not present");
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".md"))
			continue;
		n++;
		passed += run_case(dir, de->d_name);
	}
	fprintf(stderr, "  %d/%d SigV4 suite cases\n", passed, n);
	CHECK(n >= 30);
	CHECK_INT(passed, ==, n);
end:
	if (d != NULL)
		closedir(d);
}

/* Random requests, signed by us and by botocore, must agree. */
#define NRANDOM 64

static void
rand_token(char *out, size_t n, const char *alphabet)
{
	size_t i, k = strlen(alphabet);

	for (i = 0; i + 1 < n; i++)
		out[i] = alphabet[(size_t)rand() % k];
	out[n - 1] = '\0';
}

static void
t_botocore(void)
{
	static const char unreserved[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJK"
					 "LMNOPQRSTUVWXYZ0123456789-._~";
	static const char *const methods[] = {"GET", "POST", "DELETE", "PUT"};
	char tmpl[] = "/tmp/d01-sigv4-XXXXXX", cmd[512], line[128];
	struct d01_sigv4_output out[NRANDOM];
	json_t *cases = json_array();
	FILE *p = NULL;
	int fd, i, rc, agreed = 0;

	memset(out, 0, sizeof(out));
	srand(20261128);
	CHECK((fd = mkstemp(tmpl)) >= 0);
	close(fd);
	for (i = 0; i < NRANDOM; i++) {
		char seg[3][12], qk[8], qv[10], hv[16], body[40], path[64];
		char query[128], *ek, *ev;
		struct d01_sigv4_header h[3];
		struct d01_sigv4_input in = {0};

		rand_token(seg[0], 1 + (size_t)rand() % 11, unreserved);
		rand_token(seg[1], 1 + (size_t)rand() % 11, unreserved);
		snprintf(path, sizeof(path), "/%s/%s%s", seg[0], seg[1],
		    i % 3 == 0 ? "/" : "");
		rand_token(qk, 1 + (size_t)rand() % 7, "abcXYZ09 %&=/+");
		rand_token(qv, (size_t)rand() % 9 + 1, "abc 09=%/+*:");
		ek = d01_sigv4_uri_encode(qk, strlen(qk), 0);
		ev = d01_sigv4_uri_encode(qv, strlen(qv), 0);
		if (i % 4)
			snprintf(query, sizeof(query), "%s=%s&b=2&a=1", ek, ev);
		else
			query[0] = '\0';
		free(ek);
		free(ev);
		rand_token(hv, 1 + (size_t)rand() % 15, "abc  XYZ09,;");
		rand_token(body, (size_t)rand() % 39 + 1, unreserved);
		h[0] =
		    (struct d01_sigv4_header){"Host", "route53.amazonaws.com"};
		h[1] = (struct d01_sigv4_header){"X-Test-Value", hv};
		h[2] = (struct d01_sigv4_header){"Content-Type", "text/xml"};
		in.method = methods[i % 4];
		in.path = path;
		in.query = query;
		in.headers = h;
		in.nheaders = 3;
		in.payload = (const uint8_t *)body;
		in.payload_len = strlen(body);
		in.region = i % 2 ? "us-east-1" : "eu-west-3";
		in.service = i % 3 ? "route53" : "sts";
		in.access_key = "AKIDEXAMPLE";
		in.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
		in.session_token =
		    i % 5 == 0 ? "FQoGZXIvYXdzEXAMPLE//+=" : NULL;
		in.when = 1795904000 + i * 86413;
		in.normalize = 1;
		CHECK_INT(d01_sigv4_sign(&in, &out[i], NULL), ==, D01_OK);
		json_array_append_new(cases,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?,"
			      " s:s, s:{s:s, s:s}}",
			"method", in.method, "host", h[0].value, "path", path,
			"query", query, "body", body, "service", in.service,
			"region", in.region, "akid", in.access_key, "token",
			in.session_token, "amz_date", out[i].amz_date,
			"headers", h[1].name, hv, h[2].name, h[2].value));
		json_object_set_new(json_array_get(cases, (size_t)i), "secret",
		    json_string(in.secret_key));
	}
	CHECK_INT(json_dump_file(cases, tmpl, 0), ==, 0);
	snprintf(cmd, sizeof(cmd), "python3 %s/tests/unit/sigv4_botocore.py %s",
	    getenv("DNS01_SOURCE") ? getenv("DNS01_SOURCE") : ".", tmpl);
	CHECK((p = popen(cmd, "r")) != NULL);
	for (i = 0; i < NRANDOM && fgets(line, sizeof(line), p) != NULL; i++) {
		line[strcspn(line, "\n")] = '\0';
		if (strstr(out[i].authorization, line) != NULL && line[0])
			agreed++;
		else
			fprintf(stderr,
			    "  case %d: botocore %s\n  ours %s\n%s\n", i, line,
			    out[i].authorization, out[i].canonical_request);
	}
	rc = pclose(p);
	p = NULL;
	CHECK_INT(rc, ==, 0);
	fprintf(stderr, "  %d/%d random requests agree with botocore\n", agreed,
	    NRANDOM);
	CHECK_INT(agreed, ==, NRANDOM);
end:
	if (p != NULL)
		pclose(p);
	for (i = 0; i < NRANDOM; i++)
		d01_sigv4_output_clear(&out[i]);
	json_decref(cases);
	unlink(tmpl);
}

int
main(void)
{
	RUN(t_suite);
	RUN(t_botocore);
	return harness_done();
}
