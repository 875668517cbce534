"""bench/rfc2136.py: dns01 against the classic tools on the same BIND 9.

1. present + check + cleanup of one TXT value, wall time per cycle, with
   `dns01 present; dns01 check; dns01 cleanup` versus `nsupdate; dig;
   nsupdate`, measured side by side by hyperfine in one run (median,
   spread, ratio).
2. Webhook Present+CleanUp pairs per second through `dns01 serve` to BIND
   (rfc2136 provider, TSIG hmac-sha256), wrk at 16 connections.

Usage: python3 bench/rfc2136.py [RESULTS_BASENAME]   (needs build/dns01,
named, nsupdate, dig, hyperfine, wrk; `make bench` installs them)."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import bind  # noqa: E402
import harness  # noqa: E402

BIN = os.environ.get("DNS01_BIN", os.path.join(ROOT, "build", "dns01"))
harness.BIN = BIN
FQDN = "_acme-challenge.bench.example.test."


def hyperfine(tmp, b, cfg, secrets):
    key = "dns01-sha256."
    y = f"hmac-sha256:{key}:{b.secrets[key]}"
    ns = f"127.0.0.1:{b.port}"
    d01 = (f"{BIN} present --provider rfc2136 --config {cfg} --secrets-dir {secrets} "
           f"--zone example.test {FQDN} V1 >/dev/null && "
           f"{BIN} check --nameserver {ns} --interval 50ms {FQDN} V1 >/dev/null && "
           f"{BIN} cleanup --provider rfc2136 --config {cfg} --secrets-dir {secrets} "
           f"--zone example.test {FQDN} V1 >/dev/null")
    upd = lambda verb: (f"printf 'server 127.0.0.1 {b.port}\\nzone example.test\\n"
                        f"update {verb} {FQDN} 60 TXT V1\\nsend\\n' | nsupdate -y {y}")
    classic = (f"{upd('add')} && dig +short +norec -p {b.port} @127.0.0.1 TXT {FQDN} "
               f"| grep -q V1 && {upd('delete')}")
    out = os.path.join(tmp, "hf.json")
    subprocess.run(["hyperfine", "--warmup", "3",
                    "--runs", "30", "--export-json", out, "-n", "dns01", d01,
                    "-n", "nsupdate+dig", classic],
                   check=True, stdout=subprocess.DEVNULL)
    res = {r["command"]: r for r in json.load(open(out))["results"]}
    return {k: {"median_ms": v["median"] * 1e3, "min_ms": v["min"] * 1e3,
                "max_ms": v["max"] * 1e3, "n": len(v["times"])} for k, v in res.items()}


def webhook_rps(tmp, b, secrets):
    lua = os.path.join(tmp, "rfc2136.lua")
    cfg = json.dumps(b.config())
    with open(lua, "w") as f:
        f.write(f"""local n = 0
local t = 0
function setup(thread) t = t + 1; thread:set("tid", t) end
function request()
  n = n + 1
  local action = (n % 2 == 1) and "Present" or "CleanUp"
  local key = "w" .. tid .. "-" .. math.floor((n + 1) / 2)
  local body = '{{"request":{{"uid":"b","action":"' .. action .. '","key":"' .. key ..
    '","resolvedFQDN":"{FQDN}","resolvedZone":"example.test.","resourceNamespace":"default","config":{cfg}}}}}'
  return wrk.format("POST", "/apis/acme.dns01.demo/v1alpha1/rfc2136",
    {{["Content-Type"]="application/json", ["X-Remote-User"]="bench"}}, body)
end
function done(s, l, r)
  io.write(string.format("BENCH %d %.3f %d %d %d\\n", s.requests, s.duration / 1e6,
    l:percentile(50), l:percentile(99), s.errors.status + s.errors.timeout))
end
""")
    # wrk cannot present a client certificate: measure in demo mode,
    # which skips authentication but runs the same provider path.
    port = harness.free_port()
    proc = subprocess.Popen([BIN, "serve", "--demo", "--secure-port", str(port),
                             "--dns-listen", f"127.0.0.1:{harness.free_port()}",
                             "--secrets-dir", secrets, "--log-level", "warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run(f"until curl -sfk -o /dev/null https://127.0.0.1:{port}/readyz; "
                       "do sleep 0.02; done", shell=True, timeout=10, check=True)
        out = subprocess.run(["wrk", "-t2", "-c16", "-d5s", "-s", lua,
                              f"https://127.0.0.1:{port}/"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        proc.terminate()
        proc.wait()
    line = [l for l in out.splitlines() if l.startswith("BENCH")][0].split()
    reqs, secs = int(line[1]), float(line[2])
    return {"requests": reqs, "seconds": secs, "pairs_per_s": reqs / secs / 2,
            "p50_us": int(line[3]), "p99_us": int(line[4]), "errors": int(line[5])}


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        with bind.Bind(tmp) as b:
            secrets = os.path.join(tmp, "secrets")
            b.write_secrets(secrets)
            cfg = os.path.join(tmp, "cfg.json")
            json.dump(b.config(), open(cfg, "w"))
            hf = hyperfine(tmp, b, cfg, secrets)
            wh = webhook_rps(tmp, b, secrets)
    ratio = hf["nsupdate+dig"]["median_ms"] / hf["dns01"]["median_ms"]
    result = {"cycle": hf, "ratio_classic_over_dns01": ratio, "webhook_rfc2136": wh}
    lines = ["## rfc2136 against BIND 9 (bench/rfc2136.py)", "",
             "| present+check+cleanup | median ms | min-max ms | runs |", "|---|---|---|---|"]
    for k, v in hf.items():
        lines.append(f"| {k} | {v['median_ms']:.2f} | {v['min_ms']:.2f}-{v['max_ms']:.2f} | {v['n']} |")
    lines += ["", f"nsupdate+dig / dns01 = {ratio:.2f} (goal: dns01 no slower, i.e. >= 1.0: "
              f"{'met' if ratio >= 1.0 else 'NOT met'})", "",
              f"Webhook Present+CleanUp through to BIND, 16 connections: "
              f"{wh['pairs_per_s']:.0f} pairs/s, p50 {wh['p50_us']/1000:.2f} ms, "
              f"p99 {wh['p99_us']/1000:.2f} ms, {wh['errors']} errors"]
    text = "\n".join(lines) + "\n"
    print(text)
    if base:
        with open(base + ".md", "a") as f:
            f.write("\n" + text)
        with open(base + "-rfc2136.json", "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
