"""Installed like a system tool (issue 18 item 8): `cmake --install` (what
`make install` runs) with DESTDIR puts the binary, the man page and the
systemd units where the README says, the service names the installed
binary for any prefix, `systemd-analyze verify` finds nothing to say about
the units, and groff renders the man page without a warning
(scripts/deps.sh test installs systemd and groff-base)."""
import os
import shutil
import subprocess
import tempfile
import unittest

import harness

SOURCE = os.environ.get("DNS01_SOURCE", ".")
BUILD = os.environ.get("DNS01_BUILD_DIR",
                       os.path.dirname(os.path.abspath(harness.BIN)))
FILES = ["bin/dns01", "share/man/man1/dns01.1",
         "lib/systemd/system/dns01-renew.service",
         "lib/systemd/system/dns01-renew.timer"]


def install(destdir, prefix):
    r = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix],
                       env=dict(os.environ, DESTDIR=destdir),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.root = os.path.join(cls.tmp.name, "root")
        install(cls.root, "/usr/local")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, rel, prefix="/usr/local", root=None):
        return os.path.join(root or self.root, prefix.lstrip("/"), rel)

    def test_files_where_the_docs_say(self):
        with open(os.path.join(SOURCE, "README.md")) as f:
            readme = f.read()
        for rel in FILES:
            self.assertTrue(os.path.isfile(self.path(rel)), rel)
            self.assertIn("/usr/local/" + rel.split("/dns01")[0], readme)
        binary = self.path("bin/dns01")
        self.assertTrue(os.access(binary, os.X_OK))
        r = subprocess.run([binary, "revoke", "--help"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_service_runs_the_installed_binary(self):
        with open(self.path(FILES[2])) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/local/bin/dns01 renew", unit)
        for hard in ("ProtectSystem=strict", "NoNewPrivileges=yes",
                     "ReadWritePaths=", "User=dns01"):
            self.assertIn(hard, unit)
        with open(self.path(FILES[3])) as f:
            timer = f.read()
        self.assertIn("RandomizedDelaySec=", timer)
        self.assertIn("OnCalendar=*-*-* 03,15:00:00", timer)
        other = os.path.join(self.tmp.name, "opt")
        install(other, "/opt/dns01")
        with open(self.path(FILES[2], "/opt/dns01", other)) as f:
            self.assertIn("ExecStart=/opt/dns01/bin/dns01 renew", f.read())

    def test_units_verify(self):
        # The unit names the binary by its final path, absent under
        # DESTDIR: verify a copy that names the staged one.
        d = os.path.join(self.tmp.name, "verify")
        os.makedirs(d, exist_ok=True)
        with open(self.path(FILES[2])) as f:
            unit = f.read().replace("/usr/local/bin/dns01",
                                    self.path("bin/dns01"))
        with open(os.path.join(d, "dns01-renew.service"), "w") as f:
            f.write(unit)
        shutil.copy(self.path(FILES[3]), d)
        r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                            os.path.join(d, "dns01-renew.service"),
                            os.path.join(d, "dns01-renew.timer")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout + r.stderr, "")

    def test_man_page_renders_without_warnings(self):
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z",
                            self.path(FILES[1])],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        page = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou",
                               self.path(FILES[1])],
                              capture_output=True, text=True,
                              timeout=60).stdout
        for sub in ("serve", "present, cleanup", "check", "issue", "renew",
                    "revoke"):
            self.assertIn("\n   " + sub + "\n", page)


if __name__ == "__main__":
    unittest.main()
