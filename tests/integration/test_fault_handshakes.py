"""Hostile connections while a load runs (test_faults.py sends each bad
client once, before good traffic; here they never stop while it flows):
half a ClientHello then FIN or RST, a whole ClientHello then RST, a
handshake abandoned after reading part of the server's reply, a bare
connect then RST, random bytes or a bogus TLS record instead of a
handshake, garbage after a completed handshake, half a request head then
RST, and a whole request then RST while the request waits on its provider
(cloudflare behind the fake's latency: the reply finds no client).

Every good request keeps its correct reply; afterwards the server holds
no connection (each hostile one was noticed and freed; the default 60 s
idle timeout would hide nothing within the 10 s allowed), still answers,
and exits 0 (under valgrind: with no leak or invalid access; under ASan:
clean).
"""
import os
import random
import socket
import ssl
import tempfile
import threading
import time
import unittest

import cloudflare_fake
import harness
import loadgen
import pki
from harness import challenge

GOOD_THREADS = 3
PAIRS = loadgen.scaled(5000, valgrind=25)   # per good thread
NAMES = [f"_acme-challenge.h{i}.example.test." for i in range(GOOD_THREADS)]


class HostileHandshakes(unittest.TestCase):
    def test_hostile_connections_under_load(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            harness.write_secret(os.path.join(d, "s"), "default", "cf", "token", "test-token")
            with cloudflare_fake.Fake(zones=("cf.test",)) as fake, \
                    harness.Server(p, extra=["--secrets-dir", os.path.join(d, "s"),
                                             "--log-level", "warn"],
                                   endpoints=[fake.url]) as srv:
                fake.latency = 0.2
                cfg = {"apiTokenSecretRef": {"name": "cf", "key": "token"},
                       "baseURL": fake.url}
                self.run_storm(srv, cfg)

    def run_storm(self, srv, cfg):
        stop = threading.Event()
        errors, counts = [], {}
        hello = loadgen.client_hello()
        ctx = ssl.create_default_context(cafile=srv.pki.path("serving-ca.crt"))
        ctx.load_cert_chain(*srv.pki.cert("proxy"))
        rng = random.Random()

        def tcp():
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return s

        def rst(s):
            loadgen.linger_rst(s)
            s.close()

        def tls():
            return ctx.wrap_socket(tcp(), server_hostname="127.0.0.1")

        def half_hello_fin():
            s = tcp()
            s.sendall(hello[:len(hello) // 2])
            s.close()

        def half_hello_rst():
            s = tcp()
            s.sendall(hello[:len(hello) // 2])
            rst(s)

        def hello_rst():
            s = tcp()
            s.sendall(hello)
            rst(s)

        def hello_read_fin():
            s = tcp()
            s.sendall(hello)
            s.recv(100)  # part of ServerHello..., then walk away
            s.close()

        def connect_rst():
            rst(tcp())

        def random_bytes():
            s = tcp()
            s.sendall(os.urandom(rng.randrange(1, 3000)))
            s.close()

        def bogus_record():
            s = tcp()
            s.sendall(b"\x16\x03\x01\xff\xff" + os.urandom(200))
            s.close()

        def tls_garbage_rst():
            t = tls()
            t.sendall(b"POST / HTTP/1.1\r\n")
            sock = socket.socket(fileno=os.dup(t.fileno()))
            sock.sendall(os.urandom(500))  # raw bytes under TLS
            rst(sock)
            t.close()

        def half_head_rst():
            t = tls()
            t.sendall(b"POST /apis/" + harness.GROUP.encode() + b"/v1alpha1/embedded HTTP/1.1\r\nHo")
            rst(t)

        n_vanish = [0]

        def request_rst():
            t = tls()
            n_vanish[0] += 1
            t.sendall(loadgen.webhook_request("cloudflare", challenge(
                "Present", f"gone{n_vanish[0]}", fqdn="_acme-challenge.gone.cf.test.",
                zone="cf.test.", uid=f"gone{n_vanish[0]}", config=cfg)))
            time.sleep(0.02)  # in the handler, waiting on the fake
            rst(t)

        kinds = [half_hello_fin, half_hello_rst, hello_rst, hello_read_fin, connect_rst,
                 random_bytes, bogus_record, tls_garbage_rst, half_head_rst, request_rst]

        def hostile():
            i = 0
            while not stop.is_set():
                k = kinds[i % len(kinds)]
                i += 1
                try:
                    k()
                    counts[k.__name__] = counts.get(k.__name__, 0) + 1
                except OSError:
                    counts[k.__name__] = counts.get(k.__name__, 0) + 1
                except BaseException as e:  # noqa: BLE001
                    errors.append(f"hostile {k.__name__}: {e!r}")
                    return

        def good(t):
            conn = None
            try:
                for i in range(PAIRS):
                    if conn is None:
                        conn = loadgen.Conn(srv)
                    for action in ("Present", "CleanUp"):
                        uid = f"{action[0]}{t}-{i}"
                        conn.send(loadgen.webhook_request("embedded", challenge(
                            action, f"k{t}-{i}", fqdn=NAMES[t], uid=uid)))
                        st, _, body = conn.response()
                        loadgen.check_payload(st, body, uid, True)
                    if i % 100 == 99:
                        conn.close()
                        conn = None
            except BaseException as e:  # noqa: BLE001
                errors.append(f"good {t}: {e!r}")
            finally:
                if conn is not None:
                    conn.close()

        bad = [threading.Thread(target=hostile) for _ in range(2)]
        goods = [threading.Thread(target=good, args=(t,)) for t in range(GOOD_THREADS)]
        t0 = time.time()
        for th in bad + goods:
            th.start()
        for th in goods:
            th.join()
        stop.set()
        for th in bad:
            th.join()
        print(f"hostile: {sum(counts.values())} bad connections {counts} while "
              f"{GOOD_THREADS * PAIRS * 2} good requests in {time.time() - t0:.1f} s",
              flush=True)
        self.assertEqual(errors, [])
        for k in kinds:
            self.assertGreater(counts.get(k.__name__, 0), 0, k.__name__)
        left = loadgen.wait_conns(srv.proc.pid, srv.port, 30 if loadgen.VALGRIND else 10)
        self.assertEqual(left, 0, "connections the server still holds")
        st, _, _ = srv.request("GET", "/healthz")
        self.assertEqual(st, 200)
        for name in NAMES:
            self.assertEqual(srv.dig(name)[1], [], name)


if __name__ == "__main__":
    unittest.main()
