"""bench/acmedns.py: the acme-dns successor's write paths, per store
(memory, sqlite:PATH, postgres://... on a real PostgreSQL 15 started here,
tests/integration/pg.py, with fsync ON unless PG_FSYNC=0), against one
`dns01 serve --secure-port 0` per store on loopback with the acme-dns API
(plain HTTP, --acmedns-registration open, --acmedns-rate 0 so the
per-account limit does not cap the figure) and DNS UPDATE with TSIG
(hmac-sha256, --update-policy bench=zonesub).

1. acme-dns API: ACCOUNTS (32) registered first (bcrypt cost 10, the
   default); then the cold case: the first POST /update of every account
   from CLIENTS client processes at once (each verifies the password with
   bcrypt on the server's two worker threads); then the steady state:
   CLIENTS processes, each over one keep-alive connection (http.client)
   with its share of the accounts, POST /update a fresh 43-character value
   and DELETE /update it again, for DUR, REPEAT runs. Every POST and every
   DELETE counts as one update. The server remembers a verified (user,
   password, hash) under a per-process MAC key (server/acmedns_api_req.c,
   the `verified` sfcache, 4096 entries), so steady-state updates cost no
   bcrypt. POST then DELETE keeps a name below the store's 64 values.
2. DNS UPDATE: CLIENTS processes send TSIG-signed UPDATEs over UDP
   (dnspython, which also verifies every signed reply): add one TXT value,
   then delete it, for DUR, REPEAT runs; every UPDATE counts. The names lie
   in one zone, then spread over 4 zones: UPDATEs are serialised per zone
   (docs/DESIGN.md "DNS UPDATE into the embedded zones"). Then the same
   from a client that builds the wire and the TSIG MAC by hand (checks
   the rcode and that the reply is signed, not its MAC): dnspython's own
   CPU is the limit otherwise.
3. Convergence: two instances on one PostgreSQL; CONV_N (200) POST
   /update through A, one at a time; from A's answer, B (and A) asked over
   UDP every 0.5 ms (this process, raw DNS) until they serve the value;
   p50/p99/max. Each value is deleted again afterwards (untimed).

Client processes, not threads: one Python process would be held by its
GIL well below what the server does with the memory store. They share the
2 CPUs with dns01 and PostgreSQL; the server's CPU share per run is
recorded to tell who was the limit.

Usage: /usr/bin/python3 bench/acmedns.py OUT.json
Env: DNS01_BIN (build/dns01), ACCOUNTS (32), CLIENTS (8), DUR (5s),
REPEAT (3), CONV_N (200), STORES ("memory sqlite postgres postgres-nofsync":
the last a second cluster with fsync off, as the tests run it), PG_FSYNC (1)."""
import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

try:
    import dns.query
    import dns.rcode
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    import dns.version
except ImportError:
    # Debian's python3-dnspython serves /usr/bin/python3 only.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests", "integration")]
BIN = os.environ.get("DNS01_BIN", os.path.join(ROOT, "build", "dns01"))
os.environ["DNS01_BIN"] = BIN
import pg as pgmod  # noqa: E402

