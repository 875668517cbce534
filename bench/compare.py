"""The report of bench/compare: the webhook benchmark of two binaries,
run alternately in one session, side by side.

For each figure: the median and min-max over every measured run of each
side, the change of the head's median against the base's, and the noise:
the largest difference between two rounds' medians of the same binary,
relative to their mean (what the machine does to one binary from one
round to the next). A change within the noise is no change; a change
beyond it in the worse direction is marked a regression.

Usage: python3 bench/compare.py WORKDIR ROUNDS BASE_REV HEAD_REV OUT
WORKDIR holds base-<i>.json and head-<i>.json (bench/webhook.py) and
machine."""
import json
import os
import platform
import statistics
import sys

# (label, how to get the per-run values from one webhook.py result,
#  1 when higher is better, -1 when lower is better)
CONNS = (1, 16, 128)


def point(res, conns):
    return next(p for p in res["embedded"]["points"] if p["connections"] == conns)


def runs_of(res, conns, key):
    return [r[key] for r in point(res, conns)["runs"] if r.get(key) is not None]


FIGURES = [(f"pairs/s at {c} conns", (lambda c: lambda res: runs_of(res, c, "pairs_per_s"))(c), 1)
           for c in CONNS]
FIGURES += [(f"p99 ms at {c} conns", (lambda c: lambda res: [v / 1000 for v in runs_of(res, c, "p99_us")])(c), -1)
            for c in (16, 128)]
FIGURES += [
    ("start-up to /readyz ms", lambda res: [r["ready_ms"] for r in res["startup"]["runs"]], -1),
    ("idle RSS KiB", lambda res: [r["idle_rss_kib"] for r in res["startup"]["runs"]], -1),
    ("peak RSS KiB at 128 conns", lambda res: runs_of(res, 128, "peak_rss_kib"), -1),
    ("dns01 CPU % at 16 conns", lambda res: runs_of(res, 16, "dns01_cpu_pct"), -1),
]


def load(work, side, rounds):
    out = []
    for i in range(1, rounds + 1):
        with open(os.path.join(work, f"{side}-{i}.json")) as f:
            out.append(json.load(f))
    return out


def noise(per_round):
    """Largest relative difference between two rounds' medians."""
    meds = [statistics.median(v) for v in per_round if v]
    if len(meds) < 2:
        return None
    worst = 0.0
    for a in range(len(meds)):
        for b in range(a + 1, len(meds)):
            mean = (meds[a] + meds[b]) / 2
            if mean:
                worst = max(worst, abs(meds[a] - meds[b]) / mean)
    return worst


def main():
    work, rounds, base_rev, head_rev, out = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
    base, head = load(work, "base", rounds), load(work, "head", rounds)
    machine = open(os.path.join(work, "machine")).read().strip().splitlines()
    rows, js = [], []
    for label, get, better in FIGURES:
        b_rounds, h_rounds = [get(r) for r in base], [get(r) for r in head]
        b = [v for r in b_rounds for v in r]
        h = [v for r in h_rounds for v in r]
        if not b or not h:
            continue
        bm, hm = statistics.median(b), statistics.median(h)
        change = (hm - bm) / bm if bm else 0.0
        nzs = [x for x in (noise(b_rounds), noise(h_rounds)) if x is not None]
        nz = max(nzs) if nzs else None
        worse = change * better < 0
        if nz is None:
            verdict = "no noise estimate (one round)"
        else:
            verdict = "within noise" if abs(change) <= nz else ("REGRESSION" if worse else "better")
        rows.append(f"| {label} | {bm:,.1f} [{min(b):,.1f}-{max(b):,.1f}] | "
                    f"{hm:,.1f} [{min(h):,.1f}-{max(h):,.1f}] | {change:+.1%} | "
                    f"{'-' if nz is None else f'{nz:.1%}'} | {verdict} |")
        js.append({"figure": label, "base": b, "head": h, "base_median": bm, "head_median": hm,
                   "change": change, "noise": nz, "verdict": verdict})
    s = base[0]["settings"]
    md = [f"# Webhook benchmark: {base_rev} (base) vs {head_rev} (head)", "",
          f"Runs alternate base, head, base, head ... ({rounds} rounds of bench/webhook.py each: "
          f"{s['repeat']} runs of {s['duration']} per load point, {s['starts']} fresh servers for "
          f"start-up and idle RSS; embedded provider, keep-alive HTTPS, wrk; "
          f"dns01 pinned to CPU {s['dns01_cpu']}, wrk on {s['load_cpus']})."
          if s["pinned"] else f"Runs alternate base and head ({rounds} rounds, not pinned).", "",
          f"Machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs; "
          + "; ".join(machine) + ".", "",
          "Noise is the largest difference between two rounds' medians of the same binary, "
          "relative to their mean; a change within it is no change.", "",
          "| figure | base median [min-max] | head median [min-max] | change | noise | verdict |",
          "|---|---|---|---|---|---|", *rows, ""]
    with open(out + ".md", "w") as f:
        f.write("\n".join(md))
    with open(out + ".json", "w") as f:
        json.dump({"base": base_rev, "head": head_rev, "rounds": rounds, "machine": machine,
                   "figures": js}, f, indent=1)
    print("\n".join(md))


if __name__ == "__main__":
    main()
