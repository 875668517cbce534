"""bench/issue.py: end-to-end issuance time of one certificate (an apex,
its wildcard and a third name) over DNS-01 with `dns01 issue`,
`lego --dns rfc2136` and `certbot --dns-rfc2136`, against the same Pebble
(PEBBLE_VA_NOSLEEP=1, no nonce rejection, no authorization reuse) and the
same BIND 9 (TSIG hmac-sha256); medians, spread, ratios and the peak RSS
of each client. Then 20 certificates issued concurrently by one `dns01`
process (--batch) versus the same 20 issued one after another.

Every client gets its fastest honest settings: its account exists before
the timed runs (one untimed warm-up each), it checks propagation against
the BIND that was updated (dns01 --nameserver, lego --dns.resolvers +
--dns.disable-cp with RFC2136_POLLING_INTERVAL=1 and
RFC2136_SEQUENCE_INTERVAL=0 instead of its 60 s pause between the names;
certbot has no check and waits a fixed time: 0 s here),
and every run really issues (dns01 --force, lego run, certbot
--force-renewal).

Usage: python3 bench/issue.py [OUT.json] [RUNS]   (RUNS: ISSUE_RUNS, 7;
the 20-certificate comparison runs REPEAT, 3, times; bench/report.py
renders the JSON). Needs build/dns01, named, pebble, lego, certbot,
python3-certbot-dns-rfc2136; `scripts/deps.sh bench` installs them."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import bind  # noqa: E402
import pebble  # noqa: E402

BIN = os.environ.get("DNS01_BIN", os.path.join(ROOT, "build", "dns01"))
NAMES = ["example.test", "*.example.test", "www.example.test"]
KEY = "dns01-sha256."


def measure(args, env=None, cwd=None):
    """(seconds, peak RSS KiB, CPU seconds, exit status, output) of one
    client run. GNU time reports the client's own high-water mark (%M):
    the child it forks is tiny before exec, unlike a fork of this Python
    process; CPU is its user + system time (%U + %S)."""
    fd, rssfile = tempfile.mkstemp()
    os.close(fd)
    t = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-o", rssfile, "-f", "%M %U %S"]
                       + args, env=env, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    dt = time.monotonic() - t
    with open(rssfile) as f:
        lines = f.read().splitlines()
    os.unlink(rssfile)
    v = lines[-1].split() if lines else []
    try:
        rss, cpu = int(v[0]), float(v[1]) + float(v[2])
    except (IndexError, ValueError):
        rss, cpu = 0, 0.0
    return dt, rss, cpu, p.returncode, p.stdout.decode(errors="replace")


def timed(args, env=None, cwd=None):
    """(seconds, peak RSS KiB, exit status, output): measure() less CPU."""
    dt, rss, _, rc, out = measure(args, env=env, cwd=cwd)
    return dt, rss, rc, out


class Clients:
    def __init__(self, tmp, b, p):
        self.tmp, self.b, self.p = tmp, b, p
        self.secrets = os.path.join(tmp, "secrets")
        b.write_secrets(self.secrets)
        self.cfg = os.path.join(tmp, "rfc2136.json")
        with open(self.cfg, "w") as f:
            json.dump(b.config(KEY), f)
        self.ns = f"127.0.0.1:{b.port}"
        self.certbot_ini = os.path.join(tmp, "certbot.ini")
        with open(self.certbot_ini, "w") as f:
            f.write(f"dns_rfc2136_server = 127.0.0.1\n"
                    f"dns_rfc2136_port = {b.port}\n"
                    f"dns_rfc2136_name = {KEY}\n"
                    f"dns_rfc2136_secret = {b.secrets[KEY]}\n"
                    f"dns_rfc2136_algorithm = HMAC-SHA256\n")
        os.chmod(self.certbot_ini, 0o600)

    def dns01(self, out, names=NAMES, extra=()):
        args = [BIN, "issue", "--directory", self.p.directory, "--email",
                "bench@example.test", "--provider", "rfc2136", "--config",
                self.cfg, "--secrets-dir", self.secrets, "--nameserver",
                self.ns, "--ca-bundle", self.p.ca_bundle, "--out", out,
                "--force", "--log-level", "warn"] + list(extra)
        for n in names:
            args += ["-d", n]
        return timed(args)

    def lego_env(self):
        return dict(os.environ, LEGO_CA_CERTIFICATES=self.p.ca_bundle,
                    RFC2136_NAMESERVER=self.ns, RFC2136_TSIG_KEY=KEY,
                    RFC2136_TSIG_SECRET=self.b.secrets[KEY],
                    RFC2136_TSIG_ALGORITHM="hmac-sha256.",
                    RFC2136_POLLING_INTERVAL="1",
                    # lego solves rfc2136 challenges one after another and
                    # waits SEQUENCE_INTERVAL (60 s by default) in between.
                    RFC2136_SEQUENCE_INTERVAL="0",
                    RFC2136_PROPAGATION_TIMEOUT="60")

    def lego_args(self, path, names=NAMES):
        """lego's global options; the command (run, renew) goes last."""
        args = ["lego", "--server", self.p.directory, "--email",
                "bench@example.test", "--accept-tos", "--path", path,
                "--dns", "rfc2136", "--dns.resolvers", self.ns,
                "--dns.disable-cp", "--key-type", "ec256"]
        for n in names:
            args += ["-d", n]
        return args

    def lego(self, path):
        return timed(self.lego_args(path) + ["run"], env=self.lego_env())

    def certbot_env(self):
        return dict(os.environ, REQUESTS_CA_BUNDLE=self.p.ca_bundle)

    @staticmethod
    def certbot_dirs(path):
        return ["--config-dir", path + "/config", "--work-dir",
                path + "/work", "--logs-dir", path + "/logs"]

    def certbot_args(self, path, name="bench", names=NAMES):
        args = ["certbot", "certonly", "--non-interactive", "--agree-tos",
                "-m", "bench@example.test", "--server", self.p.directory
                ] + self.certbot_dirs(path) + [
                "--dns-rfc2136",
                "--dns-rfc2136-credentials", self.certbot_ini,
                "--dns-rfc2136-propagation-seconds", "0",
                "--cert-name", name, "--key-type", "ecdsa"]
        for n in names:
            args += ["-d", n]
        return args

    def certbot(self, path):
        return timed(self.certbot_args(path) + ["--force-renewal"],
                     env=self.certbot_env())


