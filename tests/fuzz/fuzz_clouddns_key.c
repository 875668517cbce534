/* SPDX-License-Identifier: ISC */
/* Fuzz target: a service-account JSON key (a tenant's Secret, or the
 * operator's GOOGLE_APPLICATION_CREDENTIALS file, which may also be an
 * external_account), the subject token file of an external account, and
 * the replies of the token endpoint, STS and IAM Credentials, all
 * outside input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/clouddns/gcp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 400, 401, 429, 503};
	struct gcp_cred c;
	struct d01_error err;
	char *tok;
	long exp = -1;
	size_t i;

	d01_error_clear(&err);
	if (gcp_cred_parse((const char *)data, size, &c, &err) == D01_OK) {
		if (c.email == NULL || c.key_pem == NULL ||
		    c.token_uri == NULL || c.where == NULL)
			__builtin_trap();
		gcp_cred_free(&c);
	} else if (err.msg[0] == '\0' || c.email != NULL || c.key_pem) {
		__builtin_trap(); /* a failure says why and keeps nothing */
	}
	d01_error_clear(&err);
	if (gcp_adc_parse((const char *)data, size, &c, &err) == D01_OK) {
		if (c.where == NULL || c.token_uri == NULL ||
		    (c.kind == GCP_EXTERNAL &&
			(c.audience == NULL || c.subject_type == NULL ||
			    c.subject_file == NULL ||
			    strncmp(c.token_uri, "https://", 8) != 0)))
			__builtin_trap();
		gcp_cred_free(&c);
	} else if (err.msg[0] == '\0' || c.where != NULL || c.audience) {
		__builtin_trap();
	}
	d01_error_clear(&err);
	tok = gcp_subject_token(
	    (const char *)data, size, size % 2 ? "id_token" : NULL, &err);
	if (tok != NULL) {
		if (strlen(tok) == 0 || strlen(tok) > GCP_SUBJECT_MAX)
			__builtin_trap();
		for (i = 0; tok[i] != '\0'; i++)
			if ((unsigned char)tok[i] < 0x20)
				__builtin_trap(); /* goes into a form body */
		free(tok);
	} else if (err.msg[0] == '\0') {
		__builtin_trap();
	}
	d01_error_clear(&err);
	tok = gcp_iam_reply(statuses[size % 5], (const char *)data, size,
	    1796000000, &exp, &err);
	if (tok != NULL) {
		if (exp <= 0 || exp > 7 * 86400 || strlen(tok) == 0)
			__builtin_trap();
		free(tok);
	} else if (err.msg[0] == '\0') {
		__builtin_trap();
	}
	d01_error_clear(&err);
	tok = gcp_token_reply(
	    statuses[size % 5], (const char *)data, size, &exp, &err);
	if (tok != NULL) {
		if (exp <= 0 || strlen(tok) == 0 ||
		    strlen(tok) >= GCP_TOKEN_MAX)
			__builtin_trap();
		for (i = 0; tok[i] != '\0'; i++)
			if ((unsigned char)tok[i] <= 0x20)
				__builtin_trap(); /* goes into a header */
		free(tok);
	} else {
		for (i = 0; err.msg[i] != '\0'; i++)
			if ((unsigned char)err.msg[i] < 0x20)
				__builtin_trap();
		if (err.msg[0] == '\0')
			__builtin_trap();
	}
	return 0;
}