ACCOUNTS = int(os.environ.get("ACCOUNTS", "32"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
DUR = float(os.environ.get("DUR", "5s").rstrip("s"))
REPEAT = int(os.environ.get("REPEAT", "3"))
CONV_N = int(os.environ.get("CONV_N", "200"))
STORES = os.environ.get("STORES", "memory sqlite postgres postgres-nofsync").split()
PG_FSYNC = os.environ.get("PG_FSYNC", "1") != "0"
ZONE = "acme.test"
DOMAIN = "auth." + ZONE
UZONES = [f"u{i}.test" for i in range(1, 5)]
SECRET = base64.b64encode(hashlib.sha256(b"dns01 bench").digest()).decode()
KEYRING = dns.tsigkeyring.from_text({"bench.": ("hmac-sha256", SECRET)})


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else None


def val(label):
    """A 43-character base64url value, as an ACME key authorization digest."""
    return base64.urlsafe_b64encode(hashlib.sha256(label.encode()).digest()).decode().rstrip("=")


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()
    return int(v[11]) + int(v[12])


class FsyncPostgres(pgmod.Postgres):
    """pg.py's cluster, but durable as a production one (fsync and
    synchronous_commit on) unless fsync=False: pg.py turns fsync off for
    the tests, which would flatter the writes/s figure (the store writes
    one statement at a time, so a commit's fsync bounds its rate)."""

    def __init__(self, fsync):
        super().__init__()
        self.fsync = fsync

    def start(self):
        if not self.fsync:
            return super().start()
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                "-c max_connections=30 -c shared_buffers=16MB")
        self.run([f"{pgmod.BIN}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60",
                  "-o", opts, "start"])
        self.running = True


class Server:
    """One `dns01 serve --secure-port 0` with the acme-dns API and DNS
    UPDATE, on `store`."""

    def __init__(self, tmp, name, store):
        self.name = name
        self.port = free_port()
        self.dns_port = free_port(socket.SOCK_DGRAM)
        keyfile = os.path.join(tmp, "bench.key")
        with open(keyfile, "w") as f:
            f.write(f'key "bench." {{ algorithm hmac-sha256; secret "{SECRET}"; }};\n')
        self.args = [BIN, "serve", "--secure-port", "0", "--log-level", "warn",
                     "--embedded-zone", ZONE] + sum((["--embedded-zone", z] for z in UZONES), []) + [
            "--dns-listen", f"127.0.0.1:{self.dns_port}",
            "--acmedns-listen", f"127.0.0.1:{self.port}", "--acmedns-insecure-http",
            "--acmedns-domain", DOMAIN, "--acmedns-registration", "open",
            "--acmedns-rate", "0", "--embedded-store", store,
            "--tsig-keyfile", keyfile, "--update-policy", "bench=zonesub"]
        self.logpath = os.path.join(tmp, f"dns01-{name}.log")

    def __enter__(self):
        self.logf = open(self.logpath, "w+")
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dns01 {self.name} exited {self.proc.returncode}: "
                                   + self.log()[-2000:])
            try:
                if self.request("GET", "/health")[0] == 200:
                    return self
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"dns01 {self.name}: no /health: " + self.log()[-2000:])

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def register(self):
        st, b = self.request("POST", "/register")
        if st != 201:
            raise RuntimeError(f"register: {st} {b[:200]!r}")
        return json.loads(b)


def upd_req(conn, acct, txt, method):
    h = {"X-Api-User": acct["username"], "X-Api-Key": acct["password"],
         "Content-Type": "application/json"}
    conn.request(method, "/update", body=json.dumps({"subdomain": acct["subdomain"], "txt": txt}),
                 headers=h)
    r = conn.getresponse()
    r.read()
    return r.status


# --- client processes -------------------------------------------------------
# Each returns (ops, failures, latencies in ms, first error). They start at
# `start` and stop at `stop` (CLOCK_MONOTONIC is system-wide).

def wait_until(t):
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)


def api_cold_worker(port, accts, start, out):
    wait_until(start)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ops = fails = 0
    lat, err = [], None
    for a in accts:
        t0 = time.monotonic()
        try:
            st = upd_req(conn, a, val("cold-" + a["username"]), "POST")
        except (OSError, http.client.HTTPException) as e:
            st, err = None, repr(e)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        lat.append((time.monotonic() - t0) * 1000)
        ops += 1
        if st != 200:
            fails += 1
            err = err or f"status {st}"
    conn.close()
    out.put((ops, fails, lat, err))


def api_steady_worker(port, accts, tag, start, stop, out):
    wait_until(start)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ops = fails = i = 0
    lat, err = [], None
    while time.monotonic() < stop:
        a = accts[i % len(accts)]
        v = val(f"{tag}-{i}")
        i += 1
        for method in ("POST", "DELETE"):
            t0 = time.monotonic()
            try:
                st = upd_req(conn, a, v, method)
            except (OSError, http.client.HTTPException) as e:
                st, err = None, repr(e)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            lat.append((time.monotonic() - t0) * 1000)
            ops += 1
            if st != 200:
                fails += 1
                err = err or f"status {st}"
    conn.close()
    out.put((ops, fails, lat, err))


