"""cloudflare through the webhook against the strict fake (HTTPS, its
certificate from the test PKI, trusted through caBundle as PEM text): the strict
conformance flow with unrelated records at the name, paging, the zone walk
(resolvedZone first) and the zone ID memo, legacy unquoted records, key
auth, Cloudflare's errors, retries on 429 (Retry-After honoured) and 5xx,
no retries on a permanent 403, dropped connections, 81057, a 404 on
DELETE that is not 81044; and the CLI with lego's variables (where
caBundle is a file)."""
import json
import os
import subprocess
import tempfile
import time
import unittest

import cloudflare_fake
import harness
import pki
from harness import assert_response, challenge

NAME = "_acme-challenge.www.example.test"


class Cloudflare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.fake = cloudflare_fake.Fake(zones=("example.test", "sub.example.test"),
                                        tls=cls.pki.cert("serving")).__enter__()
        cls.secrets = os.path.join(cls.tmp.name, "secrets")
        for name, key, value in (("cf", "token", "test-token\n"), ("cf", "key", "global-key"),
                                 ("bad", "token", "wrong-token"), ("nl", "token", "a\nb")):
            d = os.path.join(cls.secrets, "default", name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, key), "w") as f:
                f.write(value)
        harness.serve_provider(cls, cls.secrets, [cls.fake.url])

    @classmethod
    def tearDownClass(cls):
        harness.stop_provider(cls, ("test-token", "global-key", "wrong-token"))

    def setUp(self):
        with self.fake.lock:
            self.fake.records.clear()
            self.fake.faults.clear()
            self.fake.requests.clear()
            self.fake.auth_log.clear()
            self.fake.drop = 0

    def api_calls(self, method=None, part=""):
        with self.fake.lock:
            return [p for m, p in self.fake.requests
                    if (method is None or m == method) and part in p]

    def cfg(self, **kw):
        c = {"apiTokenSecretRef": {"name": "cf", "key": "token"},
             "baseURL": self.fake.url, "caBundle": self.ca_pem}
        c.update(kw)
        return c

    def call(self, action, key, cfg=None, name=NAME, zone="example.test."):
        st, _, body = self.c.post_challenge(
            challenge(action, key, fqdn=name + ".", zone=zone,
                      config=cfg if cfg is not None else self.cfg()),
            solver="cloudflare")
        for secret in (b"test-token", b"global-key", b"wrong-token"):
            self.assertNotIn(secret, body)
        return st, body

    def ok(self, *a, **kw):
        assert_response(self, *self.call(*a, **kw), True)

    def fails(self, *a, **kw):
        o = assert_response(self, *self.call(*a, **kw), False)
        return o["response"]["status"]["message"]

    def test_conformance_and_paging(self):
        spf = self.fake.add(NAME, "v=spf1 -all")
        self.fake.add(NAME, "192.0.2.1", type_="A")
        self.ok("Present", "K1")
        self.ok("Present", "K1")
        self.assertEqual(self.fake.txt(NAME), ['"K1"', "v=spf1 -all"])
        self.ok("Present", "anothertestingkey")
        self.ok("CleanUp", "anothertestingkey")
        self.ok("CleanUp", "anothertestingkey")
        self.assertEqual(self.fake.txt(NAME), ['"K1"', "v=spf1 -all"])
        # Values containing "K1" come back from the content filter too:
        # more than a page, and only the exact one may be touched.
        for k in ("K10", "K11", "K12", "K13", "k1"):
            self.ok("Present", k)
        self.assertEqual(len(self.fake.txt(NAME)), 7)
        self.fake.requests.clear()
        self.ok("CleanUp", "K1")
        self.assertTrue(self.api_calls("GET", "page=3"), "paging was not followed")
        self.assertNotIn('"K1"', self.fake.txt(NAME))
        self.ok("CleanUp", "K1")
        for k in ("K10", "K11", "K12", "K13", "k1"):
            self.ok("CleanUp", k)
        self.assertEqual(self.fake.txt(NAME), ["v=spf1 -all"])
        with self.fake.lock:
            self.assertIn(spf, self.fake.records)
            self.assertEqual(sum(r["type"] == "A" for r in self.fake.records.values()), 1)
            self.assertEqual(set(self.fake.auth_log), {"token"})

    def test_zone_lookup_and_memo(self):
        sub = "_acme-challenge.y.sub.example.test"
        self.ok("Present", "M1", name=sub, zone="sub.example.test.")
        # resolvedZone is asked first: one lookup, not a walk.
        self.assertEqual(self.api_calls("GET", "/zones?"),
                         ["/client/v4/zones?name=sub.example.test&per_page=50"])
        self.ok("CleanUp", "M1", name=sub, zone="sub.example.test.")
        self.assertEqual(len(self.api_calls("GET", "/zones?")), 1, "zone ID not remembered")
        # The zone is re-created under a new ID: the remembered one fails
        # once, is forgotten, and the lookup runs again.
        with self.fake.lock:
            self.fake.zones["sub.example.test"] = "0" * 32
        self.ok("Present", "M2", name=sub, zone="sub.example.test.")
        self.assertEqual(len(self.api_calls("GET", "/zones?")), 2)
        self.ok("CleanUp", "M2", name=sub, zone="sub.example.test.")
        self.assertEqual(self.fake.txt(sub), [])
        # A resolvedZone Cloudflare does not have: walk from the name.
        self.ok("Present", "M3", name=sub, zone="y.sub.example.test.")
        self.assertEqual(self.fake.txt(sub), ['"M3"'])
        self.ok("CleanUp", "M3", name=sub, zone="y.sub.example.test.")

    def test_zone_memo_not_shared_with_another_token(self):
        """The zone ID remembered for one token is not handed to a config
        with another (another tenant's, here a wrong one): that config
        makes its own lookup, which Cloudflare refuses."""
        self.ok("Present", "T1")  # the zone ID is remembered now
        n = len(self.api_calls("GET", "/zones?"))
        self.ok("Present", "T2")
        self.assertEqual(len(self.api_calls("GET", "/zones?")), n, "memo not used")
        bad = self.cfg(apiTokenSecretRef={"name": "bad", "key": "token"})
        self.fails("Present", "T3", cfg=bad)
        self.assertEqual(len(self.api_calls("GET", "/zones?")), n + 1,
                         "the other token skipped its own zone lookup")
        self.assertNotIn('"T3"', self.fake.txt(NAME))
        self.ok("CleanUp", "T1")
        self.ok("CleanUp", "T2")

    def test_zone_walk_legacy_and_key_auth(self):
        sub = "_acme-challenge.x.sub.example.test"
        self.ok("Present", "W1", name=sub, zone="sub.example.test.")
        self.assertEqual(self.fake.txt(sub), ['"W1"'])
        with self.fake.lock:
            zone = [r["zone"] for r in self.fake.records.values() if r["name"] == sub]
        self.assertEqual(zone, ["sub.example.test"])
        self.ok("CleanUp", "W1", name=sub, zone="sub.example.test.")
        # A record made by an older tool, unquoted: found and removed.
        self.fake.add(NAME, "LEGACY")
        self.ok("Present", "LEGACY")
        self.assertEqual(self.fake.txt(NAME), ["LEGACY"])
        self.ok("CleanUp", "LEGACY")
        self.assertEqual(self.fake.txt(NAME), [])
        key = self.cfg(email=self.fake.email, apiKeySecretRef={"name": "cf", "key": "key"})
        del key["apiTokenSecretRef"]
        self.ok("Present", "KA", key)
        self.ok("CleanUp", "KA", key)
        self.ok("Present", "Z1", self.cfg(zoneID=self.fake.zones["example.test"]))
        self.ok("CleanUp", "Z1", self.cfg(zoneID=self.fake.zones["example.test"]))
        self.assertEqual(self.fake.txt(NAME), [])

    def test_errors(self):
        msg = self.fails("Present", "E1", self.cfg(apiTokenSecretRef={"name": "bad", "key": "token"}))
        self.assertIn("9109", msg)
        self.assertIn("Invalid access token", msg)
        self.assertIn("HTTP 403", msg)
        msg = self.fails("Present", "E1", self.cfg(apiTokenSecretRef={"name": "nl", "key": "token"}))
        self.assertIn("control character", msg)
        msg = self.fails("Present", "E1", name="_acme-challenge.other.org", zone="other.org.")
        self.assertIn("no Cloudflare zone", msg)
        msg = self.fails("Present", "E1", self.cfg(ttl=30))
        self.assertIn("ttl", msg)
        for bad in ({}, {"apiTokenSecretRef": {"name": "cf", "key": "token"},
                         "apiKeySecretRef": {"name": "cf", "key": "key"}},
                    {"apiKeySecretRef": {"name": "cf", "key": "key"}},
                    self.cfg(baseURL="ftp://x")):
            self.assertIn("cloudflare", self.fails("Present", "E1", bad))
        # An untrusted certificate is refused (no caBundle).
        cfg = self.cfg()
        del cfg["caBundle"]
        self.assertIn("cloudflare", self.fails("Present", "E1", cfg))
        self.assertEqual(self.fake.txt(NAME), [])

    def test_retries(self):
        self.fake.faults += [(429, 971, 1), (500, 10000, None), (502, 10000, None)]
        t0 = time.monotonic()
        self.ok("Present", "R1")
        self.assertGreaterEqual(time.monotonic() - t0, 1.0, "Retry-After: 1 not honoured")
        self.assertEqual(self.fake.txt(NAME), ['"R1"'])
        self.assertEqual(self.fake.faults, [])
        self.fake.drop = 1
        self.ok("CleanUp", "R1")
        self.assertEqual(self.fake.txt(NAME), [])
        # A permanent refusal is not retried, and says what Cloudflare said.
        self.fake.requests.clear()
        self.fake.faults.append((403, 10000, None))
        msg = self.fails("Present", "R2")
        self.assertIn("[10000] injected fault", msg)
        self.assertIn("HTTP 403", msg)
        self.assertEqual(len(self.api_calls()), 1)
        # 81057 ("a record exists"): listed again; absent, so created.
        self.fake.faults.append((400, 81057, None, "POST /dns_records"))
        self.ok("Present", "R3")
        self.assertEqual(len(self.api_calls("POST")), 2)
        self.assertEqual(self.fake.txt(NAME), ['"R3"'])
        self.ok("CleanUp", "R3")

    def test_delete_404_is_not_always_gone(self):
        # Only 81044 says the record is gone; a 404 with 7003 (bad object
        # identifier) or 7000 (no route) says nothing of the kind.
        self.ok("Present", "D1")
        for code, text in ((7003, "Could not route to /zones/x/dns_records/y, perhaps "
                                  "your object identifier is invalid?"),
                           (7000, "No route for that URI")):
            self.fake.faults.append((404, code, None, "DELETE /dns_records", text))
            msg = self.fails("CleanUp", "D1")
            self.assertIn(f"[{code}]", msg)
            self.assertIn("HTTP 404", msg)
            self.assertEqual(self.fake.txt(NAME), ['"D1"'], "the record is still there")
        # 81044: deleted meanwhile, which is what CleanUp wanted.
        self.fake.faults.append((404, 81044, None, "DELETE /dns_records", "Record does not exist."))
        self.ok("CleanUp", "D1")
        self.ok("CleanUp", "D1")
        self.assertEqual(self.fake.txt(NAME), [])

    def test_cli_env(self):
        env = dict(os.environ, CF_DNS_API_TOKEN="test-token",
                   CLOUDFLARE_BASE_URL=self.fake.url,
                   CLOUDFLARE_CA_BUNDLE=self.pki.path("serving-ca.crt"))
        for action in ("present", "cleanup"):
            r = subprocess.run([harness.BIN, action, "--provider", "cloudflare",
                                NAME, "CLI1"], capture_output=True, text=True,
                               env=env, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("test-token", r.stdout + r.stderr)
            if action == "present":
                self.assertEqual(self.fake.txt(NAME), ['"CLI1"'])
        self.assertEqual(self.fake.txt(NAME), [])
        r = subprocess.run([harness.BIN, "present", "--provider", "cloudflare", NAME, "x"],
                           capture_output=True, text=True, timeout=30,
                           env={k: v for k, v in env.items() if not k.startswith("CF_")})
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
