"""The embedded DNS server as real clients see it.

EmbeddedDNS: `dns01 serve` with front-proxy auth and two zones, asked with
`dig` over UDP and TCP: authoritative answers (AA) for SOA/NS/TXT, NODATA
and NXDOMAIN with the SOA in the authority section as a real authoritative
server gives them, REFUSED outside its zones, case-insensitive names, and a
large TXT set that needs TCP.

DemoDigKdig: `dns01 serve --demo` (zone demo.test., HTTPS without client
auth); a Present through the webhook, then the real `dig` (BIND) and `kdig`
(Knot), each over UDP and TCP: the TXT value with the aa flag, SOA and NS at
the apex, NXDOMAIN for a missing name, REFUSED outside the zone; after
CleanUp the name is NXDOMAIN again.

Exit 0 on success, 1 on failure, 77 when dig or kdig is not installed
(`scripts/deps.sh test` installs bind9-dnsutils and knot-dnsutils).
Python standard library only (plus the in-tree harness).
"""
import base64
import hashlib
import http.client
import json
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

import harness
import pki
from harness import assert_response, challenge, dig_full, dig_txt

FQDN = "_acme-challenge.www.example.test."
FQDN2 = "_acme-challenge.zone2.example."


def acme_key(seed):
    """A value shaped like cert-manager's: 43 chars of base64url."""
    d = hashlib.sha256(seed.encode()).digest()
    return base64.urlsafe_b64encode(d).decode().rstrip("=")


class EmbeddedDNS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.srv = harness.Server(cls.pki, zones=("example.test", "Zone2.Example.")
                                 ).__enter__()
        cls.c = cls.srv.client("proxy")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.srv.__exit__(None, None, None)
        cls.tmp.cleanup()

    def call(self, action, key, **kw):
        st, _, body = self.c.post_challenge(challenge(action, key, **kw))
        return assert_response(self, st, body, True)

    def ask(self, name, qtype, tcp):
        return dig_full(self.srv.dns_port, name, qtype, tcp)

    def assert_negative(self, r, status, zone):
        """NXDOMAIN/NODATA: authoritative, no answer, the zone's SOA in the
        authority section (negative caching, RFC 2308)."""
        self.assertEqual(r["status"], status, r["raw"])
        self.assertIn("aa", r["flags"], r["raw"])
        self.assertEqual(r["answer"], [], r["raw"])
        self.assertEqual([(o.lower(), t) for o, _, t, _ in r["authority"]],
                         [(zone, "SOA")], r["raw"])

    def test_authoritative_answers(self):
        k1, k2 = acme_key("a"), acme_key("b")
        self.call("Present", k1)
        self.call("Present", k2, fqdn=FQDN2, zone="zone2.example.")
        try:
            for tcp in (False, True):
                with self.subTest(tcp=tcp):
                    for zone in ("example.test.", "zone2.example."):
                        for qtype in ("SOA", "NS"):
                            r = self.ask(zone, qtype, tcp)
                            self.assertEqual(r["status"], "NOERROR", r["raw"])
                            self.assertIn("aa", r["flags"], r["raw"])
                            self.assertEqual([(o.lower(), t) for o, _, t, _ in r["answer"]],
                                             [(zone, qtype)], r["raw"])
                    r = self.ask(FQDN, "TXT", tcp)
                    self.assertEqual(r["status"], "NOERROR", r["raw"])
                    self.assertIn("aa", r["flags"], r["raw"])
                    self.assertEqual([(o, t, rd) for o, _, t, rd in r["answer"]],
                                     [(FQDN, "TXT", f'"{k1}"')], r["raw"])
                    self.assertEqual(dig_txt(self.srv.dns_port, FQDN2, tcp), [k2])
                    # Names are case-insensitive on the DNS side too.
                    self.assertEqual(dig_txt(self.srv.dns_port, FQDN.upper(), tcp), [k1])
                    # Other type at an existing name: NODATA.
                    self.assert_negative(self.ask(FQDN, "A", tcp), "NOERROR",
                                         "example.test.")
                    # An empty non-terminal exists: NODATA, not NXDOMAIN.
                    self.assert_negative(self.ask("www.example.test.", "TXT", tcp),
                                         "NOERROR", "example.test.")
                    # A name that does not exist: NXDOMAIN.
                    self.assert_negative(self.ask("_acme-challenge.nope.example.test.",
                                                  "TXT", tcp), "NXDOMAIN", "example.test.")
                    # Outside every zone: REFUSED, not authoritative.
                    for name in ("example.org.", "test.", "xexample.test."):
                        r = self.ask(name, "TXT", tcp)
                        self.assertEqual(r["status"], "REFUSED", r["raw"])
                        self.assertNotIn("aa", r["flags"], r["raw"])
                        self.assertEqual(r["answer"], [], r["raw"])
        finally:
            self.call("CleanUp", k1)
            self.call("CleanUp", k2, fqdn=FQDN2, zone="zone2.example.")
        for tcp in (False, True):
            self.assert_negative(self.ask(FQDN, "TXT", tcp), "NXDOMAIN", "example.test.")
            self.assert_negative(self.ask("www.example.test.", "TXT", tcp),
                                 "NXDOMAIN", "example.test.")

    def test_large_set_needs_tcp(self):
        name = "_acme-challenge.big.example.test."
        keys = sorted(acme_key(f"big{i}") for i in range(60))  # ~3.5 KB of TXT
        for k in keys:
            self.call("Present", k, fqdn=name)
        try:
            # Over UDP it does not fit: truncated (TC), not silently cut.
            r = dig_full(self.srv.dns_port, name, "TXT", False,
                         extra=("+ignore", "+bufsize=1232"))
            self.assertEqual(r["status"], "NOERROR", r["raw"])
            self.assertIn("tc", r["flags"], r["raw"])
            # Over TCP every value is there.
            self.assertEqual(dig_txt(self.srv.dns_port, name, tcp=True), keys)
            # dig's own UDP-then-TCP retry gets them all as well.
            self.assertEqual(dig_txt(self.srv.dns_port, name), keys)
        finally:
            for k in keys:
                self.call("CleanUp", k, fqdn=name)
        self.assertEqual(dig_txt(self.srv.dns_port, name, tcp=True), [])


