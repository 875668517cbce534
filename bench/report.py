"""Assemble bench/run's parts into one report: <out>.md (figures as median
[min-max] over n runs, goals marked met / NOT met, and for each goal not met
a line saying what limits it), <out>.json (everything, machine-readable)
and <out>-latency.png (gnuplot: p50 and p99 vs connections, embedded and
rfc2136), copied to latest-latency.png beside it.

Usage: python3 bench/report.py WORKDIR OUT_BASENAME
WORKDIR holds what bench/run leaves there: machine, parts, and any of
webhook.json, rfc2136.json, cloudflare.json, issue.json, renew.json,
replicas.json, authdns.json,
acmedns.json (a missing part is reported as not measured)."""
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("DNS01_BIN", os.path.join(ROOT, "build", "dns01"))
MIB = 1 / 1024
# One certificate: dns01 issue is about 10x faster than certbot (issue.py).
# dns01 renew runs all due certificates in parallel on one ACME session,
# so its margin must grow with their number: at 20 at least double that.
# A renew that went one certificate after another would land near 10x.
RENEW_GOAL = 20


def load(work, name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def first_line(args):
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        return ((p.stdout or p.stderr).strip().splitlines() or ["?"])[0]
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def deb(pkg):
    return first_line(["dpkg-query", "-W", "-f=${Version}", pkg])


def machine(work):
    m = {}
    with open(os.path.join(work, "machine")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(" ")
            m[k] = v
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1])
    parts = []
    try:
        with open(os.path.join(work, "parts")) as f:
            for line in f:
                v = line.split()
                parts.append({"part": v[0], "exit": int(v[1]), "seconds": int(v[2]) / 1000,
                              "load_start": [float(x) for x in v[3:6]],
                              "load_end": [float(x) for x in v[6:9]]})
    except OSError:
        pass
    commit = first_line(["git", "-C", ROOT, "describe", "--always", "--dirty"])
    return {"started": m.get("started"), "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "uname": m.get("uname"), "nproc": int(m.get("nproc", os.cpu_count())),
            "cpu": model, "mem_mib": mem // 1024,
            "loadavg_start": [float(x) for x in m.get("loadavg", "0 0 0").split()[:3]],
            "loadavg_end": list(os.getloadavg()), "parts": parts,
            "dns01": first_line([BIN, "--version"]), "commit": commit,
            "linked_libraries": len([ln for ln in first_lines(["ldd", BIN]) if "=>" in ln]),
            "tools": {"wrk": deb("wrk"), "hyperfine": deb("hyperfine"), "bind9": deb("bind9"),
                      "pebble": deb("pebble"), "lego": deb("lego"), "certbot": deb("certbot"),
                      "gnuplot": deb("gnuplot-nox"), "python3": deb("python3"),
                      "dnsperf": deb("dnsperf"), "knot": deb("knot"), "nsd": deb("nsd")}}


def first_lines(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        return []


def f(s, scale=1.0, digits=1):
    """'median [min-max]' of a stat dict, scaled."""
    if not s:
        return "-"
    m, lo, hi = s["median"] * scale, s["min"] * scale, s["max"] * scale
    if s["n"] == 1 or lo == hi:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{lo:.{digits}f}-{hi:.{digits}f}]"


def med(s, scale=1.0):
    return None if not s else s["median"] * scale


def point(series, conns):
    for p in (series or {}).get("points", []):
        if p["connections"] == conns:
            return p
    return None


def part_load(mach, name):
    for p in mach["parts"]:
        if p["part"] == name:
            return f"load average {p['load_start'][0]:.1f} -> {p['load_end'][0]:.1f}"
    return "load average unknown"


def cpu_limit(p, mach, part):
    """Why a webhook load point went no faster: who had the CPUs."""
    d, w = med(p["dns01_cpu_pct"]), med(p["wrk_cpu_pct"])
    pairs = med(p["pairs_per_s"])
    us = d / 100 * 1e6 / pairs if pairs else 0
    n = mach["nproc"]
    if d >= 85:
        return (f"dns01's one event-loop thread is CPU bound ({d:.0f}% of a CPU, "
                f"{us:.0f} us of CPU per pair); wrk used {w:.0f}% of a CPU beside it, "
                f"{n} CPUs in all, {part_load(mach, part)}.")
    return (f"dns01 was not CPU bound ({d:.0f}% of a CPU, {us:.0f} us per pair): "
            f"it waited for CPU or for its peers; wrk used {w:.0f}%, "
            f"{n} CPUs shared with everything else running ({part_load(mach, part)}).")


