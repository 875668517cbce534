"""DNS UPDATE (RFC 2136) with TSIG into the embedded zones, as real clients
see it: one `dns01 serve --demo` (memory store) with three keys from a
BIND-style key file and their --update-policy grants, driven by nsupdate
(bind9-dnsutils) and by dnspython (an independent TSIG implementation that
verifies every signed reply). Every refusal is checked for its RCODE and,
where RFC 8945 asks for one, its TSIG error; a successful add and delete is
seen with dig and kdig; a signed query is answered signed. Then certbot's
rfc2136 plugin and lego's rfc2136 provider each get a certificate from
Pebble, their UPDATEs going to dns01, which Pebble asks for the TXT
records (-dnsserver)."""
import base64
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
except ImportError:
    # Debian's python3-dnspython serves /usr/bin/python3 only.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("test_dns_update: python3-dnspython is missing (scripts/deps.sh test)")
    sys.exit(77)

import harness
import pebble

SLOW = "valgrind" in harness.BIN
ZONE = "example.test."
ACME = "_acme-challenge.www.example.test."
S1 = base64.b64encode(bytes(range(32))).decode()
S2 = base64.b64encode(bytes(range(1, 65))).decode()
S3 = base64.b64encode(bytes(range(2, 34))).decode()
WRONG = base64.b64encode(bytes(range(3, 35))).decode()
KEYFILE = f"""# dns01's UPDATE keys (BIND syntax)
key "k1." {{
    algorithm hmac-sha256; // zonesub
    secret "{S1}";
}};
/* k2 may change one name only */
key k2 {{ algorithm hmac-sha512; secret "{S2}"; }};
key "nogrant" {{ algorithm hmac-sha256; secret "{S3}"; }};
"""
K1 = dns.tsigkeyring.from_text({"k1.": ("hmac-sha256", S1)})
K2 = dns.tsigkeyring.from_text({"k2.": ("hmac-sha512", S2)})
K3 = dns.tsigkeyring.from_text({"nogrant.": ("hmac-sha256", S3)})
BADSECRET = dns.tsigkeyring.from_text({"k1.": ("hmac-sha256", WRONG)})
UNKNOWN = dns.tsigkeyring.from_text({"nokey.": ("hmac-sha256", S1)})
K2_NAME = "_acme-challenge.k2.example.test."

NOERROR, FORMERR, NXDOMAIN, REFUSED = 0, 1, 3, 5
YXDOMAIN, YXRRSET, NXRRSET, NOTAUTH, NOTZONE = 6, 7, 8, 9, 10
BADSIG, BADKEY, BADTIME = 16, 17, 18


def skip_name(w, p):
    while True:
        n = w[p]
        if n & 0xC0 == 0xC0:
            return p + 2
        p += 1 + n
        if n == 0:
            return p


def raw_tsig(wire):
    """(rcode, TSIG error, MAC length, other data) of a reply whose only
    RR is its TSIG, read without dnspython (which raises on errors)."""
    rcode = wire[3] & 0x0F
    p = 12
    for _ in range(struct.unpack("!H", wire[4:6])[0]):
        p = skip_name(wire, p) + 4
    p = skip_name(wire, p)
    rtype, = struct.unpack("!H", wire[p:p + 2])
    assert rtype == 250, "the last RR is not a TSIG"
    p = skip_name(wire, p + 10)  # the algorithm name
    p += 8
    maclen, = struct.unpack("!H", wire[p:p + 2])
    p += 2 + maclen + 2
    err, olen = struct.unpack("!HH", wire[p:p + 4])
    return rcode, err, maclen, wire[p + 4:p + 4 + olen]


