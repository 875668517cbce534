/* SPDX-License-Identifier: ISC */
/* Kubernetes Status objects for every error reply. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "httpd/http.h"
#include "server/status.h"

const char *
d01_status_reason(int code)
{
	switch (code) {
	case 400:
		return "BadRequest";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "NotFound";
	case 405:
		return "MethodNotAllowed";
	case 408:
		return "Timeout";
	case 413:
		return "RequestEntityTooLarge";
	case 415:
		return "UnsupportedMediaType";
	case 429:
		return "TooManyRequests";
	case 503:
		return "ServiceUnavailable";
	default:
		return code >= 500 ? "InternalError" : "BadRequest";
	}
}

void
d01_status_reply(struct d01_req *req, int code, const char *message)
{
	d01_status_reply_details(req, code, message, NULL);
}

void
d01_status_reply_details(
    struct d01_req *req, int code, const char *message, json_t *details)
{
	static const char fallback[] =
	    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
	    "\"status\":\"Failure\",\"message\":\"out of memory\","
	    "\"reason\":\"InternalError\",\"code\":500}";
	json_t *o;
	char *body = NULL;

	o = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status",
	    "apiVersion", "v1", "metadata", "status", "Failure", "message",
	    message, "reason", d01_status_reason(code), "code", code);
	if (o != NULL && details != NULL)
		json_object_set(o, "details", details);
	json_decref(details);
	if (o != NULL)
		body = json_dumps(o, JSON_COMPACT);
	if (body != NULL)
		d01_req_reply(
		    req, code, "application/json", body, strlen(body));
	else
		d01_req_reply(req, 500, "application/json", fallback,
		    sizeof(fallback) - 1);
	free(body);
	json_decref(o);
}
