"""route53 through the webhook against the strict fake (every request's
SigV4 signature checked by botocore): values added and removed without
losing anyone else's — a simple set shared with a user's SPF value, a name
already using cert-manager's multivalue sets — concurrent Presents at one
name (compare-and-swap retries), ambient credentials only when allowed,
bad keys and throttling."""
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

import harness
import pki
import route53_fake
from harness import assert_response, challenge

NAME = "_acme-challenge.www.example.test."


class Route53(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.fake = route53_fake.Fake(zones=(("example.test.", False), ("example.test.", True))).__enter__()
        d = os.path.join(cls.tmp.name, "s", "default", "aws")
        os.makedirs(d)
        for k, v in (("id", cls.fake.akid), ("secret", cls.fake.secret + "\n"), ("bad", "x" * 40)):
            with open(os.path.join(d, k), "w") as f:
                f.write(v)
        # Ambient credentials go only to AWS or the operator's own
        # endpoint (AWS_ENDPOINT_URL_ROUTE_53), never to a tenant's.
        env = dict(os.environ, AWS_ACCESS_KEY_ID=cls.fake.akid,
                   AWS_SECRET_ACCESS_KEY=cls.fake.secret,
                   AWS_ENDPOINT_URL_ROUTE_53=f"http://localhost:{cls.fake.port}")
        cls.srv = harness.Server(cls.pki, zones=(), env=env,
                                 extra=["--secrets-dir", os.path.join(cls.tmp.name, "s")],
                                 endpoints=[cls.fake.url]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        log = cls.srv.log()
        cls.fake.__exit__(None, None, None)
        cls.tmp.cleanup()
        assert route53_fake.Fake().secret not in log

    def setUp(self):
        with self.fake.lock:
            self.fake.sets.clear()
            self.fake.faults.clear()
            self.fake.requests.clear()

    def cfg(self, **kw):
        c = {"accessKeyIDSecretRef": {"name": "aws", "key": "id"},
             "secretAccessKeySecretRef": {"name": "aws", "key": "secret"},
             "endpoint": self.fake.url}
        c.update(kw)
        return c

    def call(self, action, key, cfg=None, ambient=False):
        c = self.srv.client("proxy")
        try:
            st, _, body = c.post_challenge(challenge(
                action, key, config=cfg if cfg is not None else self.cfg(),
                allowAmbientCredentials=ambient), solver="route53")
        finally:
            c.close()
        self.assertNotIn(self.fake.secret.encode(), body)
        return st, body

    def ok(self, *a, **kw):
        assert_response(self, *self.call(*a, **kw), True)

    def fails(self, *a, **kw):
        return assert_response(self, *self.call(*a, **kw), False)["response"]["status"]["message"]

    def test_simple_set_shared_with_spf(self):
        self.fake.put(NAME, ['"v=spf1 -all"'], ttl=300)
        self.ok("Present", "K1")
        self.ok("Present", "K1")
        self.ok("Present", "K2")
        self.assertEqual(self.fake.values(NAME), ['"K1"', '"K2"', '"v=spf1 -all"'])
        with self.fake.lock:  # the owner's TTL was kept
            self.assertEqual([v["ttl"] for v in self.fake.sets.values()], [300])
        self.ok("CleanUp", "K2")
        self.ok("CleanUp", "K2")
        self.ok("CleanUp", "K1")
        self.assertEqual(self.fake.values(NAME), ['"v=spf1 -all"'])
        # Six calls, at most one zone lookup: the zone ID is remembered.
        self.assertLessEqual(sum("hostedzonesbyname" in p for _, p in self.fake.requests), 1)

    def test_empty_name_and_last_value(self):
        self.ok("Present", "E1", self.cfg(hostedZoneID="/hostedzone/" + next(iter(self.fake.zones))))
        self.assertEqual(self.fake.values(NAME), ['"E1"'])
        self.ok("CleanUp", "E1")
        self.assertEqual(self.fake.sets, {})

    def test_multivalue_names(self):
        self.fake.put(NAME, ['"CM"'], sid='"CM"', ttl=10)
        self.ok("Present", "M1")
        self.assertEqual(self.fake.values(NAME), ['"CM"', '"M1"'])
        with self.fake.lock:
            self.assertTrue(all(k[2] for k in self.fake.sets))
        self.ok("CleanUp", "M1")
        self.assertEqual(self.fake.values(NAME), ['"CM"'])

    def test_wait_for_sync(self):
        self.ok("Present", "S1", self.cfg(waitForSync=True))
        gets = [p for m, p in self.fake.requests if "/change/" in p]
        self.assertEqual(len(gets), 2)  # PENDING, then INSYNC
        self.ok("CleanUp", "S1")
        self.assertEqual(self.fake.values(NAME), [])

    def test_concurrent_presents_lose_nothing(self):
        self.fake.put(NAME, ['"v=spf1 -all"'], ttl=300)
        keys = [f"C{i}" for i in range(20)]
        replies = {}

        def one(k):
            replies[k] = self.call("Present", k)

        ts = [threading.Thread(target=one, args=(k,)) for k in keys]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for k in keys:
            assert_response(self, *replies[k], True)
        self.assertEqual(self.fake.values(NAME),
                         sorted([f'"{k}"' for k in keys] + ['"v=spf1 -all"']))
        # Serialised per name inside the process: no lost races at all.
        self.assertEqual(sum(m == "POST" for m, _ in self.fake.requests), len(keys))
        ts = [threading.Thread(target=lambda k=k: replies.__setitem__(k, self.call("CleanUp", k)))
              for k in keys]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for k in keys:
            assert_response(self, *replies[k], True)
        self.assertEqual(self.fake.values(NAME), ['"v=spf1 -all"'])

    def test_credentials_and_errors(self):
        self.assertIn("ambient credentials are not allowed", self.fails("Present", "A1", {"endpoint": self.fake.url}))
        self.assertIn("never sent to a custom endpoint",
                      self.fails("Present", "A1", {"endpoint": self.fake.url}, ambient=True))
        self.ok("Present", "A1", {}, ambient=True)
        self.ok("CleanUp", "A1", {}, ambient=True)
        msg = self.fails("Present", "B1", self.cfg(secretAccessKeySecretRef={"name": "aws", "key": "bad"}))
        self.assertIn("SignatureDoesNotMatch", msg)
        msg = self.fails("Present", "B1", self.cfg(accessKeyIDSecretRef=None, accessKeyID="AKIDOTHER"))
        self.assertIn("InvalidClientTokenId", msg)
        self.assertIn("not supported", self.fails(
            "Present", "B1", self.cfg(auth={"kubernetes": {"serviceAccountRef": {"name": "x"}}})))
        self.fake.faults += [("Throttling", "Rate exceeded")] * 2 + [
            ("InternalFailure", "injected", 500), ("ServiceUnavailable", "injected", 503)]
        self.ok("Present", "T1")
        self.assertEqual(self.fake.faults, [])
        self.assertEqual(self.fake.values(NAME), ['"T1"'])
        # The CLI with the user's own AWS_* variables.
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.fake.akid,
                   AWS_SECRET_ACCESS_KEY=self.fake.secret,
                   AWS_ENDPOINT_URL_ROUTE_53=self.fake.url,
                   AWS_HOSTED_ZONE_ID=next(iter(self.fake.zones)))
        r = subprocess.run([harness.BIN, "cleanup", "--provider", "route53", NAME, "T1"],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(self.fake.secret, r.stdout + r.stderr)
        self.assertEqual(self.fake.values(NAME), [])


class Route53Credentials(unittest.TestCase):
    """Every ambient source, STS with a shared call and refresh."""

    def run_with(self, env, cfg, keys, ambient=True):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            full.update(getattr(self, "operator", {}))
            full.update(env(d))
            with harness.Server(p, zones=(), env=full) as srv:
                out = []
                lock = threading.Lock()

                def one(k):
                    c = srv.client("proxy")
                    r = c.post_challenge(challenge("Present", k, config=cfg,
                                                   allowAmbientCredentials=ambient),
                                         solver="route53")
                    c.close()
                    with lock:
                        out.append(r)

                ts = [threading.Thread(target=one, args=(k,)) for k in keys]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                return [assert_response(self, st, body, True) for st, _, body in out]

    def test_sources(self):
        with route53_fake.Fake() as fake:
            # Ambient credentials: to the operator's endpoints only.
            self.operator = {"AWS_ENDPOINT_URL_ROUTE_53": fake.url,
                             "AWS_ENDPOINT_URL_STS": fake.url}
            cfg = {}
            # Shared credentials file, profile from AWS_PROFILE.
            def files(d):
                path = os.path.join(d, "credentials")
                with open(path, "w") as f:
                    f.write(f"[default]\naws_access_key_id = WRONG\naws_secret_access_key = x\n"
                            f"[dns01]\naws_access_key_id = {fake.akid}\n"
                            f"aws_secret_access_key = {fake.secret}\n")
                return {"AWS_SHARED_CREDENTIALS_FILE": path, "AWS_PROFILE": "dns01"}
            self.run_with(files, cfg, ["F1"])
            self.assertEqual(fake.values(NAME), ['"F1"'])
            # Web identity (IRSA): 10 concurrent Presents, one STS call.
            def irsa(d):
                path = os.path.join(d, "token")
                with open(path, "w") as f:
                    f.write(fake.web_token + "\n")
                return {"AWS_ROLE_ARN": fake.role_arn, "AWS_WEB_IDENTITY_TOKEN_FILE": path}
            fake.sts_calls = 0
            self.run_with(irsa, cfg, [f"W{i}" for i in range(10)])
            self.assertEqual(fake.sts_calls, 1)
            self.assertEqual(len(fake.values(NAME)), 11)
            # role: AssumeRole signed with env keys; refreshed when near expiry.
            def keys(d):
                return {"AWS_ACCESS_KEY_ID": fake.akid, "AWS_SECRET_ACCESS_KEY": fake.secret}
            fake.sts_calls = 0
            fake.sts_ttl = 302  # within the 300 s refresh window after 2 s
            self.run_with(keys, dict(cfg, role=fake.role_arn), ["R1", "R2", "R3"])
            self.assertEqual(fake.sts_calls, 1)
            time.sleep(2.5)
            self.run_with(keys, dict(cfg, role=fake.role_arn), ["R4"])
            self.assertEqual(fake.sts_calls, 2)
            self.assertEqual(len(fake.values(NAME)), 15)


if __name__ == "__main__":
    unittest.main()
