"""akamai through the webhook against the strict Edge DNS fake (HTTPS with
the test PKI, EdgeGrid signatures recomputed by the fake, replayed nonces
and clock skew refused): strict conformance with another TXT value and an
SPF record set at the name, the owner's TTL kept, 100 concurrent Presents
and CleanUps at one name (20 under valgrind), writers racing ours (a stale
set written after ours, a set created between our read and our POST, 412),
faults (429 with Retry-After, 5xx, a dropped connection, a hung request,
a Retry-After past the deadline) answered in time naming the cause, no
credential in any reply or log line, the endpoint policy (a host not
allowed is refused before any request, also from an .edgerc), the .edgerc
Secret, and the CLI with lego's AKAMAI_* variables and an .edgerc file."""
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

import akamai_fake
import harness
import pki
from harness import GROUP, assert_response, challenge

ZONE = "example.test"
NAME = "_acme-challenge.www.example.test"
VALGRIND = os.environ.get("DNS01_BIN", "").endswith("valgrind-dns01")
BURST = 20 if VALGRIND else 100
CREDS = ("akab-ct-1", "c2VjcmV0LXNlY3JldA==", "akab-at-1")


def edgerc(host, section="default", secret=CREDS[1]):
    return (f"# Akamai credentials\n[other]\nhost = nowhere.invalid\n\n"
            f"[{section}]\n; the DNS client\nclient_secret = {secret}\n"
            f"host = {host}\naccess_token = {CREDS[2]}\n"
            f"client_token = {CREDS[0]}\nmax-body = 131072\n")


