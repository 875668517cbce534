"""dns01 issue against a real Pebble and BIND: a certificate for an apex,
its wildcard and a third name through the rfc2136 provider; the chain
verifies against Pebble's root; the files are what users expect; a second
run is "not due" and sends nothing to the CA; --force re-issues."""
import os
import stat
import unittest

from issue_common import NAMES, Lab, openssl, pubkey, sans, serial


class Issue(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab()

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def check_set(self, out):
        cert, chain = os.path.join(out, "cert.pem"), os.path.join(out, "chain.pem")
        rc, msg = openssl("verify", "-CAfile", self.lab.roots, "-untrusted",
                          chain, cert)
        self.assertEqual(rc, 0, msg)
        self.assertEqual(sans(cert), sorted(NAMES))
        self.assertEqual(pubkey(cert, True),
                         pubkey(os.path.join(out, "privkey.pem"), False))
        with open(os.path.join(out, "fullchain.pem")) as f:
            full = f.read()
        with open(cert) as f, open(chain) as g:
            self.assertEqual(full, f.read() + g.read())
        for name, mode in (("privkey.pem", 0o600), ("account.key", 0o600)):
            st = os.stat(os.path.join(out, name))
            self.assertEqual(stat.S_IMODE(st.st_mode), mode, name)
        self.assertFalse([n for n in os.listdir(out) if ".tmp." in n])

    def test_issue_renew_force(self):
        out = self.lab.out("issue")
        rc, so, se, dt = self.lab.issue(out)
        self.assertEqual(rc, 0, se)
        self.assertIn("issued", so)
        self.check_set(out)
        # CleanUp ran: no challenge value left, the unrelated TXT stays.
        self.assertEqual(self.lab.txt("_acme-challenge.example.test."), [])
        self.assertEqual(self.lab.txt("_acme-challenge.www.example.test."),
                         ["v=spf1 -all"])
        first = serial(os.path.join(out, "cert.pem"))
        before = {n: os.stat(os.path.join(out, n)).st_mtime_ns
                  for n in os.listdir(out)}
        seen = self.lab.pebble.connections

        # Second run: not due, and not one connection to the CA.
        rc, so, se, _ = self.lab.issue(out)
        self.assertEqual(rc, 0, se)
        self.assertIn("not due", so)
        self.assertEqual(self.lab.pebble.connections, seen)
        after = {n: os.stat(os.path.join(out, n)).st_mtime_ns
                 for n in os.listdir(out)}
        self.assertEqual(before, after)

        # Names in another order and case are the same certificate.
        rc, so, se, _ = self.lab.issue(
            out, names=["WWW.example.test", "*.example.test", "example.test"])
        self.assertEqual((rc, "not due" in so), (0, True), se)

        # --renew-before longer than the lifetime: due.
        rc, so, se, _ = self.lab.issue(out, extra=["--renew-before", "3650d"])
        self.assertEqual(rc, 0, se)
        self.assertIn("renew-before", so)
        second = serial(os.path.join(out, "cert.pem"))
        self.assertNotEqual(first, second)

        # --force re-issues with the same account key.
        with open(os.path.join(out, "account.key")) as f:
            acct = f.read()
        rc, so, se, _ = self.lab.issue(out, extra=["--force"])
        self.assertEqual(rc, 0, se)
        self.assertNotEqual(serial(os.path.join(out, "cert.pem")), second)
        self.check_set(out)
        with open(os.path.join(out, "account.key")) as f:
            self.assertEqual(f.read(), acct)
        self.assertIn("found=existing", se)

    def test_names_changed_reissues(self):
        out = self.lab.out("changed")
        rc, _, se, _ = self.lab.issue(out, names=["sub.example.test"])
        self.assertEqual(rc, 0, se)
        rc, so, se, _ = self.lab.issue(
            out, names=["sub.example.test", "deep.sub.example.test"])
        self.assertEqual(rc, 0, se)
        self.assertIn("names changed", so)
        self.assertEqual(sans(os.path.join(out, "cert.pem")),
                         ["deep.sub.example.test", "sub.example.test"])

    def test_key_types(self):
        for kt, want in (("ec384", "secp384r1"), ("rsa2048", "2048 bit")):
            out = self.lab.out("kt-" + kt)
            rc, _, se, _ = self.lab.issue(out, names=["kt.example.test"],
                                          extra=["--key-type", kt])
            self.assertEqual(rc, 0, se)
            _, text = openssl("x509", "-in", os.path.join(out, "cert.pem"),
                              "-noout", "-text")
            self.assertIn(want, text)

    def test_rsa_account_key(self):
        out = self.lab.out("rsa-account")
        key = self.lab.out("rsa-account.key")
        rc, msg = openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                          "rsa_keygen_bits:2048", "-out", key)
        self.assertEqual(rc, 0, msg)
        rc, _, se, _ = self.lab.issue(out, names=["rsa.example.test"],
                                      extra=["--account-key", key])
        self.assertEqual(rc, 0, se)
        self.assertFalse(os.path.exists(os.path.join(out, "account.key")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