class Serve:
    """dns01 serve --demo with the key file and grants."""

    def __init__(self, d, extra=()):
        self.https = harness.free_port()
        self.dns = harness.free_port()
        self.keyfile = os.path.join(d, "keys.conf")
        with open(self.keyfile, "w") as f:
            f.write(KEYFILE)
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [harness.BIN, "serve", "--demo", "--secure-port", str(self.https),
             "--dns-listen", f"127.0.0.1:{self.dns}",
             "--embedded-zone", "example.test",
             "--embedded-zone", "other.test",
             "--tsig-keyfile", self.keyfile,
             "--update-policy", "k1=zonesub",
             "--update-policy", f"k2=name:{K2_NAME}",
             "--update-policy", "k2=subdomain:sub.other.test"] + list(extra),
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + (60 if SLOW else 15)
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("dns01 exited: " + self.text())
            if "event=ready" in self.text():
                return
            time.sleep(0.1)
        raise AssertionError("not ready: " + self.text())

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60 if SLOW else 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class DnsUpdate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.srv = Serve(cls.tmp.name)
        cls.timeout = 20 if SLOW else 5

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        log = cls.srv.text()
        cls.tmp.cleanup()
        for s in (S1, S2, S3, WRONG):
            assert s not in log, "a TSIG secret in the server's log"

    # clients
    def send(self, msg, tcp=False):
        """Send msg; return the reply's raw wire."""
        wire = msg.to_wire()
        if tcp:
            with socket_tcp(self.srv.dns, self.timeout) as s:
                s.sendall(struct.pack("!H", len(wire)) + wire)
                n, = struct.unpack("!H", recv_exact(s, 2))
                return recv_exact(s, n)
        import socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(self.timeout)
            s.sendto(wire, ("127.0.0.1", self.srv.dns))
            return s.recv(65535)

    def update(self, keyring=K1, zone=ZONE):
        u = dns.update.UpdateMessage(zone)
        if keyring is not None:
            u.use_tsig(keyring, keyname=list(keyring.keys())[0])
        return u

    def verified(self, u, tcp=False):
        """Send a signed UPDATE; dnspython verifies the signed reply."""
        q = dns.query.tcp if tcp else dns.query.udp
        return q(u, "127.0.0.1", port=self.srv.dns, timeout=self.timeout)

    def nsupdate(self, lines, key=None, tcp=False):
        script = f"server 127.0.0.1 {self.srv.dns}\n" + lines + "\nsend\n"
        args = ["nsupdate"] + (["-v"] if tcp else [])
        if key:
            args += ["-y", key]
        r = subprocess.run(args, input=script, capture_output=True,
                           text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def txt(self, name, tool="dig"):
        if tool == "dig":
            args = ["dig", "+short", "+norec", "@127.0.0.1", "-p",
                    str(self.srv.dns), name, "TXT"]
        else:
            args = ["kdig", "+short", "@127.0.0.1", "-p", str(self.srv.dns),
                    name, "TXT"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        return sorted(x.strip('"') for x in r.stdout.split())

    # refusals before any key is proved
    def test_unsigned_refused(self):
        rc, out = self.nsupdate(f"zone example.test\nupdate add {ACME} 60 "
                                "TXT unsigned")
        self.assertNotEqual(rc, 0)
        self.assertIn("REFUSED", out)
        u = self.update(keyring=None)
        u.add(ACME, 60, "TXT", "unsigned")
        r = dns.message.from_wire(self.send(u))
        self.assertEqual(r.rcode(), REFUSED)
        self.assertNotIn("unsigned", self.txt(ACME))

    def test_unknown_key_badkey(self):
        rc, out = self.nsupdate(f"zone example.test\nupdate add {ACME} 60 "
                                "TXT x", key=f"hmac-sha256:nokey.:{S1}")
        self.assertNotEqual(rc, 0)
        self.assertIn("NOTAUTH(BADKEY)", out)
        u = self.update(UNKNOWN)
        u.add(ACME, 60, "TXT", "x")
        rcode, err, maclen, _ = raw_tsig(self.send(u))
        self.assertEqual((rcode, err, maclen), (NOTAUTH, BADKEY, 0))

    def test_bad_secret_badsig(self):
        rc, out = self.nsupdate(f"zone example.test\nupdate add {ACME} 60 "
                                "TXT x", key=f"hmac-sha256:k1.:{WRONG}")
        self.assertNotEqual(rc, 0)
        self.assertIn("NOTAUTH(BADSIG)", out)
        u = self.update(BADSECRET)
        u.add(ACME, 60, "TXT", "x")
        rcode, err, maclen, _ = raw_tsig(self.send(u, tcp=True))
        self.assertEqual((rcode, err, maclen), (NOTAUTH, BADSIG, 0))

    def test_wrong_algorithm_badkey(self):
        # k1 is hmac-sha256: the same secret under hmac-sha512 is BADKEY.
        rc, out = self.nsupdate(f"zone example.test\nupdate add {ACME} 60 "
                                "TXT x", key=f"hmac-sha512:k1.:{S1}")
        self.assertIn("NOTAUTH(BADKEY)", out)

    def test_badtime_signed_with_server_time(self):
        u = self.update()
        u.add(ACME, 60, "TXT", "late")
        u.use_tsig(K1, keyname="k1.", algorithm="hmac-sha256")
        # dnspython reads time.time() when it renders the TSIG.
        import dns.renderer
        real = time

        class Past:
            @staticmethod
            def time():
                return real.time() - 1200
        dns.renderer.time = dns.message.time = Past
        try:
            wire = u.to_wire()
        finally:
            dns.renderer.time = dns.message.time = real
        import socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(self.timeout)
            s.sendto(wire, ("127.0.0.1", self.srv.dns))
            reply = s.recv(65535)
        rcode, err, maclen, other = raw_tsig(reply)
        self.assertEqual((rcode, err, maclen), (NOTAUTH, BADTIME, 32))
        server_time = int.from_bytes(other, "big")
        self.assertLess(abs(server_time - time.time()), 60)
        # Signed with k1 (RFC 8945 §5.2.3): a MAC of SHA-256's size above;
        # dnspython reports the peer's BADTIME.
        with self.assertRaises(dns.tsig.PeerBadTime):
            dns.message.from_wire(reply, keyring=K1, request_mac=u.mac)
        self.assertNotIn("late", self.txt(ACME))

    # zone section
    def test_zone_not_served_notauth(self):
        rc, out = self.nsupdate("zone elsewhere.test\nupdate add "
                                "x.elsewhere.test 60 TXT x",
                                key=f"hmac-sha256:k1.:{S1}")
        self.assertIn("NOTAUTH", out)
        u = self.update(zone="sub.example.test.")  # inside, not an apex
        u.add("x.sub.example.test.", 60, "TXT", "x")
        self.assertEqual(self.verified(u).rcode(), NOTAUTH)

    def test_name_outside_zone_notzone(self):
        u = self.update()
        u.add("_acme-challenge.other.test.", 60, "TXT", "x")
        self.assertEqual(self.verified(u).rcode(), NOTZONE)

    # policy
    def test_out_of_policy_refused(self):
        rc, out = self.nsupdate(f"zone example.test\nupdate add {ACME} 60 "
                                "TXT x", key=f"hmac-sha512:k2:{S2}")
        self.assertIn("REFUSED", out)
        u = self.update(K2)
        u.add(K2_NAME, 60, "TXT", "k2-ok")
        self.assertEqual(self.verified(u).rcode(), NOERROR)
        self.assertEqual(self.txt(K2_NAME), ["k2-ok"])
        # name: is that name only, not below it
        u = self.update(K2)
        u.add("x." + K2_NAME, 60, "TXT", "below")
        self.assertEqual(self.verified(u).rcode(), REFUSED)
        # subdomain: is the name and below, in the zone the UPDATE names
        u = self.update(K2, zone="other.test.")
        u.add("_acme-challenge.www.sub.other.test.", 60, "TXT", "sub")
        self.assertEqual(self.verified(u).rcode(), NOERROR)
        u = self.update(K2, zone="other.test.")
        u.add("_acme-challenge.other.test.", 60, "TXT", "apex")
        self.assertEqual(self.verified(u).rcode(), REFUSED)
        # a key without a grant may change nothing
        u = self.update(K3)
        u.add(ACME, 60, "TXT", "nogrant")
        self.assertEqual(self.verified(u).rcode(), REFUSED)
        # one name out of policy refuses the whole UPDATE
        u = self.update(K2)
        u.add(K2_NAME, 60, "TXT", "k2-second")
        u.add(ACME, 60, "TXT", "k2-sneak")
        self.assertEqual(self.verified(u).rcode(), REFUSED)
        self.assertEqual(self.txt(K2_NAME), ["k2-ok"])

    def test_non_txt_refused(self):
        rc, out = self.nsupdate("zone example.test\nupdate add "
                                "www.example.test 60 A 192.0.2.1",
                                key=f"hmac-sha256:k1.:{S1}")
        self.assertIn("REFUSED", out)
        u = self.update()
        u.delete("www.example.test.")  # every RRset at the name: not TXT
        self.assertEqual(self.verified(u).rcode(), REFUSED)
        u = self.update()
        u.add(ZONE, 60, "NS", "evil.example.")
        self.assertEqual(self.verified(u).rcode(), REFUSED)

    # prerequisites (RFC 2136 §3.2), against the store
    def test_prerequisites(self):
        name = "_acme-challenge.pre.example.test."
        u = self.update()
        u.add(name, 60, "TXT", "v1")
        self.assertEqual(self.verified(u).rcode(), NOERROR)
        cases = [
            # (prerequisite, expected rcode)
            (lambda u: u.present("_acme-challenge.none.example.test.",
                                 "TXT"), NXRRSET),           # YXRRSET
            (lambda u: u.present(name, "TXT", "other"), NXRRSET),  # value
            (lambda u: u.absent(name, "TXT"), YXRRSET),      # NXRRSET
            (lambda u: u.present("nothing.example.test."), NXDOMAIN),
            (lambda u: u.absent(name), YXDOMAIN),            # NXDOMAIN
        ]
        for pre, want in cases:
            u = self.update()
            pre(u)
            u.add(name, 60, "TXT", "blocked")
            self.assertEqual(dns.rcode.to_text(self.verified(u).rcode()),
                             dns.rcode.to_text(want))
        self.assertEqual(self.txt(name), ["v1"])
        # all five forms holding: the update applies
        u = self.update()
        u.present(name, "TXT")
        u.present(name, "TXT", "v1")
        u.absent(name, "A")
        u.present(ZONE)
        u.absent("_acme-challenge.none.example.test.")
        u.add(name, 60, "TXT", "v2")
        self.assertEqual(self.verified(u).rcode(), NOERROR)
        self.assertEqual(self.txt(name), ["v1", "v2"])
        rc, out = self.nsupdate(f"zone example.test\nprereq nxrrset {name} "
                                f"TXT\nupdate add {name} 60 TXT v3",
                                key=f"hmac-sha256:k1.:{S1}")
        self.assertIn("YXRRSET", out)

    # changes
    def test_add_and_delete_seen_by_dig_and_kdig(self):
        rc, out = self.nsupdate(
            f"zone example.test\nupdate add {ACME} 60 TXT a1\n"
            f"update add {ACME} 60 TXT a2\nupdate add {ACME} 60 TXT a3",
            key=f"hmac-sha256:k1.:{S1}")
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.txt(ACME), ["a1", "a2", "a3"])
        self.assertEqual(self.txt(ACME, "kdig"), ["a1", "a2", "a3"])
        # one RR (class NONE), over TCP
        rc, out = self.nsupdate(f"zone example.test\nupdate delete {ACME} "
                                "TXT a2", key=f"hmac-sha256:k1.:{S1}",
                                tcp=True)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.txt(ACME, "kdig"), ["a1", "a3"])
        # the RRset (class ANY)
        u = self.update()
        u.delete(ACME, "TXT")
        self.assertEqual(self.verified(u, tcp=True).rcode(), NOERROR)
        self.assertEqual(self.txt(ACME), [])
        self.assertEqual(self.txt(ACME, "kdig"), [])

    def test_signed_query_answered_signed(self):
        u = self.update()
        u.add("_acme-challenge.q.example.test.", 60, "TXT", "signed")
        self.verified(u)
        for tcp in (False, True):
            q = dns.message.make_query("_acme-challenge.q.example.test.",
                                       "TXT")
            q.use_tsig(K1, keyname="k1.")
            f = dns.query.tcp if tcp else dns.query.udp
            r = f(q, "127.0.0.1", port=self.srv.dns, timeout=self.timeout)
            self.assertTrue(r.had_tsig)  # dnspython verified it
            self.assertEqual([rd.strings[0] for rd in r.answer[0]],
                             [b"signed"])
        # certbot's first step: a signed SOA query
        q = dns.message.make_query(ZONE, "SOA")
        q.use_tsig(K1, keyname="k1.")
        r = dns.query.udp(q, "127.0.0.1", port=self.srv.dns,
                          timeout=self.timeout)
        self.assertTrue(r.had_tsig)
        self.assertEqual(r.answer[0].rdtype, dns.rdatatype.SOA)
        # a query signed with an unknown key: NOTAUTH + BADKEY
        q = dns.message.make_query(ZONE, "SOA")
        q.use_tsig(UNKNOWN, keyname="nokey.")
        self.assertEqual(raw_tsig(self.send(q))[:3], (NOTAUTH, BADKEY, 0))
        q = dns.message.make_query(ZONE, "SOA")
        q.use_tsig(BADSECRET, keyname="k1.")
        self.assertEqual(raw_tsig(self.send(q))[:3], (NOTAUTH, BADSIG, 0))


