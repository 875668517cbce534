"""Zone transfers and NOTIFY from the embedded DNS to real secondaries.

Secondaries: one `dns01 serve` (zone example.test., --allow-transfer
127.0.0.1, --notify to a real BIND 9 and a real Knot, both `secondary`
zones pulling from dns01). Their SOA refresh is dns01's 3600 s, so a
value that shows up on a secondary within the bound below got there by
NOTIFY, and so does a removal. AXFR from 127.0.0.1 with dig (records
counted) and from a raw client (messages counted: a zone past 64 KiB is
several messages); from 127.0.0.2 REFUSED; over UDP FORMERR; IXFR at our
serial is the one SOA, behind it the whole zone in AXFR form; an incoming
NOTIFY gets NOTIMP. Several --dns-listen addresses (two IPv4 ports and
[::1] when the machine has an IPv6 loopback) all answer.

Serial: a restarted instance starts above the serial it last served.

Exit 77 when dig, named or knotd is missing (`scripts/deps.sh test`).
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import bind
import harness
import pki
from harness import assert_response, challenge, dig_full

ZONE = "example.test."
NOTIFY_WAIT = 30  # generous: a loaded 2-core machine, maybe valgrind
T_SOA, T_TXT, T_IXFR, T_AXFR = 6, 16, 251, 252


def have_v6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def wire_name(name):
    return b"".join(bytes([len(l)]) + l.encode()
                    for l in name.rstrip(".").split(".")) + b"\0"


def query(name, qtype, qid=0x4242, opcode=0, authority=b"", nscount=0):
    hdr = struct.pack(">HHHHHH", qid, opcode << 11, 1, 0, nscount, 0)
    return hdr + wire_name(name) + struct.pack(">HH", qtype, 1) + authority


def ixfr_query(serial):
    """IXFR with the client's SOA (serial) in the authority section."""
    rdata = wire_name("ns." + ZONE) + wire_name("h." + ZONE) + struct.pack(
        ">IIIII", serial, 1, 1, 1, 1)
    soa = b"\xc0\x0c" + struct.pack(">HHIH", T_SOA, 1, 0, len(rdata)) + rdata
    return query(ZONE, T_IXFR, authority=soa, nscount=1)


def skip_name(b, pos):
    while True:
        n = b[pos]
        if n & 0xC0 == 0xC0:
            return pos + 2
        if n == 0:
            return pos + 1
        pos += n + 1


def parse(msg):
    """(id, flags byte 2, rcode, [RR types of the answer section])."""
    qid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    pos = 12
    for _ in range(qd):
        pos = skip_name(msg, pos) + 4
    types = []
    for _ in range(an):
        pos = skip_name(msg, pos)
        t, _, _, rdl = struct.unpack(">HHIH", msg[pos:pos + 10])
        types.append(t)
        pos += 10 + rdl
    return qid, flags >> 8, flags & 0x0F, types


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise EOFError("connection closed")
        b += chunk
    return b


