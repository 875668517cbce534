"""Request handling for the fake kube-apiserver (see kube_fake.py)."""
import json
import socket
import uuid
from urllib.parse import parse_qs, urlsplit

from kube_objects import CUSTOM
from kube_api import (MAX_BODY, SAR_GROUP, SAR_API, MEDIA_TYPES, SCHEME, go_json, go_quote,
                      status, UNAUTHORIZED, NOT_FOUND, NOT_ALLOWED, NOT_ACCEPTABLE, GENERIC,
                      forbidden, not_found, bad_request, request_info, SAR_SCHEMA, json_pairs,
                      json_type, walk_schema, echo_spec, validate_sar, invalid_sar)


class Serving:
    """Request handling of KubeFake (mixed into it): body reading, replies,
    authentication and authorization order, faults, routing, GET/list of
    Secrets and ConfigMaps and SubjectAccessReview create."""

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
        if (info["group"], info["version"], res) in CUSTOM:
            return self._custom_route(h, method, who, info, body)
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
            obj = json.loads(body, object_pairs_hook=json_pairs)
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
                f"{json_type(obj)} into Go value of type struct {{ APIVersion string "
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
        err = walk_schema(obj, SAR_SCHEMA, "", "", warnings)
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
        errs = validate_sar(obj)
        if errs:
            return self._reply(h, method, who, 422, invalid_sar(errs), hdrs)
        spec = echo_spec(obj.get("spec") or {})
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
