"""The CAA pre-check of `dns01 issue` (issue 18 item 6; RFC 8659, RFC
8657) against real BIND zones and a real Pebble behind
tests/fakes/acme_proxy.py, which gives the directory
`meta.caaIdentities: ["pebble.test"]` (Pebble 2.4 has none) and counts
newOrder requests. Records forbidding the CA, another account URI, only
http-01, a CNAME to a zone with CAA, a CAA at the parent or the zone apex,
a critical unknown property: each refused before any order with the record
quoted; allowed names proceed in the same run; --skip-caa-check and a CA
without caaIdentities skip the check."""
import os
import subprocess
import unittest

from acme_proxy import AcmeProxy
from issue_common import BIN, Lab

OTHER_ACCT = "https://127.0.0.1:1/my-account/999"
ZONES = {
    "caa.test": f"""forbid IN CAA 0 issue "other-ca.test"
acct IN CAA 0 issue "pebble.test; accounturi={OTHER_ACCT}"
http IN CAA 0 issue "pebble.test; validationmethods=http-01"
alias IN CNAME target.caaother.test.
ok IN CAA 0 issue "pebble.test"
ok IN CAA 0 iodef "mailto:security@caa.test"
dns IN CAA 0 issue "pebble.test; validationmethods=http-01,dns-01"
wild IN CAA 0 issue "other-ca.test"
wild IN CAA 0 issuewild "pebble.test"
crit IN CAA 128 tbs "unknown"
""",
    "caaother.test": 'target IN CAA 0 issue "other-ca.test"\n',
    "strict.test": '@ IN CAA 0 issue "other-ca.test"\n',
}
REFUSED = {  # name -> what the error must quote
    "forbid.caa.test": 'forbid.caa.test. CAA 0 issue "other-ca.test"',
    "acct.caa.test": f'acct.caa.test. CAA 0 issue "pebble.test; '
                     f'accounturi={OTHER_ACCT}"',
    "http.caa.test": 'http.caa.test. CAA 0 issue "pebble.test; '
                     'validationmethods=http-01"',
    "alias.caa.test": 'target.caaother.test. CAA 0 issue "other-ca.test"',
    "www.strict.test": 'strict.test. CAA 0 issue "other-ca.test"',
    "a.b.strict.test": 'strict.test. CAA 0 issue "other-ca.test"',
    "wild.caa.test": 'wild.caa.test. CAA 0 issue "other-ca.test"',
    "crit.caa.test": 'crit.caa.test. CAA 128 tbs "unknown"',
}
REASONS = {"acct.caa.test": "accounturi is not this account",
           "http.caa.test": "validationmethods do not include dns-01",
           "forbid.caa.test": "no issue property names this CA"}
ALLOWED = ["ok.caa.test", "dns.caa.test", "*.wild.caa.test", "free.caa.test"]


class Caa(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab(relay=False, bind_zones=ZONES)
        try:
            cls.px = AcmeProxy.for_pebble(
                cls.lab.pebble, caa_ids=["Pebble.Test"]).__enter__()
        except BaseException:
            cls.lab.close()
            raise
        cls.account_key = cls.lab.out("account.key")

    @classmethod
    def tearDownClass(cls):
        cls.px.__exit__(None, None, None)
        cls.lab.close()

    def setUp(self):
        self.px.reset()

    def issue(self, out, names, *extra, directory=None, dns=None):
        lab = self.lab
        if dns is None:
            dns = ["--nameserver", f"127.0.0.1:{lab.bind.port}"]
        args = [BIN, "issue", "--directory", directory or self.px.directory,
                "--email", "admin@example.test",
                "--ca-bundle", lab.pebble.ca_bundle,
                "--account-key", self.account_key,
                "--provider", "rfc2136", "--config", lab.config,
                "--secrets-dir", lab.secrets] + dns
        if out is not None:
            args += ["--out", lab.out(out)]
        for n in names:
            args += ["-d", n]
        return subprocess.run(args + list(extra), capture_output=True,
                              text=True, timeout=120)

    def new_order_posts(self):
        return [p for m, p in self.px.requests
                if m == "POST" and p == self.px.new_order_path]

    def assert_refused(self, r, name):
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"forbids {name}", r.stderr)
        self.assertIn(REFUSED[name], r.stderr)
        if name in REASONS:
            self.assertIn(REASONS[name], r.stderr)

    def test_each_refused_before_any_order(self):
        for name in REFUSED:
            with self.subTest(name=name):
                self.px.reset()
                out = "r-" + name
                r = self.issue(out, [name])
                self.assert_refused(r, name)
                self.assertEqual(self.new_order_posts(), [])
                self.assertFalse(os.path.exists(
                    os.path.join(self.lab.out(out), "cert.pem")))

    def test_discovery_through_resolver(self):
        """The authoritative servers found by SOA/NS/A through --resolver,
        as in production (BIND answers for its zones, REFUSES "test.")."""
        port = str(self.lab.bind.port)
        dns = ["--resolver", f"127.0.0.1:{port}", "--ns-port", port]
        for name in ("www.strict.test", "alias.caa.test"):
            with self.subTest(name=name):
                self.px.reset()
                r = self.issue("d-" + name, [name], dns=dns)
                self.assert_refused(r, name)
                self.assertEqual(self.new_order_posts(), [])

    def test_allowed_proceed_refused_do_not(self):
        batch = self.lab.out("batch")
        with open(batch, "w") as f:
            f.write(f"{self.lab.out('b-ok')} {' '.join(ALLOWED)}\n")
            f.write(f"{self.lab.out('b-bad')} ok.caa.test forbid.caa.test\n")
        r = self.issue(None, [], "--batch", batch)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(REFUSED["forbid.caa.test"], r.stderr)
        self.assertTrue(os.path.exists(
            os.path.join(self.lab.out("b-ok"), "cert.pem")), r.stderr)
        self.assertFalse(os.path.exists(
            os.path.join(self.lab.out("b-bad"), "cert.pem")))
        self.assertEqual(len(self.px.new_orders), 1)
        got = sorted(i["value"] for i in self.px.new_orders[0]["identifiers"])
        self.assertEqual(got, sorted(ALLOWED))

    def test_skip_caa_check(self):
        r = self.issue("skip", ["forbid.caa.test"], "--skip-caa-check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.new_order_posts()), 1)

    def test_no_caa_identities_no_check(self):
        r = self.issue("plain", ["forbid.caa.test"],
                       directory=self.lab.pebble.directory)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("caaIdentities", r.stderr)


if __name__ == "__main__":
    unittest.main()
