"""dns01 issue and the files of --out, against real Pebble and BIND: a key
that does not fit the certificate makes it due; --out is locked and
proven writable before the CA is asked anything (an unwritable --out, a
name that cannot be replaced, or a run already holding the lock fail
with zero connections to Pebble and leave the set byte for byte); two
concurrent runs on one --out: the second fails fast, the first completes.
"""
import fcntl
import os
import select
import shutil
import socket
import subprocess
import threading
import time
import unittest

import bind
from issue_common import BIN, NAMES, Lab, openssl, pubkey, serial

SET = ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem",
       "renewal.json")


def snapshot(out):
    """Name -> bytes of every file of the set that exists."""
    got = {}
    for n in SET:
        p = os.path.join(out, n)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                got[n] = f.read()
    return got


class DnsGate(threading.Thread):
    """A UDP relay to BIND that drops every query until opened, so that a
    run can be held in its propagation wait for as long as a test needs
    (no timing: the test decides when it may proceed)."""

    def __init__(self, target_port):
        super().__init__(daemon=True)
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", bind.free_port()))
        self.port = self.sock.getsockname()[1]
        self.open = threading.Event()
        self.asked = threading.Event()
        self.stopping = False

    def run(self):
        while not self.stopping:
            r, _, _ = select.select([self.sock], [], [], 0.2)
            if not r:
                continue
            data, peer = self.sock.recvfrom(65535)
            self.asked.set()
            if not self.open.is_set():
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(5)
                try:
                    up.sendto(data, self.target)
                    self.sock.sendto(up.recvfrom(65535)[0], peer)
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        self.join(5)
        self.sock.close()


class IssueFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab()

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def assert_pair(self, out):
        self.assertEqual(pubkey(os.path.join(out, "cert.pem"), True),
                         pubkey(os.path.join(out, "privkey.pem"), False))
        self.assertEqual(pubkey(os.path.join(out, "fullchain.pem"), True),
                         pubkey(os.path.join(out, "privkey.pem"), False))

    def test_foreign_key_is_due(self):
        out = self.lab.out("mismatch")
        rc, _, se, _ = self.lab.issue(out)
        self.assertEqual(rc, 0, se)
        first = serial(os.path.join(out, "cert.pem"))
        # What a half-done commit of old left: a new key beside the old
        # certificate. Not "not due": a new certificate for a new key.
        key = os.path.join(out, "privkey.pem")
        os.unlink(key)
        rc, msg = openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-out", key)
        self.assertEqual(rc, 0, msg)
        rc, so, se, _ = self.lab.issue(out)
        self.assertEqual(rc, 0, se)
        self.assertIn("private key does not match", so)
        self.assertNotEqual(serial(os.path.join(out, "cert.pem")), first)
        self.assert_pair(out)
        # A missing key is no better.
        os.unlink(key)
        rc, so, se, _ = self.lab.issue(out)
        self.assertEqual(rc, 0, se)
        self.assertIn("private key does not match", so)
        self.assert_pair(out)
        rc, so, se, _ = self.lab.issue(out)
        self.assertEqual((rc, "not due" in so), (0, True), so + se)

    def test_unwritable_out_fails_before_the_ca(self):
        # A directory even root cannot create files in. The account key
        # lives elsewhere, so only --out is in the way.
        if not os.path.isdir("/proc/1"):
            self.skipTest("no /proc")
        seen = self.lab.pebble.connections
        rc, so, se, _ = self.lab.issue(
            "/proc/1", names=["ro.example.test"],
            extra=["--account-key", self.lab.out("ro-account.key")])
        self.assertEqual(rc, 1, se)
        self.assertEqual(self.lab.pebble.connections, seen)
        self.assertIn("/proc/1: not writable", se)

    def test_immutable_out_fails_before_the_ca(self):
        out = self.lab.out("immutable")
        rc, _, se, _ = self.lab.issue(out, names=["imm.example.test"])
        self.assertEqual(rc, 0, se)
        before = snapshot(out)
        if subprocess.run(["chattr", "+i", out],
                          capture_output=True).returncode != 0:
            self.skipTest("chattr +i not supported here")
        try:
            seen = self.lab.pebble.connections
            rc, so, se, _ = self.lab.issue(out, names=["imm.example.test"],
                                           extra=["--force"])
        finally:
            subprocess.run(["chattr", "-i", out], check=True)
        self.assertEqual(rc, 1, se)
        self.assertEqual(self.lab.pebble.connections, seen)
        self.assertEqual(snapshot(out), before)
        self.assertIn("not writable", se)

    def test_name_in_the_way_fails_before_the_ca(self):
        # chain.pem cannot be replaced (a directory stands there): the
        # run stops before the CA, and above all does not install a new
        # privkey.pem and cert.pem beside what it could not replace.
        out = self.lab.out("in-the-way")
        os.makedirs(os.path.join(out, "chain.pem", "x"))
        with open(os.path.join(out, "privkey.pem"), "w") as f:
            f.write("the old key\n")
        seen = self.lab.pebble.connections
        rc, so, se, _ = self.lab.issue(out, names=["way.example.test"])
        self.assertEqual(rc, 1, se)
        with open(os.path.join(out, "privkey.pem")) as f:
            self.assertEqual(f.read(), "the old key\n")
        self.assertFalse(os.path.exists(os.path.join(out, "cert.pem")))
        self.assertEqual(self.lab.pebble.connections, seen)
        self.assertIn("chain.pem: not a regular file", se)
        self.assertFalse(os.path.exists(os.path.join(out, ".commit")))

    def test_locked_out_fails_before_the_ca(self):
        out = self.lab.out("locked")
        os.makedirs(out)
        with open(os.path.join(out, ".lock"), "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            seen = self.lab.pebble.connections
            rc, so, se, _ = self.lab.issue(out, names=["lk.example.test"])
            self.assertEqual(rc, 1, se)
            self.assertIn("in use by another dns01 issue", se)
            self.assertEqual(self.lab.pebble.connections, seen)
            self.assertEqual(snapshot(out), {})
        rc, so, se, _ = self.lab.issue(out, names=["lk.example.test"])
        self.assertEqual(rc, 0, se)
        self.assert_pair(out)

    def test_concurrent_runs(self):
        out = self.lab.out("concurrent")
        gate = DnsGate(self.lab.bind.port)
        gate.start()
        try:
            first = subprocess.Popen(
                [BIN, "issue", "--directory", self.lab.pebble.directory,
                 "--email", "a@example.test", "--ca-bundle",
                 self.lab.pebble.ca_bundle, "--out", out,
                 "--provider", "rfc2136", "--config", self.lab.config,
                 "--secrets-dir", self.lab.secrets,
                 "--nameserver", f"127.0.0.1:{gate.port}",
                 "--propagation-timeout", "5m", "-d", "cc.example.test"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                # The first run is in its propagation wait: it holds the
                # lock and will until the gate opens.
                self.assertTrue(gate.asked.wait(60), "never checked")
                t = time.monotonic()
                rc, so, se, _ = self.lab.issue(out, names=["cc.example.test"])
                self.assertEqual(rc, 1, se)
                self.assertIn("in use by another dns01 issue", se)
                self.assertLess(time.monotonic() - t, 30)
                self.assertIsNone(first.poll(), "the first run ended")
                gate.open.set()
                so, se = first.communicate(timeout=120)
            finally:
                if first.poll() is None:
                    first.kill()
                    first.wait()
        finally:
            gate.stop()
        self.assertEqual(first.returncode, 0, se)
        self.assertIn("issued", so)
        self.assert_pair(out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
