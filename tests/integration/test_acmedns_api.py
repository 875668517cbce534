"""dns01's acme-dns-compatible HTTP API (server/acmedns_api*.c), started
standalone (`serve --secure-port 0`, no webhook) with the memory store:

- register / update / DELETE / health, and every acme-dns status and
  error string (ERRORS below: what acme-dns's api.go and auth.go answer;
  bad_subdomain is unreachable there too, since an account's subdomain is
  always a valid label and a body naming another is "forbidden");
- registration modes: open, token (right, wrong, missing), closed, and
  --acmedns-registration-allowfrom;
- allowfrom on update from the peer, and X-Forwarded-For believed only
  from a --acmedns-trusted-proxy (the client binds 127.0.0.2/127.0.0.3 as
  its source address to be another peer);
- the per-account rate limit (429), several values at one name served by
  the DNS listener and one deleted, accounts that cannot touch each
  other (and a remembered good password that does not stand for another
  one), malformed and oversized input answered with JSON;
- TLS with the test PKI, the `acmedns` provider of the CLI against it,
  and acme.sh's dns_acmedns getting a certificate from Pebble, validated
  through BIND (the parent zone's CNAME, and a forward zone to dns01);
- no password in the server's log;
- the per-source bounds (SourceLimits, RegistrationLimits): a flood of
  wrong passwords and random usernames from 127.0.0.2 at the default
  bcrypt cost does not starve a client at 127.0.0.1 (the bcrypt queue is
  shared), failed passwords then 429 before any bcrypt, registrations a
  minute per source and for the whole server.

bcrypt cost 4 keeps the tests fast (the cost only changes the time a hash
takes); one class runs the default 10.
"""
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

import harness
import pki
from bind import Bind
from pebble import Pebble

BIN = harness.BIN
DOMAIN = "auth.acme.test"
SLOW = "valgrind" in BIN


def val(label):
    """A 43-character base64url value, as ACME's key authorization digest."""
    return base64.urlsafe_b64encode(hashlib.sha256(label.encode()).digest()).decode().rstrip("=")


class Api:
    """One `dns01 serve --secure-port 0 --acmedns-listen ...`."""

    def __init__(self, tmp, extra=(), tls=None, zone="acme.test"):
        self.port = harness.free_port()
        self.dns_port = harness.free_port(socket.SOCK_DGRAM)
        self.tls = tls  # (cert, key, ca) or None
        args = [BIN, "serve", "--secure-port", "0", "--log-level", "debug",
                "--embedded-zone", zone, "--dns-listen", f"127.0.0.1:{self.dns_port}",
                "--acmedns-listen", f"127.0.0.1:{self.port}", "--acmedns-domain", DOMAIN]
        if tls:
            args += ["--acmedns-tls-cert-file", tls[0], "--acmedns-tls-private-key-file", tls[1]]
        else:
            args += ["--acmedns-insecure-http"]
        self.args = args + list(extra)
        self.logpath = os.path.join(tmp, f"api-{self.port}.log")
        self.passwords = []

    def __enter__(self):
        self.logf = open(self.logpath, "w+")
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + harness.START_SECONDS
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dns01 exited {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                if self.request("GET", "/health")[0] == 200:
                    return self
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("no /health: " + self.log()[-2000:])

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=harness.STOP_SECONDS)
        self.logf.close()
        assert rc == 0, f"exit {rc}: {self.log()[-2000:]}"
        log = self.log()
        leaked = [p[:8] for p in self.passwords if p in log]
        assert not leaked, f"passwords in the server log: {leaked}"

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def conn(self, source="127.0.0.1"):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[2])
            return http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=30,
                                               source_address=(source, 0))
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                          source_address=(source, 0))

    def request(self, method, path, body=None, headers=None, source="127.0.0.1"):
        c = self.conn(source)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            c.close()

    def register(self, body=None, headers=None, source="127.0.0.1"):
        st, _, b = self.request("POST", "/register", body, headers, source)
        assert st == 201, (st, b)
        acct = json.loads(b)
        self.passwords.append(acct["password"])
        return acct

    def update(self, acct, txt, method="POST", source="127.0.0.1", headers=None, sub=None,
               user=None, key=None):
        h = {"X-Api-User": user or acct["username"], "X-Api-Key": key or acct["password"]}
        h.update(headers or {})
        body = json.dumps({"subdomain": sub or acct["subdomain"], "txt": txt})
        st, hdrs, b = self.request(method, "/update", body, h, source)
        return st, b, dict(hdrs)

    def dig(self, acct):
        return harness.dig_txt(self.dns_port, acct["fulldomain"] + ".")


