/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: kubeconfig files (YAML through libyaml into our tree, then
 * the context/cluster/user walk) and the front-proxy ConfigMap's data
 * (JSON-array strings). The first byte picks the parser. File names in
 * a fuzzed kubeconfig resolve under a directory that does not exist, so
 * nothing outside is read.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "core/log.h"
#include "kube/frontproxy.h"
#include "kube/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct d01_fp_trust *t;
	struct d01_kube *k;
	struct d01_error err;
	json_t *cm;

	if (size == 0)
		return 0;
	d01_log_set_level(D01_LOG_ERR);
	d01_error_clear(&err);
	if (data[0] & 1) {
		k = d01_kube_from_kubeconfig(NULL, (const char *)data + 1,
		    size - 1, "/nonexistent-d01-fuzz", &err);
		if (k == NULL && err.msg[0] == '\0')
			__builtin_trap(); /* every refusal explains itself */
		if (k != NULL && strncmp(d01_kube_server(k), "http", 4) != 0)
			__builtin_trap();
		d01_kube_free(k);
		return 0;
	}
	if ((cm = json_loadb((const char *)data + 1, size - 1, 0, NULL)) ==
	    NULL)
		return 0;
	t = d01_fp_trust_from_configmap(cm, &err);
	if (t == NULL && err.msg[0] == '\0')
		__builtin_trap();
	if (t != NULL &&
	    (t->nallowed > D01_FP_MAX_NAMES || t->nuser > D01_FP_MAX_NAMES))
		__builtin_trap();
	d01_fp_trust_free(t);
	json_decref(cm);
	return 0;
}