SLOW = "valgrind" in harness.BIN  # the wrapper starts and answers slowly
ZONE = "demo.test."
NAME = "_acme-challenge.x.demo.test."
VALUE = "VALUE1"
TOOLS = ("dig", "kdig")


def demo_challenge(action):
    return {"request": {
        "uid": "1", "action": action, "type": "dns-01",
        "dnsName": "x.demo.test", "key": VALUE,
        "resourceNamespace": "default", "resolvedFQDN": NAME,
        "resolvedZone": ZONE, "allowAmbientCredentials": False}}


class Reply:
    """The parts of dig/kdig text output the checks need. Both print
    `status: X`, `;; flags: ...;` (kdig: `Flags`) and `;; ANSWER SECTION:`
    style headings followed by uncommented RR lines."""

    def __init__(self, text):
        self.text = text
        m = re.search(r"status: ([A-Z]+)", text)
        self.status = m.group(1) if m else None
        m = re.search(r";; [Ff]lags:([a-z ]*);", text)
        self.flags = set(m.group(1).split()) if m else set()
        self.sections = {}
        section = None
        for line in text.splitlines():
            h = re.match(r";; ([A-Z]+) SECTION:", line)
            if h:
                section = h.group(1)
                continue
            if line.strip() and not line.startswith(";") and section:
                self.sections.setdefault(section, []).append(line.split())

    def rrs(self, section, rtype):
        """[owner, ttl, class, type, rdata...] rows of one type."""
        return [r for r in self.sections.get(section, [])
                if len(r) > 3 and r[3] == rtype]