def err(body):
    return json.loads(body).get("error")


class HTTPApi(unittest.TestCase):
    """Plain HTTP, open registration, 127.0.0.2 a trusted proxy, 10
    updates a minute per account."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.api = Api(cls.tmp.name, ["--acmedns-registration", "open",
                                     "--acmedns-trusted-proxy", "127.0.0.2/32",
                                     "--acmedns-trusted-proxy", "::2/128",
                                     "--acmedns-rate", "10", "--acmedns-bcrypt-cost", "4",
                                     # many registrations from 127.0.0.1 here
                                     "--acmedns-registration-rate", "1000"]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.api.__exit__(None, None, None)
        cls.tmp.cleanup()

    def test_register_update_delete_health(self):
        a = self.api.register()
        self.assertEqual(list(a), ["username", "password", "fulldomain", "subdomain", "allowfrom"])
        self.assertRegex(a["username"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertRegex(a["subdomain"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertRegex(a["password"], r"^[A-Za-z0-9_-]{40}$")
        self.assertEqual(a["fulldomain"], a["subdomain"] + "." + DOMAIN)
        self.assertEqual(a["allowfrom"], [])
        st, b, h = self.api.update(a, val("one"))
        self.assertEqual((st, b), (200, ('{"txt": "%s"}' % val("one")).encode()))
        self.assertEqual(h["Content-Type"], "application/json")
        self.assertEqual(self.api.dig(a), [val("one")])
        st, b, _ = self.api.update(a, val("one"), method="DELETE")
        self.assertEqual((st, b), (200, ('{"txt": "%s"}' % val("one")).encode()))
        self.assertEqual(self.api.dig(a), [])
        # A UUID in another of Go's spellings names the same user.
        st, _, _ = self.api.update(a, val("two"), user=a["username"].replace("-", "").upper())
        self.assertEqual(st, 200)
        st, _, b = self.api.request("GET", "/health")
        self.assertEqual((st, b), (200, b""))

    def test_errors(self):
        """Every error: (request, status, acme-dns's error string)."""
        api = self.api
        a = api.register()
        b = api.register()
        good = {"X-Api-User": a["username"], "X-Api-Key": a["password"]}

        def upd(body, headers=good, method="POST"):
            return api.request(method, "/update", body, headers)

        def body(sub=a["subdomain"], txt=val("x")):
            return json.dumps({"subdomain": sub, "txt": txt})

        ERRORS = [
            # POST /register
            ("register: not JSON", lambda: api.request("POST", "/register", "{"), 400, "malformed_json_payload"),
            ("register: an array", lambda: api.request("POST", "/register", "[]"), 400, "malformed_json_payload"),
            ("register: trailing bytes", lambda: api.request("POST", "/register", "{} x"), 400, "malformed_json_payload"),
            ("register: allowfrom a string", lambda: api.request("POST", "/register", '{"allowfrom": "10.0.0.0/8"}'), 400, "malformed_json_payload"),
            ("register: allowfrom of numbers", lambda: api.request("POST", "/register", '{"allowfrom": [1]}'), 400, "malformed_json_payload"),
            ("register: CIDR without bits", lambda: api.request("POST", "/register", '{"allowfrom": ["10.0.0.1"]}'), 400, "invalid_allowfrom_cidr"),
            ("register: IPv6 /129", lambda: api.request("POST", "/register", '{"allowfrom": ["::1/129"]}'), 400, "invalid_allowfrom_cidr"),
            ("register: not an address", lambda: api.request("POST", "/register", '{"allowfrom": ["example.com/8"]}'), 400, "invalid_allowfrom_cidr"),
            # POST /update: everything about who asks is "forbidden"
            ("update: no headers", lambda: upd(body(), {}), 401, "forbidden"),
            ("update: user not a UUID", lambda: upd(body(), dict(good, **{"X-Api-User": "admin"})), 401, "forbidden"),
            ("update: key too short", lambda: upd(body(), dict(good, **{"X-Api-Key": "x" * 39})), 401, "forbidden"),
            ("update: key with a bad character", lambda: upd(body(), dict(good, **{"X-Api-Key": a["password"][:39] + "="})), 401, "forbidden"),
            ("update: wrong key", lambda: upd(body(), dict(good, **{"X-Api-Key": "A" * 40})), 401, "forbidden"),
            ("update: unknown user", lambda: upd(body(), dict(good, **{"X-Api-User": "00000000-0000-4000-8000-000000000000"})), 401, "forbidden"),
            ("update: another account's subdomain", lambda: upd(body(sub=b["subdomain"])), 401, "forbidden"),
            ("update: body not JSON", lambda: upd("{"), 401, "forbidden"),
            ("update: no subdomain", lambda: upd('{"txt": "%s"}' % val("x")), 401, "forbidden"),
            ("update: txt 42 characters", lambda: upd(body(txt=val("x")[:42])), 400, "bad_txt"),
            ("update: txt 44 characters", lambda: upd(body(txt=val("x") + "A")), 400, "bad_txt"),
            ("update: txt with padding", lambda: upd(body(txt=val("x")[:42] + "=")), 400, "bad_txt"),
            ("update: txt a number", lambda: upd('{"subdomain": "%s", "txt": 5}' % a["subdomain"]), 400, "bad_txt"),
            # beyond acme-dns: routes, methods, sizes
            ("unknown path", lambda: api.request("GET", "/nope"), 404, "not_found"),
            ("GET /update", lambda: api.request("GET", "/update"), 405, "method_not_allowed"),
            ("GET /register", lambda: api.request("GET", "/register"), 405, "method_not_allowed"),
            ("body past 4 KiB", lambda: api.request("POST", "/register", "{" + " " * 5000 + "}"), 413, "payload_too_large"),
        ]
        for name, call, status, error in ERRORS:
            with self.subTest(name):
                st, hdrs, rb = call()
                self.assertEqual((st, err(rb)), (status, error), rb)
                self.assertEqual(dict(hdrs)["Content-Type"], "application/json")
                self.assertEqual(rb, b'{"error": "%s"}' % error.encode())
        self.assertEqual(self.api.dig(a), [])
        self.assertEqual(self.api.request("GET", "/health")[0], 200)

    def test_multi_value_and_delete_one(self):
        a = self.api.register()
        vals = [val(f"multi{i}") for i in range(3)]
        for v in vals:
            self.assertEqual(self.api.update(a, v)[0], 200)
        self.assertEqual(self.api.dig(a), sorted(vals))
        self.assertEqual(self.api.update(a, vals[1], method="DELETE")[0], 200)
        self.assertEqual(self.api.dig(a), sorted([vals[0], vals[2]]))

    def test_allowfrom_and_forwarded_for(self):
        a = self.api.register(json.dumps({"allowfrom": ["127.0.0.3/32", "[2001:db8::]/32"]}))
        self.assertEqual(a["allowfrom"], ["127.0.0.3/32", "2001:db8::/32"])
        cases = [  # (source, X-Forwarded-For, status)
            ("127.0.0.1", None, 401),            # not listed
            ("127.0.0.3", None, 200),            # listed
            ("127.0.0.1", "127.0.0.3", 401),     # untrusted peer: XFF ignored
            ("127.0.0.2", "127.0.0.3", 200),     # trusted proxy: the client
            ("127.0.0.2", "127.0.0.9", 401),
            ("127.0.0.2", "127.0.0.3, 127.0.0.9", 401),   # rightmost untrusted hop
            ("127.0.0.2", "127.0.0.9, 127.0.0.3", 200),   # a forged left part is not read
            ("127.0.0.2", "127.0.0.3, 127.0.0.2", 200),   # trusted hops skipped
            ("127.0.0.2", "2001:db8::7", 200),
            ("127.0.0.2", "garbage, 127.0.0.3", 200),
            ("127.0.0.2", "127.0.0.3, garbage", 401),     # unreadable hop: nobody
            ("127.0.0.2", "", 401),                       # the proxy itself
        ]
        for i, (src, xff, want) in enumerate(cases):
            with self.subTest(src=src, xff=xff):
                h = {"X-Forwarded-For": xff} if xff is not None else {}
                st, b, _ = self.api.update(a, val(f"af{i}"), source=src, headers=h)
                self.assertEqual(st, want, b)
                if want == 401:
                    self.assertEqual(err(b), "forbidden")

    def test_rate_limit(self):
        a = self.api.register()
        other = self.api.register()
        # 10 at once, then one token every 6 s: the 11th is refused.
        got = [self.api.update(a, val(f"rate{i}"))[0] for i in range(10)]
        self.assertEqual(got, [200] * 10)
        st, b, h = self.api.update(a, val("rate10"))
        self.assertEqual((st, err(b)), (429, "too_many_requests"))
        self.assertGreaterEqual(int(h["Retry-After"]), 1)
        self.assertEqual(self.api.update(other, val("rate-other"))[0], 200)

    def test_cross_account(self):
        a = self.api.register()
        b = self.api.register()
        # A cannot write B's subdomain, even with its own good key.
        st, body, _ = self.api.update(a, val("x"), sub=b["subdomain"])
        self.assertEqual((st, err(body)), (401, "forbidden"))
        # A's good key is remembered; A's user with B's key is still no.
        self.assertEqual(self.api.update(a, val("a1"))[0], 200)
        st, body, _ = self.api.update(a, val("a2"), key=b["password"])
        self.assertEqual((st, err(body)), (401, "forbidden"))
        st, body, _ = self.api.update(a, val("a2"), key=a["password"][:-1] + ("A" if a["password"][-1] != "A" else "B"))
        self.assertEqual((st, err(body)), (401, "forbidden"))
        # B's user with A's key, for B's subdomain.
        st, body, _ = self.api.update(b, val("b1"), key=a["password"])
        self.assertEqual((st, err(body)), (401, "forbidden"))
        self.assertEqual(self.api.dig(a), [val("a1")])
        self.assertEqual(self.api.dig(b), [])

    def test_malformed_input_never_crashes(self):
        a = self.api.register()
        h = {"X-Api-User": a["username"], "X-Api-Key": a["password"]}
        junk = [b"\x00" * 100, b"\xff\xfe{", b'{"subdomain": "\\u0000"}', b'{"txt": "' + b"A" * 3000 + b'"}',
                b"[" * 2000, b'{"subdomain": ' * 300, b"null", b"true", b'"x"']
        for j in junk:
            for path in ("/register", "/update"):
                st, _, b = self.api.request("POST", path, j, h)
                if st == 201:  # an object without allowfrom registers
                    self.api.passwords.append(json.loads(b)["password"])
                    continue
                self.assertIn(st, (400, 401, 413), (path, j[:20], b))
                self.assertIn("error", json.loads(b))
        with socket.create_connection(("127.0.0.1", self.api.port)) as s:
            s.sendall(b"POST /update HTTP/1.1\r\nHost: x\r\n" + b"X-Api-Key: " + b"A" * 20000 + b"\r\n\r\n")
            s.settimeout(10)
            self.assertIn(b"HTTP/1.1 431", s.recv(4096))
        self.assertEqual(self.api.request("GET", "/health")[0], 200)

    def test_cli_acmedns_provider(self):
        a = self.api.register()
        path = os.path.join(self.tmp.name, "accounts.json")
        with open(path, "w") as f:
            json.dump({"www.example.test": a}, f)
        env = dict(os.environ, ACME_DNS_API_BASE=f"http://127.0.0.1:{self.api.port}",
                   ACME_DNS_STORAGE_PATH=path)
        r = subprocess.run([BIN, "present", "--provider", "acmedns", "_acme-challenge.www.example.test",
                            val("cli")], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.api.dig(a), [val("cli")])
        self.assertNotIn(a["password"], r.stdout + r.stderr)


class TLSApi(unittest.TestCase):
    """TLS, token registration from 127.0.0.1 only, bcrypt cost 10."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.token = base64.urlsafe_b64encode(os.urandom(24)).decode()
        tf = os.path.join(cls.tmp.name, "token")
        with open(tf, "w") as f:
            f.write(cls.token + "\n")
        crt, key = cls.pki.cert("serving")
        cls.api = Api(cls.tmp.name, ["--acmedns-registration", "token",
                                     "--acmedns-registration-token-file", tf,
                                     "--acmedns-registration-allowfrom", "127.0.0.1/32"],
                      tls=(crt, key, cls.pki.path("serving-ca.crt"))).__enter__()
        cls.api.passwords.append(cls.token)

    @classmethod
    def tearDownClass(cls):
        cls.api.__exit__(None, None, None)
        cls.tmp.cleanup()

    def test_token_registration(self):
        bearer = {"Authorization": "Bearer " + self.token}
        for name, hdrs, src in [("missing", {}, "127.0.0.1"),
                                ("wrong", {"Authorization": "Bearer " + self.token[:-1] + "x"}, "127.0.0.1"),
                                ("not bearer", {"Authorization": "Basic " + self.token}, "127.0.0.1"),
                                ("right token, outside allowfrom", bearer, "127.0.0.2")]:
            with self.subTest(name):
                st, _, b = self.api.request("POST", "/register", None, hdrs, source=src)
                self.assertEqual((st, err(b)), (401, "forbidden"))
        a = self.api.register(headers=bearer)
        self.assertEqual(self.api.update(a, val("tls"))[0], 200)
        self.assertEqual(self.api.dig(a), [val("tls")])
        st, _, _ = self.api.update(a, val("tls2"), key="B" * 40)
        self.assertEqual(st, 401)
        self.assertIn("registration=token", self.api.log())
        self.assertNotIn(self.token, self.api.log())


class StartUp(unittest.TestCase):
    """Closed registration (the default without a token file) and the
    refusals at start-up."""

    def test_closed_by_default(self):
        with tempfile.TemporaryDirectory() as tmp:
            with Api(tmp, ["--acmedns-bcrypt-cost", "4"]) as api:
                st, _, b = api.request("POST", "/register")
                self.assertEqual((st, b), (404, b'{"error": "registration_disabled"}'))
                self.assertIn("registration=closed", api.log())
                self.assertIn("lost on restart", api.log())

    def test_memory_values_expire(self):
        """acme.sh never deletes: with the memory store the API deletes
        its values after --embedded-record-ttl."""
        with tempfile.TemporaryDirectory() as tmp:
            with Api(tmp, ["--acmedns-registration", "open", "--acmedns-bcrypt-cost", "4",
                           "--embedded-record-ttl", "2s"]) as api:
                a = api.register()
                self.assertEqual(api.update(a, val("old"))[0], 200)
                self.assertEqual(api.dig(a), [val("old")])
                deadline = time.time() + 60
                while api.dig(a) and time.time() < deadline:
                    time.sleep(0.5)
                self.assertEqual(api.dig(a), [])
                # The account stays: a new value is taken.
                self.assertEqual(api.update(a, val("new"))[0], 200)
                self.assertEqual(api.dig(a), [val("new")])

    def test_refusals(self):
        base = [BIN, "serve", "--secure-port", "0", "--embedded-zone", "acme.test",
                "--dns-listen", "127.0.0.1:1", "--acmedns-listen", "127.0.0.1:1"]
        cases = [
            ([], "--acmedns-insecure-http"),
            (["--acmedns-insecure-http", "--acmedns-domain", "other.test"], "not an --embedded-zone"),
            (["--acmedns-insecure-http", "--acmedns-domain", DOMAIN, "--embedded-store", "kubernetes"],
             "cannot: use memory"),
            (["--acmedns-insecure-http", "--acmedns-domain", DOMAIN, "--acmedns-registration", "token"],
             "--acmedns-registration-token-file"),
            (["--acmedns-insecure-http", "--acmedns-domain", DOMAIN, "--acmedns-trusted-proxy", "10.0.0.1"],
             "is not a CIDR"),
        ]
        for extra, want in cases:
            with self.subTest(want):
                r = subprocess.run(base + extra + ([] if "--acmedns-domain" in extra else ["--acmedns-domain", DOMAIN]),
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(want, r.stderr)
        r = subprocess.run([BIN, "serve", "--secure-port", "0"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs --acmedns-listen", r.stderr)


def rand_key():
    return base64.urlsafe_b64encode(os.urandom(30)).decode()[:40]


class WebhookTenant(unittest.TestCase):
    """The webhook and the acme-dns API in one process: whoever may create
    an Issuer (any namespace) can ask the `embedded` solver to Present or
    CleanUp any name of the embedded zones. The acme-dns domain's names
    belong to the API's accounts: a tenant who could write there could
    answer the ACME challenge of every domain CNAMEd to an account's
    subdomain, or delete the account's value. Refused; names elsewhere in
    the embedded zones still work."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.api_port = harness.free_port()
        cls.srv = harness.Server(
            cls.pki, zones=("example.test", "acme.test"),
            extra=["--acmedns-listen", f"127.0.0.1:{cls.api_port}",
                   "--acmedns-insecure-http", "--acmedns-domain", DOMAIN,
                   "--acmedns-registration", "open",
                   "--embedded-store", "memory"]).__enter__()
        cls.c = cls.srv.client("proxy")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.srv.__exit__(None, None, None)
        cls.tmp.cleanup()

    def api(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=60)
        try:
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers=headers or {})
            r = c.getresponse()
            return r.status, json.loads(r.read() or b"{}")
        finally:
            c.close()

    def present(self, action, key, fqdn, ns="tenant-b"):
        st, _, body = self.c.post_challenge(harness.challenge(
            action, key, fqdn=fqdn, zone="acme.test.", resourceNamespace=ns))
        return st, body

    def test_tenant_cannot_write_an_account_subdomain(self):
        st, acct = self.api("POST", "/register")
        self.assertEqual(st, 201, acct)
        fqdn = acct["fulldomain"] + "."
        mine = "M" * 42 + "A"
        hdr = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}
        st, body = self.api("POST", "/update",
                            {"subdomain": acct["subdomain"], "txt": mine}, hdr)
        self.assertEqual(st, 200, body)
        evil = "E" * 42 + "A"
        for action, key in (("Present", evil), ("CleanUp", mine)):
            st, body = self.present(action, key, fqdn)
            o = harness.assert_response(self, st, body, False)
            self.assertIn("acme-dns domain", o["response"]["status"]["message"])
        # Any case, and the domain's apex and other names too.
        st, body = self.present("Present", evil, fqdn.upper())
        harness.assert_response(self, st, body, False)
        st, body = self.present("Present", evil, f"_acme-challenge.{DOMAIN}.")
        harness.assert_response(self, st, body, False)
        self.assertEqual(self.srv.dig(fqdn), ("NOERROR", [mine]))
        # Elsewhere in the same zone and in another: the solver works.
        other = "_acme-challenge.www.acme.test."
        st, body = self.present("Present", evil, other)
        harness.assert_response(self, st, body, True)
        self.assertEqual(self.srv.dig(other), ("NOERROR", [evil]))
        st, body = self.present("CleanUp", evil, other)
        harness.assert_response(self, st, body, True)


