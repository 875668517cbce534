"""A strict fake of Akamai's Edge DNS Zone Management API (config-dns v2),
independent of the C code.

It follows Akamai's public documentation:
- every request is signed with EdgeGrid EG1-HMAC-SHA256; the fake
  recomputes the signature itself (hmac/hashlib/base64 below, written
  from the description of the scheme) over the method, "https", the Host
  header, the path and query, no signed headers, the content hash of a
  POST body (its first 128 KiB) and the auth header up to "signature=";
  a wrong token, a wrong signature, a timestamp outside the skew window
  (`skew`, 30 s) and a nonce seen before are refused with 401;
- GET /config-dns/v2/zones/{zone}: 200 with the zone, 404 when unknown;
- /config-dns/v2/zones/{zone}/names/{name}/types/{type}: GET (200 or
  404), POST (create: 201, 409 when the set exists), PUT (replace: 200,
  404 when absent), DELETE (204, 404 when absent). A record set is
  {name, type, ttl, rdata[]}; POST and PUT need Content-Type
  application/json and a body whose name and type match the path, a ttl
  that is an integer 0..2147483647, a non-empty rdata list of strings,
  and a name inside the zone made of valid labels (400 otherwise);
- errors are RFC 7807 problem details (application/problem+json).

Faults, per test (injected after the signature was checked and the nonce
used): `faults` (queued (status, retry_after, "METHOD part")
replies), `drop` (connections closed without a reply), `hang` (requests
never answered), `latency`, `clobber` (after the next N writes are
applied, the set is put back as it was before: another writer with a
stale read wrote last) and `conflict_posts` (the next N POSTs find that
another writer created the set just before, with its own value: 409).

Records live in memory so tests assert the exact end state; `requests`
logs (method, path), `writes` counts writes applied, `refusals` the
reasons of every 401.
"""
import base64
import calendar
import hashlib
import hmac
import json
import re
import threading
import time
from urllib.parse import urlsplit

import fakehttp

MAX_BODY = 131072
LABEL = re.compile(r"^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$")
PREFIX = "/config-dns/v2/zones/"


def b64(raw):
    return base64.b64encode(raw).decode()


def edgegrid_signature(secret, method, host, path, body, auth_prefix, timestamp):
    """The EG1-HMAC-SHA256 signature of one request, as Akamai describes it."""
    key = b64(hmac.new(secret.encode(), timestamp.encode(), hashlib.sha256).digest())
    chash = ""
    if method == "POST" and body:
        chash = b64(hashlib.sha256(body[:MAX_BODY]).digest())
    data = "\t".join([method, "https", host, path, "", chash, auth_prefix])
    return b64(hmac.new(key.encode(), data.encode(), hashlib.sha256).digest())


