"""dns01 issue with the provider's credentials in lego's environment
variables only (RFC2136_*, no --config, no --secrets-dir): the provider's
table entry says which variables make its config, the same as for
`dns01 present`, and the TSIG secret never reaches the output. Without
the variables the run is a usage error naming the missing one."""
import os
import subprocess
import tempfile
import unittest

from issue_common import BIN, NAMES, Lab, sans


class IssueFromEnvironment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab()

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def run_issue(self, out, env):
        lab = self.lab
        args = [BIN, "issue", "--directory", lab.pebble.directory,
                "--email", "admin@example.test", "--out", out,
                "--ca-bundle", lab.pebble.ca_bundle, "--provider", "rfc2136",
                "--nameserver", f"127.0.0.1:{lab.bind.port}"]
        for n in NAMES:
            args += ["-d", n]
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith("RFC2136_")}
        r = subprocess.run(args, capture_output=True, text=True, timeout=180,
                           env=dict(clean, **env))
        for v in lab.bind.secrets.values():
            self.assertNotIn(v, r.stdout + r.stderr)
        return r

    def test_issue_with_rfc2136_variables(self):
        key = "dns01-sha256."
        env = {"RFC2136_NAMESERVER": f"127.0.0.1:{self.lab.bind.port}",
               "RFC2136_TSIG_KEY": key,
               "RFC2136_TSIG_SECRET": self.lab.bind.secrets[key],
               "RFC2136_TSIG_ALGORITHM": "hmac-sha256."}
        out = self.lab.out("from-env")
        r = self.run_issue(out, env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("issued", r.stdout)
        self.assertEqual(sans(os.path.join(out, "cert.pem")), sorted(NAMES))
        # CleanUp ran through the same credentials.
        self.assertEqual(self.lab.txt("_acme-challenge.example.test."), [])

    def test_missing_variable_is_a_usage_error(self):
        with tempfile.TemporaryDirectory() as out:
            r = self.run_issue(out, {"RFC2136_TSIG_KEY": "dns01-sha256."})
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("RFC2136_NAMESERVER is not set", r.stderr)


if __name__ == "__main__":
    unittest.main()
