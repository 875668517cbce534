"""acmedns through the webhook against the strict acme-dns fake (HTTPS,
its certificate from the test PKI, trusted through caBundle as PEM text):
the account picked by dnsName then without "*.", another value of the
subdomain surviving every step (acme-dns keeps two and cannot delete, so
a repeated Present must not post again), CleanUp a success without a
request, clear errors for bad accounts and values, retries (429 with
Retry-After, 5xx, dropped connections), a hung server answered within the
deadline, tenant isolation (another namespace's Secret is not reachable, a
host the operator did not list is refused before any connection), no
password in any reply or log line; and the CLI with lego's
ACME_DNS_API_BASE and ACME_DNS_STORAGE_PATH (present and cleanup against
the fake; `check` would need the acme-dns server's DNS, which the fake
does not serve). An SPF record cannot live at an acme-dns subdomain (the
server only serves its two TXT values), so "another value survives" is
the other slot's value here."""
import base64
import hashlib
import json
import os
import subprocess
import tempfile
import time
import unittest

import acmedns_fake
import harness
import pki
from harness import assert_response, challenge

NAME = "_acme-challenge.www.example.test"


def val(label):
    """A 43-character base64url value, as ACME's key authorization digest."""
    return base64.urlsafe_b64encode(hashlib.sha256(label.encode()).digest()).decode().rstrip("=")


