"""SIGTERM in the middle of a load: many clients on keep-alive connections
send Present/CleanUp back to back, half with the embedded provider (answers
at once: requests are arriving at every instant), half with cloudflare
against the strict fake with latency (requests are waiting on upstream).

What httpd/http.h promises for a graceful stop, checked exactly:
- every request whose last byte was sent before SIGTERM was sent gets a
  reply: a 201 ChallengePayload for its uid, or a 503 Status if the drain
  deadline aborted it; never a silent close;
- any reply is complete and well formed, and there is exactly one per
  request: a reply for another uid would show a duplicate, and after a
  `Connection: close` reply the server sends nothing more;
- every request the server handled was answered: the log's webhook events
  are exactly the replies received;
- nothing was applied twice or without a reply: the fake saw one create
  for each Present answered, none for a Present not answered, one delete
  for each CleanUp answered, and holds exactly the values presented and
  not cleaned up;
- the process exits 0, drained, well before the 25 s drain deadline.
"""
import collections
import os
import random
import re
import signal
import tempfile
import threading
import time
import unittest

import cloudflare_fake
import harness
import loadgen
import pki
from harness import challenge

CLIENTS = 24          # half embedded, half cloudflare
RECONNECT = 20        # requests per connection before a new one
LOAD_S = 3.0 if loadgen.VALGRIND else 1.5
DRAIN_S = 25          # server/daemon.c DRAIN_DEADLINE_MS


