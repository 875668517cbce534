"""The embedded provider's DNS server seen by a real client (dig), over UDP
and TCP: authoritative answers (AA) for SOA/NS/TXT in its zones, NODATA and
NXDOMAIN with the SOA in the authority section as a real authoritative
server gives them, REFUSED outside its zones, case-insensitive names, and a
large TXT set that needs TCP."""
import base64
import hashlib
import tempfile
import unittest

import harness
import pki
from harness import assert_response, challenge, dig_full, dig_txt

FQDN = "_acme-challenge.www.example.test."
FQDN2 = "_acme-challenge.zone2.example."


def acme_key(seed):
    """A value shaped like cert-manager's: 43 chars of base64url."""
    d = hashlib.sha256(seed.encode()).digest()
    return base64.urlsafe_b64encode(d).decode().rstrip("=")


class EmbeddedDNS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.srv = harness.Server(cls.pki, zones=("example.test", "Zone2.Example.")
                                 ).__enter__()
        cls.c = cls.srv.client("proxy")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.srv.__exit__(None, None, None)
        cls.tmp.cleanup()

    def call(self, action, key, **kw):
        st, _, body = self.c.post_challenge(challenge(action, key, **kw))
        return assert_response(self, st, body, True)

    def ask(self, name, qtype, tcp):
        return dig_full(self.srv.dns_port, name, qtype, tcp)

    def assert_negative(self, r, status, zone):
        """NXDOMAIN/NODATA: authoritative, no answer, the zone's SOA in the
        authority section (negative caching, RFC 2308)."""
        self.assertEqual(r["status"], status, r["raw"])
        self.assertIn("aa", r["flags"], r["raw"])
        self.assertEqual(r["answer"], [], r["raw"])
        self.assertEqual([(o.lower(), t) for o, _, t, _ in r["authority"]],
                         [(zone, "SOA")], r["raw"])

    def test_authoritative_answers(self):
        k1, k2 = acme_key("a"), acme_key("b")
        self.call("Present", k1)
        self.call("Present", k2, fqdn=FQDN2, zone="zone2.example.")
        try:
            for tcp in (False, True):
                with self.subTest(tcp=tcp):
                    for zone in ("example.test.", "zone2.example."):
                        for qtype in ("SOA", "NS"):
                            r = self.ask(zone, qtype, tcp)
                            self.assertEqual(r["status"], "NOERROR", r["raw"])
                            self.assertIn("aa", r["flags"], r["raw"])
                            self.assertEqual([(o.lower(), t) for o, _, t, _ in r["answer"]],
                                             [(zone, qtype)], r["raw"])
                    r = self.ask(FQDN, "TXT", tcp)
                    self.assertEqual(r["status"], "NOERROR", r["raw"])
                    self.assertIn("aa", r["flags"], r["raw"])
                    self.assertEqual([(o, t, rd) for o, _, t, rd in r["answer"]],
                                     [(FQDN, "TXT", f'"{k1}"')], r["raw"])
                    self.assertEqual(dig_txt(self.srv.dns_port, FQDN2, tcp), [k2])
                    # Names are case-insensitive on the DNS side too.
                    self.assertEqual(dig_txt(self.srv.dns_port, FQDN.upper(), tcp), [k1])
                    # Other type at an existing name: NODATA.
                    self.assert_negative(self.ask(FQDN, "A", tcp), "NOERROR",
                                         "example.test.")
                    # An empty non-terminal exists: NODATA, not NXDOMAIN.
                    self.assert_negative(self.ask("www.example.test.", "TXT", tcp),
                                         "NOERROR", "example.test.")
                    # A name that does not exist: NXDOMAIN.
                    self.assert_negative(self.ask("_acme-challenge.nope.example.test.",
                                                  "TXT", tcp), "NXDOMAIN", "example.test.")
                    # Outside every zone: REFUSED, not authoritative.
                    for name in ("example.org.", "test.", "xexample.test."):
                        r = self.ask(name, "TXT", tcp)
                        self.assertEqual(r["status"], "REFUSED", r["raw"])
                        self.assertNotIn("aa", r["flags"], r["raw"])
                        self.assertEqual(r["answer"], [], r["raw"])
        finally:
            self.call("CleanUp", k1)
            self.call("CleanUp", k2, fqdn=FQDN2, zone="zone2.example.")
        for tcp in (False, True):
            self.assert_negative(self.ask(FQDN, "TXT", tcp), "NXDOMAIN", "example.test.")
            self.assert_negative(self.ask("www.example.test.", "TXT", tcp),
                                 "NXDOMAIN", "example.test.")

    def test_large_set_needs_tcp(self):
        name = "_acme-challenge.big.example.test."
        keys = sorted(acme_key(f"big{i}") for i in range(60))  # ~3.5 KB of TXT
        for k in keys:
            self.call("Present", k, fqdn=name)
        try:
            # Over UDP it does not fit: truncated (TC), not silently cut.
            r = dig_full(self.srv.dns_port, name, "TXT", False,
                         extra=("+ignore", "+bufsize=1232"))
            self.assertEqual(r["status"], "NOERROR", r["raw"])
            self.assertIn("tc", r["flags"], r["raw"])
            # Over TCP every value is there.
            self.assertEqual(dig_txt(self.srv.dns_port, name, tcp=True), keys)
            # dig's own UDP-then-TCP retry gets them all as well.
            self.assertEqual(dig_txt(self.srv.dns_port, name), keys)
        finally:
            for k in keys:
                self.call("CleanUp", k, fqdn=name)
        self.assertEqual(dig_txt(self.srv.dns_port, name, tcp=True), [])


if __name__ == "__main__":
    unittest.main()
