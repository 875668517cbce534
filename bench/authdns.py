"""bench/authdns.py: authoritative TXT queries/s, dns01's embedded DNS
against BIND 9, Knot DNS and NSD serving the same names, side by side in
one run, measured with dnsperf (Debian).

1. The zone: bench.test. with its SOA and NS (ns.bench.test., as dns01
   derives them) and NAMES (1,000) names _acme-challenge.hN.bench.test.,
   every other one with two TXT values, the rest with one; each value 43
   characters of base64url like an ACME key authorisation digest. dns01 is
   filled through its real write path (webhook Presents over keep-alive
   HTTPS, the memory store); the SOA serial it ends with is written into
   the zone file the other three load, so every record matches.
2. The servers, all running at once on their own loopback ports, each
   pinned to CPU 0 (taskset) and single-threaded: `named -n 1`; knotd with
   udp-workers, tcp-workers and background-workers 1; nsd with
   server-count 1 (plus its xfrd and parent processes, idle); dns01's
   event loop is one thread by design. No per-query logging anywhere
   (dns01 at --log-level error, BIND and Knot with query logging off as
   shipped, NSD verbosity 0), minimal responses (BIND
   `minimal-responses yes`, NSD `minimal-responses: yes`; Knot and dns01
   give no authority section with a positive answer anyway).
3. The cross-check before any timing: SAMPLE names of every kind (TXT
   with one and two values, NXDOMAIN, NODATA, the apex SOA and NS, an
   empty non-terminal, a name outside the zone) asked of each server over
   UDP with EDNS; rcode, AA, the answer and authority sections (owner,
   type, TTL, rdata; the TXT set compared as a set) and the OPT must equal
   dns01's. A mismatch stops the run.
4. The load: dnsperf on CPU 1 (`-c CLIENTS -l SECS`, no -Q: as fast as it
   goes, -e: EDNS0 as resolvers send it) over a query file of 10,000
   lines, 90% TXT of existing names, 5% TXT of names that do not exist
   (NXDOMAIN), 5% A of existing names (NODATA). REPEAT (3) rounds over UDP,
   then REPEAT over TCP (`-m tcp`, one connection per client, queries
   pipelined); in each round every server is measured once, in turns, the
   order rotated round by round. Per run: queries/s, lost queries,
   mean latency, the server's CPU time (its process tree, /proc), the
   other work on CPU 0 meanwhile (from /proc/stat, minus the server) and
   the load average. Queries per server CPU-second is the figure least
   disturbed by other load on the machine.
5. RSS (and PSS) of each server's process tree once the names are loaded.

Goal (issue 17): dns01 within 2x of the fastest (UDP queries/s).

Usage: python3 bench/authdns.py OUT.json
Env: DNS01_BIN (build/dns01), NAMES (1000), REPEAT (3), DNSPERF_SECS (10),
CLIENTS (8), SAMPLE (60), SERVERS ("bind knot nsd", beside dns01),
MODES ("udp tcp"), DNS01_BASE_BIN (an older dns01 measured beside this one,
filled the same way, as "dns01-base"; not counted for the goal)."""
import base64
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("DNS01_BIN", os.path.join(ROOT, "build", "dns01"))
import harness  # noqa: E402
import pki as pkimod  # noqa: E402
from harness import challenge  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "bench"))
from dnswire import ask  # noqa: E402

