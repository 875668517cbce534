"""Zone transfers keyed by TSIG (--allow-transfer key:NAME).

One `dns01 serve` (zone example.test.) with a key file of two keys,
--allow-transfer key:xfr-key and 192.0.2.0/24 (so 127.0.0.1, where every
client here comes from, is allowed only by the key), --notify to a real
BIND 9 secondary whose primary is `127.0.0.1 port N key "xfr-key"`: it
transfers with the key at start-up and follows a Present through NOTIFY.
dig -y and kdig -y (two independent TSIG implementations, each verifying
every message) transfer a zone past 64 KiB, i.e. several messages. The
refusals come from a small TSIG signer written here (stdlib hmac, no
shared code): unsigned REFUSED, another valid key REFUSED and signed
(verified here), a wrong secret NOTAUTH+BADSIG, an unknown key
NOTAUTH+BADKEY. A key:NAME that is not in the key file stops start-up.

Exit 77 when dig, kdig or named is missing (`scripts/deps.sh test`).
"""
import base64
import hashlib
import hmac
import os
import shutil
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
from harness import assert_response, challenge
from test_dns_xfr import (NOTIFY_WAIT, T_SOA, Secondary, parse, recv_exact,
                          skip_name, wire_name)

ZONE = "example.test."
SECRET = base64.b64encode(bytes(range(40, 72))).decode()
OTHER = base64.b64encode(bytes(range(80, 112))).decode()
WRONG = base64.b64encode(bytes(range(120, 152))).decode()
KEYFILE = f"""key "xfr-key" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
key "other-key" {{ algorithm hmac-sha256; secret "{OTHER}"; }};
"""
T_TSIG, T_AXFR = 250, 252
NOERROR, REFUSED, NOTAUTH = 0, 5, 9
BADSIG, BADKEY = 16, 17
ALG = wire_name("hmac-sha256.")


def tsig_vars(key, t, error=0, other=b""):
    return (wire_name(key) + struct.pack(">HI", 255, 0) + ALG
            + struct.pack(">HIHHH", t >> 32, t & 0xFFFFFFFF, 300, error,
                          len(other)) + other)


def signed_axfr(key, secret, qid=0x5151):
    """An AXFR for ZONE signed with key (hmac-sha256): (wire, MAC)."""
    body = wire_name(ZONE) + struct.pack(">HH", T_AXFR, 1)
    msg = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + body
    t = int(time.time())
    mac = hmac.new(base64.b64decode(secret), msg + tsig_vars(key, t),
                   hashlib.sha256).digest()
    rdata = (ALG + struct.pack(">HIHH", t >> 32, t & 0xFFFFFFFF, 300, len(mac))
             + mac + struct.pack(">HHH", qid, 0, 0))
    rr = wire_name(key) + struct.pack(">HHIH", T_TSIG, 255, 0, len(rdata)) + rdata
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1) + body + rr, mac


def first_reply(port, msg):
    """The first reply message to msg over TCP, raw."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(struct.pack(">H", len(msg)) + msg)
        n = struct.unpack(">H", recv_exact(s, 2))[0]
        return recv_exact(s, n)


def reply_tsig(w):
    """(rcode, TSIG error or None, MAC, offset of the TSIG RR, its time)."""
    qd, an, ns, ar = struct.unpack(">HHHH", w[4:12])
    pos = 12
    for _ in range(qd):
        pos = skip_name(w, pos) + 4
    off = None
    for _ in range(an + ns + ar):
        start = pos
        pos = skip_name(w, pos)
        t, _, _, rdl = struct.unpack(">HHIH", w[pos:pos + 10])
        if t == T_TSIG:
            off, rd = start, w[pos + 10:pos + 10 + rdl]
        pos += 10 + rdl
    if off is None:
        return w[3] & 0x0F, None, b"", None, 0
    p = skip_name(rd, 0)
    hi, lo, _, ml = struct.unpack(">HIHH", rd[p:p + 10])
    mac = rd[p + 10:p + 10 + ml]
    error = struct.unpack(">H", rd[p + 12 + ml:p + 14 + ml])[0]
    return w[3] & 0x0F, error, mac, off, hi << 32 | lo


def verify_first(w, key, secret, request_mac, timers_only=False):
    """RFC 8945 §4.3: the first reply's MAC over the request MAC, the reply
    without its TSIG RR (ARCOUNT one less) and the variables; §5.3.1: a
    following message's over the prior MAC, itself and the timers only."""
    _, error, mac, off, t = reply_tsig(w)
    if off is None:
        return False
    ar = struct.unpack(">H", w[10:12])[0]
    msg = w[:10] + struct.pack(">H", ar - 1) + w[12:off]
    tail = (struct.pack(">HIH", t >> 32, t & 0xFFFFFFFF, 300) if timers_only
            else tsig_vars(key, t, error))
    want = hmac.new(base64.b64decode(secret),
                    struct.pack(">H", len(request_mac)) + request_mac + msg
                    + tail, hashlib.sha256).digest()
    return hmac.compare_digest(mac, want)