class ShutdownUnderLoad(unittest.TestCase):
    def test_sigterm_mid_load(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            harness.write_secret(os.path.join(d, "s"), "default", "cf", "token", "test-token")
            rng = random.Random()
            rng_lock = threading.Lock()

            def latency(method, path):
                with rng_lock:
                    return ("latency", rng.uniform(0.01, 0.3))

            with cloudflare_fake.Fake(zones=("cf.test",)) as fake:
                fake.chaos = latency
                cfg = {"apiTokenSecretRef": {"name": "cf", "key": "token"},
                       "baseURL": fake.url}
                srv = harness.Server(p, extra=["--secrets-dir", os.path.join(d, "s"),
                                               "--log-level", "info"],
                                     endpoints=[fake.url])
                srv.__enter__()
                try:
                    self.run_load(srv, fake, cfg)
                finally:
                    if srv.proc.poll() is None:
                        srv.proc.kill()
                        srv.proc.wait()
                    srv.logf.close()

    def run_load(self, srv, fake, cfg):
        killed = threading.Event()
        t_kill = [None]
        records = []   # one dict per request
        lock = threading.Lock()
        bugs = []

        def client(t):
            solver = "embedded" if t % 2 == 0 else "cloudflare"
            zone = "example.test" if solver == "embedded" else "cf.test"
            fqdn = f"_acme-challenge.c{t}.{zone}."
            conn, sent_on_conn, i = None, 0, 0
            try:
                while True:
                    if conn is None:
                        if killed.is_set():
                            return  # no new connections once SIGTERM is on its way
                        try:
                            conn = loadgen.Conn(srv, timeout=DRAIN_S + 15)
                        except OSError:
                            return  # listener closed (SIGTERM handled)
                        sent_on_conn = 0
                    value = f"v{t}-{i // 2}"
                    action = "Present" if i % 2 == 0 else "CleanUp"
                    rec = {"solver": solver, "fqdn": fqdn, "value": value, "action": action,
                           "uid": f"{action[0]}-{t}-{i}", "sent": None, "reply": None,
                           "closed": None}
                    with lock:
                        records.append(rec)
                    i += 1
                    data = loadgen.webhook_request(solver, challenge(
                        action, value, fqdn=fqdn, zone=zone + ".", uid=rec["uid"],
                        **({"config": cfg} if solver == "cloudflare" else {})))
                    try:
                        rec["sent"] = conn.send(data)
                        st, hdrs, body = conn.response()
                    except (loadgen.Closed, OSError) as e:
                        rec["closed"] = repr(e)
                        if getattr(e, "partial", b""):
                            bugs.append(f"{rec['uid']}: partial reply {e.partial[:200]!r}")
                        return
                    rec["reply"] = (st, body)
                    sent_on_conn += 1
                    if hdrs.get("connection", "").lower() == "close":
                        extra = conn.rest(DRAIN_S + 10)
                        if extra:
                            bugs.append(f"{rec['uid']}: {len(extra)} bytes after the "
                                        f"last reply: {extra[:200]!r}")
                        conn.close()
                        conn = None
                        if killed.is_set():
                            return
                    elif sent_on_conn >= RECONNECT and i % 2 == 0:
                        conn.close()
                        conn = None
            except BaseException as e:  # noqa: BLE001
                bugs.append(f"client {t}: {e!r}")
            finally:
                if conn is not None:
                    conn.close()

        threads = [threading.Thread(target=client, args=(t,)) for t in range(CLIENTS)]
        for th in threads:
            th.start()
        time.sleep(LOAD_S)
        killed.set()
        t_kill[0] = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        for th in threads:
            th.join(DRAIN_S + 20)
        self.assertFalse(any(th.is_alive() for th in threads), "a client still waits")
        rc = srv.proc.wait(timeout=DRAIN_S + 10)
        stopped = time.monotonic() - t_kill[0]
        log = srv.log()
        self.assertEqual(bugs, [])
        self.assertEqual(rc, 0, log[-2000:])
        self.assertLess(stopped, DRAIN_S)
        self.assertIn("event=stopped reason=drained", log)

        replied = [r for r in records if r["reply"] is not None]
        lost = [r for r in records if r["reply"] is None and r["sent"] is not None
                and r["sent"] < t_kill[0]]
        late = [r for r in records if r["reply"] is None and r["sent"] is not None
                and r["sent"] >= t_kill[0]]
        by_status = {}
        for r in replied:
            st, body = r["reply"]
            by_status[st] = by_status.get(st, 0) + 1
            if st == 503:
                harness.assert_status_object(body, 503)
            else:
                loadgen.check_payload(st, body, r["uid"], True)
        print(f"shutdown under load: {len(records)} requests, replies {by_status}, "
              f"{len(late)} sent after SIGTERM and closed, {len(lost)} lost, "
              f"exit {stopped:.2f} s after SIGTERM", flush=True)
        self.assertEqual([(r["uid"], f"sent {1000 * (t_kill[0] - r['sent']):.1f} ms before "
                           f"SIGTERM", r["closed"]) for r in lost], [],
                         "requests sent before SIGTERM closed without a reply")
        self.assertGreater(len(replied), CLIENTS)
        # Every request the server handled was answered, once.
        handled = collections.Counter(
            m.group(1) for m in re.finditer(r'event=webhook uid="?([^" ]+)', log))
        self.assertEqual(sum(handled.values()), by_status.get(201, 0))
        for r in replied:
            self.assertEqual(handled[r["uid"]], 1 if r["reply"][0] == 201 else 0, r["uid"])

        # cloudflare: each Present answered created its record once, a Present
        # not answered created nothing; each CleanUp answered deleted it once.
        cf = [r for r in records if r["solver"] == "cloudflare"]
        created = [c for n, _, c in fake.created]
        deleted = [c for n, _, c in fake.deleted]
        want = set()
        for r in cf:
            q = f'"{r["value"]}"'
            done = r["reply"] is not None and r["reply"][0] == 201
            if r["action"] == "Present":
                self.assertEqual(created.count(q), 1 if done else 0, r)
                if done:
                    want.add(q)
            else:
                self.assertEqual(deleted.count(q), 1 if done else 0, r)
                if done:
                    want.discard(q)
        self.assertEqual(sorted(x["content"] for x in fake.records.values()), sorted(want))


if __name__ == "__main__":
    unittest.main()
