"""Front-proxy authentication (the aggregator's request-header proxy): a POST or discovery GET
is served only for a client certificate that verifies against the
requestheader CA for client use, with an allowed CN, plus a non-empty
X-Remote-User. Everything else is 401 with a Status; health needs nothing."""
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
import pki
from harness import assert_response, assert_status, challenge

FQDN = "_acme-challenge.www.example.test."
DISCOVERY = ("/apis", f"/apis/{harness.GROUP}", f"/apis/{harness.GROUP}/v1alpha1")


def refused_discovery(aggregator):
    """(client cert, headers) pairs that must not see discovery."""
    return [(None, aggregator), ("untrusted", aggregator), ("expired", aggregator),
            ("proxy-serverauth", aggregator), ("proxy-othercn", aggregator),
            ("proxy", {}), ("proxy", {"X-Remote-User": ""})]


class Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def post(self, srv, cert, user="system:serviceaccount:cert-manager:cert-manager",
             key="A1"):
        c = srv.client(cert)
        try:
            st, _, body = c.post_challenge(challenge("Present", key), user=user)
        finally:
            c.close()
        return st, body

    def test_refusals(self):
        with harness.Server(self.pki) as srv:
            refused = [(None, "u"),                     # no certificate
                       ("untrusted", "u"),              # other CA
                       ("expired", "u"),
                       ("proxy-serverauth", "u"),       # wrong EKU
                       ("proxy-othercn", "u"),          # CN not allowed
                       ("proxy", None),                 # no X-Remote-User
                       ("proxy", "")]                   # empty X-Remote-User
            for cert, user in refused:
                with self.subTest(cert=cert, user=user):
                    st, body = self.post(srv, cert, user)
                    o = assert_status(self, st, body, 401)
                    self.assertEqual(o["reason"], "Unauthorized")
            # Discovery is refused the same way, health is not.
            aggregator = {"X-Remote-User": "system:kube-aggregator",
                          "X-Remote-Group": "system:masters"}
            for cert, hdrs in refused_discovery(aggregator):
                c = srv.client(cert)
                for path in DISCOVERY:
                    with self.subTest(cert=cert, headers=hdrs, path=path):
                        st, _, body = c.request("GET", path, headers=hdrs)
                        o = assert_status(self, st, body, 401)
                        self.assertEqual(o["reason"], "Unauthorized")
                for p in ("/healthz", "/livez", "/readyz", "/readyz/ping"):
                    st, hdrs, body = c.request("GET", p)
                    self.assertEqual((st, body), (200, b"ok"))
                    self.assertTrue(hdrs["content-type"].startswith("text/plain"))
                c.close()
            # ... and served for the verified front proxy.
            for path in DISCOVERY:
                st, _, body = srv.request("GET", path, headers=aggregator,
                                          cert="proxy")
                self.assertEqual(st, 200, (path, body))
            # Nothing got through.
            self.assertEqual(srv.dig(FQDN)[0], "NXDOMAIN")
            # The accepted ones: clientAuth EKU, and no EKU at all (Go's
            # verifier accepts a leaf without the extension).
            for cert in ("proxy", "proxy-noeku"):
                assert_response(self, *self.post(srv, cert, key=cert), True)
            self.assertEqual(srv.dig(FQDN), ("NOERROR", ["proxy", "proxy-noeku"]))

    def test_any_cn_when_no_allowed_names(self):
        # Flag absent, and flag given with an empty list: any CN signed by
        # the CA, but every other check still applies.
        for allowed in (None, ""):
            with self.subTest(allowed=allowed), \
                    harness.Server(self.pki, allowed=allowed) as srv:
                assert_response(self, *self.post(srv, "proxy-othercn"), True)
                assert_response(self, *self.post(srv, "proxy", key="A2"), True)
                self.assertEqual(srv.dig(FQDN), ("NOERROR", ["A1", "A2"]))
                for cert, user in (("untrusted", "u"), ("expired", "u"),
                                   ("proxy-serverauth", "u"), (None, "u"),
                                   ("proxy-othercn", None), ("proxy-othercn", "")):
                    with self.subTest(cert=cert, user=user):
                        o = assert_status(self, *self.post(srv, cert, user, key="X"), 401)
                        self.assertEqual(o["reason"], "Unauthorized")
                self.assertEqual(srv.dig(FQDN), ("NOERROR", ["A1", "A2"]))

    def test_handshake_succeeds_for_refused_certs(self):
        # The certificate is requested, not required: the TLS handshake
        # completes whatever the client presents, and the refusal of a
        # bad one is an HTTP 401 on the same connection.
        with harness.Server(self.pki) as srv:
            for cert in ("untrusted", "expired", "proxy-serverauth",
                         "proxy-othercn", None):
                with self.subTest(cert=cert):
                    c = srv.client(cert)
                    try:
                        st, _, body = c.request("GET", "/healthz")
                        self.assertEqual((st, body), (200, b"ok"))
                        st, _, body = c.post_challenge(challenge("Present", "H1"))
                        assert_status(self, st, body, 401)
                    except ssl.SSLError as e:
                        self.fail(f"handshake refused: {e}")
                    finally:
                        c.close()

    def test_refuses_to_start_without_ca(self):
        srv = harness.Server(self.pki, client_ca=False)
        r = subprocess.run(srv.args, capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("requestheader-client-ca-file", r.stderr)
        # One line says why (debug lines, asked for with --log-level
        # debug, may come before it: the DNS listener is bound first).
        lines = [l for l in r.stderr.strip().splitlines() if "level=debug" not in l]
        self.assertEqual(len(lines), 1, r.stderr)
        # An empty value is no CA either.
        r = subprocess.run(srv.args + ["--requestheader-client-ca-file="],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)


class CAFileReload(unittest.TestCase):
    """--requestheader-client-ca-file is re-read when it changes: a CA
    rotation takes effect without a restart, for new and for kept-alive
    connections alike (the verdict is per connection and trust), and a
    broken file keeps the old trust."""

    def test_rotation(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            ca = os.path.join(d, "requestheader-ca.crt")
            shutil.copy(p.path("proxy-ca.crt"), ca)
            srv = harness.Server(p, client_ca=False, extra=[
                "--requestheader-client-ca-file", ca, "--tls-reload-interval", "100ms"])
            with srv:
                old = srv.client("proxy")
                st, _, body = old.post_challenge(challenge("Present", "C1"))
                assert_response(self, st, body, True)

                def swap(src):
                    with open(ca + ".tmp", "wb") as f:
                        f.write(src)
                    os.replace(ca + ".tmp", ca)

                def status_of(cert, conn=None):
                    c = conn or srv.client(cert)
                    try:
                        return c.post_challenge(challenge("Present", "C2"))[0]
                    finally:
                        if conn is None:
                            c.close()

                with open(p.path("other-ca.crt"), "rb") as f:
                    swap(f.read())
                deadline = time.time() + 10
                while status_of("untrusted") != 201 and time.time() < deadline:
                    time.sleep(0.1)
                self.assertEqual(status_of("untrusted"), 201)
                self.assertEqual(status_of("proxy"), 401)
                self.assertEqual(status_of(None, old), 401)  # same connection
                swap(b"not a certificate\n")
                time.sleep(0.5)
                self.assertEqual(status_of("untrusted"), 201)
                self.assertIn("requestheader_reload_failed", srv.log())
                old.close()


if __name__ == "__main__":
    unittest.main()