class SourceLimits(unittest.TestCase):
    """Default per-source limits: 2 bcrypt jobs at once, 10 failed
    passwords a minute (then 429 with no bcrypt). The default bcrypt cost
    10 makes one check take tens of ms, so that a flood can keep the
    shared queue (64 jobs) full, as it could before the limits."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        extra = ["--acmedns-registration", "open"]
        if SLOW:  # bcrypt under valgrind is slow enough at cost 6
            extra += ["--acmedns-bcrypt-cost", "6"]
        cls.api = Api(cls.tmp.name, extra).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.api.__exit__(None, None, None)
        cls.tmp.cleanup()

    def test_flood_does_not_starve_others(self):
        accts = [self.api.register() for _ in range(3)]
        victim = accts[0]
        stop = threading.Event()
        seen = []  # (status, error, Retry-After)
        lock = threading.Lock()

        def attacker(i):
            while not stop.is_set():
                user = victim["username"] if i % 2 else str(uuid.uuid4())
                h = {"X-Api-User": user, "X-Api-Key": rand_key()}
                body = json.dumps({"subdomain": victim["subdomain"], "txt": val("evil")})
                try:
                    st, hdrs, b = self.api.request("POST", "/update", body, h, source="127.0.0.2")
                except (OSError, http.client.HTTPException):
                    continue
                with lock:
                    seen.append((st, err(b), dict(hdrs).get("Retry-After")))
                if st == 429:
                    time.sleep(0.01)  # leave the cores to the server

        n = 16 if SLOW else 80  # more than the 64 jobs the queue holds
        threads = [threading.Thread(target=attacker, args=(i,)) for i in range(n)]
        t0 = time.time()
        for t in threads:
            t.start()
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                with lock:
                    if len(seen) >= 40:
                        break
                time.sleep(0.05)
            # Each account's first update is a bcrypt (nothing
            # remembered yet), its second is not.
            for i, a in enumerate(accts):
                for j in range(2):
                    started = time.time()
                    st, b, _ = self.api.update(a, val(f"legit{i}-{j}"))
                    self.assertEqual(st, 200, b)
                    self.assertLess(time.time() - started, 20)
        finally:
            stop.set()
            for t in threads:
                t.join()
        minutes = (time.time() - t0) / 60
        statuses = [s for s, _, _ in seen]
        self.assertIn(429, statuses)
        self.assertNotIn(503, statuses)  # the queue never filled
        for st, e, retry in seen:
            self.assertIn((st, e), [(401, "forbidden"), (429, "too_many_requests")])
            if st == 429:
                self.assertGreaterEqual(int(retry), 1)
        # bcrypt work spent on the attacker: the burst, the refill, and
        # the jobs running when the bucket emptied.
        self.assertLessEqual(statuses.count(401), 10 + 10 * minutes + 2)
        self.assertEqual(sorted(self.api.dig(accts[0])), sorted([val("legit0-0"), val("legit0-1")]))

    def test_failed_passwords_then_429(self):
        a = self.api.register()
        b = self.api.register()
        # Remembered from 127.0.0.3 before its failures.
        self.assertEqual(self.api.update(a, val("before"), source="127.0.0.3")[0], 200)
        fails = 0
        for _ in range(20):
            st, body, h = self.api.update(a, val("x"), key=rand_key(), source="127.0.0.3")
            if st == 429:
                break
            self.assertEqual((st, err(body)), (401, "forbidden"))
            fails += 1
        self.assertEqual((st, err(body)), (429, "too_many_requests"))
        self.assertGreaterEqual(int(h["Retry-After"]), 1)
        self.assertIn(fails, range(10, 13))  # the burst (and a refill)
        # Unknown users count too; a right password that would need a
        # bcrypt is not checked either; a remembered one still works.
        self.assertEqual(self.api.update(a, val("x"), user=str(uuid.uuid4()), source="127.0.0.3")[0], 429)
        self.assertEqual(self.api.update(b, val("b"), source="127.0.0.3")[0], 429)
        self.assertEqual(self.api.update(a, val("after"), source="127.0.0.3")[0], 200)
        # Another source is not charged.
        self.assertEqual(self.api.update(b, val("b"), source="127.0.0.4")[0], 200)

    def test_unknown_users_count_as_failures(self):
        """Random usernames cost the decoy's bcrypt: charged alike."""
        a = self.api.register()
        got = [self.api.update(a, val("x"), user=str(uuid.uuid4()), source="127.0.0.7")[0]
               for _ in range(13)]
        self.assertIn(429, got)
        self.assertIn(got.index(429), range(10, 13), got)


