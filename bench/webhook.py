"""bench/webhook.py: the webhook under load, and its start-up.

1. Start-up: STARTS (10) times, fork+exec of `dns01 serve --demo` to the
   first /readyz 200 (the prober, in this process, tries a TCP connect
   every 0.5 ms, then one TLS handshake + GET per try, TCP_NODELAY), the
   time the port first accepts, and the idle RSS 0.5 s later (VmRSS with
   its anon / file split, and the largest mappings by RSS).
2. Present+CleanUp pairs over keep-alive HTTPS (wrk, bench/wrk_pair.lua)
   at 1, 16 and 128 connections. Each point gets a fresh server, an
   unmeasured 1 s warm-up, then REPEAT runs of DUR; before each run VmHWM
   is reset (/proc/PID/clear_refs <- 5), so every run gives its own peak
   RSS. Per run: pairs/s, p50/p99 latency, peak RSS, dns01 and wrk CPU
   (% of one CPU), failed calls (wrk errors + the server's
   dns01_webhook_calls_total{result="failure"}).

With PIN=1 (default) and at least 2 CPUs, dns01 runs on the first CPU and
wrk on the others, so the event loop is not preempted by its own load
generator; the report says so.

`rfc2136.py` uses series() for the same load through the rfc2136 provider.

Usage: python3 bench/webhook.py OUT.json
Env: DNS01_BIN (build/dns01), REPEAT (3), DUR (5s), STARTS (10), PIN (1)."""
import json
import os
import re
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

BIN = os.environ.get("DNS01_BIN", os.path.join(ROOT, "build", "dns01"))
REPEAT = int(os.environ.get("REPEAT", "3"))
DUR = os.environ.get("DUR", "5s")
STARTS = int(os.environ.get("STARTS", "10"))
CONNS = (1, 16, 128)
GROUP = "acme.dns01.demo"
LUA = os.path.join(ROOT, "bench", "wrk_pair.lua")
CPUS = sorted(os.sched_getaffinity(0))
PIN = os.environ.get("PIN", "1") != "0" and len(CPUS) >= 2
# TLS without verification (the demo server's certificate is self-signed);
# one context, made without loading the system CA store.
CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def stat(values):
    """Median and min-max spread of a list of numbers."""
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def status_kib(pid, *keys):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out


def rollup_kib(pid):
    """Pss and private pages (smaps_rollup): what this process costs the
    machine once the shared libraries' pages are divided among their users."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Pss", "Private_Clean", "Private_Dirty"):
                out[k] = int(v.split()[0])
    return {"pss_kib": out.get("Pss"),
            "private_kib": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)}


def top_mappings(pid, n=8):
    """The n largest contributors to RSS, by mapped file or [heap]/[anon]."""
    rss, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if re.match(r"^[0-9a-f]+-[0-9a-f]+$", first):
                parts = line.split(None, 5)
                name = os.path.basename(parts[5].strip()) if len(parts) > 5 else "[anon]"
            elif first == "Rss:":
                rss[name] = rss.get(name, 0) + int(line.split()[1])
    return sorted(([k, v] for k, v in rss.items() if v), key=lambda kv: -kv[1])[:n]


def metrics_failures(port):
    """Sum of dns01_webhook_calls_total{result="failure"}, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s, \
                CTX.wrap_socket(s) as t:
            t.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (OSError, ssl.SSLError):
        return None
    return sum(int(float(m)) for m in re.findall(
        rb'^dns01_webhook_calls_total\{[^}]*result="failure"\} (\S+)$', data, re.M))


