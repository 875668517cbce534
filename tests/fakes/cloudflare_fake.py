"""A strict fake of the Cloudflare API v4, independent of the C code.

It follows the documented behaviour (Cloudflare's API v4 reference): the envelope
{success, errors, messages, result, result_info}; token (Bearer) or
email + Global API key auth, checked (both at once is refused);
GET /zones?name= exact match (per_page 5..50); dns_records list filtered
by type, name / name.exact, content / content.exact / content.contains
(all case-insensitive, as documented), paged with a deliberately small
page size so clients must follow total_pages; POST with validation
(Content-Type, type, name inside the zone, ttl 1 or 60..86400, identical
record -> 81058); DELETE by id (81044 when unknown). One deliberate extra
strictness: an unknown query parameter on a list is a 400, so a client's
typo cannot pass unnoticed (the real API would ignore it).

Faults are injected per test through Fake methods or attributes: queued
error replies (429 with Retry-After, 5xx), optionally only for one method
and paths containing a substring; latency per request; dropped connections; hung
requests that never get an answer; `http10`: answer as HTTP/1.0 and close
the connection after every response, as Python's http.server does by
default (with `latency`: a slow API that never keeps a connection). The
connections open at once are counted (`conns_peak`). Random faults come from `chaos`, a
callable (method, path) -> action or None asked for every API request
(see CHAOS below). Records live in memory so tests can assert the exact
end state; every request is logged with the auth scheme it used, and
every record created or deleted through the API in `created`/`deleted`.

Run standalone:
  python3 cloudflare_fake.py [--port P] [--latency S] [--http10] [--page-size N]
                             [--token T] [--zone Z ...] [--tls CERT KEY]
(a bare port number as first argument also works). It prints one JSON
line {url, token, zones} and serves until killed. Control endpoints, no
auth: GET /_fake/records, POST /_fake/reset, POST /_fake/fault
{"status", "code", "retry_after", "path", "message"}, POST /_fake/latency
{"seconds"}, POST /_fake/hang {"count"}, POST /_fake/http10 {"on"};
GET /_fake/records also reports the peak of connections open at once.
"""
import argparse
import json
import os
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import fakehttp

PAGE = 2  # small on purpose: clients must page

# What Fake.chaos may return for one request (None: answer normally):
#   ("drop",)                  close the connection, change nothing
#   ("hang", seconds)          no answer for that long (None: until the
#                              fake stops), then close; change nothing
#   ("latency", seconds)       wait, then answer normally
#   ("status", st, code, ra)   error reply st with Cloudflare error `code`
#                              (Retry-After ra when not None); change nothing
#   ("applied_drop",)          apply the request, then close with no reply
#                              (the reply is lost on the way back)
#   ("slow", seconds)          apply, send the head, then the body a few
#                              bytes at a time over that long
#   ("truncate",)              apply, send the head and half the body, close
CHAOS = ("drop", "hang", "latency", "status", "applied_drop", "slow", "truncate")


def env(result=None, errors=(), info=None, success=None):
    o = {"success": not errors if success is None else success,
         "errors": [{"code": c, "message": m} for c, m in errors],
         "messages": [], "result": result}
    if info is not None:
        o["result_info"] = info
    return o


