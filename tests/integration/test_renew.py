"""dns01 renew against real Pebbles and BIND: a config directory of ten
certificates (rfc2136 through a JSON config, rfc2136 through env.NAME lines,
and the embedded provider against a second Pebble that asks the renewing
process's own DNS server) renews exactly the due ones in one run, in one
process; a second run renews nothing and runs no hook; a broken file is
named with its line and skips only itself; the deploy hook runs once per
renewed certificate with the documented environment, and a failing hook
leaves the new valid files in place (exit 3, counted in the summary).
The Cloudflare fake is not used: it serves no DNS that Pebble could
validate against (BIND gets the rfc2136 records, the embedded server its
own), so it would only test issuance against PEBBLE_VA_ALWAYS_VALID."""
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

import harness
import pebble
from issue_common import BIN, Lab, openssl, sans, serial

VALGRIND = os.environ.get("DNS01_BIN", "").endswith("valgrind-dns01")
EMB = "emb.test"

HOOK = """#!/bin/sh
# Appends its environment to hooks/<basename of DNS01_OUT>.log.
env | grep -E '^(DNS01_|RENEWED_)' | sort >> "{hooks}/$(basename "$DNS01_OUT").log"
echo "hook ran for $DNS01_OUT"
echo ---- >> "{hooks}/$(basename "$DNS01_OUT").log"
"""