NAMES = int(os.environ.get("NAMES", "1000"))
REPEAT = int(os.environ.get("REPEAT", "3"))
SECS = int(os.environ.get("DNSPERF_SECS", "10"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
SAMPLE = int(os.environ.get("SAMPLE", "60"))
# dns01 always runs: it is the reference of the cross-check.
SERVERS = ["dns01"] + [s for s in os.environ.get("SERVERS", "bind knot nsd").split()
                       if s != "dns01"]
# An older dns01 binary measured beside this one (before/after a change).
BASE_BIN = os.environ.get("DNS01_BASE_BIN")
if BASE_BIN:
    SERVERS.insert(1, "dns01-base")
MODES = os.environ.get("MODES", "udp tcp").split()
ZONE = "bench.test."
QUERIES = 10000
TTL = 60
CPUS = sorted(os.sched_getaffinity(0))
SRV_CPU, LOAD_CPU = (CPUS[0], CPUS[1]) if len(CPUS) >= 2 else (CPUS[0], CPUS[0])
TCK = os.sysconf("SC_CLK_TCK")


def stat(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def value(i, j):
    """43 characters of base64url, shaped like an ACME TXT value."""
    d = hashlib.sha256(f"{i}/{j}".encode()).digest()
    return base64.urlsafe_b64encode(d).decode().rstrip("=")


def names():
    """{owner: [values]} for the zone's TXT names."""
    return {f"_acme-challenge.h{i}.{ZONE}": [value(i, j) for j in range(1 + (i % 2 == 0))]
            for i in range(NAMES)}


# --- readiness ----------------------------------------------------------------

def wait_serial(port, serial, proc, what, timeout=30.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}")
        try:
            r = ask(port, ZONE, "SOA", 0.2)
            if r["answer"] and r["answer"][0][3][2] == serial:
                return time.monotonic() - t0
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not serve serial {serial} within {timeout:.0f} s")


# --- process accounting ----------------------------------------------------

def tree(pid):
    """pid and its descendants (NSD forks its server and xfrd)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def cpu_s(pids):
    t = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                v = f.read().rsplit(")", 1)[1].split()
            t += int(v[11]) + int(v[12])
        except OSError:
            pass
    return t / TCK


def cpu_busy(cpu):
    """Busy and total jiffies of one CPU from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                return sum(v) - v[3] - v[4], sum(v)
    return 0, 1


def memory(pids):
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k == "Rss":
                        rss += int(v.split()[0])
                    elif k == "Pss":
                        pss += int(v.split()[0])
        except OSError:
            pass
    return {"rss_kib": rss, "pss_kib": pss, "processes": len(pids)}


# --- the servers -------------------------------------------------------------

def zone_file(path, serial, recs):
    with open(path, "w") as f:
        f.write(f"$ORIGIN {ZONE}\n$TTL {TTL}\n"
                f"@ {TTL} IN SOA ns.{ZONE} hostmaster.{ZONE} {serial} 3600 600 86400 {TTL}\n"
                f"@ {TTL} IN NS ns.{ZONE}\n"
                # BIND refuses a zone whose in-zone NS host has no address;
                # dns01 answers NODATA there (it cannot know its address).
                # Nothing in the mix or the cross-check asks for it.
                f"ns {TTL} IN A 127.0.0.1\n")
        for owner, vals in recs.items():
            for v in vals:
                f.write(f'{owner} {TTL} IN TXT "{v}"\n')


def pinned(args):
    return ["taskset", "-c", str(SRV_CPU)] + args


class Proc:
    def __init__(self, name, args, log, cwd=None):
        self.name = name
        self.logf = open(log, "w+")
        self.proc = subprocess.Popen(pinned(args), stdout=self.logf, stderr=subprocess.STDOUT,
                                     cwd=cwd)
        self.pid = self.proc.pid

    def poll(self):
        return self.proc.poll()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()

    def log(self):
        self.logf.seek(0)
        return self.logf.read()[-2000:]


def start_bind(d, port, zfile):
    os.makedirs(d)
    conf = os.path.join(d, "named.conf")
    with open(conf, "w") as f:
        f.write(f"""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    minimal-responses yes;
    allow-query {{ any; }};
}};
controls {{ }};
zone "{ZONE}" {{ type primary; file "{zfile}"; }};
""")
    # -g: foreground, logging to stderr (only start-up and errors: query
    # logging is off unless configured); -n 1: one worker thread.
    return Proc("bind", ["named", "-g", "-n", "1", "-c", conf], os.path.join(d, "log"))


def start_knot(d, port, zfile):
    os.makedirs(d)
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "{d}"
template:
  - id: default
    storage: "{d}"
    journal-content: none
    zonefile-sync: -1
    semantic-checks: off
zone:
  - domain: {ZONE}
    file: "{zfile}"
""")
    return Proc("knot", ["knotd", "-c", conf], os.path.join(d, "log"))


def start_nsd(d, port, zfile):
    os.makedirs(d)
    conf = os.path.join(d, "nsd.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
    ip-address: 127.0.0.1
    port: {port}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    zonelistfile: "{d}/zone.list"
    logfile: "{d}/nsd.log"
    verbosity: 0
    minimal-responses: yes
    refuse-any: no
    # Debian builds NSD with response rate limiting on (200/s per
    # answer and /24): a benchmark from one address hits it at once.
    # The other three limit nothing unless configured to.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: {ZONE}
    zonefile: "{zfile}"
""")
    # -d: do not fork into the background (it still forks its server and
    # xfrd, children of this pid).
    return Proc("nsd", ["nsd", "-d", "-c", conf], os.path.join(d, "log"))


def fill_dns01(srv, recs):
    """Every value through the webhook's Present, 4 keep-alive clients."""
    items = [(o, v) for o, vals in recs.items() for v in vals]
    errs = []

    def worker(k):
        cl = srv.client("proxy")
        try:
            for o, v in items[k::4]:
                st, _, body = cl.post_challenge(challenge("Present", v, fqdn=o, zone=ZONE))
                if st != 201 or b'"success":true' not in body.replace(b" ", b""):
                    errs.append(body[:200])
        finally:
            cl.close()

    t0 = time.monotonic()
    ths = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    if errs:
        raise RuntimeError(f"{len(errs)} Presents failed: {errs[0]!r}")
    return len(items), time.monotonic() - t0


# --- the query mix, the cross-check, dnsperf --------------------------------

def query_file(path, recs):
    owners = list(recs)
    rnd = random.Random(17)
    lines = []
    for i in range(QUERIES):
        k = i % 20  # 18 of 20 TXT of existing names, 1 NXDOMAIN, 1 NODATA
        if k < 18:
            lines.append(f"{rnd.choice(owners)} TXT")
        elif k == 18:
            lines.append(f"_acme-challenge.x{rnd.randrange(10 ** 6)}.{ZONE} TXT")
        else:
            lines.append(f"{rnd.choice(owners)} A")
    rnd.shuffle(lines)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return {"txt": 0.90, "nxdomain": 0.05, "nodata": 0.05, "lines": QUERIES}


def sample(recs):
    owners = list(recs)
    rnd = random.Random(7)
    out = [(ZONE, "SOA"), (ZONE, "NS"), (ZONE, "TXT"), (f"h0.{ZONE}", "TXT"),
           (f"nope.{ZONE}", "TXT"), ("outside.example.", "TXT"),
           (f"ns.{ZONE}", "TXT")]
    for o in rnd.sample(owners, min(SAMPLE, len(owners))):
        out.append((o, "TXT"))
    out += [(rnd.choice(owners), "A") for _ in range(5)]
    out += [(f"_acme-challenge.x{i}.{ZONE}", "TXT") for i in range(5)]
    # Case as resolvers using 0x20 randomisation send it.
    out.append((owners[0].upper(), "TXT"))
    return out


def crosscheck(ports, recs):
    """Each server's answers equal dns01's for the sample; the TXT answers
    also equal the records written."""
    checked, mismatches = 0, []
    for name, qtype in sample(recs):
        ref = ask(ports["dns01"], name, qtype)
        key = name.lower()
        if qtype == "TXT" and key in recs:
            want = sorted((key, "TXT", TTL, (v,)) for v in recs[key])
            if ref["rcode"] != 0 or not ref["aa"] or sorted(ref["answer"]) != want:
                mismatches.append({"server": "dns01", "q": f"{name} {qtype}",
                                   "got": ref, "want": want})
        for srv, port in ports.items():
            r = ask(port, name, qtype)
            fields = ("rcode", "aa", "tc", "answer", "authority", "edns")
            if srv != "dns01" and any(r[k] != ref[k] for k in fields):
                mismatches.append({"server": srv, "q": f"{name} {qtype}",
                                   "got": {k: r[k] for k in fields},
                                   "dns01": {k: ref[k] for k in fields}})
        checked += 1
    sizes = {s: ask(p, sorted(recs)[0], "TXT")["bytes"] for s, p in ports.items()}
    return {"questions": checked, "mismatches": mismatches,
            "positive_reply_bytes": sizes}


NUM = r"([0-9.]+)"


def dnsperf(port, qfile, mode):
    args = ["taskset", "-c", str(LOAD_CPU), "dnsperf", "-s", "127.0.0.1", "-p", str(port),
            "-d", qfile, "-c", str(CLIENTS), "-T", "1", "-l", str(SECS), "-e", "-t", "2",
            "-m", mode]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(args, capture_output=True, text=True, timeout=SECS + 60)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = p.stdout
    if p.returncode != 0:
        raise RuntimeError(f"dnsperf exit {p.returncode}: {p.stderr[-500:]} {out[-500:]}")

    def grab(pat, conv=float):
        m = re.search(pat, out)
        return conv(m.group(1)) if m else None

    rcodes = dict((k, int(v)) for k, v in re.findall(r"([A-Z]+) (\d+) \(", out.split(
        "Response codes:", 1)[-1].split("\n", 1)[0]))
    return {"qps": grab(r"Queries per second:\s+" + NUM),
            "sent": grab(r"Queries sent:\s+(\d+)", int),
            "completed": grab(r"Queries completed:\s+(\d+)", int),
            "lost": grab(r"Queries lost:\s+(\d+)", int),
            "mean_latency_ms": (grab(r"Average Latency \(s\):\s+" + NUM) or 0) * 1000,
            "latency_sd_ms": (grab(r"Latency StdDev \(s\):\s+" + NUM) or 0) * 1000,
            "run_s": grab(r"Run time \(s\):\s+" + NUM),
            "rcodes": rcodes,
            "dnsperf_cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)}


def measure(name, proc, port, qfile, mode):
    pids = tree(proc.pid)
    c0, (b0, t0) = cpu_s(pids), cpu_busy(SRV_CPU)
    la0 = os.getloadavg()[0]
    r = dnsperf(port, qfile, mode)
    c1, (b1, t1) = cpu_s(pids), cpu_busy(SRV_CPU)
    wall = r["run_s"] or SECS
    r["server_cpu_pct"] = 100 * (c1 - c0) / wall
    # Whatever else ran on CPU 0 meanwhile (other processes, interrupts).
    r["cpu0_other_pct"] = max(0.0, 100 * ((b1 - b0) / (t1 - t0)) - r["server_cpu_pct"])
    r["queries_per_cpu_s"] = (r["completed"] / (c1 - c0)) if c1 > c0 else None
    r["load1"] = [la0, os.getloadavg()[0]]
    r["dnsperf_cpu_pct"] = 100 * r["dnsperf_cpu_s"] / wall
    print(f"authdns: {mode} {name}: {r['qps']:.0f} q/s, lost {r['lost']}, server CPU "
          f"{r['server_cpu_pct']:.0f}%, other on CPU {SRV_CPU} {r['cpu0_other_pct']:.0f}%, "
          f"dnsperf {r['dnsperf_cpu_pct']:.0f}%, load {la0:.2f}", file=sys.stderr)
    return r


def goal(udp):
    """dns01 within 2x of the fastest, over UDP. dnsperf on its one CPU
    may be the limit of the fastest servers (the report shows its CPU),
    so the goal is judged on queries/s and on queries per server
    CPU-second; met only when both are within 2x."""
    if not udp.get("dns01") or not udp["dns01"]["qps"]:
        return None
    out = {}
    for f in ("qps", "queries_per_cpu_s"):
        best = max((v[f]["median"], k) for k, v in udp.items()
                   if v.get(f) and not k.startswith("dns01"))
        out[f] = {"fastest": best[1], "fastest_value": best[0],
                  "dns01": udp["dns01"][f]["median"],
                  "ratio": best[0] / udp["dns01"][f]["median"]}
    out["met"] = all(out[f]["ratio"] <= 2.0 for f in ("qps", "queries_per_cpu_s"))
    return out


def dnsperf_version():
    p = subprocess.run(["dnsperf", "-h"], capture_output=True, text=True)
    m = re.search(r"Version (\S+)", p.stdout + p.stderr)
    return "dnsperf " + (m.group(1) if m else "?")


def version(args):
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=10)
        return ((p.stdout + p.stderr).strip().splitlines() or ["?"])[0]
    except OSError:
        return "?"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    for tool in ("dnsperf", "named", "knotd", "nsd", "taskset"):
        if not shutil.which(tool):
            print(f"authdns: {tool} not installed (scripts/deps.sh bench)", file=sys.stderr)
            sys.exit(77)
    recs = names()
    res = {"settings": {"names": NAMES, "values": sum(len(v) for v in recs.values()),
                        "repeat": REPEAT, "secs": SECS, "clients": CLIENTS,
                        "server_cpu": SRV_CPU, "dnsperf_cpu": LOAD_CPU, "modes": MODES,
                        "servers": SERVERS},
           "versions": {"dnsperf": dnsperf_version(),
                        "named": version(["named", "-v"]), "knotd": version(["knotd", "-V"]),
                        "nsd": version(["nsd", "-v"]),
                        "dns01": version([os.environ["DNS01_BIN"], "--version"]),
                        "dns01_commit": version(["git", "-C", ROOT, "describe", "--always",
                                                 "--dirty"]),
                        "dns01_base": BASE_BIN and version([BASE_BIN, "--version"]),
                        "dns01_base_commit": BASE_BIN and version(
                            ["git", "-C", os.path.dirname(os.path.abspath(BASE_BIN)),
                             "describe", "--always", "--dirty"])}}
    procs = {}
    with tempfile.TemporaryDirectory() as d:
        try:
            pki = pkimod.PKI(d)
            ports = {}
            for name, path in (("dns01", os.environ["DNS01_BIN"]), ("dns01-base", BASE_BIN)):
                if name not in SERVERS:
                    continue
                srv = harness.Server(pki, zones=("bench.test",),
                                     extra=["--log-level", "error"])
                srv.args = pinned([path] + srv.args[1:])
                srv.__enter__()
                procs[name] = srv
                ports[name] = srv.dns_port
                n, fill_s = fill_dns01(srv, recs)
                serial = ask(srv.dns_port, ZONE, "SOA")["answer"][0][3][2]
                res.setdefault("fill", {"presents": n, "seconds": fill_s, "serial": serial})
                print(f"authdns: {name} filled with {n} values in {fill_s:.1f} s, "
                      f"serial {serial}", file=sys.stderr)
            serial = res["fill"]["serial"]
            zfile = os.path.join(d, "bench.test.zone")
            zone_file(zfile, serial, recs)
            starters = {"bind": start_bind, "knot": start_knot, "nsd": start_nsd}
            for name in SERVERS:
                if name.startswith("dns01"):
                    continue
                port = harness.free_port()
                procs[name] = starters[name](os.path.join(d, name), port, zfile)
                ports[name] = port
                try:
                    wait_serial(port, serial, procs[name], name)
                except RuntimeError as e:
                    raise RuntimeError(f"{e}: {procs[name].log()}") from None
            time.sleep(1)
            res["memory"] = {k: memory(tree(p.proc.pid)) for k, p in procs.items()}
            res["crosscheck"] = cc = crosscheck(ports, recs)
            print(f"authdns: cross-check of {cc['questions']} questions: "
                  f"{len(cc['mismatches'])} mismatches", file=sys.stderr)
            if cc["mismatches"]:
                raise RuntimeError("servers disagree: " + json.dumps(cc["mismatches"][:3]))
            qfile = os.path.join(d, "queries.txt")
            res["mix"] = query_file(qfile, recs)
            order = list(SERVERS)
            res["runs"] = {m: {k: [] for k in order} for m in MODES}
            for mode in MODES:
                for r in range(REPEAT):
                    turn = order[r % len(order):] + order[:r % len(order)]
                    for name in turn:
                        p = procs[name].proc
                        if p.poll() is not None:
                            raise RuntimeError(f"{name} exited {p.returncode}")
                        res["runs"][mode][name].append(
                            measure(name, p, ports[name], qfile, mode))
            res["summary"] = {
                m: {k: {f: stat([x[f] for x in v]) for f in
                        ("qps", "lost", "mean_latency_ms", "server_cpu_pct",
                         "cpu0_other_pct", "queries_per_cpu_s", "dnsperf_cpu_pct")}
                    for k, v in res["runs"][m].items()} for m in MODES}
            res["memory_after"] = {k: memory(tree(p.proc.pid)) for k, p in procs.items()}
        finally:
            for k, p in procs.items():
                if k.startswith("dns01"):
                    p.__exit__(None, None, None)
                else:
                    p.stop()
    res["goal"] = goal(res.get("summary", {}).get("udp", {}))
    if out:
        with open(out, "w") as f:
            json.dump(res, f, indent=1)
    else:
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
