"""route53's STS sessions and zone memo as tenants who are adversaries of
each other see them (issue 12, items 1 and 4), through the real binary and
the strict fake (which checks the SigV4 signature of every STS and Route 53
call against the secret it knows):
- a tenant with someone else's access key ID but not the secret never gets
  the session (or the zone ID) cached for the owner's credentials;
- a session assumed with ambient credentials is never handed to an issuer
  that may not use them, nor its token sent to that issuer's endpoint;
- many STS calls stuck on a black hole do not lock other tenants out;
- requests that carry the pod's own keys (or a session bought with them)
  are verified with the operator's CAs (--provider-ca-file) only, never
  with a CA a tenant's caBundle names.
"""
import http.client
import json
import os
import socket
import tempfile
import threading
import time
import unittest

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import harness
import pki
import route53_fake
from harness import assert_response, challenge

NAME = "_acme-challenge.www.example.test."


class BlackHole:
    """A TCP listener that accepts and then never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns = []
        self.cv = threading.Condition()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.cv:
                self.conns.append(c)
                self.cv.notify_all()

    def wait_for(self, n, timeout):
        with self.cv:
            return self.cv.wait_for(lambda: len(self.conns) >= n, timeout)

    def close(self):
        if self.sock.fileno() < 0:
            return  # closed already
        # shutdown() wakes the accept() blocked in the thread.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(10)
        with self.cv:
            for c in self.conns:
                c.close()


class Route53Tenants(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.fake = route53_fake.Fake().__enter__()
        # An endpoint the attacker (team-b) controls: it records every
        # credential that reaches it.
        cls.evil = route53_fake.Fake().__enter__()
        s = os.path.join(cls.tmp.name, "s")
        harness.write_secret(s, "team-a", "aws", "id", cls.fake.akid)
        harness.write_secret(s, "team-a", "aws", "secret", cls.fake.secret)
        # team-b knows team-a's key ID (it is no secret), not the secret.
        harness.write_secret(s, "team-b", "aws", "id", cls.fake.akid)
        harness.write_secret(s, "team-b", "aws", "secret", "J" * 40)
        # The operator's own endpoints are the fake (where ambient
        # credentials may go); tenants may name the fake, team-b's
        # endpoint and the black holes of the starvation test, all
        # listed with --allow-provider-endpoint.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=cls.fake.akid,
                   AWS_SECRET_ACCESS_KEY=cls.fake.secret,
                   AWS_ENDPOINT_URL_ROUTE_53=cls.fake.url,
                   AWS_ENDPOINT_URL_STS=cls.fake.url)
        cls.holes = [BlackHole() for _ in range(20)]
        cls.srv = harness.Server(
            cls.pki, zones=(), env=env, extra=["--secrets-dir", s],
            endpoints=[cls.fake.url, cls.evil.url] + [h.url for h in cls.holes]
        ).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        log = cls.srv.log()
        cls.fake.__exit__(None, None, None)
        cls.evil.__exit__(None, None, None)
        for h in cls.holes:
            h.close()
        cls.tmp.cleanup()
        assert route53_fake.Fake().secret not in log

    def setUp(self):
        for f in (self.fake, self.evil):
            with f.lock:
                f.sets.clear()
                f.requests.clear()
                f.creds_seen.clear()
        # Each test its own role, so no test sees another's cached session.
        self.role = f"arn:aws:iam::123456789012:role/{self._testMethodName}"
        self.fake.role_arn = self.role

    def cfg(self, **kw):
        c = {"accessKeyIDSecretRef": {"name": "aws", "key": "id"},
             "secretAccessKeySecretRef": {"name": "aws", "key": "secret"},
             "endpoint": self.fake.url, "stsEndpoint": self.fake.url,
             "role": self.role}
        c.update(kw)
        return c

    def call(self, ns, key, cfg, ambient=False, timeout=30):
        c = harness.Client(self.srv.port, self.pki.path("serving-ca.crt"),
                           self.pki.cert("proxy"), timeout=timeout)
        try:
            st, _, body = c.post_challenge(challenge(
                "Present", key, config=cfg, resourceNamespace=ns,
                allowAmbientCredentials=ambient), solver="route53")
        finally:
            c.close()
        self.assertNotIn(self.fake.secret.encode(), body)
        return st, body

    def ok(self, *a, **kw):
        assert_response(self, *self.call(*a, **kw), True)

    def fails(self, *a, **kw):
        o = assert_response(self, *self.call(*a, **kw), False)
        return o["response"]["status"]["message"]

    def test_fake_refuses_a_wrong_secret_on_sts(self):
        """The fake itself: AssumeRole signed with the wrong secret is
        refused, with the right one granted (else the tests below prove
        nothing)."""
        def assume(secret):
            body = (f"Action=AssumeRole&Version=2011-06-15&RoleArn={self.role}"
                    "&RoleSessionName=t&DurationSeconds=3600")
            host = f"127.0.0.1:{self.fake.port}"
            req = AWSRequest(method="POST", url=f"http://{host}/", data=body,
                             headers={"Host": host, "Content-Type":
                                      "application/x-www-form-urlencoded"})
            SigV4Auth(Credentials(self.fake.akid, secret), "sts", "us-east-1").add_auth(req)
            c = http.client.HTTPConnection("127.0.0.1", self.fake.port, timeout=10)
            c.request("POST", "/", body=body, headers=dict(req.headers.items()))
            r = c.getresponse()
            out = r.status, r.read()
            c.close()
            return out

        st, body = assume("J" * 40)
        self.assertEqual(st, 403, body)
        self.assertIn(b"SignatureDoesNotMatch", body)
        st, body = assume(self.fake.secret)
        self.assertEqual(st, 200, body)

    def test_wrong_secret_never_gets_the_cached_session(self):
        """(a) team-b has team-a's key ID and a wrong secret: refused with
        the cache cold and still refused once team-a has warmed it."""
        self.assertIn("SignatureDoesNotMatch", self.fails("team-b", "B0", self.cfg()))
        self.ok("team-a", "A1", self.cfg())
        self.assertEqual(self.fake.values(NAME), ['"A1"'])
        msg = self.fails("team-b", "B1", self.cfg())
        self.assertIn("SignatureDoesNotMatch", msg)
        self.assertEqual(self.fake.values(NAME), ['"A1"'])
        # team-b's second try asked STS itself (and was refused).
        self.assertEqual(self.fake.sts_posts(), 3)
        # team-a's own session is still cached for team-a.
        self.ok("team-a", "A2", self.cfg())
        self.assertEqual(self.fake.sts_posts(), 3)
        self.assertEqual(self.fake.values(NAME), ['"A1"', '"A2"'])

    def test_ambient_session_not_for_a_non_ambient_issuer(self):
        """(b) A ClusterIssuer-like call assumes the role with the
        server's ambient keys; then an issuer that may not use ambient
        credentials, with the same key ID, a junk secret and its own
        endpoint, must fail and receive no session token."""
        amb = {"role": self.role}  # the operator's endpoints
        self.ok("default", "C1", amb, ambient=True)
        self.assertEqual(self.fake.sts_posts(), 1)
        with self.fake.lock:
            issued = {t for _, t in self.fake.creds_seen if t}
        self.assertEqual(len(issued), 1)
        msg = self.fails("team-b", "E1", self.cfg(
            accessKeyIDSecretRef=None, accessKeyID=self.fake.akid,
            endpoint=self.evil.url))
        with self.evil.lock:  # no session (token) went to team-b's endpoint
            self.assertEqual(self.evil.creds_seen, [])
        self.assertIn("SignatureDoesNotMatch", msg)
        self.assertEqual(self.fake.sts_posts(), 2)
        self.assertEqual(self.fake.values(NAME), ['"C1"'])

    def test_zone_memo_not_shared_with_a_wrong_secret(self):
        """The zone ID remembered for team-a's keys is not handed to
        team-b's call with team-a's key ID and a wrong secret: team-b's
        own zone lookup is made (and refused)."""
        plain = self.cfg(role=None)
        del plain["role"]
        self.ok("team-a", "Z1", plain)
        self.ok("team-a", "Z2", plain)
        lookups = [p for _, p in self.fake.requests if "hostedzonesbyname" in p]
        self.assertEqual(len(lookups), 1)  # remembered for team-a
        with self.fake.lock:
            self.fake.requests.clear()
        msg = self.fails("team-b", "Z3", plain)
        self.assertIn("SignatureDoesNotMatch", msg)
        with self.fake.lock:
            self.assertTrue(self.fake.requests, "team-b sent nothing")
            self.assertIn("hostedzonesbyname", self.fake.requests[0][1])

    def test_stuck_sts_calls_do_not_starve_other_tenants(self):
        """(c) 20 calls with different role ARNs stuck on black-holed
        stsEndpoints; another tenant's call to a working STS still
        succeeds, promptly. One hole per call: libcurl holds back a second
        transfer to a host whose first connection has not answered yet."""
        holes = self.holes
        n = len(holes)
        results = []

        def stuck(i):
            try:
                results.append(self.call("team-b", f"H{i}", self.cfg(
                    stsEndpoint=holes[i].url,
                    role=f"arn:aws:iam::123456789012:role/hole{i}"), timeout=60))
            except OSError as e:
                results.append(e)

        def reached():
            return sum(1 for h in holes if h.conns)

        ts = [threading.Thread(target=stuck, args=(i,)) for i in range(n)]
        try:
            for t in ts:
                t.start()
            # Until each stuck call reached its hole or came back.
            deadline = time.monotonic() + 30
            while reached() + len(results) < n and time.monotonic() < deadline:
                time.sleep(0.05)
            t0 = time.monotonic()
            self.ok("team-a", "V1", self.cfg())
            took = time.monotonic() - t0
            self.assertEqual(self.fake.values(NAME), ['"V1"'])
            self.assertLess(took, 10)  # it waited for nobody's 15 s budget
            self.assertEqual(reached(), n, results)
        finally:
            for h in holes:
                h.close()  # the stuck calls fail now, not in 15 s
            for t in ts:
                t.join(60)
        self.assertEqual(len(results), n)
        for r in results:
            self.assertNotIsInstance(r, OSError)
            assert_response(self, *r, False)


class AmbientTrust(unittest.TestCase):
    """The operator's endpoints over HTTPS: Route 53 at a fake whose
    certificate the operator's --provider-ca-file trusts, STS at one whose
    certificate comes from other-ca, a CA the operator never gave (think
    of traffic to STS steered to someone who holds it)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.fake = route53_fake.Fake(tls=cls.pki.cert("serving")).__enter__()
        cls.evil = route53_fake.Fake(tls=cls.pki.attacker_serving()).__enter__()
        with open(cls.pki.path("other-ca.crt")) as f:
            cls.evil_ca = f.read()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=cls.fake.akid,
                   AWS_SECRET_ACCESS_KEY=cls.fake.secret,
                   AWS_ENDPOINT_URL_ROUTE_53=cls.fake.url,
                   AWS_ENDPOINT_URL_STS=cls.evil.url)
        cls.srv = harness.Server(
            cls.pki, zones=(), env=env,
            extra=["--provider-ca-file", cls.pki.path("serving-ca.crt")]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        log = cls.srv.log()
        cls.fake.__exit__(None, None, None)
        cls.evil.__exit__(None, None, None)
        cls.tmp.cleanup()
        assert route53_fake.Fake().secret not in log

    def call(self, key, cfg):
        c = harness.Client(self.srv.port, self.pki.path("serving-ca.crt"),
                           self.pki.cert("proxy"), timeout=30)
        try:
            st, _, body = c.post_challenge(challenge(
                "Present", key, config=cfg, resourceNamespace="team-b",
                allowAmbientCredentials=True), solver="route53")
        finally:
            c.close()
        self.assertNotIn(self.fake.secret.encode(), body)
        return st, body

    def test_ambient_keys_verified_with_the_operators_ca(self):
        """No caBundle: the API calls signed with the pod's keys verify
        with --provider-ca-file."""
        assert_response(self, *self.call("T1", {}), True)
        self.assertEqual(self.fake.values(NAME), ['"T1"'])

    def test_tenant_ca_bundle_never_verifies_ambient_sts(self):
        """A tenant's caBundle names the CA of whoever now answers for STS:
        the AssumeRole signed with the pod's keys is not sent there (TLS
        fails before any request), and the message says why."""
        cfg = {"role": "arn:aws:iam::123456789012:role/dns01",
               "caBundle": self.evil_ca}
        reply = self.call("T2", cfg)
        with self.evil.lock:
            self.assertEqual(self.evil.creds_seen, [])
            self.assertEqual(self.evil.requests, [])
        msg = assert_response(self, *reply, False)["response"]["status"]["message"]
        self.assertIn("--provider-ca-file", msg)
        self.assertIn("not the config's caBundle", msg)


if __name__ == "__main__":
    unittest.main()