class Fake(fakehttp.Server):
    def __init__(self, token="test-token", email="ops@example.test", key="global-key",
                 zones=("example.test",), tls=None, port=0, page_size=PAGE):
        self.token, self.email, self.key = token, email, key
        self.zones = {z: uuid.uuid4().hex for z in zones}
        self.records = {}  # id -> record
        self.lock = threading.Lock()
        # queued (status, code, retry_after[, path substring]) replies
        self.faults = []
        self.latency = 0.0
        self.page_size = page_size
        self.drop = 0      # connections to drop without a reply
        self.hang = 0      # requests left without any answer, ever
        self.http10 = False  # HTTP/1.0: close after every response
        self.conns_open = 0
        self.conns_peak = 0  # connections open at once, at most
        self.stopping = threading.Event()
        self.requests = []  # (method, path) log
        self.chaos = None   # callable(method, path) -> CHAOS action or None
        self.created = []   # (name, type, content) per record created by the API
        self.deleted = []   # (name, type, content) per record deleted by the API
        self.auth_log = []  # "token", "key", "both" or "none" per request
        fake = self

        class H(fakehttp.Handler):
            methods = ("GET", "POST", "DELETE", "PUT")

            # Read by parse_request and send_response for every request.
            @property
            def protocol_version(self):
                return "HTTP/1.0" if fake.http10 else "HTTP/1.1"

            def setup(self):
                super().setup()
                with fake.lock:
                    fake.conns_open += 1
                    fake.conns_peak = max(fake.conns_peak, fake.conns_open)

            def finish(self):
                try:
                    super().finish()
                finally:
                    with fake.lock:
                        fake.conns_open -= 1

            def _send(self, status, obj, headers=(), how=None):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                if how is None:
                    self.wfile.write(body)
                elif how[0] == "truncate":
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self._drop()
                else:  # ("slow", seconds)
                    self.wfile.flush()
                    step = max(1, len(body) // 10)
                    for i in range(0, len(body), step):
                        time.sleep(how[1] / 10)
                        self.wfile.write(body[i:i + step])
                        self.wfile.flush()

            def _handle(self, method):
                body = self._body()
                if self.path.startswith("/_fake/"):
                    return self._send(*fake.control(method, self.path, body))
                with fake.lock:
                    fake.requests.append((method, self.path))
                    fake.auth_log.append(fake.scheme_of(self.headers))
                    if fake.drop > 0:
                        fake.drop -= 1
                        return self._drop()
                    hang = fake.hang > 0
                    fake.hang -= hang
                    fault = fake.take_fault(method, self.path)
                    act = None
                    if not hang and fault is None and fake.chaos is not None:
                        act = fake.chaos(method, self.path)
                if hang:
                    fake.stopping.wait()
                    self.close_connection = True
                    return
                if act is not None and act[0] in ("drop", "hang"):
                    if act[0] == "hang":
                        fake.stopping.wait(act[1])
                    return self._drop()
                if act is not None and act[0] == "latency":
                    time.sleep(act[1])
                if act is not None and act[0] == "status":
                    fault = act[1:]
                if fake.latency:
                    time.sleep(fake.latency)
                if fault is not None:
                    status, code, retry = fault[:3]
                    msg = fault[4] if len(fault) > 4 and fault[4] else "injected fault"
                    hdrs = [("Retry-After", str(retry))] if retry else []
                    return self._send(status, env(errors=[(code, msg)]), hdrs)
                err = fake.auth(self.headers)
                if err:
                    return self._send(err[0], env(errors=[err[1]]))
                status, obj = fake.route(method, self.path, body, self.headers)
                if act is not None and act[0] == "applied_drop":
                    return self._drop()
                how = act if act is not None and act[0] in ("slow", "truncate") else None
                self._send(status, obj, how=how)

        self._listen(H, tls, port, queue=1024)  # hundreds of concurrent clients

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}/client/v4"

    # --- what the real API checks -------------------------------------
    @staticmethod
    def scheme_of(h):
        tok = h.get("Authorization") is not None
        key = h.get("X-Auth-Key") is not None or h.get("X-Auth-Email") is not None
        return "both" if tok and key else "token" if tok else "key" if key else "none"

    def take_fault(self, method, path):
        """The first queued fault for this request. A fault's optional 4th
        element is a path substring, or "METHOD substring"; its optional
        5th the error message (e.g. the real API's 404 texts, which do not
        all mean "gone")."""
        for i, f in enumerate(self.faults):
            m = f[3] if len(f) > 3 else None
            if m is not None and " " in m:
                want, m = m.split(" ", 1)
                if want != method:
                    continue
            if m is None or m in path:
                return self.faults.pop(i)
        return None

    def auth(self, h):
        a = h.get("Authorization")
        if a is not None:
            if h.get("X-Auth-Key") or h.get("X-Auth-Email"):
                return 400, (6003, "Invalid request headers: both token and key")
            if a != f"Bearer {self.token}":
                return 403, (9109, "Invalid access token")
            return None
        if h.get("X-Auth-Key") is None or h.get("X-Auth-Email") is None:
            return 400, (10000, "Authentication error")
        if h.get("X-Auth-Key") != self.key or h.get("X-Auth-Email") != self.email:
            return 403, (10000, "Authentication error")
        return None

    def zone_name(self, zid):
        for n, i in self.zones.items():
            if i == zid:
                return n
        return None

    def route(self, method, path, body, headers):
        u = urlsplit(path)
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        parts = [p for p in u.path.split("/") if p]
        if parts[:2] != ["client", "v4"]:
            return 404, env(errors=[(7000, "No route for that URI")])
        parts = parts[2:]
        if parts == ["zones"] and method == "GET":
            try:
                per = int(q.get("per_page", "20"))
            except ValueError:
                per = 0
            if not 5 <= per <= 50:
                return 400, env(errors=[(1001, "per_page must be between 5 and 50")])
            res = [{"id": i, "name": n, "status": "active"}
                   for n, i in self.zones.items() if n == q.get("name", n)]
            return 200, env(res, info={"page": 1, "per_page": per, "count": len(res),
                                       "total_count": len(res), "total_pages": 1})
        if len(parts) >= 3 and parts[0] == "zones" and parts[2] == "dns_records":
            zone = self.zone_name(parts[1])
            if zone is None:
                return 404, env(errors=[(7003, "Could not route to /zones/..., perhaps your object identifier is invalid?")])
            if len(parts) == 3 and method == "GET":
                return self.list(zone, q)
            if len(parts) == 3 and method == "POST":
                if "application/json" not in (headers.get("Content-Type") or ""):
                    return 400, env(errors=[(6003, "Invalid request headers")])
                return self.create(zone, body)
            if len(parts) == 4 and method == "DELETE":
                with self.lock:
                    r = self.records.get(parts[3])
                    if r is None or r["zone"] != zone:
                        return 404, env(errors=[(81044, "Record does not exist.")])
                    del self.records[parts[3]]
                    self.deleted.append((r["name"], r["type"], r["content"]))
                return 200, env({"id": parts[3]})
        return 405, env(errors=[(10000, "Method not allowed")])

    LIST_PARAMS = {"type", "name", "name.exact", "content", "content.exact",
                   "content.contains", "match", "page", "per_page", "order",
                   "direction"}

    def list(self, zone, q):
        unknown = set(q) - self.LIST_PARAMS
        if unknown or q.get("match", "all") != "all":
            return 400, env(errors=[(1004, f"DNS Validation Error: unknown filter {sorted(unknown)}")])
        try:
            page = int(q.get("page", "1"))
            per = min(int(q.get("per_page", "100")), self.page_size)
        except ValueError:
            return 400, env(errors=[(1004, "DNS Validation Error")])
        if page < 1 or per < 1:
            return 400, env(errors=[(1004, "DNS Validation Error")])
        name = q.get("name.exact", q.get("name"))
        exact = q.get("content.exact", q.get("content"))
        part = q.get("content.contains")
        with self.lock:
            rs = [r for r in self.records.values() if r["zone"] == zone
                  and ("type" not in q or r["type"] == q["type"])
                  and (name is None or r["name"].lower() == name.lower())
                  and (exact is None or r["content"].lower() == exact.lower())
                  and (part is None or part.lower() in r["content"].lower())]
        total = len(rs)
        pages = (total + per - 1) // per
        chunk = rs[(page - 1) * per: page * per]
        out = [{k: v for k, v in r.items() if k != "zone"} for r in chunk]
        return 200, env(out, info={"page": page, "per_page": per, "count": len(out),
                                   "total_count": total, "total_pages": pages})

    def create(self, zone, body):
        try:
            o = json.loads(body)
        except ValueError:
            return 400, env(errors=[(9207, "Request body is invalid.")])
        name, content, ttl = o.get("name"), o.get("content"), o.get("ttl", 1)
        if o.get("type") not in ("TXT", "A", "CNAME"):
            return 400, env(errors=[(9004, "DNS record type is invalid")])
        if not isinstance(name, str) or not (name == zone or name.endswith("." + zone)):
            return 400, env(errors=[(9005, "Content for TXT record is invalid / name not in zone")])
        if not isinstance(content, str) or not content:
            return 400, env(errors=[(9005, "Content for TXT record is invalid")])
        if not isinstance(ttl, int) or (ttl != 1 and not 60 <= ttl <= 86400):
            return 400, env(errors=[(9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")])
        with self.lock:
            for r in self.records.values():
                if (r["zone"], r["type"], r["name"], r["content"]) == (zone, o["type"], name, content):
                    return 400, env(errors=[(81058, "An identical record already exists.")])
            rid = uuid.uuid4().hex
            self.records[rid] = {"id": rid, "zone": zone, "type": o["type"], "name": name,
                                 "content": content, "ttl": ttl, "proxied": False}
            self.created.append((name, o["type"], content))
        return 200, env({k: v for k, v in self.records[rid].items() if k != "zone"})

    # --- for tests ------------------------------------------------------
    def add(self, name, content, type_="TXT"):
        zone = max((z for z in self.zones if name == z or name.endswith("." + z)), key=len)
        rid = uuid.uuid4().hex
        with self.lock:
            self.records[rid] = {"id": rid, "zone": zone, "type": type_, "name": name,
                                 "content": content, "ttl": 60, "proxied": False}
        return rid

    def control(self, method, path, body):
        """The /_fake/ endpoints for standalone runs (no auth)."""
        try:
            arg = json.loads(body) if body else {}
        except ValueError:
            return 400, {"error": "bad JSON"}
        with self.lock:
            if method == "GET" and path == "/_fake/records":
                return 200, {"records": list(self.records.values()),
                             "requests": len(self.requests),
                             "conns_peak": self.conns_peak}
            if method == "POST" and path == "/_fake/reset":
                self.records.clear()
                self.faults.clear()
                self.requests.clear()
                self.auth_log.clear()
                self.created.clear()
                self.deleted.clear()
                self.latency, self.drop, self.hang = 0.0, 0, 0
                self.http10, self.conns_peak = False, self.conns_open
                return 200, {}
            if method == "POST" and path == "/_fake/fault":
                self.faults.append((int(arg["status"]), int(arg.get("code", 0)),
                                    arg.get("retry_after"), arg.get("path"),
                                    arg.get("message")))
                return 200, {}
            if method == "POST" and path == "/_fake/latency":
                self.latency = float(arg["seconds"])
                return 200, {}
            if method == "POST" and path == "/_fake/http10":
                self.http10 = bool(arg.get("on", True))
                return 200, {}
            if method == "POST" and path == "/_fake/hang":
                self.hang += int(arg.get("count", 1))
                return 200, {}
        return 404, {"error": "no such control endpoint"}

    def txt(self, name):
        with self.lock:
            return sorted(r["content"] for r in self.records.values()
                          if r["type"] == "TXT" and r["name"] == name)


def main(argv):
    ap = argparse.ArgumentParser(description="Cloudflare API v4 fake")
    ap.add_argument("port_arg", nargs="?", type=int, help=argparse.SUPPRESS)
    ap.add_argument("cert_arg", nargs="?", help=argparse.SUPPRESS)
    ap.add_argument("key_arg", nargs="?", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float,
                    default=float(os.environ.get("CF_FAKE_LATENCY", "0")))
    ap.add_argument("--http10", action="store_true",
                    help="answer as HTTP/1.0, closing after each response")
    ap.add_argument("--page-size", type=int, default=PAGE)
    ap.add_argument("--token", default="test-token")
    ap.add_argument("--zone", action="append")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args(argv)
    tls = tuple(a.tls) if a.tls else ((a.cert_arg, a.key_arg) if a.key_arg else None)
    f = Fake(token=a.token, zones=tuple(a.zone or ("example.test",)), tls=tls,
             port=a.port_arg if a.port_arg is not None else a.port, page_size=a.page_size)
    f.latency = a.latency
    f.http10 = a.http10
    # One JSON line for whoever started us (bench/, manual runs).
    print(json.dumps({"url": f.url, "token": f.token, "zones": f.zones}), flush=True)
    try:
        f.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