class DemoDigKdig(unittest.TestCase):
    """The brief's end-to-end path: `serve --demo`, webhook, dig + kdig."""

    def setUp(self):
        self.https = harness.free_port()
        self.dns = harness.free_port()
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [harness.BIN, "serve", "--demo", "--secure-port", str(self.https),
             "--dns-listen", f"127.0.0.1:{self.dns}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False  # demo: self-signed, no auth
        self.ctx.verify_mode = ssl.CERT_NONE

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60 if SLOW else 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "killed: still running after SIGTERM"

    def server_log(self):
        self.log.seek(0)
        return self.log.read()

    def https_request(self, method, path, body=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.https,
                                        context=self.ctx, timeout=10)
        try:
            hdrs = {"Content-Type": "application/json"} if body else {}
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            c.close()

    def wait_ready(self):
        deadline = time.time() + (60 if SLOW else 15)
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.fail("dns01 exited: " + self.server_log()[-2000:])
            try:
                if self.https_request("GET", "/readyz")[0] == 200:
                    return
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        self.fail("no 200 from /readyz: " + self.server_log()[-2000:])

    def group(self):
        # The ready line says `group=...`; the printed curl lines too.
        m = re.search(r"\bgroup=([A-Za-z0-9.-]+)", self.server_log())
        return m.group(1) if m else "acme.dns01.demo"

    def webhook(self, action):
        st, body = self.https_request(
            "POST", f"/apis/{self.group()}/v1alpha1/embedded",
            json.dumps(demo_challenge(action)))
        self.assertIn(st, (200, 201), body)
        self.assertIs(json.loads(body)["response"]["success"], True, body)

    def ask(self, tool, tcp, name, rtype):
        args = [tool, "@127.0.0.1", "-p", str(self.dns), "+norec",
                "+time=%d" % (5 if SLOW else 2), "+tries=1" if tool == "dig"
                else "+retry=0", name, rtype]
        if tcp:
            args.append("+tcp")
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        return Reply(p.stdout + p.stderr)

    def check_present(self, tool, tcp):
        r = self.ask(tool, tcp, NAME, "TXT")
        self.assertEqual(r.status, "NOERROR", r.text)
        self.assertIn("aa", r.flags, r.text)
        self.assertEqual([x[4:] for x in r.rrs("ANSWER", "TXT")],
                         [[f'"{VALUE}"']], r.text)
        # 0x20 randomisation: any case matches, the question as asked.
        r = self.ask(tool, tcp, "_ACME-Challenge.X.Demo.TEST.", "TXT")
        self.assertEqual([x[4:] for x in r.rrs("ANSWER", "TXT")],
                         [[f'"{VALUE}"']], r.text)
        r = self.ask(tool, tcp, ZONE, "SOA")
        self.assertEqual(r.status, "NOERROR", r.text)
        self.assertIn("aa", r.flags, r.text)
        soa = r.rrs("ANSWER", "SOA")
        self.assertEqual(len(soa), 1, r.text)
        self.assertEqual(soa[0][4], "ns.demo.test.", r.text)
        self.assertEqual(soa[0][7:], ["3600", "600", "86400", "60"], r.text)
        r = self.ask(tool, tcp, ZONE, "NS")
        self.assertIn("aa", r.flags, r.text)
        self.assertEqual([x[4] for x in r.rrs("ANSWER", "NS")],
                         ["ns.demo.test."], r.text)
        self.check_nxdomain(tool, tcp, "missing.demo.test.")
        r = self.ask(tool, tcp, "example.com.", "TXT")
        self.assertEqual(r.status, "REFUSED", r.text)
        self.assertNotIn("aa", r.flags, r.text)

    def check_nxdomain(self, tool, tcp, name):
        r = self.ask(tool, tcp, name, "TXT")
        self.assertEqual(r.status, "NXDOMAIN", r.text)
        self.assertIn("aa", r.flags, r.text)
        self.assertEqual(r.rrs("ANSWER", "TXT"), [], r.text)
        self.assertEqual(len(r.rrs("AUTHORITY", "SOA")), 1, r.text)

    def test_present_query_cleanup(self):
        rc = None
        try:
            self.wait_ready()
            self.webhook("Present")
            for tool in TOOLS:
                for tcp in (False, True):
                    with self.subTest(tool=tool, tcp=tcp, after="Present"):
                        self.check_present(tool, tcp)
            self.webhook("CleanUp")
            for tool in TOOLS:
                for tcp in (False, True):
                    with self.subTest(tool=tool, tcp=tcp, after="CleanUp"):
                        self.check_nxdomain(tool, tcp, NAME)
        finally:
            rc = self.stop()
            log = self.server_log()
            self.log.close()
        self.assertEqual(rc, 0, log[-2000:])


if __name__ == "__main__":
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print("skipped: not installed: " + ", ".join(missing))
        sys.exit(77)
    unittest.main()
