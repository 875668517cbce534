"""dns01 issue when things go wrong, against real Pebble and BIND: a wrong
TSIG secret fails naming the authorization; when one name cannot be
presented the others are stopped and every value already written is
cleaned up; Pebble's refusal of a name surfaces as its problem detail;
nothing is written to --out on failure; usage errors exit 2."""
import os
import signal
import subprocess
import time
import unittest

from issue_common import BIN, Lab


class IssueFailures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab(relay=False)

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def assert_nothing_written(self, out):
        left = [n for n in os.listdir(out)
                if n not in ("account.key", ".lock")]
        self.assertEqual(left, [], "files written on failure")

    def test_wrong_tsig_secret(self):
        out = self.lab.out("wrong-tsig")
        rc, so, se, _ = self.lab.issue(out, namespace="wrong")
        self.assertEqual(rc, 1, se)
        line = se.strip().splitlines()[-1]
        self.assertTrue(line.startswith("dns01 issue: authorization for "),
                        line)
        self.assertIn("present", line)
        self.assertIn("TSIG", line.upper())
        self.assert_nothing_written(out)
        self.assertEqual(self.lab.txt("_acme-challenge.example.test."), [])
        self.assertEqual(self.lab.txt("_acme-challenge.www.example.test."),
                         ["v=spf1 -all"])

    def test_one_refused_zone_cleans_up_the_others(self):
        out = self.lab.out("refused")
        names = ["example.test", "www.example.test", "refused.test"]
        rc, so, se, _ = self.lab.issue(out, names=names)
        self.assertEqual(rc, 1, se)
        self.assertIn("authorization for refused.test present", se)
        self.assertIn("REFUSED", se)
        # The two values that were written are gone again; the
        # unrelated value at www stays.
        self.assertEqual(self.lab.txt("_acme-challenge.example.test."), [])
        self.assertEqual(self.lab.txt("_acme-challenge.www.example.test."),
                         ["v=spf1 -all"])
        self.assert_nothing_written(out)
        # Cleanup of the two good names succeeded (the refused zone
        # refuses its cleanup too, which is only logged).
        self.assertNotIn("ident=\"example.test\" cleanup failed", se)
        self.assertNotIn("ident=\"www.example.test\" cleanup failed", se)

    def test_forbidden_name(self):
        out = self.lab.out("forbidden")
        rc, so, se, _ = self.lab.issue(
            out, names=["example.test", "bad_name.example.test"])
        self.assertEqual(rc, 1, se)
        line = se.strip().splitlines()[-1]
        # Pebble's own words, after the step and the problem type.
        self.assertIn("newOrder: ", line)
        self.assertIn("malformed: ", line)
        self.assertIn("illegal character", line)
        self.assert_nothing_written(out)

    def test_propagation_timeout(self):
        # The checker asks a server that never has the value (BIND is
        # written, an empty port is asked): bounded, named, cleaned up.
        out = self.lab.out("noprop")
        rc, so, se, dt = self.lab.issue(
            out, names=["np.example.test"],
            provider_args=["--provider", "rfc2136", "--config", self.lab.config,
                           "--secrets-dir", self.lab.secrets,
                           "--nameserver", "127.0.0.1:9",
                           "--propagation-timeout", "2s"])
        self.assertEqual(rc, 1, se)
        self.assertIn("authorization for np.example.test propagation", se)
        self.assertLess(dt, 30)
        self.assertEqual(self.lab.txt("_acme-challenge.np.example.test."), [])
        self.assert_nothing_written(out)

    def never_propagates(self, name, extra):
        """Start dns01 issue whose TXT check can never succeed."""
        args = [BIN, "issue", "--directory", self.lab.pebble.directory,
                "--email", "a@example.test", "--ca-bundle",
                self.lab.pebble.ca_bundle, "--out", self.lab.out(name),
                "--provider", "rfc2136", "--config", self.lab.config,
                "--secrets-dir", self.lab.secrets,
                "--nameserver", "127.0.0.1:9", "--propagation-timeout", "5m",
                "-d", f"{name}.example.test"] + extra
        return subprocess.Popen(args, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def wait_presented(self, fqdn):
        deadline = time.time() + 30
        while time.time() < deadline and not self.lab.txt(fqdn):
            time.sleep(0.05)
        self.assertTrue(self.lab.txt(fqdn), "never presented")

    def test_deadline_and_signal_clean_up(self):
        for name, extra, sig, word in (
                # Long enough to reach the propagation wait even when
                # dns01 runs under valgrind (make test's third pass).
                ("deadline", ["--timeout", "8s"], None, "timed out after 8 s"),
                ("sigint", [], signal.SIGINT, "interrupted"),
                ("sigterm", [], signal.SIGTERM, "terminated")):
            fqdn = f"_acme-challenge.{name}.example.test."
            t = time.monotonic()
            p = self.never_propagates(name, extra)
            self.wait_presented(fqdn)
            if sig is not None:
                p.send_signal(sig)
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 1, err)
            self.assertLess(time.monotonic() - t, 40)
            self.assertIn(word, err)
            self.assertEqual(self.lab.txt(fqdn), [], name)
            self.assert_nothing_written(self.lab.out(name))

    def test_usage(self):
        def run(*args):
            return subprocess.run([BIN, "issue"] + list(args),
                                  capture_output=True, text=True)
        self.assertEqual(run("--help").returncode, 0)
        self.assertEqual(run().returncode, 2)
        base = ["--directory", "https://127.0.0.1:1/dir", "--provider",
                "rfc2136", "--out", self.lab.out("usage")]
        r = run(*base, "-d", "a..b")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(run(*base, "-d", "a.*.test").returncode, 2)
        self.assertEqual(run(*base, "-d", "x.test", "--key-type", "dsa").returncode, 2)
        self.assertEqual(run(*base, "-d", "x.test", "--renew-before", "x").returncode, 2)
        self.assertEqual(run(*base[:-2], "-d", "x.test").returncode, 2)
        r = run("--directory", "https://127.0.0.1:1/dir", "--provider",
                "nope", "--out", self.lab.out("usage"), "-d", "x.test")
        self.assertEqual(r.returncode, 2)
        r = run("--directory", "https://127.0.0.1:1/dir", "--provider",
                "embedded", "--out", self.lab.out("usage"), "-d", "x.test")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--embedded-zone", r.stderr)
        # Unreachable CA: failure (1), naming the directory step.
        r = run(*base, "-d", "x.test", "--config", self.lab.config,
                "--timeout", "20s")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("directory https://127.0.0.1:1/dir", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
