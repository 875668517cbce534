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
import datetime
import json
import os
import re
import shutil
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# The apiserver's request body limit (3 MiB, genericapiserver MaxRequestBodyBytes).
MAX_BODY = 3 * 1024 * 1024
SAR_GROUP = "authorization.k8s.io"
SAR_API = SAR_GROUP + "/v1"
SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
AUTHN_CM = ("kube-system", "extension-apiserver-authentication")
# What the real server would accept, as its 406/415 messages list them.
MEDIA_TYPES = "application/json, application/yaml, application/vnd.kubernetes.protobuf"
SCHEME = 'in scheme "pkg/api/legacyscheme/scheme.go:30"'

# Groups of the resources the fake knows by name (for allow() defaults).
RESOURCE_GROUPS = {
    "subjectaccessreviews": SAR_GROUP,
    "selfsubjectaccessreviews": SAR_GROUP,
    "localsubjectaccessreviews": SAR_GROUP,
    "tokenreviews": "authentication.k8s.io",
}

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


# --- wire helpers ---------------------------------------------------------
def go_json(obj):
    """JSON as Go's encoding/json Encoder writes it (the apiserver's
    serializer): compact, UTF-8, HTML characters escaped, trailing newline."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(a, b)
    return (s + "\n").encode()


def go_quote(s):
    """Go's %q for the plain strings that appear in Status messages."""
    return json.dumps(s, ensure_ascii=False)


def status(code, reason, message, details=None, **extra):
    """A metav1.Status in the field order the apiserver writes it
    (details only when set, as the Go struct has it as a pointer)."""
    o = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason}
    if details is not None:
        o["details"] = details
    o["code"] = code
    o.update(extra)
    return o


UNAUTHORIZED = status(401, "Unauthorized", "Unauthorized")
NOT_FOUND = status(404, "NotFound", "the server could not find the requested resource", {})
NOT_ALLOWED = status(405, "MethodNotAllowed",
                     "the server does not allow this method on the requested resource", {})
NOT_ACCEPTABLE = status(406, "NotAcceptable",
                        f"only the following media types are accepted: {MEDIA_TYPES}")

# NewGenericServerResponse's reason/message per code, used by status faults.
GENERIC = {
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "an error on the server (\"injected fault\") has prevented "
          "the request from succeeding"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted, "
          "but may still be processing the request"),
}


def forbidden(user, verb, resource, group, namespace, name, subresource=""):
    """403 exactly as apiserver's responsewriters.Forbidden builds it."""
    res = resource + ("/" + subresource if subresource else "")
    why = (f"User {go_quote(user)} cannot {verb} resource {go_quote(res)} "
           f"in API group {go_quote(group)} ")
    why += f"in the namespace {go_quote(namespace)}" if namespace else "at the cluster scope"
    qualified = resource + ("." + group if group else "")
    msg = (f"{qualified} {go_quote(name)} is forbidden: {why}" if name
           else f"{qualified} is forbidden: {why}")
    details = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    return status(403, "Forbidden", msg, details)


def not_found(resource, group, name):
    qualified = resource + ("." + group if group else "")
    details = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = resource
    return status(404, "NotFound", f"{qualified} {go_quote(name)} not found", details)


def bad_request(message):
    return status(400, "BadRequest", message)


def request_info(method, raw_path):
    """The apiserver's RequestInfo for a request, or None for a
    non-resource path (k8s.io/apiserver endpoints/request/requestinfo.go)."""
    u = urlsplit(raw_path)
    path = unquote(u.path).strip("/")
    parts = path.split("/") if path else []
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return None
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(parts) < 3:
            return None
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    verb = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update",
            "PATCH": "patch", "DELETE": "delete"}.get(method, "")
    namespace = ""
    if parts[0] == "namespaces":
        if len(parts) > 1:
            namespace = parts[1]
            if len(parts) > 2 and parts[2] not in ("status", "finalize"):
                parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) >= 2 else ""
    subresource = parts[2] if len(parts) >= 3 else ""
    if not name and verb == "get":
        w = parse_qs(u.query).get("watch", [""])[0].lower()
        verb = "watch" if w in ("true", "1") else "list"
    if not name and verb == "delete":
        verb = "deletecollection"
    return {"verb": verb, "group": group, "version": version, "namespace": namespace,
            "resource": resource, "name": name, "subresource": subresource,
            "extra_parts": len(parts) > 3}


