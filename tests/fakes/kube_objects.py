"""Generic namespaced custom objects for the fake kube-apiserver
(kube_fake.py): dns01's embedded store (store.dns01.io/v1 txtrecords) as a
CRD served by the real apiserver would be. resourceVersion on every
change, label selectors (equality and set-based), create (409
AlreadyExists), get, delete (404), paged list (limit/continue) and watch
as a chunked stream of JSON events with bookmarks; a watch from a
version older than the kept history gets the 410 Expired ERROR event the
apiserver sends. Fault injection: drop_watches() cuts every open watch
stream mid-body; compact() forgets the history; the usual fault() kinds
(status 500, hang, drop) apply to these paths too. No I/O but the
handler's socket."""
import base64
import json
import re
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

from kube_api import (DNS1123_SUBDOMAIN, go_json, go_quote, status, rfc3339,
                      not_found, bad_request, NOT_ALLOWED)

CUSTOM = {("store.dns01.io", "v1", "txtrecords"): "TXTRecord"}
HISTORY = 10000
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VAL = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def parse_selector(sel):
    """[(key, op, values)] or raise ValueError (the apiserver's 400)."""
    reqs, depth, cur = [], 0, ""
    parts = []
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur or parts:
        parts.append(cur)
    for p in parts:
        p = p.strip()
        m = re.match(r"^(\S+)\s+(in|notin)\s*\(([^()]*)\)$", p)
        if m:
            vals = [v.strip() for v in m.group(3).split(",")]
            key, op = m.group(1), m.group(2)
        elif "!=" in p:
            key, v = p.split("!=", 1)
            key, op, vals = key.strip(), "!=", [v.strip()]
        elif "==" in p or "=" in p:
            key, v = re.split(r"==?", p, 1)
            key, op, vals = key.strip(), "=", [v.strip()]
        elif p.startswith("!"):
            key, op, vals = p[1:].strip(), "!", []
        else:
            key, op, vals = p, "exists", []
        if not _LABEL_KEY.match(key) or any(not _LABEL_VAL.match(v) or len(v) > 63
                                            for v in vals):
            raise ValueError(f"unable to parse requirement: {go_quote(p)}")
        reqs.append((key, op, vals))
    return reqs


def selector_match(reqs, labels):
    for key, op, vals in reqs:
        have = key in labels
        v = labels.get(key)
        if op == "in" and v not in vals:
            return False
        if op == "notin" and have and v in vals:
            return False
        if op == "=" and v != vals[0]:
            return False
        if op == "!=" and have and v == vals[0]:
            return False
        if op == "exists" and not have:
            return False
        if op == "!" and have:
            return False
    return True


