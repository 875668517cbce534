"""dns01 issue beyond the main path, against real Pebbles: the embedded
provider (Pebble's -dnsserver is the issuing process's own DNS server),
several certificates at once from one process (--batch), external account
binding, a CA that rejects nonces at random (badNonce retries), and ACME
Renewal Information (RFC 9773) from a renewalInfo endpoint: its window
overrides --renew-before both ways, asked with the right CertID."""
import base64
import datetime
import http.server
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest

import harness
import pebble
from issue_common import BIN, Lab, openssl, sans

ZONE = "acme.test"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cert_id(cert):
    """RFC 9773 §4.1 CertID, computed from openssl's text output."""
    _, aki = openssl("x509", "-in", cert, "-noout", "-ext",
                     "authorityKeyIdentifier")
    hexid = aki.split("\n", 1)[1].strip().replace("keyid:", "").split()[0]
    keyid = bytes.fromhex(hexid.replace(":", ""))
    _, ser = openssl("x509", "-in", cert, "-noout", "-serial")
    hexser = ser.strip().split("=", 1)[1]
    s = bytes.fromhex(("0" if len(hexser) % 2 else "") + hexser)
    if s[0] & 0x80:  # DER INTEGER content: positive, so a leading zero
        s = b"\0" + s
    return b64url(keyid) + "." + b64url(s)


class Embedded(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dns_port = harness.free_port(socket.SOCK_DGRAM)
        self.pebble = pebble.Pebble(self.tmp.name,
                                    f"127.0.0.1:{self.dns_port}").__enter__()
        self.roots = os.path.join(self.tmp.name, "root.pem")
        self.pebble.roots(self.roots)

    def tearDown(self):
        self.pebble.__exit__(None, None, None)
        self.tmp.cleanup()

    def run_issue(self, *extra):
        args = [BIN, "issue", "--directory", self.pebble.directory,
                "--email", "a@acme.test", "--ca-bundle", self.pebble.ca_bundle,
                "--provider", "embedded", "--embedded-zone", ZONE,
                "--dns-listen", f"127.0.0.1:{self.dns_port}"] + list(extra)
        return subprocess.run(args, capture_output=True, text=True,
                              timeout=120)

    def test_embedded(self):
        out = os.path.join(self.tmp.name, "out")
        r = self.run_issue("-d", ZONE, "-d", "*." + ZONE, "-d", "www." + ZONE,
                           "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        cert = os.path.join(out, "cert.pem")
        self.assertEqual(sans(cert), sorted([ZONE, "*." + ZONE, "www." + ZONE]))
        rc, msg = openssl("verify", "-CAfile", self.roots, "-untrusted",
                          os.path.join(out, "chain.pem"), cert)
        self.assertEqual(rc, 0, msg)

    def test_batch_one_process(self):
        batch = os.path.join(self.tmp.name, "batch")
        with open(batch, "w") as f:
            f.write("# out names\n")
            for i in range(5):
                f.write(f"{self.tmp.name}/b{i} h{i}.{ZONE} *.h{i}.{ZONE}\n")
        acct = os.path.join(self.tmp.name, "account.key")
        r = self.run_issue("--batch", batch, "--account-key", acct)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.count("event=acme-account"), 1, r.stderr)
        for i in range(5):
            self.assertEqual(sans(f"{self.tmp.name}/b{i}/cert.pem"),
                             sorted([f"h{i}.{ZONE}", f"*.h{i}.{ZONE}"]))
        r = self.run_issue("--batch", batch, "--account-key", acct)
        self.assertEqual((r.returncode, r.stdout.count("not due")), (0, 5),
                         r.stderr)


class Eab(unittest.TestCase):
    def test_eab(self):
        lab = Lab(relay=False, eab=True)
        try:
            rc, _, se, _ = lab.issue(lab.out("no-eab"), names=["e.example.test"])
            self.assertEqual(rc, 2, se)
            self.assertIn("external account binding", se)
            rc, _, se, _ = lab.issue(
                lab.out("bad-eab"), names=["e.example.test"],
                extra=["--eab-kid", "kid-1", "--eab-hmac-key",
                       b64url(b"not the key, but long enough for HS256")])
            self.assertEqual(rc, 1, se)
            self.assertIn("newAccount: ", se)
            rc, _, se, _ = lab.issue(
                lab.out("eab"), names=["e.example.test"],
                extra=["--eab-kid", "kid-1", "--eab-hmac-key",
                       pebble.EAB_KEYS["kid-1"]])
            self.assertEqual(rc, 0, se)
            self.assertNotIn(pebble.EAB_KEYS["kid-1"], se)
        finally:
            lab.close()


class BadNonce(unittest.TestCase):
    def test_bad_nonce_retried(self):
        lab = Lab(relay=False, pebble_env={"PEBBLE_WFE_NONCEREJECT": "30"})
        try:
            retries = 0
            for i in range(3):
                rc, _, se, _ = lab.issue(lab.out(f"n{i}"),
                                         extra=["--log-level", "debug"])
                self.assertEqual(rc, 0, se)
                retries += se.count("retry=badNonce")
            self.assertGreater(retries, 0, "Pebble rejected no nonce?")
        finally:
            lab.close()


class AriHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.paths.append(self.path)
        body = json.dumps({"suggestedWindow": self.server.window}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "21600")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class Ari(unittest.TestCase):
    def setUp(self):
        self.lab = Lab(relay=True)
        d = self.lab.pebble.dir
        self.srv = http.server.HTTPServer(("127.0.0.1", 0), AriHandler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "tls.crt"), os.path.join(d, "tls.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.srv.paths = []
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def tearDown(self):
        self.srv.shutdown()
        self.lab.close()

    def window(self, start_days, end_days):
        now = datetime.datetime.now(datetime.timezone.utc)
        f = lambda d: (now + datetime.timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.srv.window = {"start": f(start_days), "end": f(end_days)}

    def test_window_overrides_renew_before(self):
        out = self.lab.out("ari")
        names = ["ari.example.test"]
        rc, _, se, _ = self.lab.issue(out, names=names)
        self.assertEqual(rc, 0, se)
        state = os.path.join(out, "renewal.json")
        with open(state) as f:
            st = json.load(f)
        self.assertEqual(st["directory"], self.lab.pebble.directory)
        self.assertIsNone(st.get("renewalInfo"))  # Pebble 2.4 has no ARI
        # Pretend the CA offers ARI at our endpoint.
        st["renewalInfo"] = f"https://127.0.0.1:{self.srv.server_port}/ri"
        with open(state, "w") as f:
            json.dump(st, f)
        want = "/ri/" + cert_id(os.path.join(out, "cert.pem"))

        # A window in the future beats a --renew-before that says "due".
        self.window(10, 11)
        seen = self.lab.pebble.connections
        rc, so, se, _ = self.lab.issue(out, names=names,
                                       extra=["--renew-before", "3650d"])
        self.assertEqual(rc, 0, se)
        self.assertIn("not due (CA's renewal window, ARI)", so)
        self.assertEqual(self.srv.paths, [want])
        self.assertEqual(self.lab.pebble.connections, seen)

        # A window already open beats a --renew-before that says "not due".
        self.window(-2, -1)
        rc, so, se, _ = self.lab.issue(out, names=names)
        self.assertEqual(rc, 0, se)
        self.assertIn("renewal window (ARI)", so)
        self.assertEqual(len(self.srv.paths), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