def all_replies(port, msg):
    """Every reply message of a transfer, raw: until an error rcode or
    the closing SOA."""
    out, soas = [], 0
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(struct.pack(">H", len(msg)) + msg)
        while True:
            n = struct.unpack(">H", recv_exact(s, 2))[0]
            w = recv_exact(s, n)
            out.append(w)
            _, _, rcode, types = parse(w)
            soas += types.count(T_SOA)
            if rcode != 0 or soas >= 2:
                return out


def transfer_tool(tool, port, key, secret):
    argv = ([tool, "@127.0.0.1", "-p", str(port), "-y",
             f"hmac-sha256:{key}:{secret}", "AXFR", ZONE])
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def records(out):
    return [l.split(None, 4) for l in out.splitlines()
            if l.strip() and not l.startswith(";")]


class KeyedSecondary(Secondary):
    """The BIND secondary of test_dns_xfr, pulling with the key."""

    def _bind(self):
        conf = super()._bind()
        conf = conf.replace(f"127.0.0.1 port {self.primary};",
                            f'127.0.0.1 port {self.primary} key "xfr-key";')
        return (f'key "xfr-key" {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n'
                + conf)


class KeyedTransfers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        keyfile = os.path.join(cls.tmp.name, "keys.conf")
        with open(keyfile, "w") as f:
            f.write(KEYFILE)
        dns_port = harness.free_port(socket.SOCK_DGRAM)
        cls.sec = KeyedSecondary(cls.tmp.name, "bind", dns_port)
        extra = ["--tsig-keyfile", keyfile,
                 "--allow-transfer", "192.0.2.0/24",
                 "--allow-transfer", "key:xfr-key",
                 "--notify", f"127.0.0.1:{cls.sec.port}"]
        cls.srv = harness.Server(cls.pki, zones=("example.test",), extra=extra)
        cls.srv.dns_port = dns_port
        cls.srv.args[cls.srv.args.index("--dns-listen") + 1] = f"127.0.0.1:{dns_port}"
        cls.srv.__enter__()
        cls.c = cls.srv.client("proxy")
        cls.sec.__enter__()
        deadline = time.time() + NOTIFY_WAIT
        while cls.sec.txt("nothing." + ZONE)[0] != "NXDOMAIN":
            if time.time() > deadline:
                raise RuntimeError("bind never loaded the zone: "
                                   + cls.sec.log()[-3000:] + cls.srv.log()[-3000:])
            time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.sec.__exit__(None, None, None)
        cls.c.close()
        cls.srv.__exit__(None, None, None)
        log = cls.srv.log()
        cls.tmp.cleanup()
        for s in (SECRET, OTHER, WRONG):
            assert s not in log, "a TSIG secret in the server's log"

    def call(self, action, key, fqdn):
        st, _, body = self.c.post_challenge(challenge(action, key, fqdn=fqdn))
        assert_response(self, st, body, True)

    def test_bind_secondary_follows_with_the_key(self):
        name = "_acme-challenge.keyed." + ZONE
        self.call("Present", "signed-one", name)
        try:
            self.sec.wait(name, ["signed-one"])
        finally:
            self.call("CleanUp", "signed-one", name)
        self.sec.wait(name, [])
        self.assertIn("key=xfr-key.", self.srv.log())

    def test_multi_message_transfer_verified(self):
        # 240 values of 250 bytes: past the 64 KiB message bound, so BIND
        # (after the NOTIFY), dig and kdig each get several messages.
        base = "_acme-challenge.bigkeyed." + ZONE
        vals = [f"{i:04d}" + "y" * 246 for i in range(240)]
        names = [f"n{i // 60}.{base}" for i in range(len(vals))]
        for n, v in zip(names, vals):
            self.call("Present", v, n)
        try:
            # Every message signed, the chain verified by the code here.
            q, prior = signed_axfr("xfr-key.", SECRET)
            msgs = all_replies(self.srv.dns_port, q)
            self.assertGreaterEqual(len(msgs), 2)
            for i, w in enumerate(msgs):
                self.assertTrue(verify_first(w, "xfr-key.", SECRET, prior,
                                             timers_only=i > 0), f"message {i}")
                prior = reply_tsig(w)[2]
            for tool in ("dig", "kdig"):
                r = transfer_tool(tool, self.srv.dns_port, "xfr-key", SECRET)
                out = r.stdout + r.stderr
                rrs = records(r.stdout)
                self.assertEqual(r.returncode, 0, out[-3000:])
                self.assertNotIn("ouldn't verify", out)
                self.assertNotIn("failed", out.lower())
                self.assertEqual([rr[3] for rr in rrs if rr[3] == "SOA"],
                                 ["SOA", "SOA"], out[-3000:])
                mine = [rr for rr in rrs if rr[0].endswith(base)]
                self.assertEqual(len(mine), 240, out[-3000:])
                if tool == "dig":
                    # ";; XFR size: 243 records (messages 2, bytes ...)"
                    n = int(out.split("(messages ", 1)[1].split(",")[0])
                    self.assertGreaterEqual(n, 2, out[-500:])
            self.sec.wait(names[-1], vals[180:])
        finally:
            for n, v in zip(names, vals):
                self.call("CleanUp", v, n)
        self.sec.wait(names[-1], [])

    def test_unsigned_from_an_unlisted_address_refused(self):
        q = struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0) + wire_name(ZONE) \
            + struct.pack(">HH", T_AXFR, 1)
        rcode, error, _, _, _ = reply_tsig(first_reply(self.srv.dns_port, q))
        self.assertEqual((rcode, error), (REFUSED, None))
        r = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.srv.dns_port),
                            "AXFR", ZONE], capture_output=True, text=True,
                           timeout=20).stdout
        self.assertNotIn("IN\tSOA", r)

    def test_other_valid_key_refused_signed(self):
        q, mac = signed_axfr("other-key.", OTHER)
        w = first_reply(self.srv.dns_port, q)
        rcode, error, _, _, _ = reply_tsig(w)
        self.assertEqual((rcode, error), (REFUSED, 0))
        self.assertTrue(verify_first(w, "other-key.", OTHER, mac))
        # The signer here is right: the listed key gets the zone.
        q, mac = signed_axfr("xfr-key.", SECRET)
        w = first_reply(self.srv.dns_port, q)
        self.assertEqual(reply_tsig(w)[:2], (NOERROR, 0))
        self.assertTrue(verify_first(w, "xfr-key.", SECRET, mac))

    def test_bad_secret_badsig_unknown_key_badkey(self):
        q, _ = signed_axfr("xfr-key.", WRONG)
        rcode, error, mac, _, _ = reply_tsig(first_reply(self.srv.dns_port, q))
        self.assertEqual((rcode, error, mac), (NOTAUTH, BADSIG, b""))
        q, _ = signed_axfr("nobody.", SECRET)
        rcode, error, mac, _, _ = reply_tsig(first_reply(self.srv.dns_port, q))
        self.assertEqual((rcode, error, mac), (NOTAUTH, BADKEY, b""))
        r = transfer_tool("dig", self.srv.dns_port, "xfr-key", WRONG)
        self.assertNotIn("IN\tSOA", r.stdout)


class StartUp(unittest.TestCase):
    def test_unknown_key_stops_start_up(self):
        with tempfile.TemporaryDirectory() as tmp:
            keyfile = os.path.join(tmp, "keys.conf")
            with open(keyfile, "w") as f:
                f.write(KEYFILE)
            port = harness.free_port(socket.SOCK_DGRAM)
            base = [harness.BIN, "serve", "--demo", "--secure-port",
                    str(harness.free_port()), "--embedded-zone", "example.test",
                    "--dns-listen", f"127.0.0.1:{port}"]
            for extra, want in (
                    (["--tsig-keyfile", keyfile, "--allow-transfer",
                      "key:missing-key"], "key:missing-key."),
                    (["--allow-transfer", "key:xfr-key"], "--tsig-keyfile")):
                r = subprocess.run(base + extra, capture_output=True, text=True,
                                   timeout=60)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(want, r.stdout + r.stderr)
                self.assertNotIn(SECRET, r.stdout + r.stderr)


if __name__ == "__main__":
    for tool in ("dig", "kdig", "named"):
        if shutil.which(tool) is None:
            print(f"{tool} not installed", file=sys.stderr)
            sys.exit(77)
    unittest.main()