def wire_name(name):
    b = b""
    for label in name.rstrip(".").split("."):
        b += bytes([len(label)]) + label.lower().encode()
    return b + b"\0"


KEY_WIRE, ALG_WIRE = wire_name("bench."), wire_name("hmac-sha256.")
KEY_RAW = base64.b64decode(SECRET)


def raw_update(qid, zone, name, value, add):
    """An UPDATE (RFC 2136) adding or deleting one TXT value, signed with
    TSIG hmac-sha256 (RFC 8945 4.3.3: the message, then the key name,
    class ANY, TTL 0, algorithm, time signed, fudge, error, other len)."""
    msg = struct.pack(">HHHHHH", qid, 5 << 11, 1, 0, 1, 0) + wire_name(zone) + \
        struct.pack(">HH", 6, 1)
    txt = value.encode()
    rdata = bytes([len(txt)]) + txt
    msg += wire_name(name) + struct.pack(">HHIH", 16, 1 if add else 254, 60 if add else 0,
                                         len(rdata)) + rdata
    now = int(time.time())
    tsig_vars = KEY_WIRE + struct.pack(">HI", 255, 0) + ALG_WIRE + \
        struct.pack(">HIHHH", now >> 32, now & 0xFFFFFFFF, 300, 0, 0)
    mac = hmac.new(KEY_RAW, msg + tsig_vars, hashlib.sha256).digest()
    rd = ALG_WIRE + struct.pack(">HIHH", now >> 32, now & 0xFFFFFFFF, 300, len(mac)) + mac + \
        struct.pack(">HHH", qid, 0, 0)
    msg = msg[:10] + struct.pack(">H", 1) + msg[12:]
    return msg + KEY_WIRE + struct.pack(">HHIH", 250, 255, 0, len(rd)) + rd


def raw_update_worker(dns_port, names, tag, start, stop, out):
    """The same load as dns_update_worker from a client a tenth as costly
    (wire built by hand, the reply's rcode and that it is signed checked,
    its MAC not verified): dnspython's own CPU is the limit with the
    memory store on 2 shared CPUs."""
    wait_until(start)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", dns_port))
    s.settimeout(10)
    ops = fails = i = 0
    lat, err = [], None
    qid = os.getpid() & 0xFFFF
    while time.monotonic() < stop:
        name, zone = names[i % len(names)]
        v = val(f"{tag}-{i}")
        i += 1
        for add in (True, False):
            qid = (qid + 1) & 0xFFFF
            t0 = time.monotonic()
            try:
                s.send(raw_update(qid, zone, name, v, add))
                while True:
                    r = s.recv(4096)
                    if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == qid:
                        break
                rc = r[3] & 0xF
                if rc == 0 and struct.unpack(">H", r[10:12])[0] < 1:
                    rc, err = -1, err or "reply not signed"
            except OSError as e:
                rc, err = None, repr(e)
            lat.append((time.monotonic() - t0) * 1000)
            ops += 1
            if rc != 0:
                fails += 1
                err = err or f"rcode {rc}"
    s.close()
    out.put((ops, fails, lat, err))


def dns_update_worker(dns_port, names, tag, start, stop, out):
    wait_until(start)
    ops = fails = i = 0
    lat, err = [], None
    while time.monotonic() < stop:
        name, zone = names[i % len(names)]
        v = f'"{val(f"{tag}-{i}")}"'
        i += 1
        for add in (True, False):
            u = dns.update.UpdateMessage(zone, keyring=KEYRING, keyname="bench.",
                                         keyalgorithm=dns.tsig.HMAC_SHA256)
            if add:
                u.add(name, 60, "TXT", v)
            else:
                u.delete(name, "TXT", v)
            t0 = time.monotonic()
            try:
                r = dns.query.udp(u, "127.0.0.1", port=dns_port, timeout=10)
                rc = r.rcode()
            except Exception as e:  # timeout, bad TSIG on the reply, ...
                rc, err = None, repr(e)
            lat.append((time.monotonic() - t0) * 1000)
            ops += 1
            if rc != dns.rcode.NOERROR:
                fails += 1
                err = err or f"rcode {rc}"
    out.put((ops, fails, lat, err))


