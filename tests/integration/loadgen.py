"""Helpers for the load, soak and shutdown tests (test_soak.py,
test_fault_upstream.py, test_shutdown_load.py, test_fault_handshakes.py).

- build kind: VALGRIND (dns01 runs under tests/valgrind-dns01) and ASAN
  (the binary carries AddressSanitizer), and scaled(n) that shrinks a load
  for them: valgrind runs dns01 20-50x slower.
- Conn: one raw HTTPS/1.1 connection to the webhook, so a test knows when
  a request's last byte left (send() returns that time) and reads exactly
  one reply per request; anything the server sends beyond it is visible.
- check_payload(): a 201 ChallengePayload echoing the uid.
- rss_kib(), fd_count() and open_conns() of a running process from /proc.
"""
import json
import os
import socket
import ssl
import struct
import time

import harness

VALGRIND = "valgrind" in harness.BIN


def _has_asan(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


ASAN = _has_asan(os.environ.get("DNS01_REAL_BIN", harness.BIN))


def scaled(n, valgrind=50, asan=1):
    """n for the plain build, n/valgrind under valgrind, n/asan under ASan."""
    if VALGRIND:
        return max(1, n // valgrind)
    if ASAN:
        return max(1, n // asan)
    return n


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v else default


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def open_conns(pid, port):
    """Established (or closing) TCP connections of process `pid` whose
    local port is `port`: the server's accepted connections."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    n = 0
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if inode in inodes and int(local.split(":")[1], 16) == port and state != "0A":
                n += 1
    return n


def wait_conns(pid, port, seconds):
    """Poll until the server holds no accepted connection; returns the last
    count."""
    deadline = time.time() + seconds
    while True:
        n = open_conns(pid, port)
        if n == 0 or time.time() > deadline:
            return n
        time.sleep(0.05)


def wait_fds(pid, at_most, seconds):
    """Poll until the process holds at most `at_most` fds; returns the last
    count (closing a connection on the server side takes a loop turn)."""
    deadline = time.time() + seconds
    while True:
        n = fd_count(pid)
        if n <= at_most or time.time() > deadline:
            return n
        time.sleep(0.05)


def webhook_request(solver, request, close=False,
                    user="system:serviceaccount:cert-manager:cert-manager"):
    """The bytes of one POST of a ChallengePayload carrying `request`."""
    body = json.dumps({"apiVersion": harness.PAYLOAD_API, "kind": "ChallengePayload",
                       "request": request}).encode()
    head = (f"POST /apis/{harness.GROUP}/v1alpha1/{solver} HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Remote-User: {user}\r\nContent-Length: {len(body)}\r\n"
            + ("Connection: close\r\n" if close else "") + "\r\n")
    return head.encode() + body


class Closed(Exception):
    """The server closed (or reset) the connection before a whole reply;
    `partial` holds what had arrived of it."""

    def __init__(self, why, partial=b""):
        super().__init__(why)
        self.partial = partial


class Conn:
    """One HTTPS connection with the proxy client certificate."""

    def __init__(self, srv, cert="proxy", timeout=30):
        ctx = ssl.create_default_context(cafile=srv.pki.path("serving-ca.crt"))
        ctx.load_cert_chain(*srv.pki.cert(cert))
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
        # As Go's net/http (the kube-apiserver) does: else Nagle holds a
        # request sent right after the handshake until the server's delayed
        # ACK (40 ms), and "sent" would not mean "on the wire".
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        except BaseException:
            raw.close()
            raise
        self.buf = b""

    def send(self, data):
        """Send all of `data`; returns time.monotonic() once the last byte
        was handed to the kernel (on loopback: is in the server's socket)."""
        self.sock.sendall(data)
        return time.monotonic()

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionError, ssl.SSLError) as e:
            raise Closed(f"{type(e).__name__}: {e}", self.buf) from None
        if not chunk:
            raise Closed("EOF", self.buf)
        self.buf += chunk

    def response(self):
        """(status, {lower-case header: value}, body) of the next reply;
        Closed when the connection ends first. Replies always carry a
        Content-Length here."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        proto, status = lines[0].split(" ", 2)[:2]
        if proto != "HTTP/1.1":
            raise AssertionError(f"bad status line {lines[0]!r}")
        hdrs = {}
        for ln in lines[1:]:
            k, v = ln.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs["content-length"])
        self.buf = rest
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return int(status), hdrs, body

    def rest(self, timeout=5):
        """Everything the server still sends until it closes (b"" when it
        closes at once); raises socket.timeout if it does not close."""
        self.sock.settimeout(timeout)
        out = self.buf
        self.buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionError, ssl.SSLError):
                return out
            if not chunk:
                return out
            out += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def check_payload(status, body, uid, success=True):
    """A 201 ChallengePayload answering request `uid` with `success`
    (True, False, or None for either); returns the decoded response.
    Raises AssertionError otherwise."""
    if status != 201:
        raise AssertionError(f"{uid}: HTTP {status}: {body[:300]!r}")
    o = json.loads(body)
    if o.get("kind") != "ChallengePayload" or o.get("apiVersion") != harness.PAYLOAD_API:
        raise AssertionError(f"{uid}: not a ChallengePayload: {o}")
    r = o.get("response")
    if not isinstance(r, dict) or r.get("uid") != uid:
        raise AssertionError(f"{uid}: response for another uid: {o}")
    if not isinstance(r.get("success"), bool):
        raise AssertionError(f"{uid}: no success flag: {o}")
    if success is not None and r["success"] is not success:
        raise AssertionError(f"{uid}: success {r['success']}, want {success}: {o}")
    if not r["success"]:
        msg = (r.get("status") or {}).get("message")
        if not isinstance(msg, str) or not msg:
            raise AssertionError(f"{uid}: failure without a message: {o}")
    return r


def linger_rst(sock):
    """Make close() send a RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def client_hello(hostname="127.0.0.1"):
    """The bytes of a real TLS ClientHello (from Python's ssl)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()
