"""A strict fake of DigitalOcean's Domains API (v2), independent of the C code.

Written from DigitalOcean's API reference: bearer-token auth
(401 {"id": "Unauthorized", ...}); GET /v2/domains/{domain}/records with
the filters type and name (name must be the fully qualified record name),
paged with page/per_page and links.pages.next as a full URL (page size
capped at `page_size`, 2 by default, so clients must follow it); records
carry the name relative to the domain ("@" for the apex); POST creates one
record (JSON body only, name relative, ttl at least 30, data non-empty;
422 unprocessable_entity otherwise) and answers 201 {"domain_record"};
DELETE by id answers 204, or 404 not_found. Every reply carries the
ratelimit-limit / -remaining / -reset headers (reset: a Unix time).
Deliberate extra strictness: unknown query parameters are a 400, and a
name filter that is not fully qualified (inside the domain) is a 400.

Faults, per test: `faults` (queued (status, retry_after, "METHOD
substring" or None, reset_in) replies: retry_after sets Retry-After,
reset_in sets ratelimit-reset to now + reset_in and answers 429 to every
API request before that time, as the real limit would), `drop`
(connections closed without a reply), `hang` (requests never answered),
`next_origin` (links.pages.next points at another origin). Records live in
memory; every request is logged in `requests` as (method, path).
"""
import json
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import fakehttp

PAGE = 2
LIST_PARAMS = {"type", "name", "page", "per_page"}


def error(id_, message):
    return {"id": id_, "message": message}


