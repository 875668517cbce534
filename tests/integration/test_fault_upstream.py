"""Random upstream faults: webhook Present/CleanUp with the cloudflare
provider against the strict fake (HTTPS) while the fake answers a random
share of its requests with a fault: 429 + Retry-After, 5xx, a dropped
connection (before or after applying the change: the reply is lost), a
request never answered (only dns01's per-attempt timeout ends it),
latency, a reply dribbled slowly, a reply cut half way.

Every webhook request must get a 201 ChallengePayload for its uid (success
true, or false with a message), within the operation's 20 s budget; never
a non-2xx, never a hang; and a success is true (the value is there after
a Present, gone after a CleanUp). Once the faults stop, a CleanUp of every value
ever presented succeeds, and the fake holds exactly the records it held
before: no TXT value of ours is left, and the unrelated records at the
same names (an SPF TXT, another ACME value, an A record) are the very same
records, never deleted or rewritten.

The fault sequence is random; its seed is printed and D01_FAULT_SEED
replays a run's choices (thread timing still varies).
"""
import os
import random
import tempfile
import threading
import time
import unittest

import cloudflare_fake
import harness
import loadgen
import pki
from harness import challenge

SEED = loadgen.env_int("D01_FAULT_SEED", random.randrange(1 << 30))
THREADS = 16
NAMES_PER_THREAD = 1
ROUNDS = 2 if loadgen.VALGRIND else 3    # two values per name per round
HANGS = 3                                 # hung upstream requests at most
BUDGET_S = 20                             # the provider's per-operation budget
LATE_S = 7 if loadgen.VALGRIND else 4     # reply overhead allowed past it

# (weight, action) per upstream request; see cloudflare_fake.CHAOS.
WEIGHTS = [
    (40, None),
    (8, "429"),
    (10, "5xx"),
    (7, "drop"),
    (7, "applied_drop"),
    (8, "latency"),
    (7, "slow"),
    (6, "truncate"),
    (3, "hang"),
]


class Chaos:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.hangs = 0
        self.counts = {}
        self.on = True

    def __call__(self, method, path):
        with self.lock:
            if not self.on:
                return None
            kind = self.rng.choices([a for _, a in WEIGHTS], [w for w, _ in WEIGHTS])[0]
            if kind == "hang" and self.hangs >= HANGS:
                kind = None
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if kind is None:
                return None
            if kind == "429":
                return ("status", 429, 971, 1)
            if kind == "5xx":
                return ("status", self.rng.choice((500, 502, 503, 504)), 10000, None)
            if kind == "latency":
                return ("latency", self.rng.uniform(0.1, 1.0))
            if kind == "slow":
                return ("slow", self.rng.uniform(0.3, 1.0))
            if kind == "hang":
                self.hangs += 1
                return ("hang", None)  # until the fake stops
            return (kind,)