def _rfc3339(t=None):
    return datetime.datetime.fromtimestamp(t if t is not None else time.time(),
                                           datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pem_text(pem):
    """PEM text from str/bytes, or from a file when given a path."""
    if isinstance(pem, bytes):
        pem = pem.decode()
    if "-----BEGIN" not in pem and os.path.isfile(pem):
        with open(pem) as f:
            pem = f.read()
    return pem if pem.endswith("\n") else pem + "\n"


def sa_groups(user):
    """Groups the service-account token authenticator gives a user."""
    p = user.split(":")
    if len(p) == 4 and p[:2] == ["system", "serviceaccount"]:
        return ["system:serviceaccounts", f"system:serviceaccounts:{p[2]}"]
    return []


# --- SubjectAccessReview body schema (authorization/v1 types) -------------
_STR, _BOOL, _OBJ = "string", "bool", "object"
_RA = ("ResourceAttributes", {"namespace": _STR, "verb": _STR, "group": _STR, "version": _STR,
                              "resource": _STR, "subresource": _STR, "name": _STR,
                              "fieldSelector": _OBJ, "labelSelector": _OBJ})
_NRA = ("NonResourceAttributes", {"path": _STR, "verb": _STR})
_SPEC = ("SubjectAccessReviewSpec", {"resourceAttributes": _RA, "nonResourceAttributes": _NRA,
                                     "user": _STR, "groups": [_STR],
                                     "extra": {"*": [_STR]}, "uid": _STR})
_STATUS = ("SubjectAccessReviewStatus", {"allowed": _BOOL, "denied": _BOOL, "reason": _STR,
                                         "evaluationError": _STR})
_SAR = ("SubjectAccessReview", {"apiVersion": _STR, "kind": _STR, "metadata": _OBJ,
                                "spec": _SPEC, "status": _STATUS})


class _Obj(dict):
    """A decoded JSON object that remembers keys it saw twice."""
    dups = ()


def _pairs(pairs):
    o = _Obj()
    d = []
    for k, v in pairs:
        if k in o:
            d.append(k)
        o[k] = v
    o.dups = d
    return o


def _json_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _walk(v, schema, path, struct, warnings):
    """Type-check `v` like Go's decoder into the v1 types; collect unknown
    and duplicate fields (sigs.k8s.io/json is case-sensitive). Returns a
    decode error message or None. null is always fine (zero value)."""
    if v is None:
        return None
    where = f"Go struct field {struct}.{path}" if struct else "Go value"
    if isinstance(schema, tuple):
        name, fields = schema
        if not isinstance(v, dict):
            return f"json: cannot unmarshal {_json_type(v)} into {where} of type v1.{name}"
        for k in getattr(v, "dups", ()):
            warnings.append(f'duplicate field "{path + "." if path else ""}{k}"')
        for k, sub in v.items():
            p = f"{path}.{k}" if path else k
            if k not in fields:
                warnings.append(f'unknown field "{p}"')
                continue
            err = _walk(sub, fields[k], p, name, warnings)
            if err:
                return err
        return None
    if isinstance(schema, list):
        if not isinstance(v, list):
            return f"json: cannot unmarshal {_json_type(v)} into {where} of type []string"
        for x in v:
            if x is not None and not isinstance(x, str):
                return f"json: cannot unmarshal {_json_type(x)} into {where} of type string"
        return None
    if isinstance(schema, dict):  # map[string][]string
        if not isinstance(v, dict):
            return (f"json: cannot unmarshal {_json_type(v)} into {where} "
                    "of type map[string]v1.ExtraValue")
        for x in v.values():
            err = _walk(x, [_STR], path, struct, warnings)
            if err:
                return err
        return None
    if schema == _OBJ:
        ok = isinstance(v, dict)
    elif schema == _BOOL:
        ok = isinstance(v, bool)
    else:
        ok = isinstance(v, str)
    if not ok:
        return f"json: cannot unmarshal {_json_type(v)} into {where} of type {schema}"
    return None


def _echo_spec(spec):
    """The spec as the server re-encodes it: known fields only, Go field
    order, empty values omitted (omitempty)."""
    out = {}
    for key, (_, fields) in (("resourceAttributes", _RA), ("nonResourceAttributes", _NRA)):
        a = spec.get(key)
        if isinstance(a, dict):
            out[key] = {k: a[k] for k in fields if a.get(k) not in (None, "", {})}
    if spec.get("user"):
        out["user"] = spec["user"]
    if spec.get("groups"):
        out["groups"] = [g for g in spec["groups"] if g is not None]
    if spec.get("extra"):
        out["extra"] = {k: v for k, v in spec["extra"].items() if v is not None}
    if spec.get("uid"):
        out["uid"] = spec["uid"]
    return out


def _go_struct(name, d, fields):
    """Go's %#v of a small struct, for 422 'Invalid value' texts."""
    inner = ", ".join(f'{k[0].upper() + k[1:]}:{go_quote(d.get(k) or "")}' for k in fields)
    return f"authorization.{name}{{{inner}}}"


def _validate_sar(obj):
    """authorization validation.ValidateSubjectAccessReview (1.2x-1.33 field
    paths and value renderings): a list of (field, message-body)."""
    spec = obj.get("spec") or {}
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    errs = []
    if ra is not None and nra is not None:
        errs.append(("spec.nonResourceAttributes",
                     f"Invalid value: {_go_struct('NonResourceAttributes', nra, ('path', 'verb'))}"
                     ": cannot be specified in combination with resourceAttributes"))
    if ra is None and nra is None:
        errs.append(("spec.resourceAttributes", 'Invalid value: "null": exactly one of '
                     "nonResourceAttributes or resourceAttributes must be specified"))
    if not spec.get("user") and not spec.get("groups"):
        errs.append(("spec.user", f'Invalid value: {go_quote(spec.get("user") or "")}: '
                     "at least one of user or group must be specified"))
    meta = {k: v for k, v in (obj.get("metadata") or {}).items()
            if k != "managedFields" and v not in (None, "", {}, [])}
    if meta:
        inner = ", ".join(f"{k[0].upper() + k[1:]}:{go_quote(str(v))}" for k, v in meta.items())
        errs.append(("metadata", f"Invalid value: v1.ObjectMeta{{{inner}}}: must be empty"))
    return errs


def invalid_sar(errs):
    """NewInvalid(authorizationapi.Kind(sar.Kind), "", errs). The decoded
    internal object carries no Kind, so the qualified kind prints as
    '.authorization.k8s.io' (as in the upstream REST tests)."""
    texts = [f"{f}: {m}" for f, m in errs]
    agg = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    causes = [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in errs]
    return status(422, "Invalid", f'.{SAR_GROUP} "" is invalid: {agg}',
                  {"group": SAR_GROUP, "causes": causes})


def deny_policy(spec):
    """Default sar_policy: nothing is allowed until a test says so."""
    return False, "kube-fake: no sar_policy set"


# --- the fake -------------------------------------------------------------
class KubeFake:
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
                                          else _rfc3339())}
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
            data["client-ca-file"] = _pem_text(client_ca_pem)
        if requestheader_ca_pem:
            data["requestheader-client-ca-file"] = _pem_text(requestheader_ca_pem)
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

    # --- request handling -----------------------------------------------
    def _read_body(self, h):
        """(body, problem): the whole body is read first so the connection
        stays usable whatever the reply; problem is 'big' or 'bad'."""
        te = (h.headers.get("Transfer-Encoding") or "").lower()
        if te == "chunked":
            out = bytearray()
            while True:
                line = h.rfile.readline(1024)
                try:
                    n = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    return b"", "bad"
                if n == 0:
                    while h.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out), None
                if len(out) + n > MAX_BODY:
                    return b"", "big"
                out += h.rfile.read(n)
                h.rfile.readline(8)
        cl = h.headers.get("Content-Length")
        if cl is None:
            return b"", None
        try:
            n = int(cl)
        except ValueError:
            return b"", "bad"
        if n < 0:
            return b"", "bad"
        if n > MAX_BODY:
            return b"", "big"
        return h.rfile.read(n) if n else b"", None

    def _reply(self, h, method, who, code, obj, headers=(), raw=None, ctype="application/json"):
        body = raw if raw is not None else go_json(obj)
        user, groups = who if who else (None, None)
        self._log(h, method, user, groups, code, h._kf_body)
        try:
            h.send_response(code)
            h.send_header("Audit-Id", str(uuid.uuid4()))
            h.send_header("Cache-Control", "no-cache, private")
            h.send_header("Content-Type", ctype)
            h.send_header("X-Content-Type-Options", "nosniff")
            h.send_header("X-Kubernetes-Pf-Flowschema-Uid", "kube-fake-flowschema")
            h.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", "kube-fake-prioritylevel")
            for k, v in headers:
                h.send_header(k, v)
            if h.close_connection:
                h.send_header("Connection", "close")
            h.send_header("Content-Length", str(len(body)))
            # Head and body in one write, as Go's buffered writer does (two
            # small writes would meet Nagle + delayed ACK: 40 ms stalls).
            h._headers_buffer.append(b"\r\n" + body)
            h.flush_headers()
        except OSError:
            h.close_connection = True

    def _serve(self, h, method):
        body, problem = self._read_body(h)
        h._kf_body = body
        if problem:
            h.close_connection = True
        who = self._authenticate(h)
        f = self._take_fault(method, h.path)
        if f is not None:
            if f.get("delay"):
                self._stopping.wait(float(f["delay"]))
            if f["kind"] == "delay":
                self._stopping.wait(float(f.get("seconds", 1.0)))
            elif f["kind"] in ("hang", "drop"):
                self._log(h, method, who[0] if who else None, who[1] if who else None,
                          None, body)
                if f["kind"] == "hang":
                    self._stopping.wait()
                h.close_connection = True
                try:
                    socket.socket.shutdown(h.connection, socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            else:
                return self._fault_status(h, method, who, f)
        if problem == "bad":
            return self._reply(h, method, who, 400, bad_request("invalid request body framing"))
        if who is None:
            return self._reply(h, method, None, 401, UNAUTHORIZED)
        info = request_info(method, h.path)
        if info is None:
            return self._reply(h, method, who, 404, NOT_FOUND)
        ok, _ = self.authorized(who[0], who[1], info["verb"], info["resource"], info["group"],
                                info["namespace"], info["name"], info["subresource"])
        if not ok:
            return self._reply(h, method, who, 403, forbidden(
                who[0], info["verb"], info["resource"], info["group"], info["namespace"],
                info["name"], info["subresource"]))
        if problem == "big":
            return self._reply(h, method, who, 413, status(
                413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}"))
        return self._route(h, method, who, info, body)

    def _fault_status(self, h, method, who, f):
        code = int(f.get("code", 503))
        reason, msg = GENERIC.get(code, ("InternalError" if code >= 500 else "",
                                         f"injected fault {code}"))
        msg = f.get("message") or msg
        hdrs = []
        details = None
        if f.get("retry_after") is not None:
            hdrs.append(("Retry-After", str(f["retry_after"])))
            details = {"retryAfterSeconds": int(f["retry_after"])}
        if f.get("text"):
            return self._reply(h, method, who, code, None, hdrs, raw=(msg + "\n").encode(),
                               ctype="text/plain; charset=utf-8")
        return self._reply(h, method, who, code, status(code, reason, msg, details), hdrs)

    def _accepts_json(self, h):
        acc = h.headers.get("Accept")
        if not acc:
            return True
        for part in acc.split(","):
            mt = part.split(";")[0].strip().lower()
            if mt in ("application/json", "application/*", "*/*"):
                return True
        return False

    def _route(self, h, method, who, info, body):
        res, verb = info["resource"], info["verb"]
        core = info["group"] == "" and info["version"] == "v1"
        if core and res in ("secrets", "configmaps") and not info["subresource"] \
                and not info["extra_parts"]:
            if verb not in ("get", "list"):
                return self._reply(h, method, who, 405, NOT_ALLOWED)
            if not self._accepts_json(h):
                return self._reply(h, method, who, 406, NOT_ACCEPTABLE)
            if verb == "list":
                return self._list(h, method, who, info)
            return self._get(h, method, who, info)
        if (info["group"], info["version"], res) == (SAR_GROUP, "v1", "subjectaccessreviews") \
                and not info["namespace"] and not info["name"]:
            if verb != "create":
                return self._reply(h, method, who, 405, NOT_ALLOWED)
            return self._sar(h, method, who, body)
        return self._reply(h, method, who, 404, NOT_FOUND)

    def _get(self, h, method, who, info):
        name = info["name"]
        bad = ("may not be '.'" if name == "." else "may not be '..'" if name == ".."
               else "may not contain '%'" if "%" in name else None)
        if bad:
            return self._reply(h, method, who, 400, bad_request(
                f"Name parameter invalid: {go_quote(name)}: {bad}"))
        with self.lock:
            obj = self.objects.get((info["resource"], info["namespace"], name))
            obj = json.loads(json.dumps(obj)) if obj else None
        if obj is None:
            return self._reply(h, method, who, 404, not_found(info["resource"], "", name))
        return self._reply(h, method, who, 200, obj)

    def _list(self, h, method, who, info):
        res, ns = info["resource"], info["namespace"]
        with self.lock:
            items = [json.loads(json.dumps(o)) for (r, n, _), o in sorted(self.objects.items())
                     if r == res and (not ns or n == ns)]
            rv = str(self._rv)
        for o in items:
            del o["kind"], o["apiVersion"]
        kind = "SecretList" if res == "secrets" else "ConfigMapList"
        return self._reply(h, method, who, 200, {"kind": kind, "apiVersion": "v1",
                                                 "metadata": {"resourceVersion": rv},
                                                 "items": items})

    def _sar(self, h, method, who, body):
        if not self._accepts_json(h):
            return self._reply(h, method, who, 406, NOT_ACCEPTABLE)
        ct = h.headers.get("Content-Type")
        mt = ct.split(";")[0].strip().lower() if ct else ""
        if not mt and not self.strict:
            mt = "application/json"
        if mt != "application/json":
            return self._reply(h, method, who, 415, status(
                415, "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types "
                f"include: {MEDIA_TYPES}"))
        try:
            obj = json.loads(body, object_pairs_hook=_pairs)
        except ValueError as e:
            obj, err = None, e
        with self.lock:
            self.sar_log.append(obj if obj is not None else body)
        if obj is None:
            summary = body[:30].decode(errors="replace") + ("..." if len(body) > 30 else "")
            return self._reply(h, method, who, 400, bad_request(
                "the object provided is unrecognized (must be of type SubjectAccessReview): "
                f"couldn't get version/kind; json parse error: {err} ({summary})"))
        if not isinstance(obj, dict):
            return self._reply(h, method, who, 400, bad_request(
                "the object provided is unrecognized (must be of type SubjectAccessReview): "
                "couldn't get version/kind; json parse error: json: cannot unmarshal "
                f"{_json_type(obj)} into Go value of type struct {{ APIVersion string "
                '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'))
        api, kind = obj.get("apiVersion"), obj.get("kind")
        if self.strict and (not api or not kind):
            return self._reply(h, method, who, 400, bad_request(
                "kube-fake (strict): apiVersion and kind are required in a SubjectAccessReview "
                "(the real server would default them from the URL)"))
        api = api or SAR_API
        kind = kind or "SubjectAccessReview"
        if not isinstance(api, str) or not isinstance(kind, str):
            return self._reply(h, method, who, 400, bad_request(
                "the object provided is unrecognized (must be of type SubjectAccessReview): "
                "couldn't get version/kind; json parse error: json: cannot unmarshal into "
                "apiVersion/kind of type string"))
        grp, _, ver = api.rpartition("/")
        if kind != "SubjectAccessReview" or grp != SAR_GROUP or ver not in ("v1", "v1beta1"):
            return self._reply(h, method, who, 400, bad_request(
                f"{kind} in version {go_quote(ver)} cannot be handled as a SubjectAccessReview: "
                f"no kind {go_quote(kind)} is registered for version {go_quote(api)} {SCHEME}"))
        warnings = []
        err = _walk(obj, _SAR, "", "", warnings)
        if err:
            return self._reply(h, method, who, 400, bad_request(
                f"{kind} in version {go_quote(ver)} cannot be handled as a "
                f"SubjectAccessReview: {err}"))
        if ver != "v1":
            return self._reply(h, method, who, 400, bad_request(
                f"the API version in the data ({api}) does not match the expected API "
                f"version ({SAR_API})"))
        unknown = [w.split('"', 1)[1][:-1] for w in warnings if w.startswith("unknown")]
        with self.lock:
            self.unknown_fields.extend(unknown)
        fv = parse_qs(urlsplit(h.path).query).get("fieldValidation", ["Warn"])[0]
        if fv == "Strict" and warnings:
            return self._reply(h, method, who, 400, bad_request(
                "strict decoding error: " + ", ".join(warnings)))
        hdrs = [] if fv == "Ignore" else [
            ("Warning", '299 - ' + go_quote(w)) for w in warnings]
        errs = _validate_sar(obj)
        if errs:
            return self._reply(h, method, who, 422, invalid_sar(errs), hdrs)
        spec = _echo_spec(obj.get("spec") or {})
        try:
            decision = self.sar_policy(json.loads(json.dumps(spec)))
        except Exception as e:  # a broken policy is the test's bug: say so
            return self._reply(h, method, who, 500, status(
                500, "InternalError", f"kube-fake: sar_policy raised {e!r}"), hdrs)
        if isinstance(decision, dict):
            st = decision
        else:
            allowed, reason = decision[0], decision[1]
            denied = decision[2] if len(decision) > 2 else False
            st = {"allowed": bool(allowed)}
            if denied:
                st["denied"] = True
            if reason:
                st["reason"] = reason
        out = {"kind": "SubjectAccessReview", "apiVersion": SAR_API,
               "metadata": {"creationTimestamp": None}, "spec": spec, "status": st}
        return self._reply(h, method, who, 201, out, hdrs)


# --- kubeconfig and in-cluster layout ---------------------------------------
def write_kubeconfig(path, server, token=None, token_file=None, client_cert=None,
                     client_key=None, ca_file=None, ca_data=None, insecure=False,
                     namespace=None, name="kube-fake"):
    """A kubeconfig (apiVersion v1, kind Config; one cluster, user and
    context, all named `name`, as current-context). ca_data is PEM (text,
    bytes or a path) stored base64 in certificate-authority-data, as the
    format wants. Strings are written double-quoted (JSON escapes are
    valid YAML)."""
    q = json.dumps
    cluster = [f"    server: {q(server)}"]
    if ca_file:
        cluster.append(f"    certificate-authority: {q(ca_file)}")
    if ca_data:
        pem = _pem_text(ca_data).encode()
        cluster.append(f"    certificate-authority-data: {q(base64.b64encode(pem).decode())}")
    if insecure:
        cluster.append("    insecure-skip-tls-verify: true")
    user = []
    if token:
        user.append(f"    token: {q(token)}")
    if token_file:
        user.append(f"    tokenFile: {q(token_file)}")
    if client_cert:
        user.append(f"    client-certificate: {q(client_cert)}")
    if client_key:
        user.append(f"    client-key: {q(client_key)}")
    ctx = [f"    cluster: {q(name)}", f"    user: {q(name)}"]
    if namespace:
        ctx.append(f"    namespace: {q(namespace)}")
    text = "\n".join(
        ["apiVersion: v1", "kind: Config", "clusters:", f"- name: {q(name)}", "  cluster:"]
        + cluster
        + ["users:", f"- name: {q(name)}", "  user:" + ("" if user else " {}")] + user
        + ["contexts:", f"- name: {q(name)}", "  context:"] + ctx
        + [f"current-context: {q(name)}", "preferences: {}", ""])
    with open(path, "w") as f:
        f.write(text)
    return path


def _sa_write_generation(d, files):
    """One kubelet AtomicWriter generation: files in a timestamped ..dir,
    ..data swapped to it by rename, the visible names symlinks through
    ..data (so a reader sees the old or the new set, never a mix)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("..%Y_%m_%d_%H_%M_%S.")
    gen = os.path.join(d, stamp + uuid.uuid4().hex[:9])
    os.makedirs(gen)
    for n, content in files.items():
        with open(os.path.join(gen, n), "wb") as f:
            f.write(content)
        os.chmod(os.path.join(gen, n), 0o644)
    data = os.path.join(d, "..data")
    old = os.readlink(data) if os.path.islink(data) else None
    tmp = os.path.join(d, "..data_tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.basename(gen), tmp)
    os.rename(tmp, data)
    for n in files:
        link = os.path.join(d, n)
        if not os.path.islink(link):
            os.symlink(os.path.join("..data", n), link)
    if old:
        shutil.rmtree(os.path.join(d, old), ignore_errors=True)


def service_account_dir(path, token, ca_pem, namespace="default"):
    """Lay out a mounted service-account volume at `path` (the in-cluster
    /var/run/secrets/kubernetes.io/serviceaccount): token, ca.crt and
    namespace, in the kubelet's ..data symlink layout. ca_pem: PEM text,
    bytes or a file path. Returns `path`."""
    os.makedirs(path, exist_ok=True)
    _sa_write_generation(path, {"token": token.encode(), "ca.crt": _pem_text(ca_pem).encode(),
                                "namespace": namespace.encode()})
    return path


def rotate_service_account_token(path, token):
    """Rotate the token the way the kubelet does (new generation, atomic
    ..data swap); ca.crt and namespace are carried over."""
    keep = {}
    for n in ("ca.crt", "namespace"):
        with open(os.path.join(path, n), "rb") as f:
            keep[n] = f.read()
    keep["token"] = token.encode()
    _sa_write_generation(path, keep)


def main(argv):
    ap = argparse.ArgumentParser(description="strict fake kube-apiserver")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", action="append", default=[], metavar="TOKEN=USER")
    ap.add_argument("--secret", action="append", default=[], metavar="NS/NAME/KEY=VALUE")
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
    if a.allow_all:
        f.sar_policy = lambda spec: (True, "kube-fake --allow-all")
    print(json.dumps({"url": f.url, "tokens": tokens}), flush=True)
    try:
        f.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
