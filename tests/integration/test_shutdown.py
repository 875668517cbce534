"""SIGTERM with requests in flight: the listener closes at once, every
request already received is answered (here the provider waits on a DNS
server that never replies, so they are all still running), and the process
exits 0 once they are done."""
import json
import signal
import socket
import tempfile
import threading
import time
import unittest

import harness
import pki
from harness import challenge

N = 16


class Shutdown(unittest.TestCase):
    def test_sigterm_drains_in_flight_requests(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            # A UDP socket that reads nothing: every query times out.
            hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            hole.bind(("127.0.0.1", 0))
            cfg = {"nameserver": f"127.0.0.1:{hole.getsockname()[1]}"}
            srv = harness.Server(p, zones=(), extra=["--log-level", "info"])
            srv.__enter__()
            results = [None] * N
            clients = [srv.client("proxy") for _ in range(N)]

            def one(i):
                try:
                    st, _, body = clients[i].post_challenge(
                        challenge("Present", f"S{i}", config=cfg), solver="rfc2136")
                    results[i] = (st, json.loads(body))
                except Exception as e:  # noqa: BLE001
                    results[i] = e

            threads = [threading.Thread(target=one, args=(i,)) for i in range(N)]
            for t in threads:
                t.start()
            time.sleep(0.5)  # all sent and waiting on the provider
            t0 = time.time()
            srv.proc.send_signal(signal.SIGTERM)
            # No longer accepting, once the signal is handled (valgrind
            # takes its time): refused within 5 s, while the in-flight
            # requests are still draining.
            refused, deadline = False, time.time() + 5
            while not refused and time.time() < deadline:
                time.sleep(0.1)
                try:
                    socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
                except OSError:
                    refused = True
            self.assertTrue(refused, "still accepting 5 s after SIGTERM")
            for t in threads:
                t.join(30)
            rc = srv.proc.wait(timeout=30)
            srv.logf.close()
            hole.close()
            self.assertEqual(rc, 0)
            self.assertLess(time.time() - t0, 25)
            for i, r in enumerate(results):
                with self.subTest(request=i):
                    self.assertIsInstance(r, tuple, r)
                    st, o = r
                    self.assertEqual(st, 201)
                    self.assertIs(o["response"]["success"], False)
                    self.assertIn("timeout", o["response"]["status"]["message"])
            log = srv.log()
            self.assertEqual(log.count("event=webhook"), N)
            self.assertIn("event=stopped reason=drained", log)


if __name__ == "__main__":
    unittest.main()
