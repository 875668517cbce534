/* SPDX-License-Identifier: ISC */
/* Fuzz target: what every ARM reply goes through: the TXT record set
 * parser (public and private field names; the etag goes into an
 * If-Match header, so no control bytes), what Present and CleanUp make
 * of the set (never more than the limit, the body valid JSON holding our
 * value exactly when Present wrote it) and the ARM error parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/azuredns/az_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_body(const char *body, int private_zone, int present)
{
	json_t *j = json_loads(body, 0, NULL), *recs, *r;
	size_t i;
	int ours = 0;

	recs = json_object_get(json_object_get(j, "properties"),
	    private_zone ? "txtRecords" : "TXTRecords");
	if (!json_is_array(recs) || json_array_size(recs) == 0 ||
	    json_array_size(recs) > AZ_RECORDS_MAX)
		__builtin_trap();
	for (i = 0; i < json_array_size(recs); i++) {
		r = json_array_get(
		    json_object_get(json_array_get(recs, i), "value"), 0);
		ours += json_is_string(r) &&
		    strcmp(json_string_value(r), "v") == 0 &&
		    json_array_size(
			json_object_get(json_array_get(recs, i), "value")) == 1;
	}
	if (present ? ours != 1 : ours != 0)
		__builtin_trap();
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {400, 401, 404, 412, 429, 500};
	struct d01_error err;
	struct az_rrset rs;
	char *body = NULL;
	int p, present, rc;
	size_t i;

	for (p = 0; p < 2; p++) {
		d01_error_clear(&err);
		if (az_rrset_parse((const char *)data, size, p, &rs, &err) !=
		    0) {
			if (err.msg[0] == '\0' || rs.records != NULL)
				__builtin_trap();
			continue;
		}
		for (i = 0; rs.etag[i] != '\0'; i++)
			if ((unsigned char)rs.etag[i] < 0x20)
				__builtin_trap();
		for (present = 0; present < 2; present++) {
			rc = az_rrset_change(&rs, "v", present, p, &body, &err);
			if (rc == AZ_PUT)
				check_body(body, p, present);
			else if (body != NULL)
				__builtin_trap();
			free(body);
			body = NULL;
		}
		az_rrset_clear(&rs);
	}
	d01_error_clear(&err);
	if (az_arm_error(statuses[size % 6], (const char *)data, size, &err) ==
		D01_OK ||
	    err.msg[0] == '\0')
		__builtin_trap();
	for (i = 0; err.msg[i] != '\0'; i++)
		if ((unsigned char)err.msg[i] < 0x20)
			__builtin_trap();
	return 0;
}
