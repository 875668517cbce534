"""Hostile clients while real work goes on: garbage over TLS and in place
of a handshake, stalled handshakes, heads that stop half way, bodies that
stop half way, a flood of malformed and oversized DNS packets. The server
must keep answering good clients, close the bad ones within its timeouts,
and exit 0 afterwards."""
import os
import socket
import ssl
import tempfile
import threading
import time
import unittest

import harness
import pki
from harness import assert_response, challenge

FQDN = "_acme-challenge.www.example.test."


def tls(srv, cert="proxy"):
    ctx = ssl.create_default_context(cafile=srv.pki.path("serving-ca.crt"))
    ctx.check_hostname = False
    ctx.load_cert_chain(*srv.pki.cert(cert))
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port), timeout=10))


def closed_within(sock, seconds):
    """True when the server closes `sock` (EOF or reset) within seconds;
    whatever it says first (a 408 Status) is read and ignored."""
    sock.settimeout(seconds)
    deadline = time.time() + seconds
    try:
        while time.time() < deadline:
            if sock.recv(4096) == b"":
                return True
    except (ssl.SSLError, ConnectionError):
        return True
    except (socket.timeout, TimeoutError):
        return False
    return False


class Faults(unittest.TestCase):
    def test_hostile_clients_do_not_disturb_good_ones(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            extra = ["--request-timeout", "1s", "--idle-timeout", "2s", "--log-level", "warn"]
            with harness.Server(p, extra=extra) as srv:
                bad = []
                # Plain TCP garbage instead of a TLS ClientHello.
                s = socket.create_connection(("127.0.0.1", srv.port))
                s.sendall(os.urandom(3000))
                bad.append(("garbage handshake", s, 3))
                # A TCP connection that never starts TLS.
                bad.append(("silent", socket.create_connection(("127.0.0.1", srv.port)), 4))
                # TLS, then half a head, then nothing (slowloris).
                t = tls(srv)
                t.sendall(b"POST /apis/x HTTP/1.1\r\nHost: x\r\nX-A: ")
                bad.append(("half head", t, 3))
                # TLS, a full head promising a body that never comes.
                t = tls(srv)
                t.sendall(b"POST /apis/" + harness.GROUP.encode() +
                          b"/v1alpha1/embedded HTTP/1.1\r\nHost: x\r\n"
                          b"X-Remote-User: u\r\nContent-Length: 100\r\n\r\n{")
                bad.append(("half body", t, 3))
                # TLS garbage after the handshake.
                t = tls(srv)
                t.sendall(os.urandom(5000))
                bad.append(("tls garbage", t, 3))

                # Good traffic keeps flowing meanwhile.
                c = srv.client("proxy")
                start = time.time()
                for i in range(100):
                    k = f"G{i}"
                    assert_response(self, *c.post_challenge(challenge("Present", k))[::2], True)
                    assert_response(self, *c.post_challenge(challenge("CleanUp", k))[::2], True)
                self.assertLess(time.time() - start, 20)
                c.close()
                for name, sock, limit in bad:
                    with self.subTest(client=name):
                        self.assertTrue(closed_within(sock, limit), name)
                    sock.close()
                self.assertEqual(srv.dig(FQDN)[0], "NXDOMAIN")

    def test_dns_flood_while_webhook_works(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            with harness.Server(p, extra=["--log-level", "warn"]) as srv:
                stop = threading.Event()

                def flood():
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    n = 0
                    while not stop.is_set():
                        size = (12, 40, 512, 4096, 65000)[n % 5]
                        u.sendto(os.urandom(size), ("127.0.0.1", srv.dns_port))
                        n += 1
                    u.close()
                    # Oversized and truncated TCP frames.
                    for frame in (b"\xff\xff" + os.urandom(1000), b"\x00\x05ab",
                                  b"\x00\x00", os.urandom(70000)):
                        try:
                            t = socket.create_connection(("127.0.0.1", srv.dns_port), timeout=2)
                            t.sendall(frame)
                            t.close()
                        except OSError:
                            pass

                th = threading.Thread(target=flood)
                th.start()
                try:
                    c = srv.client("proxy")
                    for i in range(50):
                        assert_response(self, *c.post_challenge(
                            challenge("Present", f"F{i}"))[::2], True)
                    # TCP: UDP answers may be crowded out by the flood,
                    # as on any server; the TCP listener must not be.
                    self.assertEqual(len(srv.dig(FQDN, tcp=True)[1]), 50)
                    for i in range(50):
                        assert_response(self, *c.post_challenge(
                            challenge("CleanUp", f"F{i}"))[::2], True)
                    c.close()
                finally:
                    stop.set()
                    th.join()
                self.assertEqual(srv.dig(FQDN)[0], "NXDOMAIN")
                self.assertEqual(srv.dig(FQDN, tcp=True)[0], "NXDOMAIN")


if __name__ == "__main__":
    unittest.main()