class Fake(fakehttp.Server):
    def __init__(self, zones=("example.test",), tls=None, client_token="akab-ct-1",
                 client_secret="c2VjcmV0LXNlY3JldA==", access_token="akab-at-1"):
        self.zones = set(zones)
        self.clients = {(client_token, access_token): client_secret}
        self.client_token, self.client_secret, self.access_token = \
            client_token, client_secret, access_token
        self.sets = {}  # (zone, name, type) -> {"name","type","ttl","rdata"}
        self.lock = threading.Lock()
        self.faults = []
        self.drop = self.hang = self.clobber = self.conflict_posts = 0
        self.latency = 0.0
        self.skew = 30
        self.nonces = set()
        self.requests = []
        self.refusals = []
        self.writes = 0
        self.stopping = threading.Event()
        fake = self

        class H(fakehttp.Handler):
            methods = ("GET", "POST", "PUT", "DELETE")
            # One write per reply: head and body in separate small
            # segments meet the client's delayed ACK (40 ms a request).
            wbufsize = 65536
            disable_nagle_algorithm = True

            def content_type(self, status):
                return "application/problem+json" if status >= 400 else "application/json"

            def _handle(self, method):
                body = self._body()
                with fake.lock:
                    fake.requests.append((method, self.path))
                    if fake.drop > 0:
                        fake.drop -= 1
                        return self._drop()
                    hang = fake.hang > 0
                    fake.hang -= hang
                    fault = fake.take_fault(method, self.path)
                if hang:
                    fake.stopping.wait()
                    self.close_connection = True
                    return
                if fake.latency:
                    time.sleep(fake.latency)
                # Authenticated first, as at Akamai's gateway: a request
                # answered 429 or 5xx has used its nonce.
                why = fake.check_auth(method, self.headers, self.path, body)
                if why:
                    with fake.lock:
                        fake.refusals.append(why)
                    return self._send(401, problem(401, "Unauthorized", why))
                if fault is not None:
                    st, ra = fault[0], fault[1]
                    return self._send(st, problem(st, "Injected fault", "injected by the test"),
                                      [("Retry-After", str(ra))] if ra is not None else [])
                st, obj = fake.route(method, self.path, body, self.headers)
                self._send(st, obj)

        self._listen(H, tls, queue=1024)
        self.host = f"127.0.0.1:{self.port}"

    # --- what the real API checks -------------------------------------
    def take_fault(self, method, path):
        for i, f in enumerate(self.faults):
            m = f[2] if len(f) > 2 else None
            if m is not None and " " in m:
                want, m = m.split(" ", 1)
                if want != method:
                    continue
            if m is None or m in path:
                return self.faults.pop(i)
        return None

    def check_auth(self, method, headers, path, body):
        """None, or why the request is refused."""
        a = headers.get("Authorization") or ""
        m = re.fullmatch(r"EG1-HMAC-SHA256 client_token=([^;\s]+);access_token=([^;\s]+);"
                         r"timestamp=(\d{8}T\d\d:\d\d:\d\d\+0000);nonce=([^;\s]+);"
                         r"signature=([A-Za-z0-9+/=]+)", a)
        if not m:
            return "no EG1-HMAC-SHA256 authorization"
        ct, at, ts, nonce, sig = m.groups()
        secret = self.clients.get((ct, at))
        if secret is None:
            return "unknown client token or access token"
        t = calendar.timegm(time.strptime(ts, "%Y%m%dT%H:%M:%S+0000"))
        if abs(time.time() - t) > self.skew:
            return "timestamp outside the allowed clock skew"
        prefix = a[:a.index("signature=")]
        want = edgegrid_signature(secret, method, headers.get("Host") or "", path, body,
                                  prefix, ts)
        if not hmac.compare_digest(want, sig):
            return "signature does not match"
        with self.lock:
            if nonce in self.nonces:
                return "nonce already used"
            self.nonces.add(nonce)
        return None

    def route(self, method, path, body, headers):
        u = urlsplit(path)
        if not u.path.startswith(PREFIX) or u.query:
            return 404, problem(404, "Not Found", "no such resource")
        parts = u.path[len(PREFIX):].split("/")
        zone = parts[0].lower()
        if zone not in self.zones:
            return 404, problem(404, "Not Found", f"zone {zone} does not exist")
        if len(parts) == 1 and method == "GET":
            return 200, {"zone": zone, "type": "primary", "versionId": "v1",
                         "activationState": "ACTIVE"}
        if len(parts) != 5 or parts[1] != "names" or parts[3] != "types":
            return 404, problem(404, "Not Found", "no such resource")
        name, rtype = parts[2].lower(), parts[4].upper()
        bad = self.bad_name(zone, name)
        if bad:
            return 400, problem(400, "Invalid name", bad)
        key = (zone, name, rtype)
        if method == "GET":
            with self.lock:
                s = self.sets.get(key)
            return (200, dict(s)) if s else (404, problem(404, "Not Found", "record set not found"))
        if method == "DELETE":
            with self.lock:
                if key not in self.sets:
                    return 404, problem(404, "Not Found", "record set not found")
                old = self.sets.pop(key)
                self.after_write(key, old)
            return 204, None
        if method not in ("POST", "PUT"):
            return 405, problem(405, "Method Not Allowed", method)
        if (headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return 415, problem(415, "Unsupported Media Type", "Content-Type must be application/json")
        try:
            o = json.loads(body)
        except ValueError:
            return 400, problem(400, "Bad Request", "body is not JSON")
        bad = self.bad_set(o, name, rtype)
        if bad:
            return 400, problem(400, "Bad Request", bad)
        new = {"name": name, "type": rtype, "ttl": o["ttl"], "rdata": list(o["rdata"])}
        with self.lock:
            old = self.sets.get(key)
            if method == "POST":
                if self.conflict_posts > 0 and old is None:
                    self.conflict_posts -= 1
                    self.sets[key] = {"name": name, "type": rtype, "ttl": 600,
                                      "rdata": ['"other-writer"']}
                    return 409, problem(409, "Conflict", "record set already exists")
                if old is not None:
                    return 409, problem(409, "Conflict", "record set already exists")
            elif old is None:
                return 404, problem(404, "Not Found", "record set not found")
            self.sets[key] = new
            self.after_write(key, old)
        return (201 if method == "POST" else 200), new

    def after_write(self, key, old):
        """Called with the lock held after a write was applied."""
        self.writes += 1
        if self.clobber > 0:
            self.clobber -= 1
            if old is None:
                self.sets.pop(key, None)
            else:
                self.sets[key] = old

    @staticmethod
    def bad_name(zone, name):
        if not (name == zone or name.endswith("." + zone)):
            return f"{name} is not in zone {zone}"
        if len(name) > 253 or not all(LABEL.match(lab) for lab in name.split(".")):
            return f"{name} is not a valid domain name"
        return None

    @staticmethod
    def bad_set(o, name, rtype):
        if not isinstance(o, dict):
            return "record set must be an object"
        if str(o.get("name", "")).lower().rstrip(".") != name:
            return "name does not match the URL"
        if o.get("type") != rtype:
            return "type does not match the URL"
        ttl = o.get("ttl")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= 2147483647:
            return "ttl must be an integer from 0 to 2147483647"
        rd = o.get("rdata")
        if not isinstance(rd, list) or not rd or not all(isinstance(x, str) and x for x in rd):
            return "rdata must be a non-empty list of strings"
        if len(set(rd)) != len(rd):
            return "duplicate rdata"
        for x in rd:
            if rtype == "TXT" and x.startswith('"') and not re.fullmatch(r'("[^"\\]{0,255}"\s*)+', x):
                return f"bad TXT rdata {x[:40]!r}"
        return None

    # --- for tests ------------------------------------------------------
    def put(self, zone, name, rdata, rtype="TXT", ttl=600):
        with self.lock:
            self.sets[(zone, name, rtype)] = {"name": name, "type": rtype, "ttl": ttl,
                                              "rdata": list(rdata)}

    def get(self, zone, name, rtype="TXT"):
        with self.lock:
            s = self.sets.get((zone, name, rtype))
            return dict(s, rdata=list(s["rdata"])) if s else None

    def txt(self, zone, name):
        s = self.get(zone, name)
        return sorted(s["rdata"]) if s else []


def problem(status, title, detail):
    return {"type": f"https://problems.luna.akamaiapis.net/config-dns/error-types/{status}",
            "title": title, "status": status, "detail": detail,
            "instance": "/config-dns/error-instances/fake"}
