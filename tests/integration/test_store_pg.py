"""The PostgreSQL store (issue 17, item 3): two `dns01 serve` instances,
A and B, with the same embedded zone on one real PostgreSQL 15 started by
pg.py (`--embedded-store postgres://dns01:<password>@127.0.0.1:<port>/...`);
values written through the webhook (the embedded provider):

- a Present through A is served by B (polled over UDP in process), a
  CleanUp through B removes it from A, and the row names its writer;
- 100 Presents through A: the convergence delay A -> B (p50/p99) and the
  Presents/s of a concurrent burst are printed (figures, not pass/fail);
- accounts: test_dbstore (the unit test binary) runs its two-store case
  against this PostgreSQL: an account created through one store's
  acct_start is in the other's sink, a second owner of its subdomain is a
  conflict;
- a value older than --embedded-record-ttl is deleted (by any instance;
  a third one with a 4 s TTL scans every second) and leaves A and B;
- PostgreSQL restarted: both instances keep answering DNS from memory, a
  Present during the outage fails within its deadline naming the store,
  both turn stale and reconnect, and then converge;
- kill -9 of A during a burst of Presents: every Present answered success
  is served by B, and by A once restarted;
- the URL's password (the right one, and a wrong one that is refused)
  never appears in any instance's output.

Exit 77 (skipped) when Debian's PostgreSQL 15 binaries are not installed.
Under valgrind the bursts are smaller (BURST below).
"""
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import time
import unittest

import harness
import pg
import pki
from test_replicas import answers, metrics, txt_values

VALGRIND = os.environ.get("DNS01_BIN", "").endswith("valgrind-dns01") or "valgrind" in harness.BIN
BURST = 30 if VALGRIND else 150
NCONV = 20 if VALGRIND else 100
WAIT = 60 if VALGRIND else 20
STALE_S = 2


def fqdn(i):
    return f"_acme-challenge.p{i}.example.test."


