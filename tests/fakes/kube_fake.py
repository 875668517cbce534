"""A strict fake kube-apiserver, independent of the C code.

No real kube-apiserver runs offline, so the tests of dns01 as a Kubernetes
API client (Secrets, the front-proxy ConfigMap, SubjectAccessReviews) run
against this. It follows the real server's wire behaviour, taken from
k8s.io/apiserver and k8s.io/apimachinery (1.2x-1.33 shapes; see the notes
beside each piece):

* HTTPS only, HTTP/1.1 keep-alive (ALPN "http/1.1", always Content-Length),
  the TLS handshake done per connection in its own thread so a silent or
  failing client never blocks the others.
* Authentication in the kube-apiserver's order: a TLS client certificate
  verified against `client_ca` (user = CN, groups = O) wins over a bearer
  token; then `Authorization: Bearer <token>` looked up in a token table the
  test changes at run time (service-account token rotation). An invalid token
  is 401 even with anonymous auth on; no credentials at all is 401 unless
  `anonymous=True` (then user system:anonymous). Authenticated users get
  system:authenticated (and service accounts their two SA groups).
* Authorization before anything else about the request (a forbidden Secret
  that does not exist is 403, not 404): RBAC-like rules the test adds with
  allow()/allow_group(); nothing is allowed by default except to the group
  system:masters. The 403 Status text is built exactly as apiserver's
  forbiddenMessage() + NewForbidden() do.
* Routing like the apiserver's RequestInfo: /api/v1/... and
  /apis/<group>/<version>/..., namespaced or not, verb from the method (GET
  without a name is list). Served: get/list of secrets and configmaps, and
  create of authorization.k8s.io/v1 subjectaccessreviews. Any other resource
  (once authorized) or non-resource path is the generic 404 Status; a served
  resource with another verb is 405 MethodNotAllowed.
* Secrets/ConfigMaps as the API returns them (field order, base64 data,
  uid, resourceVersion, creationTimestamp, managedFields, omitempty). An
  object name that is not a DNS-1123 name is simply not found (404), as on
  the real server, which only refuses "." / ".." / names containing "%"
  (400 "Name parameter invalid").
* SubjectAccessReview create: output negotiation (406), input media type
  (415), JSON decode and kind/version (400), unknown fields dropped with a
  `Warning: 299 - "unknown field ..."` header (fieldValidation=Strict makes
  them a 400), validation (422 Invalid with causes), then 201 with the SAR
  echoed and status {allowed, denied only when true, reason when non-empty}.
  The decision comes from `sar_policy(spec)`.

Deliberate extra strictness, so a client bug cannot pass unnoticed (each can
be switched off with `fake.strict = False`): a SAR POST without a
Content-Type is 415 (the real server would assume JSON) and a SAR body
without apiVersion/kind is 400 (the real server would default them from the
URL). Known narrowing: only JSON is spoken (a request or an Accept header
that allows only YAML/protobuf gets 415/406, which the real server would
serve), and an untrusted TLS client certificate fails the TLS handshake
(Python's ssl verifies while handshaking) where the real server would
complete it and answer 401.

Faults per (method, path prefix), counted: status replies (5xx/429 Status,
optional Retry-After), delays, hangs (no reply until stop()), dropped
connections. Every request is logged (method, path, user, status).

In tests:
    fake = KubeFake(cert, key, client_ca=None)
    fake.set_tokens({"tok-1": "system:serviceaccount:dns01:dns01-webhook"})
    fake.allow("system:serviceaccount:dns01:dns01-webhook", "get", "secrets",
               "cert-manager", "cf")
    fake.put_secret("cert-manager", "cf", {"token": b"..."})
    fake.start(); ...; fake.stop()

Standalone (manual runs against `dns01 serve --kubeconfig`):
    python3 kube_fake.py --tls CERT KEY [--port P] [--token TOKEN=USER ...]
        [--secret NS/NAME/KEY=VALUE ...] [--allow-all]
prints one JSON line {url, tokens} and serves until killed.
"""
import argparse
import base64
import json
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kube_api import (AUTHN_CM, CONFIG_KEY, DNS1123_LABEL, DNS1123_SUBDOMAIN, RESOURCE_GROUPS,
                      deny_policy, go_quote, pem_text, rfc3339, sa_groups)
from kube_files import write_kubeconfig
# Re-exported: tests use them as kube_fake.<name>.
from kube_api import NOT_FOUND, SAR_PATH, UNAUTHORIZED, forbidden, not_found, status  # noqa: F401
from kube_files import rotate_service_account_token, service_account_dir  # noqa: F401
from kube_serve import Serving
from kube_objects import CustomObjects


