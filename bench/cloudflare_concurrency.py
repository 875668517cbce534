"""bench/cloudflare_concurrency.py: 500 concurrent Present calls through
the webhook to the Cloudflare fake answering each API request after 200 ms.
Serialised, 500 presents x 3 API calls x 200 ms would take ~300 s; the
event loop should finish in about one round of latency per API call. While
they run, /healthz latency is sampled. Reports total wall time, /healthz
max and median, and dns01's peak RSS.

Usage: python3 bench/cloudflare_concurrency.py [RESULTS_BASENAME]"""
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests", "integration"), os.path.join(ROOT, "tests", "fakes")]
import harness  # noqa: E402

BIN = os.environ.get("DNS01_BIN", os.path.join(ROOT, "build", "dns01"))
N = int(os.environ.get("N", "500"))


def conn(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else None
    # The fake runs in its own process: sharing our GIL with 500 client
    # threads would measure Python, not dns01.
    fake = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "fakes", "cloudflare_fake.py"), "0"],
                            stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, CF_FAKE_LATENCY="0.2"))
    info = json.loads(fake.stdout.readline())
    with tempfile.TemporaryDirectory() as d:
        sec = os.path.join(d, "default", "cf")
        os.makedirs(sec)
        with open(os.path.join(sec, "token"), "w") as f:
            f.write(info["token"])
        port = harness.free_port()
        proc = subprocess.Popen([BIN, "serve", "--demo", "--secure-port", str(port),
                                 "--dns-listen", f"127.0.0.1:{harness.free_port()}",
                                 "--secrets-dir", d, "--log-level", "warn",
                                 "--max-requests-inflight", "1000"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            subprocess.run(f"until curl -sfk -o /dev/null https://127.0.0.1:{port}/readyz; "
                           "do sleep 0.02; done", shell=True, timeout=10, check=True)
            cfg = {"apiTokenSecretRef": {"name": "cf", "key": "token"}, "baseURL": info["url"],
                   "zoneID": info["zones"]["example.test"]}
            conns = [conn(port) for _ in range(N)]
            for c in conns:
                c.connect()
            ok = [0]
            lock = threading.Lock()

            def present(i):
                body = json.dumps({"request": {"uid": str(i), "action": "Present",
                                               "key": f"V{i}", "resourceNamespace": "default",
                                               "resolvedFQDN": "_acme-challenge.example.test.",
                                               "resolvedZone": "example.test.", "config": cfg}})
                conns[i].request("POST", "/apis/acme.dns01.demo/v1alpha1/cloudflare", body,
                                 {"Content-Type": "application/json"})
                r = json.loads(conns[i].getresponse().read())
                if r["response"]["success"]:
                    with lock:
                        ok[0] += 1

            threads = [threading.Thread(target=present, args=(i,)) for i in range(N)]
            health = []
            done = threading.Event()

            def probe():
                h = conn(port)
                while not done.is_set():
                    t = time.perf_counter()
                    h.request("GET", "/healthz")
                    h.getresponse().read()
                    health.append((time.perf_counter() - t) * 1000)
                    time.sleep(0.01)

            pt = threading.Thread(target=probe)
            t0 = time.perf_counter()
            pt.start()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            done.set()
            pt.join()
            with open(f"/proc/{proc.pid}/status") as f:
                hwm = [l for l in f if l.startswith("VmHWM")][0].split()[1]
        finally:
            proc.terminate()
            proc.wait()
            fake.terminate()
            fake.wait()
    res = {"presents": N, "succeeded": ok[0], "wall_s": wall, "api_latency_ms": 200,
           "healthz_ms_median": statistics.median(health), "healthz_ms_max": max(health),
           "healthz_samples": len(health), "peak_rss_kib": int(hwm)}
    text = (f"## Cloudflare concurrency (bench/cloudflare_concurrency.py)\n\n"
            f"{N} concurrent Presents, fake API latency 200 ms per request (zoneID pinned: "
            f"list + create = 2 API calls each): {ok[0]}/{N} succeeded in {wall:.2f} s "
            f"(goal < 2 s: {'met' if wall < 2 else 'NOT met'}; serialised would be ~{N * 0.4:.0f} s). "
            f"/healthz meanwhile: median {res['healthz_ms_median']:.2f} ms, max "
            f"{res['healthz_ms_max']:.2f} ms over {len(health)} samples (goal < 10 ms: "
            f"{'met' if res['healthz_ms_max'] < 10 else 'NOT met'}). Peak RSS {int(hwm) / 1024:.1f} MiB.\n")
    print(text)
    if base:
        with open(base + ".md", "a") as f:
            f.write("\n" + text)
        with open(base + "-cloudflare.json", "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