class StorePG(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.pg = pg.Postgres()
        cls.pg.start()
        cls.srvs = [cls.start_instance(n) for n in "ab"]

    @classmethod
    def tearDownClass(cls):
        for s in cls.srvs:
            if s.proc.poll() is None:
                s.__exit__(None, None, None)
        cls.pg.cleanup()
        cls.tmp.cleanup()

    @classmethod
    def start_instance(cls, name, ttl="1h", url=None, like=None):
        mport = like.mport if like else harness.free_port()
        env = dict(os.environ, POD_NAME=f"dns01-{name}")
        s = harness.Server(cls.pki, env=env, extra=[
            "--embedded-store", url or cls.pg.url,
            "--provider-timeout", "8s", "--embedded-record-ttl", ttl,
            "--embedded-store-stale-after", f"{STALE_S}s",
            "--metrics-port", str(mport), "--metrics-bind-address", "127.0.0.1"])
        if like:  # a restart on the same ports
            s.port, s.dns_port = like.port, like.dns_port
            for i, a in enumerate(s.args):
                if a == "--secure-port":
                    s.args[i + 1] = str(like.port)
                if a == "--dns-listen":
                    s.args[i + 1] = f"127.0.0.1:{like.dns_port}"
        s.mport = mport
        return s.__enter__()

    def call(self, srv, action, key, name):
        c = srv.client("proxy")
        try:
            st, _, body = c.post_challenge(harness.challenge(action, key, fqdn=name))
        finally:
            c.close()
        return st, body

    def ok(self, srv, action, key, name):
        st, body = self.call(srv, action, key, name)
        harness.assert_response(self, st, body, True)

    def wait_served(self, srv, name, want, timeout=WAIT):
        t0 = time.time()
        while True:
            vals = txt_values(srv.dns_port, name)
            if vals is not None and sorted(vals) == sorted(want):
                return time.time() - t0
            if time.time() - t0 > timeout:
                self.fail(f"{name} on :{srv.dns_port}: want {sorted(want)}, have {vals}")
            time.sleep(0.01)

    def first_reply(self, srv, name):
        """The values of the first reply (a lost UDP reply, slow under
        valgrind, is asked again; a wrong one is not)."""
        t0 = time.time()
        while (vals := txt_values(srv.dns_port, name)) is None:
            self.assertLess(time.time() - t0, WAIT, f"no reply from :{srv.dns_port}")
        return vals

    def wait_metric(self, srv, name, pred, timeout=WAIT):
        t0 = time.time()
        while True:
            v = metrics(srv.mport).get(name)
            if v is not None and pred(v):
                return v
            self.assertLess(time.time() - t0, timeout, f"{name} on :{srv.port}: {v}")
            time.sleep(0.1)

    def test_a_present_on_a_served_by_b_cleanup_on_b(self):
        a, b = self.srvs
        n = fqdn("x1")
        self.ok(a, "Present", "v-one", n)
        self.assertEqual(self.first_reply(a, n), ["v-one"])  # A serves it when it answers
        self.wait_served(b, n, ["v-one"])
        self.assertEqual(b.dig(n)[1], ["v-one"])  # and a real resolver agrees
        rows = self.pg.sql(f"SELECT zone, writer FROM dns01_values WHERE fqdn = '{n}'")
        self.assertEqual(rows, [["example.test.", "dns01-a"]])
        self.ok(b, "Present", "v-one", n)  # idempotent: ON CONFLICT is success
        self.ok(a, "Present", "v-two", n)
        self.wait_served(b, n, ["v-one", "v-two"])
        self.ok(b, "CleanUp", "v-one", n)
        self.assertEqual(self.first_reply(b, n), ["v-two"])
        self.wait_served(a, n, ["v-two"])
        self.ok(b, "CleanUp", "v-one", n)  # nothing to delete: success
        m = metrics(b.mport)
        self.assertGreaterEqual(m["dns01_embedded_store_convergence_seconds_count"], 1)
        self.assertEqual(m["dns01_embedded_store_stale"], 0)

    def test_b_convergence_and_rate(self):
        a, b = self.srvs
        delays = []
        for i in range(NCONV):
            n = fqdn(f"c{i}")
            self.ok(a, "Present", f"c{i}", n)
            t0 = time.monotonic()
            while not answers(b.dns_port, n):
                self.assertLess(time.monotonic() - t0, WAIT, n)
            delays.append(time.monotonic() - t0)
        delays.sort()
        p50 = statistics.median(delays) * 1000
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1000
        names = [fqdn(f"r{i}") for i in range(BURST)]
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            res = list(ex.map(lambda i: self.call(a, "Present", f"r{i}", names[i]),
                              range(BURST)))
        rate = BURST / (time.monotonic() - t0)
        for st, body in res:
            harness.assert_response(self, st, body, True)
        print(f"\npostgres: convergence A->B over {NCONV} Presents (answered by A, "
              f"polled on B's UDP): p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
              f"{BURST} concurrent Presents (8 clients) {rate:.0f}/s", file=sys.stderr)
        for i in (0, BURST - 1):
            self.wait_served(b, names[i], [f"r{i}"])

    def test_c_accounts_through_acct_start(self):
        exe = os.path.join(os.environ.get("DNS01_BUILD_DIR", "build"), "tests", "test_dbstore")
        if not os.path.exists(exe):
            self.skipTest(f"{exe} not built")
        r = subprocess.run([exe], env=dict(os.environ, DNS01_TEST_PG_URL=self.pg.url),
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertIn("ok   t_pg_two_stores", r.stderr)
        self.assertNotIn(self.pg.password, r.stderr)
        rows = self.pg.sql("SELECT subdomain FROM dns01_accounts WHERE username = 'unit-user'")
        self.assertEqual(rows, [["unit-sub"]])

    def test_d_expiry(self):
        a, b = self.srvs
        n = fqdn("old")
        # Written two hours ago, and notified like any write, so both serve it.
        payload = f"V13:example.test.{len(n)}:{n}3:old"
        self.pg.sql("INSERT INTO dns01_values (zone, fqdn, value, created, writer) VALUES "
                    f"('example.test.', '{n}', 'old', now() - interval '2 hours', 'gone'); "
                    f"SELECT pg_notify('dns01', '{payload}')")
        for s in self.srvs:
            self.wait_served(s, n, ["old"])
        c = self.start_instance("c", ttl="4s")  # a scan every second
        try:
            for s in self.srvs:
                self.wait_served(s, n, [])
            t0 = time.time()
            while sum(metrics(x.mport)["dns01_embedded_store_expired_total"]
                      for x in (a, b, c)) < 1:
                self.assertLess(time.time() - t0, WAIT)
                time.sleep(0.1)
        finally:
            c.__exit__(None, None, None)
        self.assertEqual(self.pg.sql(f"SELECT count(*) FROM dns01_values WHERE fqdn = '{n}'"),
                         [["0"]])

    def test_e_postgres_restart(self):
        a, b = self.srvs
        n = fqdn("down")
        self.ok(a, "Present", "v-before", n)
        self.wait_served(b, n, ["v-before"])
        before = [metrics(s.mport)["dns01_embedded_store_reconnects_total"] for s in self.srvs]
        self.pg.stop("immediate")
        try:
            t0 = time.time()
            st, body = self.call(b, "Present", "v-during", n)
            took = time.time() - t0
            harness.assert_response(self, st, body, False)
            self.assertIn("postgres store (postgres://127.0.0.1:", body.decode())
            self.assertNotIn(self.pg.password, body.decode())
            self.assertLess(took, 12, "past the 8 s deadline")
            for s in self.srvs:  # DNS answers from memory all along
                self.assertEqual(txt_values(s.dns_port, n), ["v-before"])
                self.wait_metric(s, "dns01_embedded_store_stale", lambda v: v == 1)
                self.assertEqual(s.request("GET", "/readyz")[0], 200)
        finally:
            self.pg.start()
        for s, n0 in zip(self.srvs, before):
            self.wait_metric(s, "dns01_embedded_store_stale", lambda v: v == 0)
            self.wait_metric(s, "dns01_embedded_store_reconnects_total", lambda v: v > n0)
        self.ok(b, "Present", "v-after", n)
        for s in self.srvs:
            self.wait_served(s, n, ["v-after", "v-before"])
        # B's connection cut from the server side (it names its instance
        # in pg_stat_activity), A writes meanwhile: B converges by the
        # notification or by the load after its reconnect.
        self.assertEqual(self.pg.sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'dns01 dns01-b'"), [["1"]])
        self.ok(a, "CleanUp", "v-before", n)
        for s in self.srvs:
            self.wait_served(s, n, ["v-after"])

    def test_f_wrong_password_never_logged(self):
        bad = self.pg.url.replace(self.pg.password, "wrong-S3CRET-pw")
        d = self.start_instance("d", url=bad)
        try:
            t0 = time.time()
            while "password authentication failed" not in d.log():
                self.assertLess(time.time() - t0, WAIT, d.log()[-2000:])
                time.sleep(0.1)
            st, body = self.call(d, "Present", "v-d", fqdn("d"))
            harness.assert_response(self, st, body, False)
            self.assertIn("password authentication failed", body.decode())
            self.assertNotIn("wrong-S3CRET-pw", body.decode())
        finally:
            d.__exit__(None, None, None)
        self.assertNotIn("wrong-S3CRET-pw", d.log())
        self.assertIn("postgres://127.0.0.1:", d.log())

    def test_z_kill9_during_burst(self):
        a, b = self.srvs
        names = [fqdn(f"k{i}") for i in range(BURST)]
        done = harness.presents_with_kill9(
            a, lambda i: self.call(a, "Present", f"k{i}", names[i]), BURST,
            poll=0.005)
        print(f"\npostgres: kill -9 during a burst of {BURST}: {len(done)} Presents "
              "answered success", file=sys.stderr)
        self.assertGreater(len(done), 0)
        for i in done:
            self.wait_served(b, names[i], [f"k{i}"])
        a2 = self.start_instance("a", like=a)
        self.srvs[0] = a2
        for i in done:
            self.wait_served(a2, names[i], [f"k{i}"])
        for i in range(BURST):
            self.assertEqual(txt_values(a2.dns_port, names[i]), txt_values(b.dns_port, names[i]))
        for s in self.srvs:
            self.assertNotIn(self.pg.password, s.log())


if __name__ == "__main__":
    if not pg.available():
        print(f"skipped: {pg.BIN}/postgres not installed", file=sys.stderr)
        sys.exit(77)
    unittest.main()