class KubeFake(Serving, CustomObjects):
    def __init__(self, cert, key, client_ca=None, tokens=None, anonymous=False, port=0):
        self.lock = threading.Lock()
        self.client_ca = client_ca
        self.anonymous = anonymous
        self.strict = True
        self._tokens = {}
        self.set_tokens(tokens or {})
        self._rules = []
        self.objects = {}  # (resource, namespace, name) -> object dict
        self._rv = 1000
        self.sar_policy = deny_policy
        self.sar_log = []        # every SAR body that reached the endpoint
        self.unknown_fields = []  # "spec.foo" etc. seen in SAR bodies
        self.requests = []       # (method, path, user or None, status or None)
        self.request_details = []  # dicts with headers and body too
        self.faults = []
        self.tls_errors = []     # failed handshakes (e.g. untrusted client cert)
        self.connections = 0     # completed TLS handshakes
        self._open = set()
        self._stopping = threading.Event()
        self._started = False
        self._custom_init()

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        if client_ca:
            ctx.load_verify_locations(cafile=client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        self._ctx = ctx
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send_response(self, code, message=None):
                # Go's net/http sends Date but no Server header.
                self.send_response_only(code, message)
                self.send_header("Date", self.date_time_string())

            def do_GET(self):
                fake._serve(self, "GET")

            def do_POST(self):
                fake._serve(self, "POST")

            def do_PUT(self):
                fake._serve(self, "PUT")

            def do_PATCH(self):
                fake._serve(self, "PATCH")

            def do_DELETE(self):
                fake._serve(self, "DELETE")

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False
            request_queue_size = 128

            def finish_request(self, request, client_address):
                # TLS per connection, in this connection's thread.
                request.settimeout(10)
                try:
                    conn = fake._ctx.wrap_socket(request, server_side=True)
                except (OSError, ValueError) as e:
                    with fake.lock:
                        fake.tls_errors.append(str(e))
                    return
                conn.settimeout(None)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with fake.lock:
                    fake.connections += 1
                    fake._open.add(conn)
                try:
                    self.RequestHandlerClass(conn, client_address, self)
                finally:
                    with fake.lock:
                        fake._open.discard(conn)
                    try:
                        conn.close()
                    except OSError:
                        pass

            def handle_error(self, request, client_address):
                pass  # clients going away mid-request are normal here

        self.httpd = Server(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    # --- life cycle -----------------------------------------------------
    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self):
        self._started = True
        self._thread.start()
        return self

    def stop(self):
        """Stops serving; hung and delayed requests are released and every
        open connection is shut, so this never waits on a client."""
        self._stopping.set()
        if self._started:
            self.httpd.shutdown()
            self._started = False
        self.httpd.server_close()
        with self.lock:
            conns = list(self._open)
        for c in conns:
            try:
                socket.socket.shutdown(c, socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # --- authentication -------------------------------------------------
    def set_tokens(self, tokens):
        """Replace the valid bearer tokens: {token: user} or
        {token: (user, [groups])}. Tokens not in the new map are rejected
        from the next request on (service-account token rotation)."""
        table = {}
        for tok, who in tokens.items():
            if isinstance(who, str):
                user, groups = who, sa_groups(who)
            else:
                user, groups = who[0], list(who[1])
            if "system:authenticated" not in groups:
                groups = groups + ["system:authenticated"]
            table[tok] = (user, groups)
        with self.lock:
            self._tokens = table

    def add_token(self, token, user, groups=None):
        """Make one more token valid (groups None: derived as set_tokens)."""
        g = sa_groups(user) if groups is None else list(groups)
        if "system:authenticated" not in g:
            g.append("system:authenticated")
        with self.lock:
            self._tokens = {**self._tokens, token: (user, g)}

    def remove_token(self, token):
        with self.lock:
            self._tokens = {t: v for t, v in self._tokens.items() if t != token}

    def _authenticate(self, h):
        """(user, groups) or None when authentication fails (401).
        Order as kube-apiserver's union: x509, then bearer token."""
        cert = h.connection.getpeercert() if self.client_ca else None
        if cert:
            cn, orgs = "", []
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
                    elif k == "organizationName":
                        orgs.append(v)
            if cn:  # a cert without CN does not apply
                return cn, orgs + ["system:authenticated"]
        auth = (h.headers.get("Authorization") or "").strip()
        parts = auth.split(" ", 2)
        if len(parts) >= 2 and parts[0].lower() == "bearer" and parts[1]:
            with self.lock:
                who = self._tokens.get(parts[1])
            return who  # None: invalid token, 401 even with anonymous on
        if self.anonymous:
            return "system:anonymous", ["system:unauthenticated"]
        return None

    # --- authorization (RBAC-like) ----------------------------------------
    def allow(self, user, verb, resource, namespace=None, name=None, group=None):
        """Allow `user` to `verb` (str or list; "*" = any) `resource`
        ("*" = any) in `namespace` (None = every namespace and the cluster
        scope, like a ClusterRoleBinding) named `name` (None = any; a named
        rule never matches a list or create, as RBAC resourceNames). The API
        group defaults from the resource (subjectaccessreviews ->
        authorization.k8s.io, else the core group "")."""
        self._add_rule("User", user, verb, resource, namespace, name, group)

    def allow_group(self, group_name, verb, resource, namespace=None, name=None, group=None):
        """allow() for every member of a group (e.g. a cert's O)."""
        self._add_rule("Group", group_name, verb, resource, namespace, name, group)

    def allow_path(self, user, verb, path):
        """A non-resource rule (for rbac_policy): path may end in '*'."""
        with self.lock:
            self._rules.append(("User", user, (verb,) if isinstance(verb, str) else tuple(verb),
                                None, None, None, None, path))

    def _add_rule(self, kind, subject, verb, resource, namespace, name, group):
        verbs = (verb,) if isinstance(verb, str) else tuple(verb)
        if group is None:
            group = RESOURCE_GROUPS.get(resource, "")
        with self.lock:
            self._rules.append((kind, subject, verbs, resource, group, namespace, name, None))

    def revoke(self, user=None):
        """Drop the rules of one user or group name (None: all rules)."""
        with self.lock:
            self._rules = [r for r in self._rules if user is not None and r[1] != user]

    def authorized(self, user, groups, verb, resource, group="", namespace="", name="",
                   subresource="", path=None):
        """The RBAC decision the fake uses, also for SARs via rbac_policy."""
        groups = groups or []
        if "system:masters" in groups:
            return True, ""  # the privileged-group authorizer gives no reason
        res = resource + ("/" + subresource if subresource else "") if resource else None
        with self.lock:
            rules = list(self._rules)
        for kind, subj, verbs, r_res, r_group, r_ns, r_name, r_path in rules:
            if not ((kind == "User" and subj == user) or (kind == "Group" and subj in groups)):
                continue
            if verb not in verbs and "*" not in verbs:
                continue
            if path is not None or r_path is not None:
                if path is None or r_path is None:
                    continue
                if r_path == path or (r_path.endswith("*") and path.startswith(r_path[:-1])):
                    return True, kind
                continue
            if r_res not in ("*", res) or r_group not in ("*", group):
                continue
            if r_ns is not None and r_ns != namespace:
                continue
            if r_name is not None and r_name != name:
                continue
            binding = ("ClusterRoleBinding \"kube-fake\" of ClusterRole" if r_ns is None
                       else f"RoleBinding \"kube-fake/{r_ns}\" of Role")
            return True, f'RBAC: allowed by {binding} "kube-fake" to {kind} {go_quote(subj)}'
        return False, ""

    def rbac_policy(self, spec):
        """A sar_policy that answers from the allow() rules, as the real
        apiserver answers SARs from RBAC (denied: reason empty)."""
        user, groups = spec.get("user", ""), spec.get("groups", [])
        ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if ra is not None:
            return self.authorized(user, groups, ra.get("verb", ""), ra.get("resource", ""),
                                   ra.get("group", ""), ra.get("namespace", ""),
                                   ra.get("name", ""), ra.get("subresource", ""))
        return self.authorized(user, groups, nra.get("verb", ""), None, path=nra.get("path", ""))

    # --- objects ---------------------------------------------------------
    def _store(self, resource, namespace, name, fields, labels, annotations, manager_fields):
        if not DNS1123_LABEL.match(namespace) or len(namespace) > 63:
            raise ValueError(f"namespace {namespace!r} is not a DNS-1123 label")
        if not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
            raise ValueError(f"name {name!r} is not a DNS-1123 subdomain")
        with self.lock:
            self._rv += 1
            old = self.objects.get((resource, namespace, name))
            meta = {"name": name, "namespace": namespace,
                    "uid": old["metadata"]["uid"] if old else str(uuid.uuid4()),
                    "resourceVersion": str(self._rv),
                    "creationTimestamp": (old["metadata"]["creationTimestamp"] if old
                                          else rfc3339())}
            if labels:
                meta["labels"] = dict(sorted(labels.items()))
            if annotations:
                meta["annotations"] = dict(sorted(annotations.items()))
            meta["managedFields"] = [{
                "manager": "kubectl-create", "operation": "Update", "apiVersion": "v1",
                "time": meta["creationTimestamp"], "fieldsType": "FieldsV1",
                "fieldsV1": manager_fields}]
            kind = "Secret" if resource == "secrets" else "ConfigMap"
            obj = {"kind": kind, "apiVersion": "v1", "metadata": meta}
            obj.update(fields)
            self.objects[(resource, namespace, name)] = obj
            return obj

    def put_secret(self, namespace, name, data, type="Opaque", labels=None, annotations=None):
        """Create or replace a Secret; `data` maps keys to bytes (str is
        encoded as UTF-8). Names are checked as the API would."""
        enc = {}
        for k, v in sorted(data.items()):
            if not CONFIG_KEY.match(k) or len(k) > 253:
                raise ValueError(f"invalid Secret key {k!r}")
            enc[k] = base64.b64encode(v.encode() if isinstance(v, str) else v).decode()
        fields = {}
        if enc:
            fields["data"] = enc
        fields["type"] = type
        mf = {"f:data": {".": {}, **{f"f:{k}": {} for k in enc}}, "f:type": {}}
        return self._store("secrets", namespace, name, fields, labels, annotations, mf)

    def put_configmap(self, namespace, name, data, binary_data=None, labels=None):
        """Create or replace a ConfigMap (`data`: str -> str)."""
        for k in list(data) + list(binary_data or {}):
            if not CONFIG_KEY.match(k) or len(k) > 253:
                raise ValueError(f"invalid ConfigMap key {k!r}")
        fields = {}
        if data:
            fields["data"] = dict(sorted(data.items()))
        if binary_data:
            fields["binaryData"] = {k: base64.b64encode(v).decode()
                                    for k, v in sorted(binary_data.items())}
        mf = {"f:data": {".": {}, **{f"f:{k}": {} for k in data}}}
        return self._store("configmaps", namespace, name, fields, labels, None, mf)

    def delete_secret(self, namespace, name):
        with self.lock:
            self.objects.pop(("secrets", namespace, name), None)

    def delete_configmap(self, namespace, name):
        with self.lock:
            self.objects.pop(("configmaps", namespace, name), None)

    def set_authentication_configmap(self, requestheader_ca_pem,
                                     allowed_names=("front-proxy-client",),
                                     username_headers=("X-Remote-User",),
                                     group_headers=("X-Remote-Group",),
                                     extra_prefixes=("X-Remote-Extra-",),
                                     uid_headers=None, client_ca_pem=None):
        """kube-system/extension-apiserver-authentication as the
        kube-apiserver's cluster_authentication_trust_controller writes it:
        `client-ca-file` when there is a client CA; when there is a
        request-header CA, `requestheader-client-ca-file` and every list key
        as a JSON array (an empty list is "[]", never omitted). uid_headers
        None leaves out `requestheader-uid-headers` (clusters before that
        key existed). PEM arguments are text, bytes or a file path."""
        def arr(xs):
            return json.dumps(list(xs or ()), separators=(",", ":"))

        data = {}
        if client_ca_pem:
            data["client-ca-file"] = pem_text(client_ca_pem)
        if requestheader_ca_pem:
            data["requestheader-client-ca-file"] = pem_text(requestheader_ca_pem)
            data["requestheader-allowed-names"] = arr(allowed_names)
            data["requestheader-username-headers"] = arr(username_headers)
            data["requestheader-group-headers"] = arr(group_headers)
            data["requestheader-extra-headers-prefix"] = arr(extra_prefixes)
            if uid_headers is not None:
                data["requestheader-uid-headers"] = arr(uid_headers)
        return self.put_configmap(*AUTHN_CM, data)

    # --- faults and logs ------------------------------------------------
    def fault(self, method, prefix, kind, count=1, **kw):
        """Inject a fault into the next `count` requests (None: all) whose
        method is `method` ("*" any) and whose raw path starts with
        `prefix`. Kinds and their keywords:
          status: code=503, retry_after=None (seconds: header + details),
                  message=None, text=False (plain-text body, as the
                  apiserver's max-in-flight/APF 429 is)
          delay:  seconds=1.0, then the request is served normally
          hang:   no reply ever; released (connection closed) by stop()
          drop:   the connection is closed without a reply
        Every kind also takes delay=S, waited first."""
        if kind not in ("status", "delay", "hang", "drop"):
            raise ValueError(f"unknown fault kind {kind!r}")
        f = {"method": method.upper(), "prefix": prefix, "kind": kind, "left": count}
        f.update(kw)
        with self.lock:
            self.faults.append(f)

    def clear_faults(self):
        with self.lock:
            self.faults.clear()

    def _take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f["method"] not in ("*", method) or not path.startswith(f["prefix"]):
                    continue
                if f["left"] is not None:
                    f["left"] -= 1
                    if f["left"] <= 0:
                        self.faults.remove(f)
                return dict(f)
        return None

    def count(self, method=None, path_prefix=""):
        """Requests seen (faulted ones included) with this method (None:
        any) and raw path prefix."""
        with self.lock:
            return sum(1 for m, p, _, _ in self.requests
                       if (method is None or m == method) and p.startswith(path_prefix))

    def clear_log(self):
        with self.lock:
            self.requests.clear()
            self.request_details.clear()
            self.sar_log.clear()
            self.unknown_fields.clear()
            self.tls_errors.clear()

    def _log(self, h, method, user, groups, code, body):
        with self.lock:
            self.requests.append((method, h.path, user, code))
            self.request_details.append({
                "method": method, "path": h.path, "user": user, "groups": groups,
                "status": code, "headers": list(h.headers.items()), "body": body})

    # --- helpers for dns01's configuration ------------------------------
    def kubeconfig(self, path, token=None, token_file=None, client_cert=None, client_key=None,
                   ca_file=None, ca_data=None, insecure=False, namespace=None, server=None):
        """Write a kubeconfig pointing at this fake (see write_kubeconfig)."""
        return write_kubeconfig(path, server or self.url, token=token, token_file=token_file,
                                client_cert=client_cert, client_key=client_key,
                                ca_file=ca_file, ca_data=ca_data, insecure=insecure,
                                namespace=namespace)

    def in_cluster_env(self):
        """The environment variables client-go's in-cluster config reads."""
        return {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": str(self.port)}


def txt_record(zone, name, value, created=None, writer="kube-fake"):
    """A TXTRecord as dns01 writes it (kube/kube_store_write.c): named by a
    hash of zone, name and value (docs/DESIGN.md, "The stores")."""
    import hashlib
    h = hashlib.sha256(f"{zone.rstrip('.')}.\0{name}\0{value}\0".encode()).hexdigest()
    return {"apiVersion": "store.dns01.io/v1", "kind": "TXTRecord",
            "metadata": {"name": "txt-" + h[:52], "labels": {
                "dns01.io/zone": zone.rstrip("."),
                "dns01.io/name-hash": hashlib.sha256(name.encode() + b"\0").hexdigest()[:40]}},
            "spec": {"zone": zone.rstrip(".") + ".", "name": name, "value": value,
                     "created": created or time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                     "writer": writer}}


def main(argv):
    ap = argparse.ArgumentParser(description="strict fake kube-apiserver")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", action="append", default=[], metavar="TOKEN=USER")
    ap.add_argument("--secret", action="append", default=[], metavar="NS/NAME/KEY=VALUE")
    ap.add_argument("--txtrecords", action="append", default=[], metavar="NS/ZONE/N",
                    help="N TXTRecords (store.dns01.io) in NS for names "
                         "_acme-challenge.b<i>.ZONE. with a 43-character value "
                         "(an ACME key authorization digest) starting b<i>- (benchmarks)")
    ap.add_argument("--allow-all", action="store_true",
                    help="every token user in system:masters; SARs answered allowed")
    a = ap.parse_args(argv)
    tokens = {}
    for t in a.token:
        tok, _, user = t.partition("=")
        tokens[tok] = (user, sa_groups(user) + (["system:masters"] if a.allow_all else []))
    f = KubeFake(*a.tls, client_ca=a.client_ca, tokens=tokens, port=a.port)
    for s in a.secret:
        where, _, value = s.partition("=")
        ns, name, key = where.split("/")
        with f.lock:
            old = f.objects.get(("secrets", ns, name))
        data = {k: base64.b64decode(v) for k, v in (old or {}).get("data", {}).items()}
        data[key] = value.encode()
        f.put_secret(ns, name, data)
    for spec in a.txtrecords:
        ns, zone, n = spec.split("/")
        for i in range(int(n)):
            f.put_custom("store.dns01.io", "txtrecords", ns,
                         txt_record(zone, f"_acme-challenge.b{i}.{zone}.",
                                    f"b{i}-".ljust(43, "x")))
    if a.allow_all:
        f.sar_policy = lambda spec: (True, "kube-fake --allow-all")
    print(json.dumps({"url": f.url, "tokens": tokens}), flush=True)
    try:
        f.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
