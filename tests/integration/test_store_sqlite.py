"""The SQLite store (issue 17, item 3): `dns01 serve --embedded-store
sqlite:PATH`, one durable node.

- a Present answered success survives kill -9 and a restart on the same
  file (and a CleanUp answered success stays done);
- many Presents in flight at once (the writes are committed with
  synchronous=FULL on the worker thread, never on the loop) while DNS keeps
  answering every query within a generous bound; the Presents/s through
  the store is printed (a figure, not pass/fail);
- a slow disk (an LD_PRELOAD shim, tests/shim/slowsync.c, makes every
  fsync take 1.5 s): while Presents wait on it, DNS answers within 0.5 s
  (it fails when the SQLite calls run on the loop); skipped in sanitizer
  builds (no shim) and under valgrind;
- a file that cannot be opened stops start-up with a clear message.

Under valgrind the burst is smaller (BURST below).
"""
import concurrent.futures
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
import pki
from test_replicas import metrics, txt_query, txt_values

VALGRIND = os.environ.get("DNS01_BIN", "").endswith("valgrind-dns01") or "valgrind" in harness.BIN
BURST = 40 if VALGRIND else 300
WAIT = 60 if VALGRIND else 20


def fqdn(i):
    return f"_acme-challenge.s{i}.example.test."


class StoreSQLite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.db = os.path.join(cls.tmp.name, "dns01.db")
        cls.srv = cls.start()

    @classmethod
    def tearDownClass(cls):
        if cls.srv.proc.poll() is None:
            cls.srv.__exit__(None, None, None)
        cls.tmp.cleanup()

    @classmethod
    def start(cls, like=None):
        mport = like.mport if like else harness.free_port()
        s = harness.Server(cls.pki, extra=[
            "--embedded-store", f"sqlite:{cls.db}", "--provider-timeout", "8s",
            "--metrics-port", str(mport), "--metrics-bind-address", "127.0.0.1"])
        if like:
            s.port, s.dns_port = like.port, like.dns_port
            for i, a in enumerate(s.args):
                if a == "--secure-port":
                    s.args[i + 1] = str(like.port)
                if a == "--dns-listen":
                    s.args[i + 1] = f"127.0.0.1:{like.dns_port}"
        s.mport = mport
        return s.__enter__()

    def call(self, action, key, name):
        c = self.srv.client("proxy")
        try:
            st, _, body = c.post_challenge(harness.challenge(action, key, fqdn=name))
        finally:
            c.close()
        return st, body

    def ok(self, action, key, name):
        st, body = self.call(action, key, name)
        harness.assert_response(self, st, body, True)

    def test_a_many_writes_in_flight_dns_answers(self):
        names = [fqdn(f"b{i}") for i in range(BURST)]
        stop = threading.Event()
        worst = [0.0]
        unanswered = [0]

        def ask():
            while not stop.is_set():
                t0 = time.monotonic()
                if txt_query(self.srv.dns_port, fqdn("nothing"), timeout=2) is None:
                    unanswered[0] += 1
                worst[0] = max(worst[0], time.monotonic() - t0)
                time.sleep(0.005)

        asker = threading.Thread(target=ask)
        asker.start()
        try:
            t0 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(16) as ex:
                res = list(ex.map(lambda i: self.call("Present", f"b{i}", names[i]),
                                  range(BURST)))
            rate = BURST / (time.monotonic() - t0)
        finally:
            stop.set()
            asker.join()
        for st, body in res:
            harness.assert_response(self, st, body, True)
        print(f"\nsqlite: {BURST} concurrent Presents (16 clients) {rate:.0f}/s; "
              f"slowest DNS answer meanwhile {worst[0]*1000:.1f} ms", file=sys.stderr)
        self.assertEqual(unanswered[0], 0, "DNS did not answer within 2 s during writes")
        for i in (0, BURST - 1):
            self.assertEqual(txt_values(self.srv.dns_port, names[i]), [f"b{i}"])
        self.assertGreaterEqual(metrics(self.srv.mport)["dns01_embedded_store_records"], BURST)

    def test_b_survives_kill9(self):
        n, gone = fqdn("keep"), fqdn("gone")
        self.ok("Present", "kept", n)
        self.ok("Present", "gone", gone)
        self.ok("CleanUp", "gone", gone)
        self.assertEqual(txt_values(self.srv.dns_port, n), ["kept"])
        old = self.srv
        old.proc.send_signal(signal.SIGKILL)
        old.proc.wait()
        old.logf.close()
        type(self).srv = self.start(like=old)
        self.assertEqual(txt_values(self.srv.dns_port, n), ["kept"])
        self.assertEqual(txt_values(self.srv.dns_port, gone), [])
        self.assertEqual(self.srv.dig(n)[1], ["kept"])

    def test_b_slow_disk_dns_answers(self):
        shim = os.environ.get("D01_SLOWSYNC")
        if not shim or VALGRIND:
            self.skipTest("no fsync shim (sanitizer build) or under valgrind")
        flag = os.path.join(self.tmp.name, "slow")
        db = os.path.join(self.tmp.name, "slow.db")
        env = dict(os.environ, LD_PRELOAD=shim, D01_SLOWSYNC_FILE=flag, D01_SLOWSYNC_MS="1500")
        s = harness.Server(self.pki, env=env, extra=[
            "--embedded-store", f"sqlite:{db}", "--provider-timeout", "20s"]).__enter__()
        try:
            open(flag, "w").close()
            done = []

            def present(i):
                c = s.client("proxy")
                try:
                    done.append(c.post_challenge(harness.challenge(
                        "Present", f"slow{i}", fqdn=fqdn(f"slow{i}")))[0])
                finally:
                    c.close()

            ts = [threading.Thread(target=present, args=(i,)) for i in range(3)]
            started = time.monotonic()
            for t in ts:
                t.start()
            time.sleep(0.3)
            worst, asked = 0.0, 0
            while any(t.is_alive() for t in ts) and asked < 200:
                t0 = time.monotonic()
                self.assertIsNotNone(txt_query(s.dns_port, fqdn("x"), timeout=5))
                worst = max(worst, time.monotonic() - t0)
                asked += 1
                time.sleep(0.02)
            for t in ts:
                t.join()
            took = time.monotonic() - started
            os.unlink(flag)
            print(f"\nsqlite, fsync 1.5 s: {asked} DNS answers while 3 Presents waited "
                  f"on the disk, slowest {worst*1000:.1f} ms", file=sys.stderr)
            self.assertEqual(done, [201, 201, 201])
            self.assertGreater(took, 1.4, "the shim did not slow fsync down")
            self.assertGreater(asked, 10)
            self.assertLess(worst, 0.5, "the loop waited on the disk")
            self.assertEqual(txt_values(s.dns_port, fqdn("slow0")), ["slow0"])
        finally:
            s.__exit__(None, None, None)

    def test_c_unopenable_file_stops_startup(self):
        r = subprocess.run([harness.BIN, "serve", "--demo", "--bind-address", "127.0.0.1",
                            "--secure-port", str(harness.free_port()),
                            "--embedded-zone", "example.test",
                            "--dns-listen", f"127.0.0.1:{harness.free_port()}",
                            "--embedded-store", "sqlite:/nonexistent-dir/x/dns01.db"],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("sqlite store (sqlite:/nonexistent-dir/x/dns01.db)", r.stderr + r.stdout)


if __name__ == "__main__":
    unittest.main()