def summary(samples):
    ts = [s[0] for s in samples]
    return {"median_s": statistics.median(ts), "min_s": min(ts),
            "max_s": max(ts), "n": len(ts),
            "peak_rss_kib": max(s[1] for s in samples)}


def compare(c, tmp, runs):
    paths = {"dns01": os.path.join(tmp, "d01"),
             "lego": os.path.join(tmp, "lego"),
             "certbot": os.path.join(tmp, "certbot")}
    run = {"dns01": lambda: c.dns01(paths["dns01"]),
           "lego": lambda: c.lego(paths["lego"]),
           "certbot": lambda: c.certbot(paths["certbot"])}
    res, errors = {k: [] for k in run}, {}
    for k, f in run.items():  # untimed: accounts exist afterwards
        t, rss, rc, out = f()
        if rc != 0:
            errors[k] = out[-2000:]
    for i in range(runs):
        order = list(run)[i % 3:] + list(run)[:i % 3]
        for k in order:
            if k in errors:
                continue
            t, rss, rc, out = run[k]()
            if rc != 0:
                errors[k] = out[-2000:]
                continue
            res[k].append((t, rss))
    return {k: summary(v) for k, v in res.items() if v}, errors


def concurrency(c, tmp, n=20, repeat=3):
    acct = os.path.join(tmp, "conc-account.key")
    batch = os.path.join(tmp, "batch")
    with open(batch, "w") as f:
        for i in range(n):
            f.write(f"{tmp}/conc/{i} c{i}.example.test *.c{i}.example.test\n")
    os.makedirs(os.path.join(tmp, "conc"), exist_ok=True)
    extra = ["--account-key", acct]
    c.dns01(os.path.join(tmp, "warm"), names=["warm.example.test"],
            extra=extra)
    par, seq = [], []
    for _ in range(repeat):
        t, rss, rc, out = timed([BIN, "issue", "--directory", c.p.directory,
                                 "--email", "bench@example.test",
                                 "--provider", "rfc2136", "--config", c.cfg,
                                 "--secrets-dir", c.secrets, "--nameserver",
                                 c.ns, "--ca-bundle", c.p.ca_bundle,
                                 "--force", "--log-level", "warn",
                                 "--batch", batch] + extra)
        if rc != 0:
            raise RuntimeError("batch failed: " + out[-2000:])
        par.append((t, rss))
        t0, peak = time.monotonic(), 0
        for i in range(n):
            _, rss, rc, out = c.dns01(f"{tmp}/conc/{i}",
                                      names=[f"c{i}.example.test",
                                             f"*.c{i}.example.test"],
                                      extra=extra)
            if rc != 0:
                raise RuntimeError("sequential failed: " + out[-2000:])
            peak = max(peak, rss)
        seq.append((time.monotonic() - t0, peak))
    return {"certificates": n, "concurrent_one_process": summary(par),
            "sequential": summary(seq)}


def version(args):
    try:
        return subprocess.run(args, capture_output=True, text=True,
                              timeout=30).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else int(os.environ.get("ISSUE_RUNS", "7"))
    repeat = int(os.environ.get("REPEAT", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        with bind.Bind(tmp) as b, \
                pebble.Pebble(tmp, f"127.0.0.1:{b.port}") as p:
            c = Clients(tmp, b, p)
            cmp_, errors = compare(c, tmp, runs)
            conc = concurrency(c, tmp, repeat=repeat)
    res = {"date": time.strftime("%Y-%m-%d", time.gmtime()),
           "machine": " ".join(os.uname()[i] for i in (0, 2, 4)),
           "cpus": os.cpu_count(), "runs": runs, "names": NAMES,
           "pebble": version(["dpkg-query", "-W", "-f=${Version}", "pebble"]),
           "lego": version(["dpkg-query", "-W", "-f=${Version}", "lego"]),
           "certbot": version(["certbot", "--version"]),
           "compare": cmp_, "errors": errors, "concurrency": conc}
    peers = [v["median_s"] for k, v in cmp_.items() if k != "dns01"]
    if "dns01" in cmp_ and peers:
        res["ratio_vs_fastest_peer"] = min(peers) / cmp_["dns01"]["median_s"]
    text = json.dumps(res, indent=2)
    if out:
        with open(out, "w") as f:
            f.write(text)
    else:
        print(text)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