def run_clients(srv, target, argsets, stop_after=None):
    """Fork one process per argument tuple, each called as
    target(*args, start, [stop,] queue); returns the summary."""
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    start = time.monotonic() + 0.5
    stop = start + stop_after if stop_after is not None else None
    procs = []
    for a in argsets:
        extra = (start,) if stop is None else (start, stop)
        p = ctx.Process(target=target, args=tuple(a) + extra + (q,))
        p.start()
        procs.append(p)
    wait_until(start)
    c0, l0 = cpu_ticks(srv.proc.pid), os.getloadavg()[0]
    res = [q.get(timeout=(stop_after or 0) + 120) for _ in procs]
    wall = time.monotonic() - start
    c1 = cpu_ticks(srv.proc.pid)
    for p in procs:
        p.join()
    lat = [x for r in res for x in r[2]]
    ops, fails = sum(r[0] for r in res), sum(r[1] for r in res)
    errs = [r[3] for r in res if r[3]]
    secs = stop_after if stop_after is not None else wall
    return {"ops": ops, "failures": fails, "seconds": round(secs, 3),
            "per_s": ops / secs if secs else 0.0,
            "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": max(lat) if lat else None,
            "dns01_cpu_pct": 100.0 * (c1 - c0) / os.sysconf("SC_CLK_TCK") / wall,
            "load1": [round(l0, 2), round(os.getloadavg()[0], 2)],
            "first_error": errs[0] if errs else None}


def summary(runs):
    def st(k):
        v = [r[k] for r in runs if r[k] is not None]
        return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)} \
            if v else None
    return {"runs": runs, "per_s": st("per_s"), "p50_ms": st("p50_ms"), "p99_ms": st("p99_ms"),
            "dns01_cpu_pct": st("dns01_cpu_pct"), "failures": sum(r["failures"] for r in runs),
            "first_error": next((r["first_error"] for r in runs if r["first_error"]), None)}


def bench_store(tmp, label, store):
    res = {"store": label}
    with Server(tmp, label, store) as srv:
        # Registration: bcrypt hashing on the server's two worker threads.
        accts = [None] * ACCOUNTS
        t0 = time.monotonic()

        def reg(i):
            accts[i] = srv.register()
        ths = [threading.Thread(target=lambda k=k: [reg(i) for i in range(k, ACCOUNTS, 4)])
               for k in range(4)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        res["register_per_s"] = ACCOUNTS / (time.monotonic() - t0)
        if any(a is None for a in accts):
            raise RuntimeError("registration failed")
        share = [accts[k::CLIENTS] for k in range(CLIENTS)]
        res["api_cold"] = run_clients(srv, api_cold_worker, [(srv.port, s) for s in share if s])
        print(f"{label}: cold {res['api_cold']['per_s']:.0f}/s p50 "
              f"{res['api_cold']['p50_ms']:.1f} ms", file=sys.stderr)
        runs = []
        for r in range(REPEAT):
            runs.append(run_clients(srv, api_steady_worker,
                                    [(srv.port, s, f"s{r}-{k}") for k, s in enumerate(share) if s],
                                    DUR))
        res["api"] = summary(runs)
        print(f"{label}: api {res['api']['per_s']['median']:.0f} updates/s, "
              f"{res['api']['failures']} failed", file=sys.stderr)
        for key, worker, nz in (("dns_update_1zone", dns_update_worker, 1),
                                ("dns_update_4zone", dns_update_worker, 4),
                                ("raw_update_1zone", raw_update_worker, 1),
                                ("raw_update_4zone", raw_update_worker, 4)):
            runs = []
            for r in range(REPEAT):
                argsets = []
                for k in range(CLIENTS):
                    z = UZONES[k % nz]
                    names = [(f"_acme-challenge.c{k}-{j}.{z}.", z + ".") for j in range(4)]
                    argsets.append((srv.dns_port, names, f"{key}-{r}-{k}"))
                runs.append(run_clients(srv, worker, argsets, DUR))
            res[key] = summary(runs)
            print(f"{label}: {key} {res[key]['per_s']['median']:.0f}/s, "
                  f"{res[key]['failures']} failed", file=sys.stderr)
    return res


def dns_query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 16, 1)


