"""Denial of service before authentication (issue 12, item 3), through the
real binary:

- a head that cannot authenticate gets its 401 right after the head: no
  100 Continue, no body buffered (dns01_http_body_bytes stays 0 however
  many such connections are open);
- bodies buffered at once, all connections together, are capped
  (--max-body-bytes-total): past it a 503 Status with Retry-After;
- at --max-connections a new client is still served: the oldest
  connection no authenticated client used is closed to make room;
- a TLS handshake trickled a byte at a time is closed at --head-timeout;
- out of file descriptors, accept() errors back off: bounded CPU and log
  lines, and the server serves again once connections close;
- duplicate X-Remote-User (empty first) is not the second value (item 7).
"""
import os
import resource
import socket
import ssl
import tempfile
import time
import unittest

import harness
import pki
from test_webhook_limits import PATH, Raw

MIB = 1 << 20
CM_USER = "system:serviceaccount:cert-manager:cert-manager"


def metrics(srv):
    """/metrics over HTTPS with the front-proxy certificate: {name: value}."""
    st, _, body = srv.request("GET", "/metrics", headers={"X-Remote-User": CM_USER},
                              cert="proxy")
    assert st == 200, body
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def big_head(user=b"X-Remote-User: u\r\n"):
    return (b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n" + user +
            b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % MIB)


def read_head(r, timeout=10):
    """The first reply head on `r` (bytes), read without sending more."""
    r.s.settimeout(timeout)
    while b"\r\n\r\n" not in r.buf:
        r._fill()
    return r.buf.split(b"\r\n\r\n", 1)[0]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class HeadAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.srv = harness.Server(cls.pki, extra=[
            "--max-body-bytes-total", str(2 * MIB + MIB // 2)]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        cls.tmp.cleanup()

    def test_unauthenticated_heads_buffer_nothing(self):
        # No certificate, a certificate without the user header, and the
        # right certificate with an empty user header: 401 from the head.
        conns = []
        for i in range(60):
            cert = (None, "untrusted", "proxy")[i % 3]
            r = Raw(self.srv, cert=cert) if cert else self.raw_nocert()
            r.send(big_head(b"" if cert == "untrusted" else
                            b"X-Remote-User: \r\n" if cert == "proxy" else
                            b"X-Remote-User: u\r\n"))
            head = read_head(r)
            self.assertFalse(head.startswith(b"HTTP/1.1 100"), head)
            self.assertTrue(head.startswith(b"HTTP/1.1 401 "), head)
            self.assertIn(b"Connection: close", head)
            # Some body bytes now: they are never buffered.
            try:
                r.send(b" " * 65536)
            except OSError:
                pass
            conns.append(r)
        m = metrics(self.srv)
        self.assertEqual(m["dns01_http_body_bytes"], 0)
        for r in conns:
            r.close()

    def raw_nocert(self):
        r = Raw.__new__(Raw)
        ctx = ssl.create_default_context(cafile=self.srv.pki.path("serving-ca.crt"))
        ctx.check_hostname = False
        r.s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.srv.port),
                                                       timeout=10))
        r.buf = b""
        return r

    def test_body_total_cap_503(self):
        held = []
        for _ in range(2):  # 2 MiB reserved: within the 2.5 MiB cap
            r = Raw(self.srv)
            r.send(big_head(b"X-Remote-User: %s\r\n" % CM_USER.encode()))
            self.assertTrue(read_head(r).startswith(b"HTTP/1.1 100 Continue"))
            held.append(r)
        self.assertEqual(metrics(self.srv)["dns01_http_body_bytes"], 2 * MIB)
        r = Raw(self.srv)
        r.send(big_head(b"X-Remote-User: %s\r\n" % CM_USER.encode()))
        st, hdrs, body = r.reply()
        o = harness.assert_status(self, st, body, 503)
        self.assertEqual(o["reason"], "ServiceUnavailable")
        self.assertEqual(hdrs.get("retry-after"), "1")
        self.assertEqual(hdrs.get("connection"), "close")
        r.close()
        for r in held:
            r.close()
        # Released with their connections; small requests go on.
        deadline = time.time() + 10
        while metrics(self.srv)["dns01_http_body_bytes"] != 0 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(metrics(self.srv)["dns01_http_body_bytes"], 0)

    def test_duplicate_user_header_first_decides(self):
        for hdrs, code in (
                (b"X-Remote-User: \r\nX-Remote-User: admin\r\n", 401),
                (b"X-Remote-User: admin\r\nX-Remote-User: \r\n", 200)):
            r = Raw(self.srv)
            r.send(b"GET /apis HTTP/1.1\r\nHost: x\r\n" + hdrs + b"\r\n")
            st, _, body = r.reply()
            self.assertEqual(st, code, body)
            r.close()


