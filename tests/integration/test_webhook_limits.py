"""HTTP framing and limits on the raw TLS stream: oversized bodies, heads
and request lines get a Status (413/431/414) instead of a hang or a crash;
keep-alive, pipelining, Connection: close, HTTP/1.0 and 100-continue work."""
import json
import socket
import ssl
import tempfile
import unittest

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
        reqs += post_bytes(json.dumps({"request": challenge("Present", "P1")}).encode())
        reqs += post_bytes(json.dumps({"request": challenge("CleanUp", "P1")}).encode())
        reqs += b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        r.send(reqs)
        for _ in range(3):
            self.assertEqual(r.reply()[::2], (200, b"ok"))
        for _ in range(2):
            st, _, body = r.reply()
            harness.assert_response(self, st, body, True)
        st, hdrs, body = r.reply()
        self.assertEqual((st, body), (200, b"ok"))
        self.assertEqual(hdrs.get("connection"), "close")
        self.assertTrue(r.closed())
        r.close()
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