def wait_served(ports, name, value, timeout=10.0):
    """Seconds until each DNS port answers name with `value` among its TXT
    records (None on timeout), asking every 0.5 ms."""
    t0 = time.monotonic()
    socks = {}
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", p))
        socks[s] = p
    out = {p: None for p in ports}
    qid, want = 1, value.encode()
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
                    if len(data) >= 12 and want in data:
                        out[socks[s]] = time.monotonic() - t0
                        pending.remove(s)
    finally:
        for s in socks:
            s.close()
    return out


def convergence(tmp, url):
    with Server(tmp, "conv-a", url) as a, Server(tmp, "conv-b", url) as b:
        acct = a.register()
        name = acct["fulldomain"] + "."
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        db, da, fails = [], 0, 0
        try:
            for i in range(CONV_N):
                v = val(f"conv-{i}")
                if upd_req(conn, acct, v, "POST") != 200:
                    fails += 1
                    continue
                r = wait_served([b.dns_port, a.dns_port], name, v)
                da += r[a.dns_port] is not None and r[a.dns_port] < 0.002
                db.append(r[b.dns_port] * 1000 if r[b.dns_port] is not None else 10000.0)
                if upd_req(conn, acct, v, "DELETE") != 200:
                    fails += 1
        finally:
            conn.close()
    return {"n": CONV_N, "failures": fails, "a_serves_at_answer": da,
            "p50_ms": pct(db, 50), "p99_ms": pct(db, 99), "max_ms": max(db),
            "mean_ms": statistics.mean(db), "timeouts": sum(x >= 10000 for x in db)}


def versions(pg):
    def line(args):
        try:
            return subprocess.run(args, capture_output=True, text=True,
                                  timeout=30).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    return {"dns01": line([BIN, "--version"]),
            "postgres": line([f"{pgmod.BIN}/postgres", "--version"]) if pg else None,
            "sqlite": line(["dpkg-query", "-W", "-f=${Version}", "libsqlite3-0"]),
            "dnspython": dns.version.version, "python3": sys.version.split()[0]}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    res = {"stores": {}, "settings": {
        "accounts": ACCOUNTS, "clients": CLIENTS, "dur_s": DUR, "repeat": REPEAT,
        "conv_n": CONV_N, "pg_fsync": PG_FSYNC, "acmedns_rate": 0, "bcrypt_cost": 10,
        "nproc": os.cpu_count()}}
    pg, pgs = None, []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for s in STORES:
                try:
                    if s.startswith("postgres"):
                        # postgres: fsync as PG_FSYNC says; postgres-nofsync:
                        # off, to show what the commit's fsync costs.
                        pgs.append(FsyncPostgres(PG_FSYNC and s == "postgres"))
                        pgs[-1].start()
                        if s == "postgres":
                            pg = pgs[-1]
                    store = {"memory": "memory",
                             "sqlite": "sqlite:" + os.path.join(tmp, "bench.db")}.get(s) \
                        or pgs[-1].url
                    res["stores"][s] = bench_store(tmp, s, store)
                except Exception as e:  # one store failing still reports the others
                    res["stores"][s] = {"store": s, "error": repr(e)[:2000]}
                    print(f"{s}: failed: {e!r}", file=sys.stderr)
            if pg:
                res["convergence"] = convergence(tmp, pg.url)
                print("convergence:", json.dumps(res["convergence"]), file=sys.stderr)
        finally:
            res["versions"] = versions(pgs)
            for x in pgs:
                x.cleanup()
    if out:
        with open(out, "w") as f:
            json.dump(res, f, indent=1)
    else:
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