class ConnectionCap(unittest.TestCase):
    def test_oldest_unauthenticated_closed_for_new_client(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            with harness.Server(p, extra=["--max-connections", "8"]) as srv:
                # One authenticated keep-alive connection: kept at the cap.
                kept = srv.client("proxy")
                st, _, _ = kept.request("GET", "/apis", headers={"X-Remote-User": CM_USER})
                self.assertEqual(st, 200)
                idle = []
                for _ in range(7):
                    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                    idle.append(s)
                    time.sleep(0.05)  # accept order = age
                time.sleep(0.3)
                # Five newcomers, each served and kept open (so each
                # arrives at the cap): the five oldest idle ones go.
                newcomers = []
                for _ in range(5):
                    c = srv.client("proxy")
                    st, _, _ = c.request("GET", "/apis", headers={"X-Remote-User": CM_USER})
                    self.assertEqual(st, 200)
                    newcomers.append(c)
                for i, s in enumerate(idle):
                    s.settimeout(0.5 if i >= 5 else 5)
                    try:
                        closed = s.recv(1) == b""
                    except socket.timeout:
                        closed = False
                    except OSError:
                        closed = True
                    self.assertEqual(closed, i < 5, f"idle connection {i}")
                    s.close()
                st, _, _ = kept.request("GET", "/apis", headers={"X-Remote-User": CM_USER})
                self.assertEqual(st, 200)
                kept.close()
                for c in newcomers:
                    c.close()
                self.assertGreaterEqual(metrics(srv)["dns01_http_connections_evicted_total"], 5)


class Deadlines(unittest.TestCase):
    def test_trickled_handshake_closed_at_head_timeout(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            with harness.Server(p, extra=["--head-timeout", "1s"]) as srv:
                # A real ClientHello, sent one byte every 0.2 s.
                ctx = ssl.create_default_context()
                inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
                obj = ctx.wrap_bio(inc, out, server_hostname="x")
                try:
                    obj.do_handshake()
                except ssl.SSLWantReadError:
                    pass
                hello = out.read()
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                start, closed = time.time(), False
                for b in hello:
                    try:
                        s.sendall(bytes([b]))
                    except OSError:
                        closed = True
                        break
                    time.sleep(0.2)
                    if time.time() - start > 15:
                        break
                if not closed:
                    s.settimeout(max(0.1, 15 - (time.time() - start)))
                    try:
                        closed = s.recv(1) == b""
                    except socket.timeout:
                        closed = False
                    except OSError:
                        closed = True
                took = time.time() - start
                s.close()
                self.assertTrue(closed, "still open after 15 s")
                self.assertLess(took, 8)  # 1 s deadline; generous on a loaded box


def low_nofile(n):
    def pre():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return pre


class FdExhaustion(unittest.TestCase):
    def test_accept_errors_back_off_and_recover(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            srv = harness.Server(p, extra=["--max-connections", "1000"])
            orig = harness.subprocess.Popen

            def popen(*a, **kw):
                return orig(*a, preexec_fn=low_nofile(64), **kw)
            harness.subprocess.Popen = popen
            try:
                srv.__enter__()
            finally:
                harness.subprocess.Popen = orig
            try:
                socks = []
                for _ in range(120):
                    socks.append(socket.create_connection(("127.0.0.1", srv.port),
                                                          timeout=10))
                time.sleep(0.5)
                c0, t0 = cpu_seconds(srv.proc.pid), time.time()
                time.sleep(3)
                used = cpu_seconds(srv.proc.pid) - c0
                wall = time.time() - t0
                # Spinning would use all of it; backing off next to none.
                self.assertLess(used, wall * 0.3, f"{used:.2f} s CPU in {wall:.2f} s")
                lines = [l for l in srv.log().splitlines() if "http_accept_failed" in l]
                self.assertGreater(len(lines), 0)
                self.assertLessEqual(len(lines), 10, lines[:3])
                self.assertIn("suppressed=", lines[-1])
                for s in socks:
                    s.close()
                # The server serves again once descriptors are free.
                deadline, st = time.time() + 20, None
                while time.time() < deadline:
                    try:
                        st, _, _ = srv.request("GET", "/healthz")
                        if st == 200:
                            break
                    except (OSError, ssl.SSLError):
                        time.sleep(0.2)
                self.assertEqual(st, 200)
            finally:
                srv.__exit__(None, None, None)


if __name__ == "__main__":
    unittest.main()