def goals(mach, wh, rf, cf, iss, ren=None, rp=None, ad=None):
    out = []

    def add(name, measured, met, limit=None):
        out.append({"goal": name, "measured": measured, "met": met,
                    "limit": None if met else limit})

    emb = (wh or {}).get("embedded")
    p16, p128 = point(emb, 16), point(emb, 128)
    cores = "" if mach["nproc"] == 2 else f" (this machine: {mach['nproc']} CPUs)"
    name = f"embedded: >= 5,000 Present+CleanUp pairs/s at 16 connections on 2 cores{cores}"
    if p16:
        v = med(p16["pairs_per_s"])
        add(name, f"{f(p16['pairs_per_s'], 1, 0)} pairs/s", v >= 5000, cpu_limit(p16, mach, "webhook"))
    else:
        add(name, "-", None)
    name = "embedded: p99 < 10 ms at 128 connections"
    if p128:
        v = med(p128["p99_us"], 1e-3)
        rps = med(p128["pairs_per_s"]) * 2
        little = 128 / rps * 1e3 if rps else 0
        add(name, f"{f(p128['p99_us'], 1e-3, 2)} ms", v < 10,
            f"p50 {med(p128['p50_us'], 1e-3):.2f} ms. With 128 requests in flight at "
            f"{rps:.0f} requests/s each waits {little:.2f} ms on average (Little's law: "
            f"128 / rate); p99 beyond that is the slowest requests' stalls. "
            + cpu_limit(p128, mach, "webhook"))
    else:
        add(name, "-", None)
    st = (wh or {}).get("startup")
    name = "idle RSS <= 8 MiB"
    if st:
        v = med(st["idle_rss_kib"], MIB)
        top = ", ".join(f"{k} {kib * MIB:.1f}" for k, kib in st["top_mappings_kib"][:6])
        add(name, f"{f(st['idle_rss_kib'], MIB)} MiB", v <= 8,
            f"{med(st['rss_file_kib'], MIB):.1f} MiB of it are file pages (the binary and "
            f"{mach['linked_libraries']} shared libraries, mapped and touched), "
            f"{med(st['rss_anon_kib'], MIB):.1f} MiB anonymous (heap, stacks, TLS context); "
            f"largest, MiB: {top}. "
            + (f"Counted as the machine pays for it (PSS: shared pages divided among the "
               f"processes that map them) {med(st['pss_kib'], MIB):.1f} MiB; private to "
               f"dns01 {med(st['private_kib'], MIB):.1f} MiB." if st.get("pss_kib") else ""))
        name = "start-up (fork+exec to first /readyz 200) < 50 ms"
        v = med(st["ready_ms"])
        ver = ((rf or {}).get("cycle") or {}).get("dns01 --version")
        add(name, f"{f(st['ready_ms'], 1, 1)} ms", v < 50,
            f"the port accepted after {med(st['port_ms']):.1f} ms and /readyz answered 200 "
            f"after {v:.1f} ms (one TLS handshake of the prober included)"
            + (f"; `dns01 --version` alone takes {ver['median_ms']:.1f} ms "
               f"(dynamic linking of {mach['linked_libraries']} libraries)" if ver else "")
            + f"; {part_load(mach, 'webhook')}.")
    else:
        add(name, "-", None)
        add("start-up (fork+exec to first /readyz 200) < 50 ms", "-", None)
    name = "cloudflare: 500 concurrent Presents, fake API at 200 ms per request, < 2 s"
    if cf:
        sc = cf["scenarios"]
        worst = max(s["wall_s"]["max"] for s in sc)
        add(name, "; ".join(f"{s['scenario']} {f(s['wall_s'], 1, 2)} s" for s in sc), worst < 2,
            "; ".join(f"{s['scenario']}: dns01 CPU {f(s['cpu_ms'], 1, 0)} ms per burst, "
                      f"{f(s['succeeded'], 1, 0)} of {s['presents']} succeeded" for s in sc)
            + f"; each Present needs 2-3 API calls in series at 200 ms each; {part_load(mach, 'cloudflare')}.")
        name = "cloudflare: /healthz < 10 ms meanwhile"
        worst = max(s["healthz_ms_max"]["max"] for s in sc)
        add(name, "; ".join(f"{s['scenario']} max {f(s['healthz_ms_max'], 1, 2)} ms" for s in sc),
            worst < 10,
            "; ".join(f"{s['scenario']}: /healthz p99 {f(s['healthz_ms_p99'], 1, 2)} ms, dns01 "
                      f"CPU {f(s['cpu_ms'], 1, 0)} ms in {f(s['wall_s'], 1, 2)} s" for s in sc)
            + ". A /healthz waits for the burst's work queued ahead of it on the one event "
              "loop, and for the CPU whenever something else runs there; "
            + (f"dns01 and the sampler ran on CPU {cf['settings']['dns01_cpu']}, the load on "
               "the others (other processes on the machine were not kept off it)"
               if cf["settings"]["pinned"] else "dns01 shared the CPUs with the load")
            + f"; {part_load(mach, 'cloudflare')}.")
    else:
        add(name, "-", None)
        add("cloudflare: /healthz < 10 ms meanwhile", "-", None)
    name = "rfc2136 CLI: present+check+cleanup no slower than nsupdate+dig"
    if rf:
        cy = rf["cycle"]
        r = rf["ratio_classic_over_dns01"]
        ver = cy.get("dns01 --version")
        add(name, f"nsupdate+dig / dns01 = {r:.2f}x ({cy['nsupdate+dig']['median_ms']:.1f} / "
            f"{cy['dns01']['median_ms']:.1f} ms)", r >= 1.0,
            "the dns01 cycle is three process start-ups"
            + (f" of {ver['median_ms']:.1f} ms each (`dns01 --version`)" if ver else "")
            + f" plus three DNS exchanges; {part_load(mach, 'rfc2136')}.")
    else:
        add(name, "-", None)
    name = "dns01 issue >= 3x faster than the fastest of lego and certbot"
    ratio = (iss or {}).get("ratio_vs_fastest_peer")
    if ratio is not None:
        cmp_ = iss["compare"]
        add(name, f"{ratio:.1f}x", ratio >= 3,
            f"dns01 {cmp_['dns01']['median_s']:.3f} s per certificate, most of it the ACME "
            f"round trips to Pebble and the propagation checks; {part_load(mach, 'issue')}.")
    else:
        add(name, "-", None)
    n = (ren or {}).get("certificates", 20)
    name = (f"dns01 renew of {n} due certificates >= {RENEW_GOAL:g}x faster than the "
            "fastest of certbot renew and a lego loop")
    ratio = (ren or {}).get("ratio_vs_fastest_peer")
    if ratio is not None:
        d = ren["clients"]["dns01"]
        add(name, f"{ratio:.1f}x", ratio >= RENEW_GOAL,
            f"dns01 {d['wall_s']['median']:.3f} s for {n} certificates in one process "
            f"({d['acme_requests']['median']:.0f} ACME requests, CPU "
            f"{d['cpu_s']['median']:.2f} s): the orders run in parallel, so the time is "
            f"the slowest order's round trips to Pebble and the propagation checks; "
            f"{part_load(mach, 'renew')}.")
    else:
        add(name, "-", None)
    name = "replicas: convergence p99 < 100 ms on loopback (Present on A to served by B and C)"
    if rp:
        cv = rp["convergence"]
        add(name, f"p50 {cv['all']['p50_ms']:.2f} ms, p99 {cv['all']['p99_ms']:.2f} ms",
            cv["all"]["p99_ms"] < 100, f"max {cv['all']['max_ms']:.1f} ms; {part_load(mach, 'replicas')}.")
        mem = rp["memory"]
        add("replicas: RSS with 10,000 stored values < 4 MiB above idle",
            f"{mem['delta_mib']:.2f} MiB with {mem['records']:,}",
            mem["delta_mib"] < 4 if mem["records"] >= 10000 else None,
            "every value is held twice: the mirror of the objects (name, text, version, "
            "creation) and the DNS store (a node per name and per empty non-terminal above it, "
            "the value); the values are 43 characters as ACME digests are.")
    else:
        add(name, "-", None)
        add("replicas: RSS with 10,000 stored values < 4 MiB above idle", "-", None)
    name = ("authoritative DNS: dns01 within 2x of the fastest of BIND, Knot and NSD "
            "(UDP TXT queries/s, one core each)")
    g = (ad or {}).get("goal")
    if g:
        q, c = g["qps"], g["queries_per_cpu_s"]
        add(name, f"{q['fastest']} / dns01 = {q['ratio']:.2f}x in queries/s, "
            f"{c['fastest']} / dns01 = {c['ratio']:.2f}x in queries per server CPU-second",
            g["met"], authdns_limit(ad, mach))
    else:
        add(name, "-", None)
    return out