def tcp_xfr(port, msg, src="127.0.0.1", host="127.0.0.1"):
    """Send a transfer request over TCP; the reply messages, parsed: until
    an error rcode, the closing SOA, or a lone SOA (IXFR: up to date)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.bind((src, 0))
        s.connect((host, port))
        s.sendall(struct.pack(">H", len(msg)) + msg)
        out, soas = [], 0
        while True:
            n = struct.unpack(">H", recv_exact(s, 2))[0]
            m = parse(recv_exact(s, n))
            out.append(m)
            soas += m[3].count(T_SOA)
            if m[2] != 0 or soas >= 2 or (len(out) == 1 and m[3] == [T_SOA]):
                return out


def udp_ask(port, msg, host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(msg, (host, port))
        return parse(s.recv(65535))


class Secondary:
    """A real BIND 9 or Knot with `example.test` as a secondary zone of
    dns01 at 127.0.0.1:primary_port; notifies accepted from 127.0.0.1."""

    def __init__(self, tmpdir, kind, primary_port):
        self.kind = kind
        self.dir = os.path.join(tmpdir, kind)
        os.makedirs(self.dir)
        self.port = bind.free_port()
        self.primary = primary_port
        self.proc = None

    def __enter__(self):
        conf = os.path.join(self.dir, "conf")
        with open(conf, "w") as f:
            f.write(self._bind() if self.kind == "bind" else self._knot())
        argv = (["named", "-g", "-c", conf] if self.kind == "bind"
                else ["knotd", "-c", conf])
        self.logf = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        return self

    def _bind(self):
        d = self.dir
        return f"""options {{
    directory "{d}"; pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port {self.port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
    recursion no; dnssec-validation no; notify no;
}};
controls {{ }};
zone "example.test" {{ type secondary;
    primaries {{ 127.0.0.1 port {self.primary}; }}; file "example.test.bk"; }};
"""

    def _knot(self):
        d = self.dir
        return f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{self.port}
log:
  - target: stdout
    any: info
database:
    storage: "{d}"
remote:
  - id: primary
    address: 127.0.0.1@{self.primary}
acl:
  - id: from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "{d}"
zone:
  - domain: example.test
    master: primary
    acl: from_primary
"""

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()
        return False

    def log(self):
        with open(os.path.join(self.dir, "log")) as f:
            return f.read()

    def txt(self, name):
        r = dig_full(self.port, name, "TXT")
        return r["status"], sorted(rd.strip('"') for _, _, t, rd in r["answer"]
                                   if t == "TXT")

    def wait(self, name, want, timeout=NOTIFY_WAIT):
        deadline, got = time.time() + timeout, None
        while time.time() < deadline:
            got = self.txt(name)
            if got[1] == want:
                return
            time.sleep(0.2)
        raise AssertionError(f"{self.kind}: {name} is {got}, want {want}:\n"
                             + self.log()[-3000:])


class Transfers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.v6 = have_v6_loopback()
        cls.port2 = bind.free_port()
        # The secondaries' ports are chosen before dns01 starts (it
        # notifies them); they start after it (they transfer at once).
        cls.sec = []
        dns_port = harness.free_port(socket.SOCK_DGRAM)
        for kind in ("bind", "knot"):
            cls.sec.append(Secondary(cls.tmp.name, kind, dns_port))
        extra = ["--allow-transfer", "127.0.0.1/32",
                 "--allow-transfer", "2001:db8::/32",
                 "--dns-listen", f"127.0.0.1:{cls.port2}"]
        if cls.v6:
            extra += ["--dns-listen", f"[::1]:{dns_port}"]
        for s in cls.sec:
            extra += ["--notify", f"127.0.0.1:{s.port}"]
        cls.srv = harness.Server(cls.pki, zones=("example.test",), extra=extra)
        cls.srv.dns_port = dns_port
        cls.srv.args[cls.srv.args.index("--dns-listen") + 1] = f"127.0.0.1:{dns_port}"
        cls.srv.__enter__()
        cls.c = cls.srv.client("proxy")
        for s in cls.sec:
            s.__enter__()
        for s in cls.sec:  # the first transfer, at start-up
            deadline = time.time() + NOTIFY_WAIT
            while s.txt("nothing." + ZONE)[0] != "NXDOMAIN":
                if time.time() > deadline:
                    raise RuntimeError(f"{s.kind} never loaded the zone: "
                                       + s.log()[-3000:])
                time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        for s in cls.sec:
            s.__exit__(None, None, None)
        cls.c.close()
        cls.srv.__exit__(None, None, None)
        cls.tmp.cleanup()

    def call(self, action, key, fqdn):
        st, _, body = self.c.post_challenge(challenge(action, key, fqdn=fqdn))
        assert_response(self, st, body, True)

    def serial(self, port=None):
        r = dig_full(port or self.srv.dns_port, ZONE, "SOA")
        return int(r["answer"][0][3].split()[2])

    def test_notify_reaches_secondaries(self):
        name = "_acme-challenge.notify." + ZONE
        self.call("Present", "value-one", name)
        self.call("Present", "value-two", name)
        for s in self.sec:
            s.wait(name, ["value-one", "value-two"])
        self.call("CleanUp", "value-one", name)
        for s in self.sec:
            s.wait(name, ["value-two"])
        self.call("CleanUp", "value-two", name)
        for s in self.sec:
            s.wait(name, [])
        self.assertIn("event=xfr ", self.srv.log())

    def test_axfr_with_dig(self):
        name = "_acme-challenge.dig." + ZONE
        for v in ("a1", "a2", "a3"):
            self.call("Present", v, name)
        out = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.srv.dns_port),
                              "+tcp", "AXFR", ZONE], capture_output=True,
                             text=True, timeout=20).stdout
        rrs = [l.split() for l in out.splitlines()
               if l.strip() and not l.startswith(";")]
        types = [r[3] for r in rrs]
        self.assertEqual(types[0], "SOA", out)
        self.assertEqual(types[-1], "SOA", out)
        self.assertEqual(rrs[0], rrs[-1], out)
        self.assertIn("NS", types, out)
        mine = sorted(r[4].strip('"') for r in rrs if r[0] == name)
        self.assertEqual(mine, ["a1", "a2", "a3"], out)
        for v in ("a1", "a2", "a3"):
            self.call("CleanUp", v, name)

    def test_axfr_several_messages(self):
        # 240 values of 250 bytes: about 68 KiB of TXT RRs, past the
        # 64 KiB message bound, so at least two messages.
        name = "_acme-challenge.big." + ZONE
        vals = [f"{i:04d}" + "x" * 246 for i in range(240)]
        names = [f"n{i // 60}.{name}" for i in range(len(vals))]
        for n, v in zip(names, vals):
            self.call("Present", v, n)
        try:
            msgs = tcp_xfr(self.srv.dns_port, query(ZONE, T_AXFR))
            self.assertGreaterEqual(len(msgs), 2)
            types = [t for m in msgs for t in m[3]]
            self.assertEqual(types[0], T_SOA)
            self.assertEqual(types[-1], T_SOA)
            self.assertGreaterEqual(types.count(T_TXT), 240)
            for qid, flags, rcode, _ in msgs:
                self.assertEqual((qid, rcode), (0x4242, 0))
                self.assertTrue(flags & 0x04, "AA")  # authoritative
        finally:
            for n, v in zip(names, vals):
                self.call("CleanUp", v, n)

    def test_refused_from_other_address(self):
        msgs = tcp_xfr(self.srv.dns_port, query(ZONE, T_AXFR), src="127.0.0.2")
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0][2], 5)  # REFUSED
        self.assertEqual(msgs[0][3], [])
        r = subprocess.run(["dig", "-b", "127.0.0.2", "@127.0.0.1", "-p",
                            str(self.srv.dns_port), "AXFR", ZONE],
                           capture_output=True, text=True, timeout=20).stdout
        self.assertNotIn("IN\tSOA", r)

    def test_axfr_over_udp_formerr(self):
        qid, _, rcode, types = udp_ask(self.srv.dns_port, query(ZONE, T_AXFR))
        self.assertEqual((qid, rcode, types), (0x4242, 1, []))

    def test_not_an_apex_is_notauth(self):
        msgs = tcp_xfr(self.srv.dns_port, query("www." + ZONE, T_AXFR))
        self.assertEqual(msgs[0][2], 9)  # NOTAUTH
        msgs = tcp_xfr(self.srv.dns_port, query("other.test.", T_AXFR))
        self.assertEqual(msgs[0][2], 9)

    def test_ixfr(self):
        cur = self.serial()
        msgs = tcp_xfr(self.srv.dns_port, ixfr_query(cur))
        self.assertEqual([m[3] for m in msgs], [[T_SOA]])  # up to date
        msgs = tcp_xfr(self.srv.dns_port, ixfr_query(cur - 1))
        types = [t for m in msgs for t in m[3]]
        # No history: the whole zone in AXFR form (RFC 1995 §4).
        self.assertEqual((types[0], types[1], types[-1]), (T_SOA, 2, T_SOA))
        # Over UDP: the one SOA, "come back over TCP".
        _, _, rcode, types = udp_ask(self.srv.dns_port, ixfr_query(cur - 1))
        self.assertEqual((rcode, types), (0, [T_SOA]))

    def test_incoming_notify_notimp(self):
        qid, flags, rcode, _ = udp_ask(self.srv.dns_port,
                                       query(ZONE, T_SOA, opcode=4))
        self.assertEqual((qid, rcode), (0x4242, 4))

    def test_every_listener_answers(self):
        name = "_acme-challenge.listen." + ZONE
        self.call("Present", "everywhere", name)
        try:
            for port in (self.srv.dns_port, self.port2):
                for tcp in (False, True):
                    r = dig_full(port, name, "TXT", tcp)
                    self.assertEqual(r["status"], "NOERROR", r["raw"])
                    self.assertEqual(r["answer"][0][3], '"everywhere"')
            if not self.v6:
                self.skipTest("no IPv6 loopback: [::1] not checked")
            out = subprocess.run(["dig", "@::1", "-p", str(self.srv.dns_port),
                                  "+norec", "+short", "TXT", name],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.stdout.strip(), '"everywhere"')
            msgs = tcp_xfr(self.srv.dns_port, query(ZONE, T_AXFR),
                           src="::1", host="::1")
            self.assertEqual(msgs[0][2], 5)  # ::1 is not in the ACL
        finally:
            self.call("CleanUp", "everywhere", name)


class Serial(unittest.TestCase):
    def test_serial_grows_across_restart(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = pki.PKI(tmp)
            srv = harness.Server(p, zones=("example.test",))
            with srv:
                c = srv.client("proxy")
                for i in range(5):
                    st, _, body = c.post_challenge(challenge("Present", f"v{i}"))
                    assert_response(self, st, body, True)
                c.close()
                before = int(dig_full(srv.dns_port, ZONE, "SOA")["answer"][0][3]
                             .split()[2])
            srv2 = harness.Server(p, zones=("example.test",))
            srv2.dns_port, srv2.port = srv.dns_port, srv.port
            srv2.args = srv.args
            with srv2:
                after = int(dig_full(srv.dns_port, ZONE, "SOA")["answer"][0][3]
                            .split()[2])
            # RFC 1982: after is later than before.
            self.assertTrue(0 < (after - before) % 2**32 < 2**31, (before, after))


if __name__ == "__main__":
    for tool in ("dig", "named", "knotd"):
        if shutil.which(tool) is None:
            print(f"{tool} not installed", file=sys.stderr)
            sys.exit(77)
    unittest.main()