def socket_tcp(port, timeout):
    import socket
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise ConnectionError("closed")
        b += c
    return b


class KeyFileErrors(unittest.TestCase):
    def run_serve(self, text, extra=()):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.conf")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run(
                [harness.BIN, "serve", "--demo", "--secure-port",
                 str(harness.free_port()), "--dns-listen",
                 f"127.0.0.1:{harness.free_port()}", "--embedded-zone",
                 "example.test", "--tsig-keyfile", path] + list(extra),
                capture_output=True, text=True, timeout=60)
            return r.returncode, (r.stdout + r.stderr).replace(path, "FILE")

    def test_malformed_names_file_and_line(self):
        rc, out = self.run_serve(f'key "a" {{\n algorithm hmac-sha256;\n'
                                 f' secret "{S1}"\n}};\n')
        self.assertNotEqual(rc, 0)
        self.assertIn("FILE:4: expected ';' after the secret", out)
        self.assertNotIn(S1, out)
        rc, out = self.run_serve(f'key "a" {{ algorithm hmac-md4; '
                                 f'secret "{S1}"; }};')
        self.assertIn("FILE:1:", out)
        self.assertIn("not supported", out)
        self.assertNotIn(S1, out)
        rc, out = self.run_serve(KEYFILE, ["--update-policy", "k9=zonesub"])
        self.assertNotEqual(rc, 0)
        self.assertIn("no --tsig-keyfile defines key k9", out)