def authdns_limit(ad, mach):
    """Why dns01's embedded DNS answers no faster."""
    u = ad["summary"]["udp"]["dns01"]
    return (f"dns01 used {u['server_cpu_pct']['median']:.0f}% of its CPU, "
            f"{1e6 / u['queries_per_cpu_s']['median']:.1f} us of CPU per query: ordinary "
            "queries are answered from wire form without an allocation (dnsd_fast.c, "
            "0.2 us per answer in-process), so what is left is mostly the system calls, "
            "one recvfrom and one sendto per query and an event-loop wake-up per burst, "
            "where Knot and NSD batch datagrams with recvmmsg/sendmmsg; "
            f"{part_load(mach, 'authdns')}.")


def authdns_section(ad):
    """bench/authdns.py: dns01 vs BIND vs Knot vs NSD under dnsperf."""
    st, v, mix = ad["settings"], ad["versions"], ad["mix"]
    cc = ad["crosscheck"]
    L = ["", "## Authoritative TXT queries/s: dns01 vs BIND 9, Knot, NSD (bench/authdns.py)", "",
         f"Zone bench.test. with SOA, NS and {st['names']:,} TXT names ({st['values']:,} values "
         "of 43 characters, one or two per name); dns01 filled through webhook Presents "
         f"({ad['fill']['presents']:,} in {ad['fill']['seconds']:.1f} s), the others load a zone "
         f"file with the same records and dns01's SOA serial ({ad['fill']['serial']}). "
         f"All four run at once, each pinned to CPU {st['server_cpu']} and single-threaded "
         "(named -n 1; knotd udp/tcp/background-workers 1; nsd server-count 1; dns01's one "
         "event loop), no query logging, minimal responses, NSD's rate limiting off. "
         f"dnsperf on CPU {st['dnsperf_cpu']}: -c {st['clients']} -T 1 -l {st['secs']} -e, "
         f"no -Q limit; queries {mix['txt']:.0%} TXT of existing names, {mix['nxdomain']:.0%} "
         f"NXDOMAIN, {mix['nodata']:.0%} NODATA (A of a TXT name), {mix['lines']:,} lines "
         f"shuffled. {st['repeat']} rounds per transport, the servers measured in turns "
         "(order rotated each round). Before timing, "
         f"{cc['questions']} questions (TXT with one and two values, NXDOMAIN, NODATA, apex "
         "SOA/NS/TXT, an empty non-terminal, out of zone, upper case) asked of each: rcode, AA, "
         f"TC, answer and authority sections and OPT equal dns01's: {len(cc['mismatches'])} "
         "mismatches; a positive reply is "
         + ", ".join(f"{k} {b} bytes" for k, b in cc["positive_reply_bytes"].items()) + ".", "",
         f"Versions: {v['named']}; {v['knotd']}; {v['nsd']}; {v['dns01']} at "
         f"{v.get('dns01_commit', '?')}; {v['dnsperf']}."
         + (f" dns01-base: the same dns01 built at {v['dns01_base_commit']} (before the "
            "change being measured), filled and measured the same way, not counted for the "
            "goal." if v.get("dns01_base") else ""), ""]
    mem = ad.get("memory", {})
    for mode, rows in ad["summary"].items():
        L += [f"{mode.upper()}:", "",
              "| server | queries/s | queries per CPU-s | server CPU % | other on its CPU % | "
              "dnsperf CPU % | mean latency ms | lost |", "|---|---|---|---|---|---|---|---|"]
        for k, r in rows.items():
            L.append(f"| {k} | {f(r['qps'], 1, 0)} | {f(r['queries_per_cpu_s'], 1, 0)} | "
                     f"{f(r['server_cpu_pct'], 1, 0)} | {f(r['cpu0_other_pct'], 1, 0)} | "
                     f"{f(r['dnsperf_cpu_pct'], 1, 0)} | {f(r['mean_latency_ms'], 1, 3)} | "
                     f"{f(r['lost'], 1, 0)} |")
        d = rows.get("dns01")
        if d and d["qps"]:
            L += ["", "Ratios of medians to dns01: " + "; ".join(
                f"{k} {r['qps']['median'] / d['qps']['median']:.2f}x q/s, "
                f"{r['queries_per_cpu_s']['median'] / d['queries_per_cpu_s']['median']:.2f}x "
                "q per CPU-s" for k, r in rows.items() if k != "dns01" and r["qps"]) + ".", ""]
    L += ["Load average (1 min) at the start and end of each run: " + "; ".join(
        f"{m} {k} " + ", ".join(f"{x['load1'][0]:.2f}-{x['load1'][1]:.2f}" for x in runs)
        for m, rs in ad["runs"].items() for k, runs in rs.items()) + ".", ""]
    if mem:
        L += ["Memory with the names loaded (the process tree; NSD: parent, server, xfrd), "
              "MiB RSS / PSS: " + ", ".join(
                  f"{k} {m['rss_kib'] / 1024:.1f} / {m['pss_kib'] / 1024:.1f}"
                  + (f" ({m['processes']} processes)" if m["processes"] > 1 else "")
                  for k, m in mem.items()) + "; after the runs: " + ", ".join(
                  f"{k} {m['rss_kib'] / 1024:.1f} / {m['pss_kib'] / 1024:.1f}"
                  for k, m in ad.get("memory_after", {}).items()) + ".",
              "", "Queries/s is what dnsperf saw; when dnsperf itself is at ~100% of its CPU "
              "the server had room left, and queries per server CPU-second (completed queries "
              "over the server's CPU time) compares the servers' cost per query, the figure "
              "least moved by dnsperf's ceiling and by other load on the machine."]
    return L


