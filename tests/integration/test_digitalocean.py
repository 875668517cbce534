"""digitalocean through the webhook against the strict DigitalOcean fake
(HTTPS, its certificate from the test PKI, trusted through caBundle as PEM
text; page size 2): strict conformance (another TXT value, an SPF record
and an A record at the name survive every step; Present twice = one
record; CleanUp of an absent value = success; a record whose data only
resembles ours is never deleted), paging over links.pages.next and never
to another origin, the ttl (cert-manager's 60 by default, 30 the
minimum), DigitalOcean's errors, retries on 429 (Retry-After, and
ratelimit-reset alone) and 5xx, dropped connections, a hung API answered
within the deadline, 404 on DELETE = gone, tenant isolation, no token in
any reply or log line; and the CLI with lego's DO_AUTH_TOKEN and DO_TTL
(present and cleanup against the fake; `check` would need DigitalOcean's
nameservers)."""
import os
import subprocess
import tempfile
import threading
import time
import unittest

import digitalocean_fake
import harness
import pki
from harness import assert_response, challenge

ZONE = "example.test"
NAME = "_acme-challenge.www.example.test"
REL = "_acme-challenge.www"
TOKEN = "do-test-token-0123456789abcdef"


class DigitalOcean(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.fake = digitalocean_fake.Fake(token=TOKEN, domains=(ZONE, "other.test"),
                                          tls=cls.pki.cert("serving")).__enter__()
        s = os.path.join(cls.tmp.name, "secrets")
        harness.write_secret(s, "default", "do", "token", TOKEN + "\n")
        harness.write_secret(s, "default", "bad", "token", "wrong-token-0123456789")
        harness.write_secret(s, "default", "nl", "token", "a\nb")
        harness.write_secret(s, "other", "do-other", "token", TOKEN)
        cls.trap = harness.Trap()
        harness.serve_provider(cls, s, [cls.fake.url], ["--provider-timeout", "8s"])

    @classmethod
    def tearDownClass(cls):
        harness.stop_provider(cls, (TOKEN, "wrong-token-0123456789"))

    def setUp(self):
        with self.fake.lock:
            self.fake.records.clear()
            self.fake.faults.clear()
            self.fake.requests.clear()
            self.fake.drop = self.fake.hang = 0
            self.fake.next_origin = None
            self.fake.limited_until = 0.0

    def api(self, method=None, part=""):
        with self.fake.lock:
            return [p for m, p in self.fake.requests
                    if (method is None or m == method) and part in p]

    def cfg(self, **kw):
        c = {"tokenSecretRef": {"name": "do", "key": "token"},
             "baseURL": self.fake.url, "caBundle": self.ca_pem}
        c.update(kw)
        return c

    def call(self, action, key, cfg=None, name=NAME, zone=ZONE + ".", ns="default"):
        st, _, body = self.c.post_challenge(
            challenge(action, key, fqdn=name + ".", zone=zone, resourceNamespace=ns,
                      config=cfg if cfg is not None else self.cfg()),
            solver="digitalocean")
        for secret in (TOKEN.encode(), b"wrong-token-0123456789"):
            self.assertNotIn(secret, body)
        return st, body

    def ok(self, *a, **kw):
        assert_response(self, *self.call(*a, **kw), True)

    def fails(self, *a, **kw):
        o = assert_response(self, *self.call(*a, **kw), False)
        return o["response"]["status"]["message"]

    def txt(self):
        return self.fake.txt(ZONE, REL)

    def test_conformance_and_paging(self):
        spf = self.fake.add(ZONE, REL, "v=spf1 -all")
        other = self.fake.add(ZONE, REL, "another-client-value")
        a = self.fake.add(ZONE, REL, "192.0.2.1", type_="A")
        self.ok("Present", "K1")
        self.ok("Present", "K1")
        self.assertEqual(self.txt(), ["K1", "another-client-value", "v=spf1 -all"])
        with self.fake.lock:
            rec = [r for r in self.fake.records.values() if r["data"] == "K1"]
        self.assertEqual([(r["name"], r["ttl"]) for r in rec], [(REL, 60)])
        # Look-alikes of ours, over several pages: only "K1" itself goes.
        for k in ("K10", "k1", "K1 ", "\"K1\""):
            self.fake.add(ZONE, REL, k)
        self.fake.requests.clear()
        self.ok("CleanUp", "K1")
        self.assertTrue(self.api("GET", "page=4"), "paging was not followed")
        self.assertEqual(self.txt(), sorted(["K10", "k1", "K1 ", "\"K1\"",
                                             "another-client-value", "v=spf1 -all"]))
        self.ok("CleanUp", "K1")
        self.ok("CleanUp", "never-presented")
        with self.fake.lock:
            for rid in (spf, other, a):
                self.assertIn(rid, self.fake.records)
        # The apex: the name "@".
        self.ok("Present", "APEX", name=ZONE)
        self.assertEqual(self.fake.txt(ZONE, "@"), ["APEX"])
        self.ok("CleanUp", "APEX", name=ZONE)
        self.assertEqual(self.fake.txt(ZONE, "@"), [])

    def test_ttl(self):
        self.ok("Present", "T30", self.cfg(ttl=30))
        with self.fake.lock:
            self.assertEqual([r["ttl"] for r in self.fake.records.values()], [30])
        self.ok("CleanUp", "T30", self.cfg(ttl=30))
        self.fake.requests.clear()
        msg = self.fails("Present", "T29", self.cfg(ttl=29))
        self.assertIn("ttl must be 30-86400", msg)
        self.assertEqual(self.api(), [])

    def test_errors(self):
        msg = self.fails("Present", "E1", self.cfg(tokenSecretRef={"name": "bad", "key": "token"}))
        self.assertIn("HTTP 401: Unauthorized: Unable to authenticate you", msg)
        msg = self.fails("Present", "E1", self.cfg(tokenSecretRef={"name": "nl", "key": "token"}))
        self.assertIn("control character", msg)
        msg = self.fails("Present", "E1", name="_acme-challenge.nope.test", zone="nope.test.")
        self.assertIn("HTTP 404: not_found", msg)
        self.assertIn("nope.test", msg)
        for bad in ({}, {"baseURL": self.fake.url}, self.cfg(baseURL="ftp://x"), self.cfg(ttl="60")):
            self.assertIn("digitalocean", self.fails("Present", "E1", bad))
        cfg = self.cfg()
        del cfg["caBundle"]  # an untrusted certificate
        self.assertIn("digitalocean", self.fails("Present", "E1", cfg))
        self.assertEqual(self.txt(), [])

    def test_retries(self):
        self.fake.faults += [(429, 1), (500,), (503,)]
        t0 = time.monotonic()
        self.ok("Present", "R1")
        self.assertGreaterEqual(time.monotonic() - t0, 1.0, "Retry-After: 1 not honoured")
        self.assertEqual(self.txt(), ["R1"])
        self.fake.drop = 1
        self.ok("CleanUp", "R1")
        self.assertEqual(self.txt(), [])
        # A permanent refusal is not retried.
        self.fake.requests.clear()
        self.fake.faults.append((403,))
        msg = self.fails("Present", "R2")
        self.assertIn("HTTP 403", msg)
        self.assertEqual(len(self.api()), 1)

    def test_ratelimit_reset_without_retry_after(self):
        """A 429 that says when the limit resets only in ratelimit-reset
        (a Unix time, as DigitalOcean sends it): the client waits for it.
        Backoff alone (4 attempts, under 1.5 s in all) would hit the
        limit every time and fail."""
        self.fake.faults.append((429, None, "GET /records", 2.5))
        t0 = time.monotonic()
        self.ok("Present", "RL1")
        self.assertGreaterEqual(time.monotonic() - t0, 2.0)
        self.assertEqual(self.txt(), ["RL1"])
        self.ok("CleanUp", "RL1")

    def test_hang_answers_within_the_deadline(self):
        self.fake.hang = 10
        t0 = time.monotonic()
        msg = self.fails("Present", "H1")
        self.assertLess(time.monotonic() - t0, 20)
        self.assertIn("listing TXT records", msg)
        self.assertTrue("unreachable" in msg or "timed out" in msg, msg)

    def test_delete_404_is_gone(self):
        self.ok("Present", "D1")
        self.fake.faults.append((404, None, "DELETE /records/"))
        self.ok("CleanUp", "D1")

    def test_next_link_to_another_origin_is_not_followed(self):
        for k in ("N1", "N2", "N3"):
            self.ok("Present", k)
        trap = f"https://127.0.0.1:{self.trap.port}"
        with self.fake.lock:
            self.fake.next_origin = trap
        msg = self.fails("CleanUp", "N3")
        self.assertIn("links.pages.next leaves", msg)
        self.assertEqual(self.trap.connections(), 0)
        self.assertIn("N3", self.txt())

    def test_tenant_isolation(self):
        other = self.cfg(tokenSecretRef={"name": "do-other", "key": "token"})
        msg = self.fails("Present", "I1", other)
        self.assertIn("do-other", msg)
        self.assertEqual(self.api(), [])
        self.ok("Present", "I1", other, ns="other")
        self.ok("CleanUp", "I1", other, ns="other")
        trap = f"https://127.0.0.1:{self.trap.port}"
        msg = self.fails("Present", "I2", self.cfg(baseURL=trap))
        self.assertIn("--allow-provider-endpoint", msg)
        self.assertEqual(self.trap.connections(), 0)

    def test_concurrent_presents(self):
        n = 4 if os.environ.get("DNS01_BIN", "").endswith("valgrind-dns01") else 12
        clients = [self.srv.client("proxy") for _ in range(n)]
        out = []

        def go(i, c):
            out.append(c.post_challenge(
                challenge("Present", f"C{i}", fqdn=NAME + ".", zone=ZONE + ".",
                          config=self.cfg()), solver="digitalocean"))

        ts = [threading.Thread(target=go, args=(i, c)) for i, c in enumerate(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for c in clients:
            c.close()
        for st, _, body in out:
            assert_response(self, st, body, True)
        self.assertEqual(self.txt(), sorted(f"C{i}" for i in range(n)))

    def test_cli_env(self):
        env = dict(os.environ, DO_AUTH_TOKEN=TOKEN, DO_API_URL=self.fake.url,
                   DO_CA_BUNDLE=self.pki.path("serving-ca.crt"))
        for action in ("present", "cleanup"):
            r = subprocess.run([harness.BIN, action, "--provider", "digitalocean",
                                "--zone", ZONE, NAME, "CLI1"],
                               capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn(TOKEN, r.stdout + r.stderr)
            if action == "present":
                with self.fake.lock:
                    self.assertEqual([(r["data"], r["ttl"]) for r in self.fake.records.values()],
                                     [("CLI1", 30)])  # lego's DO_TTL default
        self.assertEqual(self.txt(), [])
        r = subprocess.run([harness.BIN, "present", "--provider", "digitalocean",
                            "--zone", ZONE, NAME, "CLI2"], capture_output=True, text=True,
                           env=dict(env, DO_TTL="120"), timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with self.fake.lock:
            self.assertEqual([r["ttl"] for r in self.fake.records.values()], [120])
        r = subprocess.run([harness.BIN, "present", "--provider", "digitalocean", NAME, "x"],
                           capture_output=True, text=True, timeout=30,
                           env={k: v for k, v in env.items() if k != "DO_AUTH_TOKEN"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("DO_AUTH_TOKEN is not set", r.stderr)


if __name__ == "__main__":
    unittest.main()