class Renew(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab()
        d = cls.lab.dir
        cls.dns_port = harness.free_port(socket.SOCK_DGRAM)
        try:
            cls.peb2 = pebble.Pebble(d, f"127.0.0.1:{cls.dns_port}",
                                     relay=True).__enter__()
        except BaseException:
            cls.lab.close()
            raise
        cls.conf = os.path.join(d, "etc")
        cls.hooks = os.path.join(d, "hooks")
        os.makedirs(os.path.join(cls.conf, "certs.d"))
        os.makedirs(cls.hooks)
        cls.hook = os.path.join(d, "hook.sh")
        with open(cls.hook, "w") as f:
            f.write(HOOK.format(hooks=cls.hooks))
        os.chmod(cls.hook, 0o755)
        lab = cls.lab
        with open(os.path.join(cls.conf, "dns01.conf"), "w") as f:
            f.write(f"""# defaults every certificate inherits
directory = {lab.pebble.directory}
email = admin@example.test
ca_bundle = {lab.pebble.ca_bundle}
account-key = {os.path.join(d, "account.key")}
deploy_hook = {cls.hook}
log_level = info
""")
        # Ten certificates: six rfc2136 with --config, two with env.NAME,
        # two embedded on the second Pebble.
        cls.certs = {}
        n = 4 if VALGRIND else 6
        for i in range(n):
            cls.certs[f"cfg{i}"] = ([f"cfg{i}.example.test"], f"""
provider = rfc2136
config = {lab.config}
secrets_dir = {lab.secrets}
nameserver = 127.0.0.1:{lab.bind.port}
""")
        key = "dns01-sha256."
        for i in range(2):
            cls.certs[f"env{i}"] = ([f"env{i}.example.test",
                                     f"*.env{i}.example.test"], f"""
provider = rfc2136
env.RFC2136_NAMESERVER = 127.0.0.1:{lab.bind.port}
env.RFC2136_TSIG_KEY = {key}
env.RFC2136_TSIG_SECRET = {lab.bind.secrets[key]}
env.RFC2136_TSIG_ALGORITHM = hmac-sha256.
nameserver = 127.0.0.1:{lab.bind.port}
""")
        for i in range(2):
            cls.certs[f"emb{i}"] = ([f"h{i}.{EMB}"], f"""
directory = {cls.peb2.directory}
ca-bundle = {cls.peb2.ca_bundle}
account_key = {os.path.join(d, "account2.key")}
provider = embedded
embedded_zone = {EMB}
dns_listen = 127.0.0.1:{cls.dns_port}
""")

    @classmethod
    def tearDownClass(cls):
        cls.peb2.__exit__(None, None, None)
        cls.lab.close()

    def out(self, name):
        return os.path.join(self.lab.dir, "out", name)

    def write(self, name, extra=""):
        names, body = self.certs[name]
        path = os.path.join(self.conf, "certs.d", name + ".conf")
        with open(path, "w") as f:
            f.write(f"out = {self.out(name)}\n")
            for n in names:
                f.write(f"domain = {n}\n")
            f.write(body + extra)
        return path

    def renew(self, *extra):
        r = subprocess.run([BIN, "renew", "--config-dir", self.conf,
                            *extra], capture_output=True, text=True,
                           timeout=240)
        for v in self.lab.bind.secrets.values():
            self.assertNotIn(v, r.stdout + r.stderr, "TSIG secret shown")
        return r

    def hook_runs(self):
        runs = {}
        for f in os.listdir(self.hooks):
            with open(os.path.join(self.hooks, f)) as fh:
                blocks = [b for b in fh.read().split("----\n") if b.strip()]
            runs[f[:-4]] = [dict(l.split("=", 1) for l in b.splitlines())
                            for b in blocks]
        return runs

    def valid(self, name):
        out = self.out(name)
        cert = os.path.join(out, "cert.pem")
        rc, msg = openssl("verify", "-CAfile", self.lab.roots
                          if name.startswith(("cfg", "env"))
                          else self.peb2_roots(), "-untrusted",
                          os.path.join(out, "chain.pem"), cert)
        self.assertEqual(rc, 0, msg)
        self.assertEqual(sans(cert), sorted(self.certs[name][0]))

    def peb2_roots(self):
        path = os.path.join(self.lab.dir, "peb2-root.pem")
        if not os.path.exists(path):
            self.peb2.roots(path)
        return path

    def test_renew_fleet(self):
        names = sorted(self.certs)
        first = [n for n in names if n in ("cfg0", "cfg1", "env0", "emb0")]
        # 1. Issue four first: they are then not due.
        for n in first:
            self.write(n)
        r = self.renew()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{len(first)} renewed", r.stdout)
        serials = {n: serial(os.path.join(self.out(n), "cert.pem"))
                   for n in first}
        shutil.rmtree(self.hooks)
        os.makedirs(self.hooks)

        # 2. All ten: exactly the six new ones are renewed, in one run;
        # one of them with a failing hook (exit 3, files kept).
        for n in names:
            self.write(n, "deploy_hook = exit 7\n" if n == "cfg2" else "")
        t = time.monotonic()
        r = self.renew()
        print(f"\nrenew of {len(names)} ({len(names) - len(first)} due): "
              f"{time.monotonic() - t:.2f} s\n" + r.stdout, file=sys.stderr)
        due = [n for n in names if n not in first]
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn(f"{len(names)} certificates: {len(due)} renewed, "
                      f"{len(first)} not due, 0 failed, 1 deploy hooks failed",
                      r.stdout)
        self.assertIn("deploy hook exited with status 7", r.stderr)
        for n in first:
            self.assertEqual(serial(os.path.join(self.out(n), "cert.pem")),
                             serials[n], n)
            self.assertIn(f"{self.out(n)}: not due", r.stdout)
        for n in due:
            self.assertIn(f"{self.out(n)}: issued for", r.stdout)
            self.valid(n)
        runs = self.hook_runs()
        self.assertEqual(sorted(runs), sorted(set(due) - {"cfg2"}))
        for n, envs in runs.items():
            self.assertEqual(len(envs), 1, n)
            e, out = envs[0], self.out(n)
            cert = os.path.join(out, "cert.pem")
            self.assertEqual(e["DNS01_OUT"], out)
            self.assertEqual(e["RENEWED_LINEAGE"], out)
            self.assertEqual(e["DNS01_NAMES"], " ".join(self.certs[n][0]))
            self.assertEqual(e["RENEWED_DOMAINS"], e["DNS01_NAMES"])
            self.assertEqual("serial=" + e["DNS01_SERIAL"], serial(cert))
            _, end = openssl("x509", "-in", cert, "-noout", "-enddate",
                             "-dateopt", "iso_8601")
            self.assertEqual(end.strip().split("=", 1)[1].replace(" ", "T"),
                             e["DNS01_NOT_AFTER"])
        self.assertIn("hook ran for", r.stderr)  # its output is logged
        self.valid("cfg2")  # the failed hook undid nothing

        # 3. Again: nothing due, no hook, no order.
        shutil.rmtree(self.hooks)
        os.makedirs(self.hooks)
        r = self.renew()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"0 renewed, {len(names)} not due, 0 failed", r.stdout)
        self.assertEqual(self.hook_runs(), {})

        # 4. A broken file skips only itself, named with its line; a dry
        # run says what would be renewed and contacts no CA.
        with open(os.path.join(self.conf, "certs.d", "broken.conf"), "w") as f:
            f.write(f"out = {self.out('broken')}\n# fine so far\n"
                    "domian = x.example.test\n")
        self.write("cfg0", "force = yes\n")
        seen = self.lab.pebble.connections
        r = self.renew("--dry-run")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("broken.conf:3: domian: unknown option", r.stderr)
        self.assertIn(f"{self.out('cfg0')}: would renew (--force)", r.stdout)
        self.assertIn(f"{len(names) + 1} certificates: 1 would be renewed, "
                      f"{len(names) - 1} not due, 1 failed", r.stdout)
        self.assertEqual(self.lab.pebble.connections, seen)
        self.assertEqual(self.hook_runs(), {})
        self.assertEqual(serial(os.path.join(self.out("cfg0"), "cert.pem")),
                         serials["cfg0"])
        os.unlink(os.path.join(self.conf, "certs.d", "broken.conf"))
        self.write("cfg0")

    def test_issue_hook_failure_exit_3(self):
        out = self.out("issue-hook")
        os.makedirs(out, exist_ok=True)
        rc, so, se, _ = self.lab.issue(out, names=["ih.example.test"],
                                       extra=["--deploy-hook", "exit 5"])
        self.assertEqual(rc, 3, se)
        self.assertIn("issued for", so)
        self.assertIn("deploy hook exited with status 5", se)
        rc, msg = openssl("verify", "-CAfile", self.lab.roots, "-untrusted",
                          os.path.join(out, "chain.pem"),
                          os.path.join(out, "cert.pem"))
        self.assertEqual(rc, 0, msg)
        # Not due the next time: no hook, exit 0.
        rc, so, se, _ = self.lab.issue(out, names=["ih.example.test"],
                                       extra=["--deploy-hook", "exit 5"])
        self.assertEqual(rc, 0, se)
        self.assertIn("not due", so)


if __name__ == "__main__":
    unittest.main()