def acmedns_section(ac):
    """bench/acmedns.py: acme-dns API and DNS UPDATE writes per store."""
    st, v = ac["settings"], ac.get("versions", {})
    L = ["", "## acme-dns API updates/s and DNS UPDATEs/s per store (bench/acmedns.py)", "",
         f"One `dns01 serve --secure-port 0` per store on loopback: acme-dns API over plain HTTP, "
         f"`--acmedns-registration open`, `--acmedns-rate 0` (no per-account limit, so it does not "
         f"cap the figure; the default is 60 a minute per account), bcrypt cost "
         f"{st['bcrypt_cost']}; DNS UPDATE with TSIG hmac-sha256. postgres: a PostgreSQL "
         f"cluster started for the run on the local disk ({v.get('postgres')}, fsync "
         f"{'on' if st['pg_fsync'] else 'OFF'}); postgres-nofsync: a second one with fsync "
         "off, as the tests run it, to show what the commit's flush costs (the store "
         "writes one statement at a time, from send to its notification); sqlite: WAL "
         "with synchronous=FULL "
         f"(libsqlite3 {v.get('sqlite')}). {st['accounts']} accounts registered first. "
         f"{st['clients']} client processes (Python, not threads: one process's GIL would cap "
         f"the client first), {st['repeat']} runs of {st['dur_s']:.0f} s per row. API: each "
         "client over one keep-alive connection (http.client) with its share of the accounts "
         "POSTs /update a fresh 43-character value and DELETEs it again; every POST and DELETE "
         "counts as one update. Cold: the first POST of every account, all clients at once "
         "(each a bcrypt verification on the server's two worker threads); after it the "
         "server remembers the verified (user, password, hash) (a keyed cache of 4096), so "
         "steady-state updates cost no bcrypt. DNS UPDATE: each client adds a TXT value then "
         f"deletes it, one signed UPDATE each over UDP (dnspython {v.get('dnspython')}, which "
         "verifies the signed replies), four names per client, in one zone or spread over "
         "four (UPDATEs are serialised per zone). dns01 CPU: % of one CPU during the run; "
         "well below 100% means the clients (sharing the same CPUs) or the store's "
         "round trips were the limit, not dns01's loop.", "",
         "| store | register/s | cold updates/s | cold p50 / p99 ms | updates/s | p50 ms | "
         "p99 ms | dns01 CPU % | failed |", "|---|---|---|---|---|---|---|---|---|"]
    for k, r in ac["stores"].items():
        if "error" in r:
            L.append(f"| {k} | failed: {r['error'][:200]} | | | | | | | |")
            continue
        c, a = r["api_cold"], r["api"]
        L.append(f"| {k} | {r['register_per_s']:.1f} | {c['per_s']:.1f} | "
                 f"{c['p50_ms']:.0f} / {c['p99_ms']:.0f} | {f(a['per_s'], 1, 0)} | "
                 f"{f(a['p50_ms'], 1, 2)} | {f(a['p99_ms'], 1, 2)} | "
                 f"{f(a['dns01_cpu_pct'], 1, 0)} | {a['failures'] + c['failures']} |")
    L += ["", "DNS UPDATE; client dnspython: message objects built, signed, parsed and "
          "the reply's MAC verified in Python; client raw: the same UPDATEs built as wire "
          "bytes with the TSIG MAC (hmac-sha256) computed by hand, the reply's rcode and its "
          "TSIG record checked but not its MAC, a tenth of dnspython's CPU per UPDATE, so the "
          "server rather than the client is measured.", "",
          "| store | client | zones | UPDATEs/s | p50 ms | p99 ms | dns01 CPU % | failed |",
          "|---|---|---|---|---|---|---|---|"]
    for k, r in ac["stores"].items():
        for cl in ("dns", "raw"):
            for nz in (1, 4):
                u = r.get(f"{cl}_update_{nz}zone")
                if u:
                    L.append(f"| {k} | {'dnspython' if cl == 'dns' else 'raw'} | {nz} | "
                             f"{f(u['per_s'], 1, 0)} | {f(u['p50_ms'], 1, 2)} | "
                             f"{f(u['p99_ms'], 1, 2)} | {f(u['dns01_cpu_pct'], 1, 0)} | "
                             f"{u['failures']} |")
    errs = [f"{k} {part}: {x['first_error']}" for k, r in ac["stores"].items()
            for part, x in r.items() if isinstance(x, dict) and x.get("first_error")]
    if errs:
        L += ["", "First failure of each: " + "; ".join(errs) + "."]
    L += ["", "Load average (1 min) at the start and end of each run: " + "; ".join(
        f"{k} {part} " + ", ".join(f"{x['load1'][0]:.1f}-{x['load1'][1]:.1f}"
                                   for x in r[part]["runs"])
        for k, r in ac["stores"].items() for part in (
            "api", "dns_update_1zone", "dns_update_4zone", "raw_update_1zone",
            "raw_update_4zone") if part in r) + "."]
    cv = ac.get("convergence")
    if cv:
        L += ["", f"Convergence, two instances on one PostgreSQL: {cv['n']} POST /update through "
              "A one at a time; from A's answer B asked over UDP every 0.5 ms until it serves "
              f"the value: p50 {cv['p50_ms']:.2f} ms, p99 {cv['p99_ms']:.2f} ms, max "
              f"{cv['max_ms']:.2f} ms (mean {cv['mean_ms']:.2f}; {cv['timeouts']} not served "
              f"within 10 s, {cv['failures']} failed calls). A served the value within 2 ms of "
              f"its answer {cv['a_serves_at_answer']} of {cv['n']} times (it answers once its "
              "own notification has been applied)."]
    return L


