"""`dns01 revoke` (issue 18 item 7) against a real Pebble: a certificate
issued by `dns01 issue` is revoked with the account key ("kid") or with
its own key ("jwk", --with-cert-key), and Pebble's management interface
(/cert-status-by-serial/) then reports it revoked with the reason asked;
a key that has no account at the CA creates none and revokes nothing."""
import json
import os
import subprocess
import unittest
import urllib.request

from issue_common import BIN, Lab, serial


class Revoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab(relay=False)

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def issued(self, out, name):
        rc, _, se, _ = self.lab.issue(self.lab.out(out), names=[name])
        self.assertEqual(rc, 0, se)
        return self.lab.out(out)

    def status(self, out):
        hexser = serial(os.path.join(out, "cert.pem")).split("=", 1)[1]
        p = self.lab.pebble
        url = (f"https://127.0.0.1:{p.mgmt}/cert-status-by-serial/"
               f"{hexser.lower().lstrip('0')}")
        with urllib.request.urlopen(url, context=p.ctx, timeout=10) as r:
            return json.loads(r.read())

    def revoke(self, out, *extra):
        return subprocess.run(
            [BIN, "revoke", "--out", out, "--ca-bundle",
             self.lab.pebble.ca_bundle] + list(extra),
            capture_output=True, text=True, timeout=60)

    def test_with_account_key(self):
        out = self.issued("acct", "rv1.example.test")
        self.assertEqual(self.status(out)["Status"], "Valid")
        r = self.revoke(out, "--reason", "superseded")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("revoked serial", r.stdout)
        st = self.status(out)
        self.assertEqual(st["Status"], "Revoked", st)
        self.assertEqual(st.get("Reason"), 4, st)
        # Twice: the CA says it is revoked already.
        r = self.revoke(out)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("revokeCert: ", r.stderr)

    def test_with_cert_key(self):
        out = self.issued("certkey", "rv2.example.test")
        r = self.revoke(out, "--with-cert-key", "--reason", "keyCompromise")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = self.status(out)
        self.assertEqual(st["Status"], "Revoked", st)
        self.assertEqual(st.get("Reason"), 1, st)

    def test_unknown_account_creates_none(self):
        out = self.issued("other", "rv3.example.test")
        key = self.lab.out("stranger.key")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", key], check=True,
                       capture_output=True)
        r = self.revoke(out, "--account-key", key)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no account for this key", r.stderr)
        self.assertEqual(self.status(out)["Status"], "Valid")

    def test_usage(self):
        r = subprocess.run([BIN, "revoke", "--out", "/nonexistent",
                            "--reason", "bored"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("keyCompromise", r.stderr)


if __name__ == "__main__":
    unittest.main()
