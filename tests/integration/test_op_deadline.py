"""Every provider op has a deadline (providers/op.c), through the real
binary: a webhook Present against a nameserver that never answers gets
success:false with a timeout message naming the provider, the name and
the step (`serve --provider-timeout`, and a request's own ?timeout=
shortening it), and `dns01 present --timeout` ends the same way. The
DNS client alone would give up only after 3 tries of 2 s, so an answer
naming the op's deadline is the deadline's doing."""
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest

import harness
import pki
from harness import GROUP, assert_response, challenge

FQDN = "_acme-challenge.www.example.test."


class Deadline(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.pki = pki.PKI(self.tmp.name)
        # Bound and never read: every UPDATE goes unanswered.
        self.silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.silent.bind(("127.0.0.1", 0))
        self.ns = "127.0.0.1:%d" % self.silent.getsockname()[1]
        self.cfg = {"nameserver": self.ns}

    def tearDown(self):
        self.silent.close()
        self.tmp.cleanup()

    def present(self, srv, path_suffix=""):
        c = srv.client("proxy")
        c.conn.timeout = 60
        t0 = time.monotonic()
        st, _, body = c.request(
            "POST", f"/apis/{GROUP}/v1alpha1/rfc2136{path_suffix}",
            {"request": challenge("Present", "K1", fqdn=FQDN, config=self.cfg)},
            {"X-Remote-User": "system:serviceaccount:cert-manager:cert-manager"})
        elapsed = time.monotonic() - t0
        c.close()
        o = assert_response(self, st, body, False)
        return o["response"]["status"]["message"], elapsed

    def test_webhook_provider_timeout(self):
        with harness.Server(self.pki, zones=(),
                            extra=["--provider-timeout", "1s"]) as srv:
            msg, elapsed = self.present(srv)
            self.assertEqual(
                msg, f"rfc2136: present {FQDN}: timed out after 1000 ms "
                f"while sending the UPDATE to {self.ns}")
            self.assertGreaterEqual(elapsed, 0.9)
            self.assertLess(elapsed, 30)  # the message says who ended it
            # A client that waits longer never lengthens the deadline.
            msg, _ = self.present(srv, "?timeout=1m0s")
            self.assertIn("timed out after 1000 ms", msg)
            st, _, _ = srv.request("GET", "/healthz")
            self.assertEqual(st, 200)

    def test_request_timeout_shortens(self):
        # The default (25 s) stands unless the client waits less: five
        # sixths of its ?timeout= (client-go's Go duration).
        with harness.Server(self.pki, zones=()) as srv:
            msg, elapsed = self.present(srv, "?timeout=1200ms")
            self.assertIn("timed out after 1000 ms while sending the UPDATE", msg)
            self.assertLess(elapsed, 30)
            # Found among other parameters, fractions included.
            msg, _ = self.present(srv, "?dryRun=All&timeout=0.6s")
            self.assertIn("timed out after 500 ms", msg)

    def test_cli_present_timeout(self):
        t0 = time.monotonic()
        r = subprocess.run(
            [harness.BIN, "present", "--provider", "rfc2136", "--config", "-",
             "--zone", "example.test", "--timeout", "700ms", FQDN, "K1"],
            input=json.dumps(self.cfg), capture_output=True, text=True,
            timeout=60)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(
            r.stderr.strip(),
            f"dns01 present: rfc2136: present {FQDN}: timed out after 700 ms "
            f"while sending the UPDATE to {self.ns}")
        self.assertLess(elapsed, 30)


if __name__ == "__main__":
    unittest.main()