def renew_section(ren):
    """bench/renew.py: dns01 renew vs certbot renew vs a lego loop."""
    n, cl = ren["certificates"], ren["clients"]
    L = ["", "## dns01 renew vs certbot renew vs a lego loop (bench/renew.py)", "",
         f"{n} certificates ({', '.join(ren['names'])}) per client, issued untimed first "
         f"(each client's one account created then), then {ren['repeat']} timed runs per "
         f"client, interleaved, each renewing all {n} from Pebble {ren['pebble']} over DNS-01 "
         f"to BIND; lego {ren['lego']}, {ren['certbot']}. Forced due without asking the CA: "
         + ", ".join(f"{k} {v}" for k, v in ren["forced"].items())
         + "; every certificate's serial checked changed after each run. dns01: one "
         "`dns01 renew` process, the certificates in parallel on one ACME session; certbot: "
         "one `certbot renew` process, one lineage after another; lego: one `lego renew` "
         "process per certificate, one after another (peak RSS: the largest of them; CPU: "
         "the sum). ACME requests: as logged by Pebble during the run.", "",
         "| client | wall s | CPU s | peak RSS MiB | ACME requests |", "|---|---|---|---|---|"]
    for k, v in cl.items():
        L.append(f"| {v['label']} | {f(v['wall_s'], 1, 3)} | {f(v['cpu_s'], 1, 2)} | "
                 f"{f(v['peak_rss_kib'], MIB)} | {f(v['acme_requests'], 1, 0)} |")
    if "dns01" in cl:
        d = cl["dns01"]
        L += ["", "Ratios of medians, side by side in this run:", ""]
        for k, v in cl.items():
            if k != "dns01":
                L.append(f"- {v['label']} / dns01 renew: wall "
                         f"{v['wall_s']['median'] / d['wall_s']['median']:.1f}x, CPU "
                         f"{v['cpu_s']['median'] / max(d['cpu_s']['median'], 0.01):.1f}x, "
                         f"peak RSS {v['peak_rss_kib']['median'] / d['peak_rss_kib']['median']:.1f}x")
    if ren.get("setup_s"):
        L += ["", "Untimed set-up (first issue of all certificates): "
              + ", ".join(f"{k} {v:.1f} s" for k, v in ren["setup_s"].items()) + "."]
    for k, e in ren["errors"].items():
        L += ["", f"{k} failed:", "```", e.strip()[-800:], "```"]
    return L


