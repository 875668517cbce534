/* SPDX-License-Identifier: ISC */
/*
 * Kubernetes `Status` replies: every non-2xx answer of the webhook server is
 * one (kind Status, apiVersion v1, status Failure, message, reason, code),
 * so cert-manager and kubectl show our message instead of a generic one.
 */
#ifndef D01_STATUS_H
#define D01_STATUS_H

#include <jansson.h>

struct d01_req;

/* The Kubernetes StatusReason for an HTTP code ("NotFound", ...). */
const char *d01_status_reason(int code);

/* Reply `code` with a Status whose message is `message`; frees req. */
void d01_status_reply(struct d01_req *req, int code, const char *message);

/* The same with a `details` object (reference stolen; NULL for none). */
void d01_status_reply_details(
    struct d01_req *req, int code, const char *message, json_t *details);

#endif