class UpstreamFaults(unittest.TestCase):
    def test_random_cloudflare_faults(self):
        print(f"fault seed {SEED} (D01_FAULT_SEED={SEED} to replay)", flush=True)
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            harness.write_secret(os.path.join(d, "s"), "default", "cf", "token", "test-token")
            with cloudflare_fake.Fake(tls=p.cert("serving")) as fake, \
                    harness.Server(p, zones=(), extra=["--secrets-dir", os.path.join(d, "s"),
                                                       "--log-level", "warn"],
                                   endpoints=[fake.url]) as srv:
                with open(p.path("serving-ca.crt")) as f:
                    ca = f.read()  # PEM text, as cert-manager's caBundle
                cfg = {"apiTokenSecretRef": {"name": "cf", "key": "token"},
                       "baseURL": fake.url, "caBundle": ca}
                names = [f"_acme-challenge.f{i}.example.test"
                         for i in range(THREADS * NAMES_PER_THREAD)]
                for i, n in enumerate(names):
                    fake.add(n, "v=spf1 -all")
                    fake.add(n, f"other-cluster-{i}")
                    fake.add(n, f"192.0.2.{i + 1}", "A")
                before = {rid: dict(r) for rid, r in fake.records.items()}
                chaos = fake.chaos = Chaos(SEED)
                presented, errors, outcomes = set(), [], {"ok": 0, "failed": 0}
                present_ok = set()
                lock = threading.Lock()

                def call(conn, action, fqdn, key, uid):
                    conn.send(loadgen.webhook_request("cloudflare", challenge(
                        action, key, fqdn=fqdn + ".", zone="example.test.", uid=uid,
                        config=cfg)))
                    t0 = time.monotonic()
                    st, _, body = conn.response()
                    took = time.monotonic() - t0
                    r = loadgen.check_payload(st, body, uid, None)
                    if took > BUDGET_S + LATE_S:
                        raise AssertionError(f"{uid}: answered after {took:.1f} s")
                    # A success is true: only this thread touches this value.
                    # (After a Present that failed, a POST abandoned when its
                    # budget ran out may still land: no CleanUp check then.)
                    there = f'"{key}"' in fake.txt(fqdn)
                    if r["success"] and action == "Present":
                        present_ok.add(key)
                        if not there:
                            raise AssertionError(f"{uid}: Present succeeded, yet the value "
                                                 "is not there")
                    if r["success"] and action == "CleanUp" and key in present_ok and there:
                        raise AssertionError(f"{uid}: CleanUp succeeded, yet the value is "
                                             "still there")
                    with lock:
                        outcomes["ok" if r["success"] else "failed"] += 1
                    return r

                def worker(t):
                    conn = loadgen.Conn(srv, timeout=BUDGET_S + LATE_S + 5)
                    try:
                        for r in range(ROUNDS):
                            for j in range(t * NAMES_PER_THREAD, (t + 1) * NAMES_PER_THREAD):
                                n = names[j]
                                a, b = f"val-{j}-{r}-a", f"val-{j}-{r}-b"
                                with lock:
                                    presented.update({(n, a), (n, b)})
                                # Two values at one name (apex + wildcard).
                                call(conn, "Present", n, a, f"p{a}")
                                call(conn, "Present", n, b, f"p{b}")
                                call(conn, "CleanUp", n, a, f"c{a}")
                                call(conn, "CleanUp", n, b, f"c{b}")
                    except BaseException as e:  # noqa: BLE001
                        errors.append(f"thread {t}: {e!r}")
                    finally:
                        conn.close()

                t0 = time.time()
                threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
                chaos.on = False
                faulty = time.time() - t0
                print(f"faults: {outcomes} in {faulty:.1f} s, upstream actions "
                      f"{ {str(k): v for k, v in sorted(chaos.counts.items(), key=str)} }",
                      flush=True)
                self.assertEqual(errors, [])
                # The faults really happened, and some calls still got through.
                for kind in ("429", "5xx", "drop", "applied_drop", "truncate"):
                    self.assertGreater(chaos.counts.get(kind, 0), 0, kind)
                self.assertGreater(outcomes["ok"], 0)

                # Faults over: every value ever presented is cleaned up, once
                # the fake has applied what it was still holding (an attempt
                # cut short by the budget during a latency of at most 1 s).
                time.sleep(1.5)
                conn = loadgen.Conn(srv)
                for i, (n, v) in enumerate(sorted(presented)):
                    r = call(conn, "CleanUp", n, v, f"final{i}")
                    self.assertTrue(r["success"], r)
                conn.close()
                self.assertEqual(outcomes["failed"] + outcomes["ok"],
                                 THREADS * NAMES_PER_THREAD * ROUNDS * 4 + len(presented))
                after = {rid: dict(r) for rid, r in fake.records.items()}
                left = sorted((r["name"], r["type"], r["content"])
                              for rid, r in after.items() if rid not in before)
                self.assertEqual(left, [], "records of ours left behind")
                self.assertEqual(after, before, "unrelated records changed")
                # Through the API only our TXT values were created or deleted
                # (dns01 writes TXT content quoted).
                ours = {(n, "TXT", f'"{v}"') for n, v in presented}
                self.assertEqual([c for c in fake.created if c not in ours], [])
                self.assertEqual([c for c in fake.deleted if c not in ours], [])
                self.assertTrue(fake.created)


if __name__ == "__main__":
    unittest.main()