def plot(wh, rf, out, mach, day):
    """p50/p99 vs connections, median with min-max bars; None if no plot."""
    rows = {}
    for name, s in (("embedded", (wh or {}).get("embedded")), ("rfc2136", (rf or {}).get("webhook"))):
        if s:
            rows[name] = [(p["connections"], p["p50_us"], p["p99_us"]) for p in s["points"]]
    if not rows or not shutil.which("gnuplot"):
        return None
    data, plots = [], []
    styles = {"embedded": (1, 1.0), "rfc2136": (2, 1.07)}
    for name, pts in rows.items():
        color, shift = styles[name]
        data.append(f"${name} << EOD")
        for c, p50, p99 in pts:
            data.append(f"{c * shift} " + " ".join(f"{s[k] / 1000:.4f}" for s in (p50, p99)
                                                   for k in ("median", "min", "max")))
        data.append("EOD")
        plots.append(f"${name} using 1:2:3:4 with yerrorlines lc {color} dt 1 pt 7 "
                     f"title '{name} p50'")
        plots.append(f"${name} using 1:5:6:7 with yerrorlines lc {color} dt 2 pt 5 "
                     f"title '{name} p99'")
    plots.append("10 with lines lc rgb 'red' dt 4 lw 1.5 title 'goal: p99 < 10 ms at 128'")
    png = out + "-latency.png"
    script = "\n".join(data + [
        "set terminal pngcairo size 900,560 font 'sans,10'",
        f"set output '{png}'",
        f"set title \"dns01 webhook Present+CleanUp latency vs connections, {day}\\n"
        f"{mach['nproc']} CPUs, keep-alive HTTPS (wrk); points: median, bars: min-max\"",
        "set logscale xy", "set xrange [0.7:180]", "set xtics ('1' 1, '16' 16, '128' 128)",
        "set xlabel 'connections'", "set ylabel 'latency (ms)'", "set grid",
        "set key top left", "plot " + ", ".join(plots), ""])
    p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if p.returncode != 0 or not os.path.exists(png):
        print("report: gnuplot failed: " + p.stderr[-500:], file=sys.stderr)
        return None
    shutil.copyfile(png, os.path.join(os.path.dirname(png), "latest-latency.png"))
    return os.path.basename(png)


def webhook_table(wh, rf):
    lines = ["| provider | connections | pairs/s | p50 ms | p99 ms | peak RSS MiB | "
             "dns01 CPU % | wrk CPU % | failed |", "|---|---|---|---|---|---|---|---|---|"]
    for name, s in (("embedded", (wh or {}).get("embedded")), ("rfc2136 to BIND", (rf or {}).get("webhook"))):
        for p in (s or {}).get("points", []):
            fails = sum((r.get("errors") or 0) + (r.get("failed_calls") or 0) for r in p["runs"])
            lines.append(f"| {name} | {p['connections']} | {f(p['pairs_per_s'], 1, 0)} | "
                         f"{f(p['p50_us'], 1e-3, 2)} | {f(p['p99_us'], 1e-3, 2)} | "
                         f"{f(p['peak_rss_kib'], MIB)} | {f(p['dns01_cpu_pct'], 1, 0)} | "
                         f"{f(p['wrk_cpu_pct'], 1, 0)} | {fails:.0f} |")
    emb, rfc = (wh or {}).get("embedded"), (rf or {}).get("webhook")
    if emb and rfc:
        lines += ["", "Same run, side by side (ratios of medians): embedded pairs/s / rfc2136 "
                  "pairs/s; rfc2136 p99 / embedded p99.", ""]
        for c in (1, 16, 128):
            a, b = point(emb, c), point(rfc, c)
            if a and b:
                lines.append(f"- {c} connections: throughput {med(a['pairs_per_s']) / med(b['pairs_per_s']):.2f}x, "
                             f"p99 {med(b['p99_us']) / med(a['p99_us']):.2f}x")
    return lines


