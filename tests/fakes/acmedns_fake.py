"""A strict fake of an acme-dns server's update API, independent of the C code.

From acme-dns's README and behaviour: POST /update with X-Api-User and
X-Api-Key and a JSON body {"subdomain", "txt"}; the user must exist, the
key match and the subdomain be the user's own (401 {"error": "forbidden"}
otherwise); subdomain a UUID (400 {"error": "bad_subdomain"}); txt exactly
43 characters of the base64url alphabet (400 {"error": "bad_txt"}); a body
that is not such a JSON object: 400 {"error": "malformed_json_payload"}.
Answers 200 {"txt": value}. Like the real server it keeps only the two
newest values per subdomain: an update replaces the older one. There is no
delete. Deliberate extra strictness: a Content-Type other than
application/json is a 400 (the real server does not look).

Faults, per test: `faults` (queued (status, retry_after) replies),
`drop` (connections closed without a reply), `hang` (requests never
answered). Every request is logged in `requests` as (method, path, user).
"""
import json
import re
import threading
import uuid

import fakehttp

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TXT_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class Fake(fakehttp.Server):
    def __init__(self, tls=None):
        self.accounts = {}  # username -> {"password", "subdomain"}
        self.values = {}    # subdomain -> [older, newer]
        self.lock = threading.Lock()
        self.faults = []
        self.drop = 0
        self.hang = 0
        self.stopping = threading.Event()
        self.requests = []
        fake = self

        class H(fakehttp.Handler):
            def do_POST(self):
                body = self._body()
                with fake.lock:
                    fake.requests.append(("POST", self.path, self.headers.get("X-Api-User")))
                    if fake.drop > 0:
                        fake.drop -= 1
                        return self._drop()
                    hang = fake.hang > 0
                    fake.hang -= hang
                    fault = fake.faults.pop(0) if fake.faults and not hang else None
                if hang:
                    fake.stopping.wait()
                    return self._drop()
                if fault is not None:
                    status, retry = fault
                    hdrs = [("Retry-After", str(retry))] if retry is not None else []
                    return self._send(status, {"error": "injected fault"}, hdrs)
                if self.path != "/update":
                    return self._send(404, {"error": "not found"})
                self._send(*fake.update(self.headers, body))

            def do_GET(self):
                with fake.lock:
                    fake.requests.append(("GET", self.path, None))
                self._send(405, {"error": "method not allowed"})

            do_DELETE = do_GET

        self._listen(H, tls)

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def register(self):
        """A new account as acme-dns's POST /register returns it."""
        user, sub = str(uuid.uuid4()), str(uuid.uuid4())
        password = uuid.uuid4().hex + uuid.uuid4().hex[:8]  # 40 characters
        with self.lock:
            self.accounts[user] = {"password": password, "subdomain": sub}
        return {"username": user, "password": password,
                "fulldomain": f"{sub}.auth.example.test", "subdomain": sub,
                "allowfrom": []}

    def update(self, headers, body):
        user, key = headers.get("X-Api-User"), headers.get("X-Api-Key")
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            return 400, {"error": "malformed_json_payload"}
        try:
            o = json.loads(body)
        except ValueError:
            return 400, {"error": "malformed_json_payload"}
        if not isinstance(o, dict) or set(o) - {"subdomain", "txt"}:
            return 400, {"error": "malformed_json_payload"}
        with self.lock:
            acct = self.accounts.get(user or "")
            if acct is None or acct["password"] != key:
                return 401, {"error": "forbidden"}
            sub, txt = o.get("subdomain"), o.get("txt")
            if not isinstance(sub, str) or not UUID_RE.match(sub):
                return 400, {"error": "bad_subdomain"}
            if sub != acct["subdomain"]:
                return 401, {"error": "forbidden"}
            if not isinstance(txt, str) or not TXT_RE.match(txt):
                return 400, {"error": "bad_txt"}
            vals = self.values.setdefault(sub, [])
            vals.append(txt)
            del vals[:-2]  # the two newest only
        return 200, {"txt": txt}

    def txt(self, subdomain):
        with self.lock:
            return sorted(self.values.get(subdomain, []))
