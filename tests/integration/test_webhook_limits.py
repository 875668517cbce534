"""HTTP framing and limits on the raw TLS stream: oversized bodies, heads
and request lines get a Status (413/431/414) instead of a hang or a crash;
keep-alive, pipelining, Connection: close, HTTP/1.0 and 100-continue work
(also with curl); TLS >= 1.2 and ALPN never h2 (what the aggregator's client expects)."""
import json
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest
import warnings

import harness
import pki
from harness import challenge

PATH = f"/apis/{harness.GROUP}/v1alpha1/embedded"


class Raw:
    """A TLS connection we write bytes to and read HTTP replies from."""

    def __init__(self, srv, cert="proxy"):
        ctx = ssl.create_default_context(cafile=srv.pki.path("serving-ca.crt"))
        ctx.check_hostname = False
        ctx.load_cert_chain(*srv.pki.cert(cert))
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        self.s = ctx.wrap_socket(raw)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def reply(self):
        """(status, headers, body) of the next reply; skips 100 Continue."""
        while True:
            while b"\r\n\r\n" not in self.buf:
                self._fill()
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            status = int(lines[0].split()[1])
            hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip()
                    for l in lines[1:]}
            if status == 100:
                continue
            n = int(hdrs.get("content-length", "0"))
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
            return status, hdrs, body

    def closed(self):
        try:
            return self.s.recv(1) == b""
        except (ssl.SSLError, OSError):
            return True

    def close(self):
        self.s.close()


def post_bytes(body, extra=b"", chunked=False):
    h = (b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Remote-User: u\r\n"
         b"Content-Type: application/json\r\n" + extra)
    if chunked:
        out = h + b"Transfer-Encoding: chunked\r\n\r\n"
        for i in range(0, len(body), 65536):
            part = body[i:i + 65536]
            out += b"%x\r\n" % len(part) + part + b"\r\n"
        return out + b"0\r\n\r\n"
    return h + b"Content-Length: %d\r\n\r\n" % len(body) + body


