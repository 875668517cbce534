"""Front-proxy authentication (webhook-api.md §4.5): a POST or discovery GET
is served only for a client certificate that verifies against the
requestheader CA for client use, with an allowed CN, plus a non-empty
X-Remote-User. Everything else is 401 with a Status; health needs nothing."""
import ssl
import tempfile
import unittest

import harness
import pki
from harness import assert_response, assert_status, challenge

FQDN = "_acme-challenge.www.example.test."


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
            for cert in (None, "untrusted"):
                c = srv.client(cert)
                st, _, body = c.request("GET", f"/apis/{harness.GROUP}/v1alpha1",
                                        headers={"X-Remote-User": "system:kube-aggregator"})
                assert_status(self, st, body, 401)
                for p in ("/healthz", "/livez", "/readyz", "/readyz/ping"):
                    st, hdrs, body = c.request("GET", p)
                    self.assertEqual((st, body), (200, b"ok"))
                    self.assertTrue(hdrs["content-type"].startswith("text/plain"))
                c.close()
            # Nothing got through.
            self.assertEqual(srv.dig(FQDN)[0], "NXDOMAIN")
            # The accepted ones: clientAuth EKU, and no EKU at all (Go's
            # verifier accepts a leaf without the extension).
            for cert in ("proxy", "proxy-noeku"):
                assert_response(self, *self.post(srv, cert, key=cert), True)
            self.assertEqual(srv.dig(FQDN), ("NOERROR", ["proxy", "proxy-noeku"]))

    def test_any_cn_when_no_allowed_names(self):
        with harness.Server(self.pki, allowed=None) as srv:
            assert_response(self, *self.post(srv, "proxy-othercn"), True)
            assert_status(self, *self.post(srv, "untrusted"), 401)

    def test_handshake_succeeds_for_untrusted_cert(self):
        # The certificate is requested, not required: the TLS handshake
        # completes and the refusal is an HTTP 401.
        with harness.Server(self.pki) as srv:
            c = srv.client("untrusted")
            try:
                st, _, body = c.request("GET", "/healthz")
                self.assertEqual(st, 200)
            except ssl.SSLError as e:
                self.fail(f"handshake refused: {e}")
            finally:
                c.close()

    def test_refuses_to_start_without_ca(self):
        srv = harness.Server(self.pki, client_ca=False)
        import subprocess
        r = subprocess.run(srv.args, capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("requestheader-client-ca-file", r.stderr)


if __name__ == "__main__":
    unittest.main()