class AcmeDNS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.fake = acmedns_fake.Fake(tls=cls.pki.cert("serving")).__enter__()
        cls.www = cls.fake.register()
        cls.apex = cls.fake.register()
        cls.other = cls.fake.register()  # namespace "other"'s own
        cls.secrets = s = os.path.join(cls.tmp.name, "secrets")
        cls.accounts = {"www.example.test": cls.www, "example.test": cls.apex}
        harness.write_secret(s, "default", "adns", "accounts", json.dumps(cls.accounts))
        harness.write_secret(s, "other", "adns-other", "accounts",
                             json.dumps({"www.example.test": cls.other}))
        bad = dict(cls.www, subdomain="Not_A_Label")
        harness.write_secret(s, "default", "bad", "accounts",
                             json.dumps({"www.example.test": bad}))
        harness.write_secret(s, "default", "bad", "notjson", "{" + cls.www["password"])
        wrong = dict(cls.www, password="x" * 40)
        harness.write_secret(s, "default", "wrong", "accounts",
                             json.dumps({"www.example.test": wrong}))
        # Another namespace that knows the www account's user and
        # subdomain, not its password.
        harness.write_secret(s, "evil", "adns", "accounts",
                             json.dumps({"www.example.test": wrong}))
        cls.trap = harness.Trap()
        harness.serve_provider(cls, s, [cls.fake.url], ["--provider-timeout", "8s"])
        cls.passwords = [a["password"] for a in (cls.www, cls.apex, cls.other)]

    @classmethod
    def tearDownClass(cls):
        harness.stop_provider(cls, cls.passwords)

    def setUp(self):
        with self.fake.lock:
            self.fake.faults.clear()
            self.fake.requests.clear()
            self.fake.drop = self.fake.hang = 0

    def posts(self):
        with self.fake.lock:
            return [r for r in self.fake.requests if r[0] == "POST"]

    def cfg(self, **kw):
        c = {"host": self.fake.url, "caBundle": self.ca_pem,
             "accountSecretRef": {"name": "adns", "key": "accounts"}}
        c.update(kw)
        return c

    def call(self, action, key, cfg=None, dns_name="www.example.test", ns="default"):
        st, _, body = self.c.post_challenge(
            challenge(action, key, fqdn=NAME + ".", zone="example.test.",
                      dnsName=dns_name, resourceNamespace=ns,
                      config=cfg if cfg is not None else self.cfg()),
            solver="acmedns")
        for secret in self.passwords:
            self.assertNotIn(secret.encode(), body)
        return st, body

    def ok(self, *a, **kw):
        assert_response(self, *self.call(*a, **kw), True)

    def fails(self, *a, **kw):
        o = assert_response(self, *self.call(*a, **kw), False)
        return o["response"]["status"]["message"]

    def test_conformance(self):
        sub = self.www["subdomain"]
        with self.fake.lock:
            self.fake.values[sub] = [val("another client")]
        self.ok("Present", val("c1"))
        self.assertEqual(self.fake.txt(sub), sorted([val("another client"), val("c1")]))
        self.assertEqual(self.posts()[-1][2], self.www["username"])
        # Present again: answered without a POST that would push the
        # other value out.
        self.ok("Present", val("c1"))
        self.assertEqual(len(self.posts()), 1)
        self.assertEqual(self.fake.txt(sub), sorted([val("another client"), val("c1")]))
        # CleanUp cannot delete: a success that changes nothing.
        self.ok("CleanUp", val("c1"))
        self.ok("CleanUp", val("never presented"))
        self.assertEqual(len(self.posts()), 1)
        self.assertEqual(self.fake.txt(sub), sorted([val("another client"), val("c1")]))
        self.assertIn("acme-dns cannot delete", self.srv.log())

    def test_account_lookup(self):
        # "*.www.example.test": the entry without "*."; the apex its own.
        self.ok("Present", val("w1"), dns_name="*.www.example.test")
        self.assertIn(val("w1"), self.fake.txt(self.www["subdomain"]))
        self.ok("Present", val("a1"), dns_name="example.test")
        self.assertIn(val("a1"), self.fake.txt(self.apex["subdomain"]))
        msg = self.fails("Present", val("n1"), dns_name="nope.example.test")
        self.assertIn("no entry for nope.example.test", msg)

    def test_concurrent_identical_presents_post_once(self):
        clients = [self.srv.client("proxy") for _ in range(6)]
        import threading
        out = []

        def go(c):
            out.append(c.post_challenge(
                challenge("Present", val("same"), fqdn=NAME + ".", zone="example.test.",
                          dnsName="www.example.test", config=self.cfg()),
                solver="acmedns"))

        ts = [threading.Thread(target=go, args=(c,)) for c in clients]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for c in clients:
            c.close()
        for st, _, body in out:
            assert_response(self, st, body, True)
        self.assertEqual(len(self.posts()), 1)

    def test_errors(self):
        msg = self.fails("Present", "short")
        self.assertIn("43", msg)
        self.assertIn("base64url", msg)
        self.assertEqual(self.posts(), [])
        msg = self.fails("Present", val("e1"), self.cfg(accountSecretRef={"name": "bad", "key": "accounts"}))
        self.assertIn("subdomain must be one lower-case DNS label", msg)
        msg = self.fails("Present", val("e1"), self.cfg(accountSecretRef={"name": "bad", "key": "notjson"}))
        self.assertIn("not a JSON object", msg)
        msg = self.fails("Present", val("e1"), self.cfg(accountSecretRef={"name": "wrong", "key": "accounts"}))
        self.assertIn("HTTP 401: forbidden", msg)
        for bad in ({"host": self.fake.url}, {"accountSecretRef": {"name": "adns", "key": "accounts"}},
                    self.cfg(host="ftp://x"), self.cfg(host=self.fake.url + "/?x=1")):
            self.assertIn("acmedns", self.fails("Present", val("e2"), bad))
        self.assertNotIn(val("e1"), self.fake.txt(self.www["subdomain"]))

    def test_retries_and_faults(self):
        self.fake.faults += [(429, 1), (500, None), (502, None)]
        t0 = time.monotonic()
        self.ok("Present", val("r1"))
        self.assertGreaterEqual(time.monotonic() - t0, 1.0, "Retry-After: 1 not honoured")
        self.assertIn(val("r1"), self.fake.txt(self.www["subdomain"]))
        self.fake.drop = 1
        self.ok("Present", val("r2"))
        self.assertIn(val("r2"), self.fake.txt(self.www["subdomain"]))
        # A permanent refusal is not retried.
        self.fake.requests.clear()
        self.fake.faults.append((400, None))
        msg = self.fails("Present", val("r3"))
        self.assertIn("HTTP 400: injected fault", msg)
        self.assertEqual(len(self.posts()), 1)
        # A server that never answers: failure within the deadline (8 s),
        # naming the step.
        self.fake.hang = 10
        t0 = time.monotonic()
        msg = self.fails("Present", val("r4"))
        self.assertLess(time.monotonic() - t0, 20)
        self.assertIn("posting the value to", msg)
        self.assertTrue("unreachable" in msg or "timed out" in msg, msg)
        self.fake.hang = 0

    def test_tenant_isolation(self):
        other = self.cfg(accountSecretRef={"name": "adns-other", "key": "accounts"})
        msg = self.fails("Present", val("t1"), other)
        self.assertIn("adns-other", msg)
        self.assertEqual(self.posts(), [])
        self.ok("Present", val("t1"), other, ns="other")
        self.assertIn(val("t1"), self.fake.txt(self.other["subdomain"]))
        trap = f"https://127.0.0.1:{self.trap.port}"
        msg = self.fails("Present", val("t2"), self.cfg(host=trap))
        self.assertIn("--allow-provider-endpoint", msg)
        self.assertEqual(self.trap.connections(), 0)

    def test_memo_not_shared_with_another_tenant(self):
        # The memo of values posted answers a repeat without a POST; for
        # another namespace with the same user and subdomain but not the
        # password, the same value is never answered from it: its own
        # POST goes out and the server refuses it.
        self.ok("Present", val("memo"))
        self.assertEqual(len(self.posts()), 1)
        msg = self.fails("Present", val("memo"), ns="evil")
        self.assertEqual(len(self.posts()), 2, msg)
        self.assertEqual(self.posts()[-1][2], self.www["username"])

    def test_cli_env(self):
        path = os.path.join(self.tmp.name, "acme-dns-accounts.json")
        with open(path, "w") as f:
            json.dump(self.accounts, f)
        env = dict(os.environ, ACME_DNS_API_BASE=self.fake.url, ACME_DNS_STORAGE_PATH=path,
                   ACME_DNS_CA_BUNDLE=self.pki.path("serving-ca.crt"))
        for action in ("present", "cleanup"):
            r = subprocess.run([harness.BIN, action, "--provider", "acmedns", NAME, val("cli")],
                               capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn(self.www["password"], r.stdout + r.stderr)
            self.assertIn(val("cli"), self.fake.txt(self.www["subdomain"]))
        for drop, want in (("ACME_DNS_STORAGE_PATH", "ACME_DNS_STORAGE_PATH is not set"),
                           ("ACME_DNS_API_BASE", "ACME_DNS_API_BASE is not set")):
            r = subprocess.run([harness.BIN, "present", "--provider", "acmedns", NAME, val("x")],
                               capture_output=True, text=True, timeout=30,
                               env={k: v for k, v in env.items() if k != drop})
            self.assertEqual(r.returncode, 2)
            self.assertIn(want, r.stderr)
        r = subprocess.run([harness.BIN, "present", "--provider", "acmedns", NAME, val("x")],
                           capture_output=True, text=True, timeout=30,
                           env=dict(env, ACME_DNS_STORAGE_PATH=path + ".missing"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("ACME_DNS_STORAGE_PATH", r.stderr)


if __name__ == "__main__":
    unittest.main()
