"""ACME profiles and directory names (issue 18 items 4 and 5), against a
real Pebble behind tests/fakes/acme_proxy.py, which adds `meta.profiles`
to the directory (Pebble 2.4 has none) and records every newOrder
payload: `--profile shortlived` sends it (and Pebble, ignoring the member,
still issues), a profile the CA does not offer is refused before any
order naming those it offers, `--list-profiles` prints them, and an
unknown short `--directory` name is refused without any network."""
import os
import subprocess
import unittest

from acme_proxy import AcmeProxy
from issue_common import BIN, Lab, sans

PROFILES = {"classic": "The same profile you're accustomed to",
            "shortlived": "A short-lived certificate profile"}


class Profiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab(relay=False)
        try:
            cls.px = AcmeProxy.for_pebble(cls.lab.pebble,
                                          profiles=PROFILES).__enter__()
        except BaseException:
            cls.lab.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.px.__exit__(None, None, None)
        cls.lab.close()

    def setUp(self):
        self.px.reset()

    def issue(self, out, *extra, names=("p.example.test",)):
        lab = self.lab
        args = [BIN, "issue", "--directory", self.px.directory,
                "--email", "admin@example.test", "--out", lab.out(out),
                "--ca-bundle", lab.pebble.ca_bundle,
                "--provider", "rfc2136", "--config", lab.config,
                "--secrets-dir", lab.secrets,
                "--nameserver", f"127.0.0.1:{lab.bind.port}"]
        for n in names:
            args += ["-d", n]
        return subprocess.run(args + list(extra), capture_output=True,
                              text=True, timeout=120)

    def posts_to_new_order(self):
        return [p for m, p in self.px.requests
                if m == "POST" and p == self.px.new_order_path]

    def test_profile_sent_and_ignored_by_pebble(self):
        r = self.issue("short", "--profile", "shortlived")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.px.new_orders), 1)
        self.assertEqual(self.px.new_orders[0].get("profile"), "shortlived")
        self.assertEqual(sans(os.path.join(self.lab.out("short"), "cert.pem")),
                         ["p.example.test"])

    def test_no_profile_no_member(self):
        r = self.issue("plain")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.px.new_orders), 1)
        self.assertNotIn("profile", self.px.new_orders[0])

    def test_unknown_profile_refused_before_any_order(self):
        r = self.issue("nope", "--profile", "nope")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--profile nope", r.stderr)
        self.assertIn("classic, shortlived", r.stderr)
        self.assertEqual(self.posts_to_new_order(), [])
        self.assertEqual(self.px.new_orders, [])
        self.assertFalse(os.path.exists(
            os.path.join(self.lab.out("nope"), "cert.pem")))

    def test_list_profiles(self):
        r = subprocess.run([BIN, "issue", "--directory", self.px.directory,
                            "--ca-bundle", self.lab.pebble.ca_bundle,
                            "--list-profiles"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 2, r.stdout)
        for (name, desc), line in zip(sorted(PROFILES.items()), lines):
            self.assertTrue(line.startswith(name), line)
            self.assertIn(desc, line)
        # Only the directory was asked: nothing signed, no account.
        self.assertEqual(self.px.requests, [("GET", "/dir")])

    def test_list_profiles_none(self):
        r = subprocess.run([BIN, "issue", "--directory",
                            self.lab.pebble.directory,
                            "--ca-bundle", self.lab.pebble.ca_bundle,
                            "--list-profiles"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("offers no profiles", r.stdout)


class DirectoryNames(unittest.TestCase):
    def test_unknown_short_name_refused(self):
        r = subprocess.run([BIN, "issue", "--directory", "letsencrypt-prod",
                            "--email", "a@example.test", "--provider",
                            "rfc2136", "-d", "x.example.test"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("letsencrypt, letsencrypt-staging, zerossl, google",
                      r.stderr)
        r = subprocess.run([BIN, "issue", "--directory", "zerossl-x",
                            "--list-profiles"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    unittest.main()