class Akamai(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.fake = akamai_fake.Fake(zones=(ZONE, "sub.example.test"),
                                    tls=cls.pki.cert("serving")).__enter__()
        cls.secrets = os.path.join(cls.tmp.name, "secrets")
        for name, key, value in (
                ("ak", "clientToken", CREDS[0]), ("ak", "clientSecret", CREDS[1] + "\n"),
                ("ak", "accessToken", CREDS[2]), ("bad", "clientSecret", "wrong-secret-value"),
                ("rc", "edgerc", edgerc(cls.fake.host)),
                ("rc", "evil", edgerc("evil.example.net", section="dns"))):
            harness.write_secret(cls.secrets, "default", name, key, value)
        harness.serve_provider(cls, cls.secrets, [f"https://{cls.fake.host}"])

    @classmethod
    def tearDownClass(cls):
        harness.stop_provider(cls, CREDS + ("wrong-secret-value",))

    def setUp(self):
        with self.fake.lock:
            self.fake.sets.clear()
            self.fake.faults.clear()
            self.fake.requests.clear()
            self.fake.refusals.clear()
            self.fake.drop = self.fake.hang = self.fake.clobber = 0
            self.fake.conflict_posts = 0
            self.fake.skew = 30

    def cfg(self, **kw):
        c = {"serviceConsumerDomain": self.fake.host,
             "clientTokenSecretRef": {"name": "ak", "key": "clientToken"},
             "clientSecretSecretRef": {"name": "ak", "key": "clientSecret"},
             "accessTokenSecretRef": {"name": "ak", "key": "accessToken"},
             "caBundle": self.ca_pem}
        c.update(kw)
        return {k: v for k, v in c.items() if v is not None}

    def call(self, action, key, cfg=None, name=NAME, zone=ZONE + ".", client=None,
             timeout=None):
        req = challenge(action, key, fqdn=name + ".", zone=zone,
                        config=cfg if cfg is not None else self.cfg())
        c = client or self.c
        path = f"/apis/{GROUP}/v1alpha1/akamai" + (f"?timeout={timeout}" if timeout else "")
        st, _, body = c.request("POST", path, {"request": req},
                                {"X-Remote-User": "system:serviceaccount:cert-manager:cert-manager"})
        for secret in CREDS + ("wrong-secret-value",):
            self.assertNotIn(secret.encode(), body)
        return st, body

    def ok(self, *a, **kw):
        assert_response(self, *self.call(*a, **kw), True)

    def fails(self, *a, **kw):
        o = assert_response(self, *self.call(*a, **kw), False)
        return o["response"]["status"]["message"]

    def calls(self, method=None):
        with self.fake.lock:
            return [p for m, p in self.fake.requests if method is None or m == method]

    def test_conformance(self):
        self.fake.put(ZONE, NAME.lower(), ['"v=spf1 -all"', '"other-value"'], ttl=900)
        self.fake.put(ZONE, NAME.lower(), ['"v=spf1 -all"'], rtype="SPF", ttl=900)
        self.ok("Present", "K1")
        self.ok("Present", "K1")
        s = self.fake.get(ZONE, NAME)
        self.assertEqual(sorted(s["rdata"]), ['"K1"', '"other-value"', '"v=spf1 -all"'])
        self.assertEqual(s["ttl"], 900, "the owner's TTL was not kept")
        self.ok("Present", "K2")
        self.ok("CleanUp", "K1")
        self.ok("CleanUp", "K1")
        self.assertEqual(self.fake.txt(ZONE, NAME), ['"K2"', '"other-value"', '"v=spf1 -all"'])
        self.ok("CleanUp", "K2")
        self.assertEqual(self.fake.txt(ZONE, NAME), ['"other-value"', '"v=spf1 -all"'])
        self.assertEqual(self.fake.get(ZONE, NAME, "SPF")["rdata"], ['"v=spf1 -all"'])
        # A name with no set: created with the configured TTL, deleted
        # with its last value, and a CleanUp of nothing is a success.
        other = "_acme-challenge.new.example.test"
        self.ok("Present", "N1", self.cfg(ttl=120), name=other)
        self.assertEqual(self.fake.get(ZONE, other)["ttl"], 120)
        self.ok("Present", "N2", name=other)
        self.assertEqual(self.fake.get(ZONE, other)["ttl"], 120)
        self.ok("CleanUp", "N1", name=other)
        self.ok("CleanUp", "N2", name=other)
        self.assertIsNone(self.fake.get(ZONE, other))
        self.assertEqual(len(self.calls("DELETE")), 1)
        self.ok("CleanUp", "N2", name=other)
        self.assertEqual(self.fake.refusals, [])
        # Every request carried a nonce never used before.
        with self.fake.lock:
            self.assertEqual(len(self.fake.nonces) >= len(self.fake.requests), True)

    def test_burst_at_one_name(self):
        self.fake.put(ZONE, NAME, ['"keep-me"'])
        keys = [f"B{i:03d}" for i in range(BURST)]

        def run(action, k, out):
            c = self.srv.client("proxy")
            try:
                st, body = self.call(action, k, client=c)
                out.append(json.loads(body)["response"]["success"])
            finally:
                c.close()

        for action in ("Present", "CleanUp"):
            out = []
            ts = [threading.Thread(target=run, args=(action, k, out)) for k in keys]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(out, [True] * BURST, action)
            want = ['"keep-me"'] + ([f'"{k}"' for k in keys] if action == "Present" else [])
            self.assertEqual(self.fake.txt(ZONE, NAME), sorted(want))
        self.assertEqual(self.fake.refusals, [])

    def test_racing_writers(self):
        self.fake.put(ZONE, NAME, ['"theirs"'])
        # Another writer with a stale read writes after us: our value is
        # gone on the re-read, and the round runs again.
        self.fake.clobber = 1
        self.ok("Present", "R1")
        self.assertEqual(self.fake.txt(ZONE, NAME), ['"R1"', '"theirs"'])
        self.assertEqual(len(self.calls("PUT")), 2)
        self.fake.clobber = 1
        self.ok("CleanUp", "R1")
        self.assertEqual(self.fake.txt(ZONE, NAME), ['"theirs"'])
        # The set is created between our read and our POST: 409, a fresh
        # read, and both values end up there.
        other = "_acme-challenge.race.example.test"
        self.fake.conflict_posts = 1
        self.ok("Present", "R2", name=other)
        self.assertEqual(self.fake.txt(ZONE, other), ['"R2"', '"other-writer"'])
        # 412 on a write: read again and retry.
        self.fake.faults.append((412, None, "PUT /names/"))
        self.ok("Present", "R3", name=other)
        self.assertEqual(self.fake.txt(ZONE, other), ['"R2"', '"R3"', '"other-writer"'])
        # A writer that always wins: given up with the cause named.
        self.fake.clobber = 1000
        msg = self.fails("Present", "R4", name=other)
        self.assertIn("kept changing", msg)
        self.fake.clobber = 0

    def test_faults(self):
        self.fake.faults += [(429, 1, "GET /names/"), (500, None, "GET /names/"),
                            (503, None, "PUT /names/")]
        self.fake.put(ZONE, NAME, ['"x"'])
        t0 = time.monotonic()
        self.ok("Present", "F1")
        self.assertGreaterEqual(time.monotonic() - t0, 1.0, "Retry-After: 1 not honoured")
        self.assertEqual(self.fake.faults, [])
        self.fake.drop = 1
        self.ok("CleanUp", "F1")
        self.assertEqual(self.fake.txt(ZONE, NAME), ['"x"'])
        # Persistent 5xx: the last status and Akamai's text, in time.
        self.fake.faults += [(502, None, "GET /names/")] * 8
        t0 = time.monotonic()
        msg = self.fails("Present", "F2", timeout="6s")
        self.assertLess(time.monotonic() - t0, 6)
        self.assertIn("HTTP 502", msg)
        self.assertIn("Injected fault", msg)
        self.fake.faults.clear()
        # A Retry-After past the deadline: said at once, not waited for.
        self.fake.faults.append((429, 60, "GET /names/"))
        t0 = time.monotonic()
        msg = self.fails("Present", "F3", timeout="6s")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("HTTP 429", msg)
        self.assertIn("60000 ms", msg)
        # A hung request: answered before the deadline; the host is a
        # custom one (the fake), so the transport's detail stays in the
        # debug log (no port-scan oracle) and the reply says so.
        self.fake.hang = 1
        t0 = time.monotonic()
        msg = self.fails("Present", "F4", timeout="4s")
        self.assertLess(time.monotonic() - t0, 6)
        self.assertRegex(msg, "upstream unreachable|timed out")
        self.assertEqual(self.fake.txt(ZONE, NAME), ['"x"'])

    def test_auth_refusals(self):
        msg = self.fails("Present", "A1", self.cfg(
            clientSecretSecretRef={"name": "bad", "key": "clientSecret"}))
        self.assertIn("HTTP 401", msg)
        self.assertIn("signature does not match", msg)
        self.fake.skew = -1  # every timestamp is outside the window
        msg = self.fails("Present", "A2")
        self.assertIn("clock skew", msg)
        self.fake.skew = 30
        msg = self.fails("Present", "A3", self.cfg(clientTokenSecretRef={"name": "nope", "key": "x"}))
        self.assertIn("nope", msg)
        for bad, word in (({}, "clientTokenSecretRef"),
                          (self.cfg(serviceConsumerDomain=None), "serviceConsumerDomain"), (self.cfg(ttl=5), "ttl"),
                          (self.cfg(accessTokenSecretRef=None), "accessTokenSecretRef"),
                          (self.cfg(serviceConsumerDomain="a b"), "serviceConsumerDomain")):
            self.assertIn(word, self.fails("Present", "A4", bad))
        # No caBundle: the test PKI is not trusted.
        self.assertIn("akamai", self.fails("Present", "A5", self.cfg(caBundle=None)))
        self.assertEqual(self.fake.txt(ZONE, NAME), [])

    def test_tenant_endpoint_policy(self):
        self.fake.requests.clear()
        msg = self.fails("Present", "T1", self.cfg(serviceConsumerDomain="evil.example.net"))
        self.assertIn("--allow-provider-endpoint", msg)
        msg = self.fails("Present", "T2", self.cfg(serviceConsumerDomain=None,
                                                   edgercSecretRef={"name": "rc", "key": "evil"},
                                                   edgercSection="dns"))
        self.assertIn("--allow-provider-endpoint", msg)
        self.assertEqual(self.calls(), [], "a request reached the API")

    def test_edgerc_secret(self):
        cfg = {"edgercSecretRef": {"name": "rc", "key": "edgerc"}, "caBundle": self.ca_pem}
        self.ok("Present", "E1", cfg)
        self.assertEqual(self.fake.txt(ZONE, NAME), ['"E1"'])
        self.ok("CleanUp", "E1", cfg)
        self.assertIn("[nosuch]", self.fails("Present", "E2", dict(cfg, edgercSection="nosuch")))

    def cli(self, action, env, value, name=NAME, zone=ZONE):
        return subprocess.run([harness.BIN, action, "--provider", "akamai"]
                              + (["--zone", zone] if zone else []) + [name, value],
                              capture_output=True, text=True, env=env, timeout=60)

    def test_cli(self):
        base = {k: v for k, v in os.environ.items() if not k.startswith("AKAMAI_")}
        base["AKAMAI_CA_BUNDLE"] = self.pki.path("serving-ca.crt")
        env = dict(base, AKAMAI_HOST=self.fake.host, AKAMAI_CLIENT_TOKEN=CREDS[0],
                   AKAMAI_CLIENT_SECRET=CREDS[1], AKAMAI_ACCESS_TOKEN=CREDS[2],
                   AKAMAI_TTL="60")
        rcfile = os.path.join(self.tmp.name, "edgerc")
        with open(rcfile, "w") as f:
            f.write(edgerc(self.fake.host, section="dns"))
        envrc = dict(base, AKAMAI_EDGERC=rcfile, AKAMAI_EDGERC_SECTION="dns")
        for e, value in ((env, "CLI1"), (envrc, "CLI2")):
            r = self.cli("present", e, value)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.fake.txt(ZONE, NAME), [f'"{value}"'])
            r2 = self.cli("cleanup", e, value)
            self.assertEqual(r2.returncode, 0, r2.stderr)
            self.assertEqual(self.fake.txt(ZONE, NAME), [])
            for out in (r.stdout + r.stderr, r2.stdout + r2.stderr):
                for secret in CREDS:
                    self.assertNotIn(secret, out)
        # No --zone: the zone is found by walking up from the name.
        sub = "_acme-challenge.x.sub.example.test"
        self.fake.requests.clear()
        r = self.cli("present", env, "W1", name=sub, zone=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.fake.txt("sub.example.test", sub), ['"W1"'])
        zones = [p for p in self.calls("GET") if "/names/" not in p]
        self.assertEqual(zones, ["/config-dns/v2/zones/" + z for z in
                                 (sub, "x.sub.example.test", "sub.example.test")])
        r = self.cli("cleanup", env, "W1", name=sub, zone="sub.example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(self.fake.get("sub.example.test", sub))
        r = self.cli("present", base, "x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("AKAMAI_EDGERC", r.stderr)


if __name__ == "__main__":
    unittest.main()