def main():
    work, out = sys.argv[1:3]
    day = os.path.basename(out)
    mach = machine(work)
    wh, rf = load(work, "webhook.json"), load(work, "rfc2136.json")
    cf, iss = load(work, "cloudflare.json"), load(work, "issue.json")
    ren = load(work, "renew.json")
    rp = load(work, "replicas.json")
    ad = load(work, "authdns.json")
    ac = load(work, "acmedns.json")
    gl = goals(mach, wh, rf, cf, iss, ren, rp, ad)
    png = plot(wh, rf, out, mach, day)
    settings = (wh or rf or {}).get("settings", {})

    L = [f"# dns01 bench, {day}", "",
         f"Machine: `{mach['uname']}`; {mach['nproc']} CPUs ({mach['cpu']}), "
         f"{mach['mem_mib']} MiB. Load average (1/5/15 min) at the start "
         f"{'/'.join(f'{x:.2f}' for x in mach['loadavg_start'])}, at the end "
         f"{'/'.join(f'{x:.2f}' for x in mach['loadavg_end'])}; {mach['started']} to {mach['finished']}.",
         f"dns01 `{mach['dns01']}` at `{mach['commit']}` ({mach['linked_libraries']} shared libraries). "
         "Tools: " + ", ".join(f"{k} {v}" for k, v in mach["tools"].items()) + ".", "",
         "Every figure: median of n runs [min-max]. "
         + (f"Webhook loads: {settings.get('repeat')} runs of {settings.get('duration')} per point "
            f"after a 1 s warm-up, a fresh server per point; "
            + (f"dns01 on CPU {settings['dns01_cpu']}, wrk on CPUs {settings['load_cpus']}. "
               if settings.get("pinned") else "dns01 and wrk not pinned. ") if settings else ""),
         "", "| part | exit | seconds | load average at start -> end |", "|---|---|---|---|"]
    for p in mach["parts"]:
        L.append(f"| {p['part']} | {p['exit']} | {p['seconds']:.0f} | "
                 f"{p['load_start'][0]:.2f} -> {p['load_end'][0]:.2f} |")
    L += ["", "## Goals", "", "| goal | measured | met |", "|---|---|---|"]
    for g in gl:
        L.append(f"| {g['goal']} | {g['measured']} | "
                 f"{'not measured' if g['met'] is None else 'met' if g['met'] else '**NOT met**'} |")
    limits = [g for g in gl if g["met"] is False]
    if limits:
        L += ["", "What limits the goals not met:", ""]
        L += [f"- {g['goal']}: {g['limit']}" for g in limits]

    if (wh or {}).get("embedded") or (rf or {}).get("webhook"):
        L += ["", "## Webhook Present+CleanUp over keep-alive HTTPS (bench/webhook.py, bench/rfc2136.py)", "",
              "wrk with bench/wrk_pair.lua: each wrk thread presents new values and cleans each "
              "up once its Present is answered, over 8 names per thread; pairs/s = requests/s / 2. "
              "failed = wrk errors + calls the server counted as failed, over all runs. Peak RSS: "
              "VmHWM during each run (reset before it). CPU: % of one CPU.", ""]
        L += webhook_table(wh, rf)
    if png:
        L += ["", f"![p50 and p99 latency vs connections]({png})"]
    st = (wh or {}).get("startup")
    if st:
        L += ["", "## Start-up and idle memory (bench/webhook.py)", "",
              f"{st['port_ms']['n']} fresh `dns01 serve --demo`: fork+exec to the port accepting "
              f"{f(st['port_ms'], 1, 1)} ms, to the first /readyz 200 {f(st['ready_ms'], 1, 1)} ms. "
              f"Idle RSS 0.5 s later {f(st['idle_rss_kib'], MIB)} MiB: file-backed "
              f"{f(st['rss_file_kib'], MIB)}, anonymous {f(st['rss_anon_kib'], MIB)} MiB"
              + (f"; PSS {f(st['pss_kib'], MIB)}, private {f(st['private_kib'], MIB)} MiB"
                 if st.get("pss_kib") else "") + ". Largest "
              "mappings (MiB): " + ", ".join(f"{k} {v * MIB:.2f}" for k, v in st["top_mappings_kib"]) + "."]
    if rf:
        cy = rf["cycle"]
        L += ["", "## rfc2136 CLI against BIND 9 (bench/rfc2136.py)", "",
              f"present + check + cleanup of one TXT value, hyperfine, side by side in one run "
              f"({rf['bind']}).", "",
              "| command | median ms | min-max ms | runs |", "|---|---|---|---|"]
        for k, v in cy.items():
            L.append(f"| {k} | {v['median_ms']:.2f} | {v['min_ms']:.2f}-{v['max_ms']:.2f} | {v['n']} |")
        L += ["", f"nsupdate+dig / dns01 = {rf['ratio_classic_over_dns01']:.2f}x."]
    if cf:
        s0 = cf["settings"]
        L += ["", "## Cloudflare concurrency (bench/cloudflare_concurrency.py)", "",
              f"{s0['presents']} concurrent Presents through the webhook to the Cloudflare fake "
              f"answering every API request after {s0['fake_latency_s'] * 1000:.0f} ms, "
              f"{s0['repeat']} runs per scenario after a 50-Present warm-up; /healthz sampled every "
              f"5 ms from a separate process. dns01 and the sampler "
              f"{'at nice -10' if s0['niced'] else 'at normal priority'}"
              f"{' on CPU ' + str(s0['dns01_cpu']) + ', the load on the others' if s0['pinned'] else ''}.", "",
              "| scenario | succeeded | wall s | dns01 CPU ms | /healthz median ms | p99 ms | max ms | peak RSS MiB |",
              "|---|---|---|---|---|---|---|---|"]
        for s in cf["scenarios"]:
            L.append(f"| {s['scenario']} | {f(s['succeeded'], 1, 0)} of {s['presents']} | "
                     f"{f(s['wall_s'], 1, 2)} | {f(s['cpu_ms'], 1, 0)} | "
                     f"{f(s['healthz_ms_median'], 1, 2)} | {f(s['healthz_ms_p99'], 1, 2)} | "
                     f"{f(s['healthz_ms_max'], 1, 2)} | {f(s['peak_rss_kib'], MIB)} |")
        L += ["", "pinned: config.zoneID set, every value at one name (list, create); lookup: no "
              "zoneID, a name per call (one zone lookup for the whole burst, then the memo). "
              f"Server errors logged: {cf['errors_logged']}."]
        for s in cf["scenarios"]:
            L += [f"- {s['scenario']} failure: {e[:300]}" for e in s["errors"]]
    if iss:
        L += ["", "## dns01 issue vs lego vs certbot (bench/issue.py)", "",
              f"One certificate for {', '.join(iss.get('names', []))} from Pebble {iss['pebble']} "
              f"over DNS-01 to BIND; {iss['runs']} timed runs each, interleaved, after one untimed "
              f"warm-up (accounts exist). lego {iss['lego']}, {iss['certbot']}.", "",
              "| client | median s | min-max s | peak RSS MiB |", "|---|---|---|---|"]
        cmp_ = iss["compare"]
        for k, v in cmp_.items():
            L.append(f"| {k} | {v['median_s']:.3f} | {v['min_s']:.3f}-{v['max_s']:.3f} | "
                     f"{v['peak_rss_kib'] * MIB:.1f} |")
        if "dns01" in cmp_:
            L += [""] + [f"- {k} / dns01 = {v['median_s'] / cmp_['dns01']['median_s']:.1f}x"
                         for k, v in cmp_.items() if k != "dns01"]
        for k, e in iss["errors"].items():
            L += ["", f"{k} failed:", "```", e.strip()[-800:], "```"]
        c = iss["concurrency"]
        p, s = c["concurrent_one_process"], c["sequential"]
        L += ["", f"{c['certificates']} certificates (apex + wildcard each):", "",
              "| mode | median s | min-max s | peak RSS MiB |", "|---|---|---|---|",
              f"| one dns01 process, --batch | {p['median_s']:.3f} | {p['min_s']:.3f}-{p['max_s']:.3f} | "
              f"{p['peak_rss_kib'] * MIB:.1f} |",
              f"| sequential dns01 runs | {s['median_s']:.3f} | {s['min_s']:.3f}-{s['max_s']:.3f} | "
              f"{s['peak_rss_kib'] * MIB:.1f} |", "",
              f"Sequential / batch = {s['median_s'] / p['median_s']:.1f}x."]
    if ren:
        L += renew_section(ren)
    if rp:
        cv, mem, st = rp["convergence"], rp["memory"], rp["settings"]
        L += ["", "## Replicas sharing the Kubernetes store (bench/replicas.py)", "",
              f"Three `dns01 serve` on loopback against the fake kube-apiserver (own process). "
              f"{cv['n']} Presents one at a time through A; from A's answer B and C are asked over "
              f"UDP every 0.5 ms until they serve the value.", "",
              "| replica | p50 ms | p99 ms | max ms |", "|---|---|---|---|"]
        for k in ("b", "c", "all"):
            L.append(f"| {k} | {cv[k]['p50_ms']:.2f} | {cv[k]['p99_ms']:.2f} | {cv[k]['max_ms']:.2f} |")
        L += ["", f"A served the value within 2 ms of its answer {cv['a_serves_at_answer']} of "
              f"{cv['n']} times; the servers' own creation-to-applied mean (B, C): "
              + ", ".join(f"{x:.2f}" for x in cv["server_mean_ms"]) + " ms.", "",
              f"Present+CleanUp pairs/s through A, {st['threads']} threads over keep-alive HTTPS, "
              f"{st['repeat']} runs of {st['dur_s']:.0f} s: kubernetes store "
              f"{rp['pairs_kubernetes']['pairs_per_s']:.0f} "
              f"({rp['pairs_kubernetes']['failed_calls']} failed calls), memory store "
              f"{rp['pairs_memory']['pairs_per_s']:.0f} (the Python client's own ceiling).", "",
              f"RSS: {mem['records']:,} TXTRecords listed in {mem['listed_after_s']:.1f} s; "
              f"{mem['full_rss_kib'] / 1024:.1f} MiB against {mem['idle_rss_kib'] / 1024:.1f} MiB "
              f"for a replica of an empty namespace: {mem['delta_mib']:.2f} MiB above idle."]
    if (ad or {}).get("summary"):
        L += authdns_section(ad)
    if (ac or {}).get("stores"):
        L += acmedns_section(ac)
    text = "\n".join(L) + "\n"
    with open(out + ".md", "w") as fh:
        fh.write(text)
    with open(out + ".json", "w") as fh:
        json.dump({"date": day, "machine": mach, "goals": gl, "plot": png, "webhook": wh,
                   "rfc2136": rf, "cloudflare": cf, "issue": iss, "renew": ren,
                   "replicas": rp, "authdns": ad, "acmedns": ac}, fh, indent=1)
    print(text)


if __name__ == "__main__":
    main()
