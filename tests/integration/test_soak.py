"""Soak: many Present+CleanUp pairs with the embedded provider over
keep-alive HTTPS from several concurrent connections, each reconnecting
after a batch (every few batches ending with `Connection: close`), then:

- every reply was a 201 ChallengePayload with success true and its uid;
- the server's RSS after the load is within 10% + 512 KiB of its RSS after
  a warm-up (same load pattern), so a leak of a few dozen bytes a request
  fails it; the 512 KiB (128 pages) absorbs page granularity and malloc's
  arena top moving, which are not leaks;
- its file descriptors come back to the count before the first client;
- the embedded DNS holds no TXT record at any name used.

Issue 8 asks for 100,000 requests; the default is 40,000 (a few seconds
on the plain build), D01_SOAK_REQUESTS=100000 runs the full count. Under
valgrind the default is 1/10 and the RSS bound is not checked (the process
is valgrind's; memcheck's exit-time leak check fails a leak instead);
under ASan the quarantine is made small for this server, else it holds
freed memory (256 MiB) and RSS says nothing.
"""
import os
import tempfile
import threading
import time
import unittest

import harness
import loadgen
import pki
from harness import challenge

REQUESTS = loadgen.env_int("D01_SOAK_REQUESTS", loadgen.scaled(100000, valgrind=10))
THREADS = 4
BATCH = 50        # pairs per connection
NAMES = [f"_acme-challenge.s{i}.example.test." for i in range(8)]
RSS_SLACK_KIB = 512


class Soak(unittest.TestCase):
    def test_soak_embedded(self):
        pairs = max(THREADS * 2, REQUESTS // 2)
        per_thread = pairs // THREADS
        warm = max(1, per_thread // 10)  # pairs per thread before the first RSS
        env = None
        if loadgen.ASAN:
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1").lstrip(":")
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            with harness.Server(p, env=env, extra=["--log-level", "warn"]) as srv:
                pid = srv.proc.pid
                time.sleep(0.2)  # the readiness probe's connection closes
                fds0 = loadgen.fd_count(pid)
                warmed = threading.Barrier(THREADS + 1)
                measured = threading.Barrier(THREADS + 1)
                errors, done = [], [0] * THREADS

                def worker(t):
                    conn = None
                    try:
                        for i in range(per_thread):
                            if i == warm:
                                if conn is not None:
                                    conn.close()
                                    conn = None
                                warmed.wait()
                                measured.wait()
                            if conn is None:
                                conn = loadgen.Conn(srv)
                            last = (i + 1) % BATCH == 0 or i + 1 == per_thread or i + 1 == warm
                            close = last and (i // BATCH) % 3 == 2
                            fqdn = NAMES[(t + i) % len(NAMES)]
                            key = f"soak-{t}-{i}"
                            for action in ("Present", "CleanUp"):
                                uid = f"{action[0]}{t}-{i}"
                                conn.send(loadgen.webhook_request("embedded", challenge(
                                    action, key, fqdn=fqdn, uid=uid),
                                    close=close and action == "CleanUp"))
                                st, hdrs, body = conn.response()
                                loadgen.check_payload(st, body, uid, True)
                            done[t] += 1
                            if close:
                                # The server closes after the reply.
                                if conn.rest() != b"":
                                    raise AssertionError("bytes after a Connection: close reply")
                            if last:
                                conn.close()
                                conn = None
                    except BaseException as e:  # noqa: BLE001
                        errors.append(f"thread {t} pair {done[t]}: {e!r}")
                        warmed.abort()
                        measured.abort()
                    finally:
                        if conn is not None:
                            conn.close()

                threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
                t0 = time.time()
                for th in threads:
                    th.start()
                try:
                    warmed.wait()
                    rss_warm = loadgen.rss_kib(pid)
                    measured.wait()
                except threading.BrokenBarrierError:
                    rss_warm = None
                for th in threads:
                    th.join()
                elapsed = time.time() - t0
                self.assertEqual(errors, [])
                rss_end = loadgen.rss_kib(pid)
                fds_end = loadgen.wait_fds(pid, fds0, 20 if loadgen.VALGRIND else 5)
                n = sum(done) * 2
                print(f"soak: {n} requests in {elapsed:.1f} s ({n / elapsed:.0f}/s), "
                      f"RSS {rss_warm} KiB after warm-up, {rss_end} KiB at the end, "
                      f"fds {fds0} -> {fds_end}", flush=True)
                self.assertEqual(n, per_thread * THREADS * 2)
                self.assertLessEqual(fds_end, fds0, "connections left open")
                if not loadgen.VALGRIND:
                    self.assertLessEqual(rss_end, rss_warm * 1.10 + RSS_SLACK_KIB,
                                         f"RSS grew from {rss_warm} to {rss_end} KiB")
                for name in NAMES:
                    status, values = srv.dig(name)
                    self.assertIn(status, ("NXDOMAIN", "NOERROR"), name)
                    self.assertEqual(values, [], name)


if __name__ == "__main__":
    unittest.main()