class CustomObjects:
    """Mixed into KubeFake; uses its lock, _rv, _reply, _log, _stopping."""

    def _custom_init(self):
        self.custom = {}          # (group, plural, namespace, name) -> object
        self.custom_events = []   # (rv, type, object) for watches
        self.custom_min_rv = 0    # watches from older versions get 410
        self.custom_cond = threading.Condition(self.lock)
        self.bookmark_seconds = 1.0
        self._watch_gen = 0       # bumped by drop_watches()
        self.watches_open = 0

    # --- test helpers ---------------------------------------------------
    def custom_objects(self, namespace=None):
        with self.lock:
            return [json.loads(json.dumps(o)) for (g, p, ns, n), o in sorted(self.custom.items())
                    if namespace is None or ns == namespace]

    def drop_watches(self):
        """Cut every open watch stream (no terminating chunk)."""
        with self.custom_cond:
            self._watch_gen += 1
            self.custom_cond.notify_all()

    def compact(self):
        """Forget the event history: every watch from an older version now
        gets 410 Expired, as after an etcd compaction."""
        with self.custom_cond:
            self.custom_events.clear()
            self._rv += 1  # as an unrelated write would
            self.custom_min_rv = self._rv
            self.custom_cond.notify_all()

    def put_custom(self, group, plural, namespace, obj):
        """Store an object directly (test set-up), as a create would."""
        with self.custom_cond:
            return self._custom_create(group, plural, namespace, obj)

    # --- serving --------------------------------------------------------
    def _custom_event(self, typ, obj):
        self.custom_events.append((self._rv, typ, json.loads(json.dumps(obj))))
        if len(self.custom_events) > HISTORY:
            drop = self.custom_events.pop(0)
            self.custom_min_rv = drop[0]
        self.custom_cond.notify_all()

    def _custom_create(self, group, plural, ns, obj):
        md = obj.setdefault("metadata", {})
        key = (group, plural, ns, md["name"])
        if key in self.custom:
            return None
        self._rv += 1
        md["namespace"] = ns
        md["uid"] = str(uuid.uuid4())
        md["resourceVersion"] = str(self._rv)
        md["generation"] = 1
        md["creationTimestamp"] = rfc3339()
        self.custom[key] = obj
        self._custom_event("ADDED", obj)
        return obj

    def _custom_route(self, h, method, who, info, body):
        group, version, plural = info["group"], info["version"], info["resource"]
        kind = CUSTOM[(group, version, plural)]
        ns, name, verb = info["namespace"], info["name"], info["verb"]
        if not ns or info["subresource"] or info["extra_parts"]:
            return self._reply(h, method, who, 404, status(
                404, "NotFound", "the server could not find the requested resource", {}))
        q = parse_qs(urlsplit(h.path).query)
        try:
            sel = parse_selector(q.get("labelSelector", [""])[0])
        except ValueError as e:
            return self._reply(h, method, who, 400, bad_request(str(e)))
        if verb == "create":
            return self._custom_post(h, method, who, group, version, plural, kind, ns, body)
        if verb == "delete":
            with self.custom_cond:
                obj = self.custom.pop((group, plural, ns, name), None)
                if obj is not None:
                    self._rv += 1
                    obj["metadata"]["resourceVersion"] = str(self._rv)
                    self._custom_event("DELETED", obj)
            if obj is None:
                return self._reply(h, method, who, 404, not_found(plural, group, name))
            return self._reply(h, method, who, 200, obj)
        if verb == "get":
            with self.lock:
                obj = self.custom.get((group, plural, ns, name))
                obj = json.loads(json.dumps(obj)) if obj else None
            if obj is None:
                return self._reply(h, method, who, 404, not_found(plural, group, name))
            return self._reply(h, method, who, 200, obj)
        if verb == "list":
            return self._custom_list(h, method, who, group, version, plural, kind, ns, sel, q)
        if verb == "watch":
            return self._custom_watch(h, method, who, group, plural, ns, sel, q)
        return self._reply(h, method, who, 405, NOT_ALLOWED)

    def _custom_post(self, h, method, who, group, version, plural, kind, ns, body):
        try:
            obj = json.loads(body)
        except ValueError:
            return self._reply(h, method, who, 400, bad_request("invalid JSON body"))
        if not isinstance(obj, dict) or obj.get("apiVersion") != f"{group}/{version}" \
                or obj.get("kind") != kind or not isinstance(obj.get("metadata"), dict):
            return self._reply(h, method, who, 400, bad_request(
                f"the API version in the data ({obj.get('apiVersion') if isinstance(obj, dict) else ''}) "
                f"does not match the expected API version ({group}/{version})"))
        md = obj["metadata"]
        name = md.get("name")
        if md.get("namespace") not in (None, ns):
            return self._reply(h, method, who, 400, bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"))
        if not isinstance(name, str) or not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
            return self._reply(h, method, who, 422, status(
                422, "Invalid", f"{kind} {go_quote(str(name))} is invalid: metadata.name: "
                "Invalid value", {"name": str(name), "group": group, "kind": kind}))
        labels = md.get("labels") or {}
        for k, v in labels.items():
            if not _LABEL_KEY.match(k) or not isinstance(v, str) or not _LABEL_VAL.match(v) \
                    or len(v) > 63:
                return self._reply(h, method, who, 422, status(
                    422, "Invalid", f"{kind} {go_quote(name)} is invalid: metadata.labels: "
                    f"Invalid value: {go_quote(str(v))}", {"name": name, "group": group,
                                                          "kind": kind}))
        if not isinstance(obj.get("spec"), dict):
            return self._reply(h, method, who, 422, status(
                422, "Invalid", f"{kind} {go_quote(name)} is invalid: spec: Required value",
                {"name": name, "group": group, "kind": kind}))
        with self.custom_cond:
            made = self._custom_create(group, plural, ns, obj)
            made = json.loads(json.dumps(made)) if made else None
        if made is None:
            return self._reply(h, method, who, 409, status(
                409, "AlreadyExists", f"{plural}.{group} {go_quote(name)} already exists",
                {"name": name, "group": group, "kind": plural}))
        return self._reply(h, method, who, 201, made)

    def _custom_list(self, h, method, who, group, version, plural, kind, ns, sel, q):
        limit = int(q.get("limit", ["0"])[0] or 0)
        cont = q.get("continue", [""])[0]
        after, rv = "", None
        if cont:
            try:
                after, rv = json.loads(base64.urlsafe_b64decode(cont)).values()
            except (ValueError, TypeError):
                return self._reply(h, method, who, 400, bad_request("invalid continue token"))
        with self.lock:
            # A continued list is served from its first page's version in
            # the real server; the fake keeps it simple and consistent
            # enough: later pages come from the current state.
            # Copies of the page only (a 10,000-object list in pages of
            # 500 stays linear).
            items, more = [], False
            for (g, p, n, nm), o in sorted(self.custom.items()):
                if g != group or p != plural or n != ns or nm <= after or \
                        not selector_match(sel, o["metadata"].get("labels", {})):
                    continue
                if limit and len(items) == limit:
                    more = True
                    break
                items.append(json.loads(json.dumps(o)))
            rv = rv or str(self._rv)
        meta = {"resourceVersion": rv}
        if more:
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"after": items[-1]["metadata"]["name"], "rv": rv}).encode()).decode()
        return self._reply(h, method, who, 200, {"apiVersion": f"{group}/{version}",
                                                 "kind": kind + "List", "metadata": meta,
                                                 "items": items})

    def _chunk(self, h, data):
        h.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
        h.wfile.flush()

    def _custom_watch(self, h, method, who, group, plural, ns, sel, q):
        rv = q.get("resourceVersion", [""])[0]
        bookmarks = q.get("allowWatchBookmarks", [""])[0] in ("true", "1")
        timeout = float(q.get("timeoutSeconds", ["1800"])[0] or 1800)
        try:
            since = int(rv) if rv else None
        except ValueError:
            return self._reply(h, method, who, 400, bad_request(
                f"invalid resource version: {go_quote(rv)}"))
        self._log(h, method, who[0], who[1], 200, h._kf_body)
        h.send_response(200)
        h.send_header("Cache-Control", "no-cache, private")
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.flush()
        end = time.time() + timeout
        with self.custom_cond:
            gen = self._watch_gen
            self.watches_open += 1
            if since is None:
                since = self._rv
            gone = since < self.custom_min_rv
        try:
            if gone:
                self._chunk(h, go_json({"type": "ERROR", "object": status(
                    410, "Expired", f"too old resource version: {since} "
                    f"({self.custom_min_rv})")}))
                self._chunk(h, b"")
                return
            next_bm = time.time() + self.bookmark_seconds
            while not self._stopping.is_set():
                with self.custom_cond:
                    out = [(r, t, o) for r, t, o in self.custom_events if r > since]
                    if not out and gen == self._watch_gen:
                        self.custom_cond.wait(min(0.2, max(0.0, end - time.time())))
                        out = [(r, t, o) for r, t, o in self.custom_events if r > since]
                    dropped = gen != self._watch_gen
                    cur = self._rv
                    gone = since < self.custom_min_rv
                if dropped:
                    h.close_connection = True
                    return  # no terminating chunk: the stream was cut
                if gone:
                    self._chunk(h, go_json({"type": "ERROR", "object": status(
                        410, "Expired", f"too old resource version: {since}")}))
                    break
                for r, t, o in out:
                    since = r
                    if o["metadata"]["namespace"] != ns or \
                            not selector_match(sel, o["metadata"].get("labels", {})):
                        continue
                    self._chunk(h, go_json({"type": t, "object": o}))
                if bookmarks and time.time() >= next_bm:
                    since = max(since, cur)
                    self._chunk(h, go_json({"type": "BOOKMARK", "object": {
                        "kind": CUSTOM[(group, "v1", plural)], "apiVersion": f"{group}/v1",
                        "metadata": {"resourceVersion": str(since)}}}))
                    next_bm = time.time() + self.bookmark_seconds
                if time.time() >= end:
                    break
            self._chunk(h, b"")
        except OSError:
            h.close_connection = True
        finally:
            with self.lock:
                self.watches_open -= 1