class Server:
    """`dns01 serve --demo` on free ports, started and timed."""

    def __init__(self, extra=()):
        self.extra = list(extra)

    def __enter__(self):
        self.port = harness.free_port()
        self.log = tempfile.TemporaryFile("w+")
        args = [BIN, "serve", "--demo", "--secure-port", str(self.port),
                "--dns-listen", f"127.0.0.1:{harness.free_port()}",
                "--log-level", "warn"] + self.extra
        t0, t_port = time.perf_counter(), None
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log)
        self.pid = self.proc.pid
        if PIN:
            os.sched_setaffinity(self.pid, {CPUS[0]})
        deadline = t0 + 10
        while True:
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.log.seek(0)
                raise RuntimeError("dns01 serve did not become ready: " + self.log.read()[-2000:])
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            except OSError:
                time.sleep(0.0005)
                continue
            # As curl and Go's net/http do: without it, Nagle holds the
            # request behind the unacknowledged TLS Finished for the
            # server's delayed ACK (40 ms), which is no part of start-up.
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if t_port is None:
                t_port = time.perf_counter()
            try:
                with CTX.wrap_socket(s) as t:
                    t.sendall(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                    ok = t.recv(64).startswith(b"HTTP/1.1 200")
            except (OSError, ssl.SSLError):
                ok = False
            if ok:
                break
            time.sleep(0.001)
        t1 = time.perf_counter()
        self.port_ms, self.ready_ms = (t_port - t0) * 1e3, (t1 - t0) * 1e3
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.seek(0)
        self.errors_logged = sum(1 for ln in self.log if "level=error" in ln)
        self.log.close()
        return False

    def reset_hwm(self):
        with open(f"/proc/{self.pid}/clear_refs", "w") as f:
            f.write("5")


def startup():
    """STARTS fresh servers: start-up times and idle RSS."""
    runs = []
    for _ in range(STARTS):
        with Server() as s:
            time.sleep(0.5)
            r = status_kib(s.pid, "VmRSS", "RssAnon", "RssFile", "RssShmem")
            runs.append({"port_ms": s.port_ms, "ready_ms": s.ready_ms,
                         "idle_rss_kib": r["VmRSS"], "rss_anon_kib": r.get("RssAnon"),
                         "rss_file_kib": r.get("RssFile"), "rss_shmem_kib": r.get("RssShmem"),
                         "top_mappings_kib": top_mappings(s.pid), **rollup_kib(s.pid)})
    out = {k: stat([r[k] for r in runs]) for k in
           ("port_ms", "ready_ms", "idle_rss_kib", "rss_anon_kib", "rss_file_kib", "rss_shmem_kib",
            "pss_kib", "private_kib")}
    out["top_mappings_kib"] = runs[len(runs) // 2]["top_mappings_kib"]
    out["runs"] = runs
    return out


def wrk(port, conns, dur, env):
    """One wrk run; its figures and its own CPU time."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(["wrk", f"-t{1 if conns < 2 else 2}", f"-c{conns}", f"-d{dur}",
                          "-s", LUA, f"https://127.0.0.1:{port}/"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=dict(os.environ, WRK_GROUP=GROUP, **env))
    if PIN:
        try:
            os.sched_setaffinity(p.pid, set(CPUS[1:]))
        except OSError:
            pass
    out = p.communicate()[0]
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = [ln for ln in out.splitlines() if ln.startswith("BENCH ")]
    if p.returncode != 0 or not line:
        raise RuntimeError("wrk failed: " + out[-1000:])
    r = {k: float(v) for k, v in (kv.split("=") for kv in line[0].split()[1:])}
    r["pairs_per_s"] = r["rps"] / 2
    r["wrk_cpu_pct"] = ((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)) / r["secs"] * 100
    return r


def point(extra, conns, env_for):
    """One load point on a fresh server: warm-up, then REPEAT measured runs."""
    runs = []
    with Server(extra) as s:
        wrk(s.port, conns, "1s", env_for("warm"))
        for i in range(REPEAT):
            f0 = metrics_failures(s.port)
            s.reset_hwm()
            c0 = cpu_ms(s.pid)
            r = wrk(s.port, conns, DUR, env_for(i))
            r["dns01_cpu_pct"] = (cpu_ms(s.pid) - c0) / (r["secs"] * 1000) * 100
            r["peak_rss_kib"] = status_kib(s.pid, "VmHWM")["VmHWM"]
            f1 = metrics_failures(s.port)
            r["failed_calls"] = (f1 - f0) if f0 is not None and f1 is not None else None
            runs.append(r)
        idle_after = status_kib(s.pid, "VmRSS")["VmRSS"]
    keys = ("pairs_per_s", "p50_us", "p99_us", "peak_rss_kib", "dns01_cpu_pct",
            "wrk_cpu_pct", "errors", "failed_calls")
    out = {k: stat([r.get(k) for r in runs]) for k in keys}
    out.update({"connections": conns, "rss_after_kib": idle_after,
                "startup_ms": s.ready_ms, "errors_logged": s.errors_logged, "runs": runs})
    return out


def series(solver, extra=(), env_for=lambda i: {}):
    """The load at every connection count, for one solver."""
    return {"solver": solver, "points": [point(extra, c, lambda i: dict(env_for(i), WRK_SOLVER=solver))
                                         for c in CONNS]}


def settings():
    return {"repeat": REPEAT, "duration": DUR, "starts": STARTS, "connections": list(CONNS),
            "pinned": PIN, "dns01_cpu": CPUS[0] if PIN else None,
            "load_cpus": CPUS[1:] if PIN else None}


def emit(res, out):
    """A part's results as JSON: into `out`, or on stdout when None."""
    text = json.dumps(res, indent=1)
    if out:
        with open(out, "w") as f:
            f.write(text)
    else:
        print(text)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    emit({"settings": settings(), "startup": startup(), "embedded": series("embedded")}, out)


if __name__ == "__main__":
    main()
