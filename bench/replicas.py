"""bench/replicas.py: three `dns01 serve` replicas sharing the embedded
records through the Kubernetes store, against the fake kube-apiserver
(tests/fakes/kube_fake.py, in its own process so it does not share this
process's GIL) on loopback.

1. Convergence: CONV_N (200) Presents, one at a time, through replica A;
   from A's answer, replicas B and C are asked over UDP every 0.5 ms
   (this process, raw DNS, no dig) until they serve the value. Per
   replica the delay's p50/p99/max; also the servers' own
   dns01_embedded_store_convergence_seconds (object creation on A's
   clock to applied on B/C) mean. Goal: p99 < 100 ms.
2. Throughput: Present+CleanUp pairs through A with the kubernetes store
   from THREADS (8) client threads over keep-alive HTTPS for DUR (5 s),
   REPEAT (3) runs; failed calls counted. The same load with
   `--embedded-store memory` on a fourth server gives the floor of this
   client.
3. Memory: RSS_N (10,000) TXTRecords put into the fake directly (a
   namespace of their own), then a fresh replica on that namespace and
   one on an empty namespace; VmRSS of each once it has listed (records
   gauge). Goal: < 4 MiB above idle.

Usage: python3 bench/replicas.py OUT.json
Env: DNS01_BIN (build/dns01), CONV_N (200), RSS_N (10000), REPEAT (3),
DUR (5s), THREADS (8)."""
import json
import os
import select
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests", "integration"), os.path.join(ROOT, "tests", "fakes")]
os.environ.setdefault("DNS01_BIN", os.path.join(ROOT, "build", "dns01"))
import harness  # noqa: E402
import kube_fake  # noqa: E402
import pki as pkimod  # noqa: E402
from harness import challenge  # noqa: E402

CONV_N = int(os.environ.get("CONV_N", "200"))
RSS_N = int(os.environ.get("RSS_N", "10000"))
REPEAT = int(os.environ.get("REPEAT", "3"))
DUR = float(os.environ.get("DUR", "5s").rstrip("s"))
THREADS = int(os.environ.get("THREADS", "8"))
SA = "system:serviceaccount:dns01:dns01-webhook"
NS = "dns01"
ZONE = "example.test"


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else None


def dns_query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 16, 1)


def wait_served(ports, name, timeout=10.0):
    """Seconds until each DNS port answers name with a TXT record (None
    on timeout), asking every 0.5 ms."""
    t0 = time.monotonic()
    socks = {}
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", p))
        socks[s] = p
    out = {p: None for p in ports}
    qid = 1
    try:
        while any(v is None for v in out.values()) and time.monotonic() - t0 < timeout:
            pending = [s for s, p in socks.items() if out[p] is None]
            qid = (qid + 1) & 0xFFFF
            for s in pending:
                s.send(dns_query(name, qid))
            end = time.monotonic() + 0.0005
            while pending:
                r, _, _ = select.select(pending, [], [], max(0.0, end - time.monotonic()))
                if not r:
                    break
                for s in r:
                    data = s.recv(4096)
                    if len(data) >= 12 and struct.unpack(">H", data[6:8])[0] > 0:
                        out[socks[s]] = time.monotonic() - t0
                        pending.remove(s)
    finally:
        for s in socks:
            s.close()
    return out


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