class Fake(fakehttp.Server):
    def __init__(self, token="do-test-token", domains=("example.test",), tls=None,
                 page_size=PAGE):
        self.token = token
        self.domains = set(domains)
        self.records = {}  # id -> {"id", "domain", "type", "name", "data", "ttl"}
        self.next_id = 1000
        self.lock = threading.Lock()
        self.faults = []
        self.page_size = page_size
        self.drop = 0
        self.hang = 0
        self.next_origin = None
        self.limited_until = 0.0  # 429 to everything before this time
        self.stopping = threading.Event()
        self.requests = []
        self.times = []  # time.time() of each API request
        fake = self

        class H(fakehttp.Handler):
            methods = ("GET", "POST", "DELETE", "PUT")

            def content_type(self, status):
                return "application/json; charset=utf-8"

            def _send(self, status, obj, headers=()):
                # Every reply carries DigitalOcean's rate-limit headers.
                reset = int(max(time.time() + 60, fake.limited_until))
                hdrs = dict(headers)
                rl = [("ratelimit-limit", "5000"),
                      ("ratelimit-remaining", hdrs.pop("remaining", "4999")),
                      ("ratelimit-reset", hdrs.pop("reset", str(reset)))]
                super()._send(status, obj, rl + list(hdrs.items()))

            def _handle(self, method):
                body = self._body()
                with fake.lock:
                    fake.requests.append((method, self.path))
                    fake.times.append(time.time())
                    if fake.drop > 0:
                        fake.drop -= 1
                        return self._drop()
                    hang = fake.hang > 0
                    fake.hang -= hang
                    fault = None if hang else fake.take_fault(method, self.path)
                    limited = fake.limited_until
                if hang:
                    fake.stopping.wait()
                    return self._drop()
                if fault is not None:
                    status, retry, _, reset_in = fault
                    hdrs = {}
                    if retry is not None:
                        hdrs["Retry-After"] = str(retry)
                    if reset_in is not None:
                        until = time.time() + reset_in
                        with fake.lock:
                            fake.limited_until = until
                        hdrs["reset"] = str(int(until) + 1)
                        hdrs["remaining"] = "0"
                    msg = ("too_many_requests", "API Rate limit exceeded.") if status == 429 \
                        else ("server_error", "Server was unable to give you a response.")
                    return self._send(status, error(*msg), hdrs.items())
                if time.time() < limited:
                    return self._send(429, error("too_many_requests", "API Rate limit exceeded."),
                                      [("reset", str(int(limited) + 1)), ("remaining", "0")])
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(401, error("Unauthorized", "Unable to authenticate you"))
                status, obj = fake.route(method, self.path, body, self.headers)
                self._send(status, obj)

        self._listen(H, tls)

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def take_fault(self, method, path):
        for i, f in enumerate(self.faults):
            f = tuple(f) + (None,) * (4 - len(f))
            m = f[2]
            if m is not None:
                want, part = m.split(" ", 1)
                if want != method or part not in path:
                    continue
            self.faults.pop(i)
            return f
        return None

    def route(self, method, path, body, headers):
        u = urlsplit(path)
        parts = [p for p in u.path.split("/") if p]
        if len(parts) < 4 or parts[:2] != ["v2", "domains"] or parts[3] != "records":
            return 404, error("not_found", "The resource you were accessing could not be found.")
        domain = parts[2]
        if domain not in self.domains:
            return 404, error("not_found", "The resource you were accessing could not be found.")
        if len(parts) == 4 and method == "GET":
            return self.list(domain, u.query)
        if len(parts) == 4 and method == "POST":
            ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype != "application/json":
                return 400, error("bad_request", "Content-Type must be application/json")
            return self.create(domain, body)
        if len(parts) == 5 and method == "DELETE":
            try:
                rid = int(parts[4])
            except ValueError:
                return 404, error("not_found", "The resource you were accessing could not be found.")
            with self.lock:
                r = self.records.get(rid)
                if r is None or r["domain"] != domain:
                    return 404, error("not_found", "The resource you were accessing could not be found.")
                del self.records[rid]
            return 204, None
        return 405, error("method_not_allowed", "Method not allowed")

    def list(self, domain, query):
        q = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        if set(q) - LIST_PARAMS:
            return 400, error("bad_request", f"unknown parameters {sorted(set(q) - LIST_PARAMS)}")
        try:
            page = int(q.get("page", "1"))
            per = int(q.get("per_page", "20"))
        except ValueError:
            return 400, error("bad_request", "page and per_page must be integers")
        if page < 1 or not 1 <= per <= 200:
            return 400, error("bad_request", "per_page must be 1-200")
        name = q.get("name")
        rel = None
        if name is not None:
            n = name.lower()
            if n == domain:
                rel = "@"
            elif n.endswith("." + domain):
                rel = n[: -len(domain) - 1]
            else:
                return 400, error("bad_request", "name must be a fully qualified record name")
        with self.lock:
            rs = [r for r in sorted(self.records.values(), key=lambda r: r["id"])
                  if r["domain"] == domain
                  and ("type" not in q or r["type"] == q["type"])
                  and (rel is None or r["name"].lower() == rel)]
        size = min(per, self.page_size)
        chunk = rs[(page - 1) * size: page * size]
        out = {"domain_records": [{k: v for k, v in r.items() if k != "domain"} for r in chunk],
               "links": {}, "meta": {"total": len(rs)}}
        if page * size < len(rs):
            nq = dict(q, page=str(page + 1), per_page=str(per))
            origin = self.next_origin or self.url
            out["links"]["pages"] = {
                "next": f"{origin}/v2/domains/{domain}/records?{urlencode(nq)}",
                "last": f"{self.url}/v2/domains/{domain}/records?"
                        + urlencode(dict(nq, page=str((len(rs) + size - 1) // size)))}
        return 200, out

    def create(self, domain, body):
        try:
            o = json.loads(body)
        except ValueError:
            return 400, error("bad_request", "unable to parse request body")
        if not isinstance(o, dict):
            return 400, error("bad_request", "unable to parse request body")
        name, data, ttl, type_ = o.get("name"), o.get("data"), o.get("ttl", 1800), o.get("type")
        if type_ not in ("TXT", "A", "CNAME", "MX"):
            return 422, error("unprocessable_entity", "Type is not a valid record type")
        if not isinstance(name, str) or not name or name.endswith(".") \
                or name.lower().endswith("." + domain) or " " in name:
            return 422, error("unprocessable_entity", "Name is invalid")
        if not isinstance(data, str) or not data:
            return 422, error("unprocessable_entity", "Data needs to be a valid TXT value")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 30:
            return 422, error("unprocessable_entity", "Ttl must be greater than or equal to 30.")
        with self.lock:
            rid = self.next_id
            self.next_id += 1
            self.records[rid] = {"id": rid, "domain": domain, "type": type_, "name": name,
                                 "data": data, "ttl": ttl, "priority": None, "port": None,
                                 "weight": None, "flags": None, "tag": None}
            r = {k: v for k, v in self.records[rid].items() if k != "domain"}
        return 201, {"domain_record": r}

    # --- for tests ------------------------------------------------------
    def add(self, domain, name, data, type_="TXT", ttl=1800):
        with self.lock:
            rid = self.next_id
            self.next_id += 1
            self.records[rid] = {"id": rid, "domain": domain, "type": type_, "name": name,
                                 "data": data, "ttl": ttl, "priority": None, "port": None,
                                 "weight": None, "flags": None, "tag": None}
        return rid

    def txt(self, domain, name):
        with self.lock:
            return sorted(r["data"] for r in self.records.values()
                          if r["domain"] == domain and r["type"] == "TXT" and r["name"] == name)