class RegistrationLimits(unittest.TestCase):
    """--acmedns-registration-rate (default 10 a minute per source; the
    server: 10 times it)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.api = Api(cls.tmp.name, ["--acmedns-registration", "open",
                                     "--acmedns-bcrypt-cost", "4"]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.api.__exit__(None, None, None)
        cls.tmp.cleanup()

    def reg(self, source):
        st, h, b = self.api.request("POST", "/register", source=source)
        if st == 201:
            self.api.passwords.append(json.loads(b)["password"])
        return st, dict(h), b

    def test_per_source_and_total(self):
        t0 = time.time()
        for i in range(10):
            self.assertEqual(self.reg("127.0.0.5")[0], 201, i)
        st, h, b = self.reg("127.0.0.5")
        self.assertEqual((st, err(b)), (429, "too_many_requests"))
        self.assertGreaterEqual(int(h["Retry-After"]), 1)
        self.assertEqual(self.reg("127.0.0.6")[0], 201)
        made = 11
        # Fresh sources until the server's 100 a minute run out.
        for n in range(10, 30):
            for _ in range(10):
                st, h, b = self.reg(f"127.0.0.{n}")
                if st != 201:
                    break
                made += 1
            if st != 201:
                break
        self.assertEqual((st, err(b)), (429, "too_many_requests"))
        self.assertGreaterEqual(int(h["Retry-After"]), 1)
        self.assertGreaterEqual(made, 100)
        self.assertLessEqual(made, 100 + 100 * (time.time() - t0) / 60 + 1)



ACME_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                       "shared", "tools", "acme.sh", "acme.sh")
if not os.path.exists(ACME_SH):
    ACME_SH = "/work/shared/tools/acme.sh/acme.sh"


class ForwardingBind(Bind):
    """BIND serving parent.test (with the challenge CNAME) and resolving
    acme.test by forwarding to dns01: a delegation would need dns01 on
    port 53, so a `type forward; forward only;` zone with the port stands
    for it. Recursion is on for it only (Pebble's resolver sends RD)."""

    def __init__(self, tmpdir, dns01_port, cname_target):
        super().__init__(tmpdir, name="bind-acmedns", zones={
            "parent.test": f"www IN A 127.0.0.1\n_acme-challenge.www IN CNAME {cname_target}.\n"})
        self.dns01_port = dns01_port

    def _write(self):
        super()._write()
        path = os.path.join(self.dir, "named.conf")
        with open(path) as f:
            conf = f.read()
        conf = conf.replace("recursion no;", "recursion yes;\n    allow-recursion { 127.0.0.1; };")
        conf += ('zone "acme.test" { type forward; forward only; '
                 f'forwarders {{ 127.0.0.1 port {self.dns01_port}; }}; }};\n')
        with open(path, "w") as f:
            f.write(conf)


@unittest.skipUnless(os.path.exists(ACME_SH), "acme.sh is not in ../shared/tools")
class AcmeSh(unittest.TestCase):
    """acme.sh's dns_acmedns hook writes the challenge through the API;
    Pebble validates it through BIND, which follows the CNAME into
    dns01's zone."""

    def test_acme_sh_gets_a_certificate(self):
        with tempfile.TemporaryDirectory() as tmp, \
                Api(tmp, ["--acmedns-registration", "open", "--acmedns-bcrypt-cost", "4"]) as api:
            acct = api.register()
            with ForwardingBind(tmp, api.dns_port, acct["fulldomain"]) as bind, \
                    Pebble(tmp, dnsserver=f"127.0.0.1:{bind.port}") as peb:
                # (No look-up before acme.sh runs: BIND would cache the
                # NXDOMAIN and hand it to Pebble.)
                home = os.path.join(tmp, "acmesh")
                os.makedirs(home)
                env = dict(os.environ, HOME=home, ACMEDNS_BASE_URL=f"http://127.0.0.1:{api.port}",
                           ACMEDNS_USERNAME=acct["username"], ACMEDNS_PASSWORD=acct["password"],
                           ACMEDNS_SUBDOMAIN=acct["subdomain"])
                r = subprocess.run(
                    ["sh", ACME_SH, "--issue", "--dns", "dns_acmedns", "-d", "www.parent.test",
                     "--server", peb.directory, "--ca-bundle", peb.ca_bundle,
                     "--home", home, "--config-home", home, "--cert-home", home,
                     "--dnssleep", "1", "--keylength", "ec-256", "--no-cron", "--force"],
                    capture_output=True, text=True, env=env, timeout=240, stdin=subprocess.DEVNULL)
                log = r.stdout + r.stderr
                self.assertEqual(r.returncode, 0, log[-4000:] + peb.logtext()[-2000:])
                crt = os.path.join(home, "www.parent.test_ecc", "www.parent.test.cer")
                out = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", crt],
                                     capture_output=True, text=True, check=True).stdout
                self.assertIn("DNS:www.parent.test", out)
                self.assertIn("acmedns_update", api.log())


if __name__ == "__main__":
    unittest.main()
