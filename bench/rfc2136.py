"""bench/rfc2136.py: dns01 against the classic tools on the same BIND 9.

1. present + check + cleanup of one TXT value, wall time per cycle, with
   `dns01 present; dns01 check; dns01 cleanup` versus `nsupdate; dig;
   nsupdate`, measured side by side by hyperfine in one run (median,
   spread, ratio), plus `dns01 --version` alone: the floor that three
   process start-ups put under the dns01 cycle.
2. Webhook Present+CleanUp through `dns01 serve` to BIND (rfc2136
   provider, TSIG hmac-sha256) at 1, 16 and 128 connections, exactly as
   bench/webhook.py loads the embedded provider (fresh server per point,
   warm-up, REPEAT runs, peak RSS per run). Each run writes its values
   under its own domain, so values a run leaves behind (wrk stops between
   a Present and its CleanUp) do not grow the next run's RRsets. BIND is
   not pinned: it shares the CPUs with wrk (and dns01's when it must).

Usage: python3 bench/rfc2136.py OUT.json   (needs build/dns01, named,
nsupdate, dig, hyperfine, wrk; `make bench` installs them).
Env: DNS01_BIN, HF_RUNS (30), and bench/webhook.py's REPEAT, DUR, PIN."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests", "integration"), os.path.join(ROOT, "bench")]
import bind  # noqa: E402
import webhook  # noqa: E402

BIN = webhook.BIN
HF_RUNS = int(os.environ.get("HF_RUNS", "30"))
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
    subprocess.run(["hyperfine", "--warmup", "3", "--runs", str(HF_RUNS),
                    "--export-json", out, "-n", "dns01", d01,
                    "-n", "nsupdate+dig", classic,
                    "-n", "dns01 --version", f"{BIN} --version >/dev/null"],
                   check=True, stdout=subprocess.DEVNULL)
    res = {r["command"]: r for r in json.load(open(out))["results"]}
    return {k: {"median_ms": v["median"] * 1e3, "min_ms": v["min"] * 1e3,
                "max_ms": v["max"] * 1e3, "n": len(v["times"])} for k, v in res.items()}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        with bind.Bind(tmp) as b:
            secrets = os.path.join(tmp, "secrets")
            b.write_secrets(secrets)
            cfg = os.path.join(tmp, "cfg.json")
            json.dump(b.config(), open(cfg, "w"))
            hf = hyperfine(tmp, b, cfg, secrets)
            conf = json.dumps(b.config())
            wh = webhook.series(
                "rfc2136", ["--secrets-dir", secrets],
                lambda i: {"WRK_DOMAIN": f"r{os.urandom(4).hex()}.example.test.",
                           "WRK_ZONE": "example.test.", "WRK_CONFIG": conf})
            named = subprocess.run(["named", "-v"], capture_output=True, text=True).stdout.strip()
    ratio = hf["nsupdate+dig"]["median_ms"] / hf["dns01"]["median_ms"]
    res = {"settings": dict(webhook.settings(), hyperfine_runs=HF_RUNS), "bind": named,
           "cycle": hf, "ratio_classic_over_dns01": ratio, "webhook": wh}
    webhook.emit(res, out)


if __name__ == "__main__":
    main()
