"""Summarise bench/run's raw 'name value' lines: median and min-max per
figure, goals marked met / not met. Writes <out>.md and <out>.json."""
import json
import statistics
import sys

raw, out, uname, cpus = sys.argv[1:5]
vals = {}
for line in open(raw):
    k, v = line.split()
    vals.setdefault(k, []).append(float(v))

def fig(k):
    v = vals.get(k, [])
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)} if v else None

figs = {k: fig(k) for k in sorted(vals)}
# Present+CleanUp pairs: two requests per pair.
goals = [
    ("pairs/s at 16 connections >= 5000", figs.get("c16_rps"), lambda f: f["median"] / 2 >= 5000, lambda f: f"{f['median']/2:.0f} pairs/s"),
    ("p99 at 128 connections < 10 ms", figs.get("c128_p99_us"), lambda f: f["median"] < 10000, lambda f: f"{f['median']/1000:.2f} ms"),
    ("idle RSS <= 8 MiB", figs.get("idle_rss_kib"), lambda f: f["median"] <= 8192, lambda f: f"{f['median']/1024:.1f} MiB"),
    ("start-up < 50 ms", figs.get("startup_ms"), lambda f: f["median"] < 50, lambda f: f"{f['median']:.1f} ms"),
]
lines = [f"# dns01 bench, {out.rsplit('/', 1)[-1]}", "", f"Machine: {uname}, {cpus} CPUs. Median of n runs, [min-max].", "",
         "| figure | median | spread | n |", "|---|---|---|---|"]
for k, f in figs.items():
    lines.append(f"| {k} | {f['median']:.1f} | {f['min']:.1f}-{f['max']:.1f} | {f['n']} |")
lines += ["", "| goal | measured | met |", "|---|---|---|"]
result = {"figures": figs, "goals": []}
for name, f, ok, show in goals:
    if f is None:
        lines.append(f"| {name} | not measured | no |")
        result["goals"].append({"goal": name, "met": False})
        continue
    met = ok(f)
    lines.append(f"| {name} | {show(f)} | {'met' if met else 'NOT met'} |")
    result["goals"].append({"goal": name, "measured": show(f), "met": met})
open(out + ".md", "w").write("\n".join(lines) + "\n")
json.dump(result, open(out + ".json", "w"), indent=1)
print("\n".join(lines))
