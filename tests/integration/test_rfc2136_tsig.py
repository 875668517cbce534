"""TSIG and transport against a second, independent implementation:
dnspython (python3-dnspython) verifies every UPDATE `dns01 present`
sends, for each algorithm, and signs the replies; then it injects what a
real BIND will not do on demand: a reply signed with another key, a
signed BADTIME refusal, a reply signed 20 minutes in the past, an
unsigned reply, no reply at all (3 UDP tries, then a timeout naming the
server), and TC=1 over UDP so the update is repeated over TCP.

This is a TSIG oracle and fault injector, not a stand-in for BIND: the
provider's behaviour against a real server is test_rfc2136.py and
test_cli.py."""
import base64
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import unittest

try:
    import dns.flags
    import dns.message
    import dns.rcode
    import dns.rdataclass
    import dns.renderer
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
except ImportError:
    # Debian's python3-dnspython serves /usr/bin/python3; a python3 from
    # elsewhere earlier on PATH (pyenv, venv) does not see it.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("test_rfc2136_tsig: python3-dnspython is missing (scripts/deps.sh test)")
    sys.exit(77)

import harness

FQDN = "_acme-challenge.www.example.test."
KEY = "dns01-test-key."
SECRET = base64.b64encode(bytes(range(32))).decode()
OTHER = base64.b64encode(bytes(range(1, 33))).decode()
ALGS = {"HMACMD5": "hmac-md5.sig-alg.reg.int", "HMACSHA1": "hmac-sha1",
        "HMACSHA256": "hmac-sha256", "HMACSHA512": "hmac-sha512"}


class Clock:
    """dnspython reads time.time() when it signs and verifies."""
    skew = 0

    @staticmethod
    def time():
        return time.time() + Clock.skew


dns.renderer.time = dns.message.time = Clock


class Oracle:
    """UDP + TCP on one port; `mode` says how to answer."""

    def __init__(self):
        self.mode = "ok"
        self.alg = "hmac-sha256"
        self.seen = []  # (transport, parsed UPDATE) verified with our key
        self.errors = []
        self.port = harness.free_port()
        oracle = self

        class UDP(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                out = oracle.answer(data, "udp")
                if out is not None:
                    sock.sendto(out, self.client_address)

        class TCP(socketserver.BaseRequestHandler):
            def handle(self):
                n = int.from_bytes(self.request.recv(2), "big")
                data = b""
                while len(data) < n:
                    data += self.request.recv(n - len(data))
                out = oracle.answer(data, "tcp")
                if out is not None:
                    self.request.sendall(len(out).to_bytes(2, "big") + out)

        self.udp = socketserver.ThreadingUDPServer(("127.0.0.1", self.port), UDP)
        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), TCP)
        for s in (self.udp, self.tcp):
            threading.Thread(target=s.serve_forever, daemon=True).start()

    def close(self):
        for s in (self.udp, self.tcp):
            s.shutdown()
            s.server_close()

    def answer(self, data, transport):
        ring = dns.tsigkeyring.from_text({KEY: (self.alg, SECRET)})
        try:
            q = dns.message.from_wire(data, keyring=ring)
        except Exception as e:  # a bad signature is a test failure
            self.errors.append(f"{transport}: {type(e).__name__}: {e}")
            return None
        self.seen.append((transport, q))
        if self.mode == "silent":
            return None
        if self.mode == "tc" and transport == "udp":
            r = dns.message.make_response(q)
            r.flags |= dns.flags.TC
            return r.to_wire()
        if self.mode == "badtime":
            r = dns.message.make_response(q, tsig_error=dns.rcode.BADTIME)
            r.set_rcode(dns.rcode.NOTAUTH)
            return r.to_wire()
        r = dns.message.make_response(q)
        if self.mode == "unsigned":
            r.tsig = None
        elif self.mode == "otherkey":
            r.keyring = dns.tsig.Key(KEY, OTHER, self.alg)
        if self.mode == "skew":
            Clock.skew = -1200
        try:
            return r.to_wire()
        finally:
            Clock.skew = 0


class TSIG(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.o = Oracle()

    @classmethod
    def tearDownClass(cls):
        cls.o.close()

    def setUp(self):
        self.o.mode, self.o.seen, self.o.errors = "ok", [], []

    def present(self, alg="HMACSHA256", value="v1", action="present"):
        env = dict(os.environ, RFC2136_NAMESERVER=f"127.0.0.1:{self.o.port}",
                   RFC2136_TSIG_KEY=KEY, RFC2136_TSIG_SECRET=SECRET,
                   RFC2136_TSIG_ALGORITHM=alg)
        r = subprocess.run([harness.BIN, action, "--provider", "rfc2136", "--zone",
                            "example.test", "--timeout", "20s", FQDN, value],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertNotIn(SECRET, r.stdout + r.stderr)
        self.assertEqual(self.o.errors, [])
        return r.returncode, (r.stdout + r.stderr).strip()

    def test_every_algorithm_both_ways(self):
        for alg, name in ALGS.items():
            with self.subTest(alg=alg):
                self.o.alg, self.o.seen, self.o.errors = name, [], []
                rc, out = self.present(alg)
                self.assertEqual(rc, 0, out)
                (transport, q), = self.o.seen
                self.assertEqual(transport, "udp")
                self.assertTrue(q.had_tsig)
                self.assertEqual(q.keyalgorithm.to_text(), name + ".")
                self.assertIsInstance(q, dns.update.UpdateMessage)
                self.assertEqual(q.zone[0].name.to_text(), "example.test.")
                (rrset,) = q.update
                self.assertEqual(rrset.name.to_text(), FQDN)
                self.assertEqual(rrset.ttl, 60)
                self.assertEqual([r.to_text() for r in rrset], ['"v1"'])
        self.o.alg = "hmac-sha256"
        rc, out = self.present(action="cleanup")
        self.assertEqual(rc, 0, out)
        (rrset,) = self.o.seen[-1][1].update
        self.assertEqual((rrset.deleting, rrset.ttl), (dns.rdataclass.NONE, 0))
        self.assertEqual([r.to_text() for r in rrset], ['"v1"'])

    def test_truncated_udp_reply_repeats_over_tcp(self):
        self.o.mode = "tc"
        rc, out = self.present()
        self.assertEqual(rc, 0, out)
        self.assertEqual([t for t, _ in self.o.seen], ["udp", "tcp"])

    def test_replies_that_must_not_be_believed(self):
        for mode, words in (("otherkey", "does not verify"),
                            ("badtime", "BADTIME"),
                            ("skew", "from our clock"),
                            ("unsigned", "not TSIG-signed"),
                            ("silent", "no reply (timeout)")):
            with self.subTest(mode=mode):
                self.o.mode = mode
                rc, out = self.present()
                self.assertEqual(rc, 1, out)
                self.assertIn(words, out)
                self.assertIn(f"127.0.0.1:{self.o.port}", out)
                self.assertEqual(len(out.splitlines()), 1, out)


if __name__ == "__main__":
    unittest.main()
