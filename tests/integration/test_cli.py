"""dns01 present / check / cleanup against a real BIND 9, as a script or a
hook-based ACME client would run them: config file, stdin, lego's RFC2136_*
environment, the checker's zone walk through CNAMEs and sub-zones, exit
codes 0/1/2 and one line of output."""
import json
import os
import socket
import subprocess
import tempfile
import unittest

import bind
import harness

FQDN = "_acme-challenge.www.example.test."


class CLI(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.bind = bind.Bind(cls.tmp.name).__enter__()
        cls.secrets = os.path.join(cls.tmp.name, "secrets")
        cls.bind.write_secrets(cls.secrets)
        cls.cfg = os.path.join(cls.tmp.name, "rfc2136.json")
        with open(cls.cfg, "w") as f:
            json.dump(cls.bind.config(), f)
        # A second authoritative server that never gets the update.
        cls.stale = bind.Bind(cls.tmp.name, name="stale").__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.stale.__exit__(None, None, None)
        cls.bind.__exit__(None, None, None)
        cls.tmp.cleanup()

    def run_cmd(self, *args, stdin=None, env=None):
        r = subprocess.run([harness.BIN, *args], capture_output=True, text=True,
                           timeout=60, input=stdin, env=env)
        for v in self.bind.secrets.values():
            self.assertNotIn(v, r.stdout + r.stderr)
        return r

    def one_line(self, r, rc):
        self.assertEqual(r.returncode, rc, r.stdout + r.stderr)
        out = (r.stdout if rc == 0 else r.stderr).strip()
        self.assertEqual(len(out.splitlines()), 1, out)
        return out

    def check(self, *args):
        return self.run_cmd("check", "--resolver", f"127.0.0.1:{self.bind.port}",
                            "--ns-port", str(self.bind.port), "--timeout", "10s",
                            "--interval", "100ms", *args)

    def record(self, action, value, *extra, fqdn=FQDN):
        return self.run_cmd(action, "--provider", "rfc2136", "--config", self.cfg,
                            "--secrets-dir", self.secrets, *extra, fqdn, value)

    def test_present_check_cleanup(self):
        self.assertIn("ok", self.one_line(self.record("present", "C1", "--zone",
                                                      "example.test"), 0))
        self.assertEqual(self.bind.dig(FQDN), ("NOERROR", ["C1", bind.SPF]))
        self.assertEqual(self.bind.kdig(FQDN), ("NOERROR", ["C1", bind.SPF]))
        out = self.one_line(self.check(FQDN, "C1"), 0)
        self.assertIn("visible on 1/1", out)
        self.assertIn(f"127.0.0.1:{self.bind.port}", out)
        # Without --zone: the zone is found by SOA walk on the server.
        self.one_line(self.record("cleanup", "C1"), 0)
        self.assertEqual(self.bind.dig(FQDN), ("NOERROR", [bind.SPF]))
        self.assertEqual(self.bind.kdig(FQDN), ("NOERROR", [bind.SPF]))
        self.assertIn("gone", self.one_line(self.check("--absent", FQDN, "C1"), 0))
        # Timeout: exit 1 naming the server that disagrees.
        # Explicit server: no discovery eats into the short timeout (under
        # valgrind the SOA/NS/A walk alone can take longer than that).
        r = self.run_cmd("check", "--nameserver", f"127.0.0.1:{self.bind.port}",
                         "--timeout", "1s", "--interval", "100ms", FQDN, "C1")
        self.assertIn("not visible", self.one_line(r, 1))

    def test_stdin_env_and_usage(self):
        r = self.run_cmd("present", "--provider", "rfc2136", "--config", "-",
                         "--secrets-dir", self.secrets, FQDN, "S1",
                         stdin=json.dumps(self.bind.config("dns01-sha512.")))
        self.one_line(r, 0)
        env = dict(os.environ, RFC2136_NAMESERVER=f"127.0.0.1:{self.bind.port}",
                   RFC2136_TSIG_KEY="dns01-sha256.",
                   RFC2136_TSIG_SECRET=self.bind.secrets["dns01-sha256."],
                   RFC2136_TSIG_ALGORITHM="hmac-sha256.")
        self.one_line(self.run_cmd("cleanup", "--provider", "rfc2136", FQDN, "S1",
                                   env=env), 0)
        self.assertEqual(self.bind.dig(FQDN), ("NOERROR", [bind.SPF]))
        bad_env = dict(env, RFC2136_TSIG_SECRET="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        self.assertIn("BADSIG", self.one_line(self.run_cmd(
            "present", "--provider", "rfc2136", FQDN, "S2", env=bad_env), 1))
        for args in (["present"], ["present", "--provider", "nope", FQDN, "v"],
                     ["present", "--provider", "rfc2136", "--config", "/nonexistent", FQDN, "v"],
                     ["present", "--provider", "rfc2136", "--zone", "other.org",
                      "--config", self.cfg, FQDN, "v"],
                     ["check", FQDN], ["check", "--nameserver", "ns.example", FQDN, "v"],
                     ["check", "--timeout", "soon", FQDN, "v"]):
            with self.subTest(args=args):
                self.assertEqual(self.run_cmd(*args).returncode, 2)

    def test_checker_cname_subzone_and_every_server(self):
        # CNAME delegation: the value lives at the CNAME's target.
        target = "_acme-challenge.target.delegated.test."
        self.one_line(self.record("present", "D1", fqdn=target), 0)
        out = self.one_line(self.check("_acme-challenge.alias.example.test", "D1"), 0)
        self.assertIn(target, out)
        self.one_line(self.record("cleanup", "D1", fqdn=target), 0)
        # A sub-zone with its own SOA.
        sub = "_acme-challenge.x.sub.example.test."
        self.one_line(self.record("present", "Z1", fqdn=sub), 0)
        self.one_line(self.check(sub, "Z1"), 0)
        # Explicit servers: the stale one never sees it, so exit 1 names it.
        r = self.run_cmd("check", "--nameserver", f"127.0.0.1:{self.bind.port}",
                         "--nameserver", f"127.0.0.1:{self.stale.port}",
                         "--timeout", "1s", "--interval", "200ms", sub, "Z1")
        out = self.one_line(r, 1)
        self.assertIn("not visible on 1/2", out)
        self.assertIn(f"127.0.0.1:{self.stale.port} said NXDOMAIN", out)
        # A host name for --nameserver goes through the system resolver.
        if socket.getaddrinfo("localhost", None, type=socket.SOCK_DGRAM)[0][4][0] == "127.0.0.1":
            out = self.one_line(self.run_cmd(
                "check", "--nameserver", f"localhost:{self.bind.port}", "--timeout", "5s",
                sub, "Z1"), 0)
            self.assertIn(f"localhost (127.0.0.1):{self.bind.port} agrees", out)
        self.one_line(self.record("cleanup", "Z1", fqdn=sub), 0)
        self.assertEqual(self.bind.kdig(sub), ("NXDOMAIN", []))


if __name__ == "__main__":
    unittest.main()