def can_speak_tls11(p):
    """True when a TLS 1.1 handshake works between two local Python ends."""
    srv_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cli_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cli_ctx.check_hostname = False
    cli_ctx.verify_mode = ssl.CERT_NONE
    try:
        srv_ctx.load_cert_chain(*p.cert("serving"))
        for c in (srv_ctx, cli_ctx):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                c.minimum_version = c.maximum_version = ssl.TLSVersion.TLSv1_1
            c.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ssl.SSLError, ValueError):
        return False
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(5)

    def serve():
        try:
            conn, _ = ls.accept()
            with srv_ctx.wrap_socket(conn, server_side=True) as t:
                t.recv(1)
        except (OSError, ssl.SSLError):
            pass
    th = threading.Thread(target=serve)
    th.start()
    try:
        with socket.create_connection(ls.getsockname(), timeout=5) as raw:
            with cli_ctx.wrap_socket(raw) as t:
                ok = t.version() == "TLSv1.1"
                t.sendall(b"x")
        return ok
    except (OSError, ssl.SSLError):
        return False
    finally:
        th.join(5)
        ls.close()


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.srv = harness.Server(cls.pki).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        cls.tmp.cleanup()

    def status_body(self, status, body, code):
        harness.assert_status(self, status, body, code)

    def test_body_too_large(self):
        big = b"{" + b" " * (1 << 20) + b"}"
        for chunked in (False, True):
            r = Raw(self.srv)
            r.send(post_bytes(big, chunked=chunked))
            st, hdrs, body = r.reply()
            self.status_body(st, body, 413)
            self.assertEqual(hdrs.get("connection"), "close")
            r.close()
        # Just under the limit is read and judged on its content.
        ok = json.dumps({"request": challenge("Present", "L1")}).encode()
        ok = ok[:-1] + b" " * ((1 << 20) - len(ok)) + b"}"
        r = Raw(self.srv)
        r.send(post_bytes(ok))
        st, _, body = r.reply()
        harness.assert_response(self, st, body, True)
        r.send(post_bytes(json.dumps({"request": challenge("CleanUp", "L1")}).encode()))
        st, _, body = r.reply()
        harness.assert_response(self, st, body, True)
        r.close()

    def test_expect_100_continue(self):
        r = Raw(self.srv)
        body = json.dumps({"request": challenge("Present", "X1")}).encode()
        r.send(post_bytes(b"", extra=b"Expect: 100-continue\r\n")[:-4].rsplit(b"Content-Length", 1)[0]
               + b"Content-Length: %d\r\n\r\n" % len(body))
        # The interim response arrives before we send the body.
        while b"\r\n\r\n" not in r.buf:
            r._fill()
        self.assertTrue(r.buf.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), r.buf)
        r.send(body)
        st, _, data = r.reply()
        harness.assert_response(self, st, data, True)
        r.send(post_bytes(json.dumps({"request": challenge("CleanUp", "X1")}).encode()))
        st, _, data = r.reply()
        harness.assert_response(self, st, data, True)
        r.close()
        # Expect with an oversized Content-Length: 413 without the body.
        r = Raw(self.srv)
        r.send(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Remote-User: u\r\n"
               b"Expect: 100-continue\r\nContent-Length: 5000000\r\n\r\n")
        st, _, data = r.reply()
        self.status_body(st, data, 413)
        r.close()

    def test_head_and_line_limits(self):
        r = Raw(self.srv)
        r.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
               b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 100) for i in range(200)) +
               b"\r\n")
        st, _, body = r.reply()
        self.assertIn(st, (431, 400))
        self.status_body(st, body, st)
        r.close()
        r = Raw(self.srv)
        r.send(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        st, _, body = r.reply()
        self.assertIn(st, (414, 400))
        self.status_body(st, body, st)
        r.close()
        for bad in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"):
            r = Raw(self.srv)
            r.send(bad)
            st, _, body = r.reply()
            self.status_body(st, body, 400)
            r.close()

    def test_keepalive_pipelining_close_http10(self):
        r = Raw(self.srv)
        reqs = b"".join(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" for _ in range(3))
        uids = [f"pipe-{i}" for i in range(6)]
        for i, uid in enumerate(uids):
            action = "Present" if i < 3 else "CleanUp"
            reqs += post_bytes(json.dumps(
                {"request": challenge(action, f"P{i % 3}", uid=uid)}).encode())
        reqs += b"GET /nope HTTP/1.1\r\nHost: x\r\nX-Remote-User: u\r\n\r\n"
        reqs += b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        reqs += b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"  # after close: unanswered
        r.send(reqs)
        for _ in range(3):
            self.assertEqual(r.reply()[::2], (200, b"ok"))
        # Answered in the order sent (each reply echoes its uid).
        for uid in uids:
            st, _, body = r.reply()
            o = harness.assert_response(self, st, body, True)
            self.assertEqual(o["response"]["uid"], uid)
        st, _, body = r.reply()
        self.status_body(st, body, 404)
        st, hdrs, body = r.reply()
        self.assertEqual((st, body), (200, b"ok"))
        self.assertEqual(hdrs.get("connection"), "close")
        self.assertTrue(r.closed())
        self.assertEqual(r.buf, b"")
        r.close()
        self.assertEqual(self.srv.dig("_acme-challenge.www.example.test.")[0], "NXDOMAIN")
        r = Raw(self.srv)
        r.send(b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(r.reply()[::2], (200, b"ok"))
        self.assertTrue(r.closed())
        r.close()
        r = Raw(self.srv)
        r.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        st, hdrs, body = r.reply()
        self.assertEqual(hdrs.get("connection"), "keep-alive")
        r.send(b"GET /livez HTTP/1.0\r\n\r\n")
        self.assertEqual(r.reply()[::2], (200, b"ok"))
        r.close()

    def test_curl_with_expect(self):
        # A real client: curl with the front-proxy certificate, a body and
        # an explicit Expect: 100-continue, then the same for CleanUp.
        cert, key = self.pki.cert("proxy")
        for action in ("Present", "CleanUp"):
            body = json.dumps({"request": challenge(action, "CURL1", uid="curl")})
            body = body[:-1] + " " * 4096 + "}"
            r = subprocess.run(
                ["curl", "-sS", "--max-time", "10", "--cacert",
                 self.pki.path("serving-ca.crt"), "--cert", cert, "--key", key,
                 "-H", "Content-Type: application/json",
                 "-H", "X-Remote-User: system:serviceaccount:cert-manager:cert-manager",
                 "-H", "Expect: 100-continue", "--data-binary", "@-",
                 "-w", "\n%{http_code}",
                 f"https://127.0.0.1:{self.srv.port}{PATH}"],
                input=body, capture_output=True, text=True, timeout=15)
            self.assertEqual(r.returncode, 0, r.stderr)
            data, code = r.stdout.rsplit("\n", 1)
            harness.assert_response(self, int(code), data, True)
            self.assertEqual(self.srv.dig("_acme-challenge.www.example.test."),
                             ("NOERROR", ["CURL1"]) if action == "Present"
                             else ("NXDOMAIN", []))

    def tls_get(self, tweak):
        """GET /healthz over a fresh TLS connection whose context `tweak`
        adjusts; returns (TLS version, ALPN protocol, reply bytes)."""
        ctx = ssl.create_default_context(cafile=self.pki.path("serving-ca.crt"))
        ctx.check_hostname = False
        ctx.load_cert_chain(*self.pki.cert("proxy"))
        tweak(ctx)
        raw = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        with ctx.wrap_socket(raw) as s:
            version, alpn = s.version(), s.selected_alpn_protocol()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return version, alpn, data

    def test_tls_versions_and_alpn(self):
        # Go's aggregator transport offers h2 first: the server must pick
        # http/1.1 or nothing, never h2 (§4.3).
        _, alpn, data = self.tls_get(lambda c: c.set_alpn_protocols(["h2", "http/1.1"]))
        self.assertIn(alpn, (None, "http/1.1"))
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)

        # TLS 1.2 alone is enough (the reference minimum).
        def tls12(c):
            c.minimum_version = c.maximum_version = ssl.TLSVersion.TLSv1_2
        version, _, data = self.tls_get(tls12)
        self.assertEqual(version, "TLSv1.2")
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)

        # Below 1.2 is refused: only meaningful when this Python/OpenSSL
        # can still speak TLS 1.1 (shown against a local server).
        def tls11(c):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                c.minimum_version = c.maximum_version = ssl.TLSVersion.TLSv1_1
            c.set_ciphers("DEFAULT:@SECLEVEL=0")
        if not can_speak_tls11(self.pki):
            self.skipTest("this OpenSSL cannot negotiate TLS 1.1 at all")
        with self.assertRaises((ssl.SSLError, ConnectionError)):
            self.tls_get(tls11)

    def test_head_method(self):
        r = Raw(self.srv)
        r.send(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        while b"\r\n\r\n" not in r.buf:
            r._fill()
        head, r.buf = r.buf.split(b"\r\n\r\n", 1)
        self.assertIn(b"Content-Length: 2", head)
        # No body after a HEAD reply: the next bytes are the next reply.
        self.assertEqual(r.reply()[::2], (200, b"ok"))
        r.close()


if __name__ == "__main__":
    unittest.main()
