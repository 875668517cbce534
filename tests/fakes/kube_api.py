"""The kube-apiserver's wire shapes for the fake (kube_fake.py): Status
objects worded as k8s.io/apimachinery words them, RequestInfo-style
routing, the SubjectAccessReview schema with Go's decoding rules
(unknown fields, type errors) and validation. No I/O here."""
import datetime
import json
import os
import re
import time
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


def rfc3339(t=None):
    return datetime.datetime.fromtimestamp(t if t is not None else time.time(),
                                           datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pem_text(pem):
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
SAR_SCHEMA = ("SubjectAccessReview", {"apiVersion": _STR, "kind": _STR, "metadata": _OBJ,
                                      "spec": _SPEC, "status": _STATUS})


class _Obj(dict):
    """A decoded JSON object that remembers keys it saw twice."""
    dups = ()


def json_pairs(pairs):
    o = _Obj()
    d = []
    for k, v in pairs:
        if k in o:
            d.append(k)
        o[k] = v
    o.dups = d
    return o


def json_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def walk_schema(v, schema, path, struct, warnings):
    """Type-check `v` like Go's decoder into the v1 types; collect unknown
    and duplicate fields (sigs.k8s.io/json is case-sensitive). Returns a
    decode error message or None. null is always fine (zero value)."""
    if v is None:
        return None
    where = f"Go struct field {struct}.{path}" if struct else "Go value"
    if isinstance(schema, tuple):
        name, fields = schema
        if not isinstance(v, dict):
            return f"json: cannot unmarshal {json_type(v)} into {where} of type v1.{name}"
        for k in getattr(v, "dups", ()):
            warnings.append(f'duplicate field "{path + "." if path else ""}{k}"')
        for k, sub in v.items():
            p = f"{path}.{k}" if path else k
            if k not in fields:
                warnings.append(f'unknown field "{p}"')
                continue
            err = walk_schema(sub, fields[k], p, name, warnings)
            if err:
                return err
        return None
    if isinstance(schema, list):
        if not isinstance(v, list):
            return f"json: cannot unmarshal {json_type(v)} into {where} of type []string"
        for x in v:
            if x is not None and not isinstance(x, str):
                return f"json: cannot unmarshal {json_type(x)} into {where} of type string"
        return None
    if isinstance(schema, dict):  # map[string][]string
        if not isinstance(v, dict):
            return (f"json: cannot unmarshal {json_type(v)} into {where} "
                    "of type map[string]v1.ExtraValue")
        for x in v.values():
            err = walk_schema(x, [_STR], path, struct, warnings)
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
        return f"json: cannot unmarshal {json_type(v)} into {where} of type {schema}"
    return None


def echo_spec(spec):
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


def go_struct(name, d, fields):
    """Go's %#v of a small struct, for 422 'Invalid value' texts."""
    inner = ", ".join(f'{k[0].upper() + k[1:]}:{go_quote(d.get(k) or "")}' for k in fields)
    return f"authorization.{name}{{{inner}}}"


def validate_sar(obj):
    """authorization validation.ValidateSubjectAccessReview (1.2x-1.33 field
    paths and value renderings): a list of (field, message-body)."""
    spec = obj.get("spec") or {}
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    errs = []
    if ra is not None and nra is not None:
        errs.append(("spec.nonResourceAttributes",
                     f"Invalid value: {go_struct('NonResourceAttributes', nra, ('path', 'verb'))}"
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