class Bench:
    def __init__(self, d):
        self.d = d
        self.pki = pkimod.PKI(d)
        crt, key = self.pki.cert("serving")
        self.fake = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "fakes", "kube_fake.py"),
             "--tls", crt, key, "--token", f"tok-1={SA}", "--allow-all",
             "--txtrecords", f"bulk/{ZONE}/{RSS_N}"],
            stdout=subprocess.PIPE, text=True)
        info = json.loads(self.fake.stdout.readline())
        self.kc = {}
        for ns in (NS, "bulk", "empty"):
            self.kc[ns] = kube_fake.write_kubeconfig(
                os.path.join(d, f"kc-{ns}"), info["url"], token="tok-1",
                ca_file=self.pki.path("serving-ca.crt"), namespace=ns)
        self.srvs = []

    def replica(self, name, ns=NS, store="kubernetes"):
        mport = harness.free_port()
        env = dict(os.environ, POD_NAME=f"dns01-{name}")
        s = harness.Server(self.pki, env=env, extra=[
            "--kubeconfig", self.kc[ns], "--authentication-skip-lookup",
            "--embedded-store", store, "--log-level", "info",
            "--metrics-port", str(mport), "--metrics-bind-address", "127.0.0.1"])
        s.mport = mport
        s.__enter__()
        self.srvs.append(s)
        return s

    def close(self):
        for s in self.srvs:
            s.__exit__(None, None, None)
        self.fake.terminate()
        self.fake.wait()

    def convergence(self, a, b, c):
        cl = a.client("proxy")
        delays = {"b": [], "c": []}
        self_served = 0
        m0 = [metrics(s.mport) for s in (b, c)]
        try:
            for i in range(CONV_N):
                n = f"_acme-challenge.c{i}.{ZONE}."
                st, _, body = cl.post_challenge(challenge("Present", f"v{i}", fqdn=n))
                assert st == 201 and b'"success":true' in body.replace(b" ", b""), body
                r = wait_served([b.dns_port, c.dns_port, a.dns_port], n)
                self_served += r[a.dns_port] is not None and r[a.dns_port] < 0.002
                for k, p in (("b", b.dns_port), ("c", c.dns_port)):
                    delays[k].append(r[p] * 1000 if r[p] is not None else 10000.0)
        finally:
            cl.close()
        m1 = [metrics(s.mport) for s in (b, c)]
        res = {"n": CONV_N, "a_serves_at_answer": self_served}
        for k, v in delays.items():
            res[k] = {"p50_ms": pct(v, 50), "p99_ms": pct(v, 99), "max_ms": max(v),
                      "mean_ms": statistics.mean(v)}
        allv = delays["b"] + delays["c"]
        res["all"] = {"p50_ms": pct(allv, 50), "p99_ms": pct(allv, 99), "max_ms": max(allv)}
        key_s, key_n = "dns01_embedded_store_convergence_seconds_sum", \
            "dns01_embedded_store_convergence_seconds_count"
        res["server_mean_ms"] = [
            1000 * (y[key_s] - x[key_s]) / max(1, y[key_n] - x[key_n]) for x, y in zip(m0, m1)]
        return res

    def pairs(self, srv):
        runs = []
        for r in range(REPEAT):
            count, fails = [0] * THREADS, [0] * THREADS
            stop = time.monotonic() + DUR

            def worker(t):
                cl = srv.client("proxy")
                i = 0
                try:
                    while time.monotonic() < stop:
                        n = f"_acme-challenge.p{r}-{t}-{i % 8}.{ZONE}."
                        for act in ("Present", "CleanUp"):
                            st, _, body = cl.post_challenge(challenge(act, f"k{t}-{i}", fqdn=n))
                            if st != 201 or b'"success":true' not in body.replace(b" ", b""):
                                fails[t] += 1
                        count[t] += 1
                        i += 1
                finally:
                    cl.close()

            t0 = time.monotonic()
            ths = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            runs.append({"pairs_per_s": sum(count) / (time.monotonic() - t0),
                         "failed_calls": sum(fails)})
        return {"runs": runs, "pairs_per_s": statistics.median(x["pairs_per_s"] for x in runs),
                "failed_calls": sum(x["failed_calls"] for x in runs)}

    def memory(self):
        idle = self.replica("idle", ns="empty")
        full = self.replica("full", ns="bulk")
        t0 = time.monotonic()
        while metrics(full.mport).get("dns01_embedded_store_records", 0) < RSS_N:
            if time.monotonic() - t0 > 120:
                raise RuntimeError("the bulk replica did not list every record")
            time.sleep(0.1)
        listed_s = time.monotonic() - t0
        time.sleep(0.5)
        ri, rf = rss_kib(idle.proc.pid), rss_kib(full.proc.pid)
        _, vals = full.dig(f"_acme-challenge.b{RSS_N - 1}.{ZONE}.")
        return {"records": RSS_N, "idle_rss_kib": ri, "full_rss_kib": rf,
                "delta_mib": (rf - ri) / 1024.0, "listed_after_s": listed_s,
                "last_served": vals == [f"b{RSS_N - 1}-".ljust(43, "x")]}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as d:
        b = Bench(d)
        try:
            a, r2, r3 = (b.replica(n) for n in "abc")
            res = {"convergence": b.convergence(a, r2, r3)}
            print("convergence:", json.dumps(res["convergence"]), file=sys.stderr)
            res["pairs_kubernetes"] = b.pairs(a)
            mem = b.replica("mem", store="memory")
            res["pairs_memory"] = b.pairs(mem)
            print("pairs/s: kubernetes %.0f, memory %.0f" % (
                res["pairs_kubernetes"]["pairs_per_s"], res["pairs_memory"]["pairs_per_s"]),
                file=sys.stderr)
            res["memory"] = b.memory()
            print("memory:", json.dumps(res["memory"]), file=sys.stderr)
        finally:
            b.close()
    res["settings"] = {"conv_n": CONV_N, "rss_n": RSS_N, "repeat": REPEAT, "dur_s": DUR,
                       "threads": THREADS}
    if out:
        with open(out, "w") as f:
            json.dump(res, f, indent=1)
    else:
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