@unittest.skipUnless(shutil.which("certbot") and shutil.which("lego")
                     and shutil.which("pebble"), "certbot, lego, pebble")
class Clients(unittest.TestCase):
    """certbot --dns-rfc2136 and lego --dns rfc2136 against dns01 itself."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.srv = Serve(cls.tmp.name)
        cls.p = pebble.Pebble(cls.tmp.name, f"127.0.0.1:{cls.srv.dns}")
        cls.p.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.p.__exit__(None, None, None)
        cls.srv.stop()
        cls.tmp.cleanup()

    def test_certbot(self):
        ini = os.path.join(self.tmp.name, "certbot.ini")
        with open(ini, "w") as f:
            f.write(f"dns_rfc2136_server = 127.0.0.1\n"
                    f"dns_rfc2136_port = {self.srv.dns}\n"
                    f"dns_rfc2136_name = k1.\n"
                    f"dns_rfc2136_secret = {S1}\n"
                    f"dns_rfc2136_algorithm = HMAC-SHA256\n")
        os.chmod(ini, 0o600)
        path = os.path.join(self.tmp.name, "certbot")
        r = subprocess.run(
            ["certbot", "certonly", "--non-interactive", "--agree-tos",
             "-m", "t@example.test", "--server", self.p.directory,
             "--config-dir", path + "/config", "--work-dir", path + "/work",
             "--logs-dir", path + "/logs", "--dns-rfc2136",
             "--dns-rfc2136-credentials", ini,
             "--dns-rfc2136-propagation-seconds", "0",
             "--cert-name", "t", "--key-type", "ecdsa",
             "-d", "www.example.test", "-d", "example.test"],
            env=dict(os.environ, REQUESTS_CA_BUNDLE=self.p.ca_bundle),
            capture_output=True, text=True, timeout=180)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(
            path + "/config/live/t/fullchain.pem"))
        self.assertIn("key=k1. zone=\"example.test.\" rcode=0",
                      self.srv.text())
        # certbot cleaned up: nothing left at the challenge names
        self.assertEqual(txt(self.srv.dns, ACME), [])

    def test_lego(self):
        path = os.path.join(self.tmp.name, "lego")
        env = dict(os.environ, LEGO_CA_CERTIFICATES=self.p.ca_bundle,
                   RFC2136_NAMESERVER=f"127.0.0.1:{self.srv.dns}",
                   RFC2136_TSIG_KEY="k2.", RFC2136_TSIG_SECRET=S2,
                   RFC2136_TSIG_ALGORITHM="hmac-sha512.",
                   RFC2136_POLLING_INTERVAL="1",
                   RFC2136_SEQUENCE_INTERVAL="0",
                   RFC2136_PROPAGATION_TIMEOUT="60")
        r = subprocess.run(
            ["lego", "--server", self.p.directory, "--email",
             "t@example.test", "--accept-tos", "--path", path,
             "--dns", "rfc2136", "--dns.resolvers",
             f"127.0.0.1:{self.srv.dns}", "--dns.disable-cp",
             "--key-type", "ec256", "-d", "www.sub.other.test", "run"],
            env=env, capture_output=True, text=True, timeout=180)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(
            path + "/certificates/www.sub.other.test.crt"))
        self.assertIn("key=k2. zone=\"other.test.\" rcode=0",
                      self.srv.text())


def txt(port, name):
    r = subprocess.run(["dig", "+short", "+norec", "@127.0.0.1", "-p",
                        str(port), name, "TXT"], capture_output=True,
                       text=True, timeout=30)
    return sorted(x.strip('"') for x in r.stdout.split())


if __name__ == "__main__":
    unittest.main()
