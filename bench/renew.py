"""bench/renew.py: renewing every certificate of a host, side by side in
one run against the same Pebble and BIND 9 as bench/issue.py:

- `dns01 renew --config-dir DIR`: DIR/certs.d/rN.conf, one file per
  certificate, DIR/dns01.conf the defaults (one account key, rfc2136 to
  the BIND, `force = yes`); one process, the certificates in parallel;
- `certbot renew`: the same certificates as certbot lineages (issued with
  its rfc2136 plugin), all renewed by one process, one after another;
- a lego loop: `lego ... renew` once per certificate, one after another,
  as an operator's cron script would run it.

Each client first holds CERTS certificates (rN.example.test and
*.rN.example.test; issued untimed, which also creates each client's one
account), then REPEAT timed runs per client, interleaved, each renewing
all of them. Every run must really renew: each client is told the
certificates are due without asking the CA (dns01 `force = yes` in
dns01.conf, certbot `--force-renewal`, lego `--days` beyond the
lifetime), and the serial of every certificate is compared before and
after the run: a run that left one unchanged counts as failed.

The clients' settings are bench/issue.py's fastest honest ones
(propagation checked against the updated BIND, certbot's propagation wait
0, lego's intervals shortened), plus the flags that switch off a
deliberate random delay before renewing: certbot
--no-random-sleep-on-renew and lego --no-random-sleep (dns01's jitter
only moves the date a certificate becomes due; a forced one renews now).

Per run: wall time, peak RSS (GNU time %M; the lego loop: the largest of
its processes), CPU time (user + system; the lego loop: the sum) and the
ACME requests Pebble logged during the run.

Usage: python3 bench/renew.py [OUT.json]   env: REPEAT (3), RENEW_CERTS
(20). bench/report.py renders the JSON. Needs what bench/issue.py needs."""
import json
import os
import statistics
import sys
import tempfile
import time

import issue  # bench/issue.py: the helpers and each client's settings
from issue import BIN, Clients, measure

LEGO_DAYS = 100000  # beyond any lifetime: every certificate is due


def cert_names(i):
    return [f"r{i}.example.test", f"*.r{i}.example.test"]


def stat(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs),
            "n": len(xs)}


def dns01_conf(c, base, n):
    """The config dir `dns01 renew` reads: DIR/dns01.conf with what every
    certificate shares (one account key, so all of them run as one group
    on one ACME session), one certs.d file per certificate. Returns DIR."""
    d = os.path.join(base, "etc")
    os.makedirs(os.path.join(d, "certs.d"), exist_ok=True)
    os.makedirs(os.path.join(base, "live"), exist_ok=True)
    with open(os.path.join(d, "dns01.conf"), "w") as f:
        f.write("# bench/renew.py: every certificate forced due\n"
                f"directory = {c.p.directory}\n"
                f"ca_bundle = {c.p.ca_bundle}\n"
                "email = bench@example.test\n"
                f"account_key = {base}/account.key\n"
                "provider = rfc2136\n"
                f"config = {c.cfg}\n"
                f"secrets_dir = {c.secrets}\n"
                f"nameserver = {c.ns}\n"
                "force = yes\n")
    for i in range(n):
        with open(os.path.join(d, "certs.d", f"r{i}.conf"), "w") as f:
            f.write("".join(f"domain = {x}\n" for x in cert_names(i)))
            f.write(f"out = {base}/live/r{i}\n")
    return d


def serial(path):
    """The certificate's serial (hex), or None when there is none."""
    from cryptography import x509
    try:
        with open(path, "rb") as f:
            return format(x509.load_pem_x509_certificate(f.read()).serial_number, "x")
    except (OSError, ValueError):
        return None


class Renewers:
    """The three clients, each with its CERTS certificates."""

    def __init__(self, c, tmp, n):
        self.c, self.n = c, n
        self.base = {k: os.path.join(tmp, "renew-" + k)
                     for k in ("dns01", "certbot", "lego")}
        self.etc = dns01_conf(c, self.base["dns01"], n)

    def cert_path(self, client, i):
        b = self.base[client]
        return {"dns01": f"{b}/live/r{i}/cert.pem",
                "certbot": f"{b}/config/live/r{i}/cert.pem",
                "lego": f"{b}/certificates/r{i}.example.test.crt"}[client]

    def serials(self, client):
        return [serial(self.cert_path(client, i)) for i in range(self.n)]

    # One timed renewal of all the certificates: (seconds, peak RSS KiB,
    # CPU s, exit status, output), as issue.measure().
    def dns01(self):
        return measure([BIN, "renew", "--config-dir", self.etc,
                        "--log-level", "warn"])

    def certbot(self):
        return measure(["certbot", "renew", "--non-interactive",
                        "--force-renewal", "--no-random-sleep-on-renew"]
                       + self.c.certbot_dirs(self.base["certbot"]),
                       env=self.c.certbot_env())

    def lego(self):
        t0, peak, cpu, outs = time.monotonic(), 0, 0.0, []
        env = self.c.lego_env()
        for i in range(self.n):
            _, rss, c, rc, out = measure(
                self.c.lego_args(self.base["lego"], cert_names(i))
                + ["renew", "--days", str(LEGO_DAYS), "--no-random-sleep"],
                env=env)
            peak, cpu = max(peak, rss), cpu + c
            if rc != 0:
                return time.monotonic() - t0, peak, cpu, rc, f"r{i}: " + out
            outs.append(out[-200:])
        return time.monotonic() - t0, peak, cpu, 0, "\n".join(outs)

    def setup(self):
        """Issue every client's certificates, untimed; {client: seconds}
        or raises with the failing client's output."""
        took = {}
        t = time.monotonic()
        _, _, _, rc, out = self.dns01()  # no certificate yet: all due
        if rc != 0:
            raise RuntimeError("dns01 renew (first issue) failed: " + out[-2000:])
        took["dns01"] = time.monotonic() - t
        t = time.monotonic()
        for i in range(self.n):
            _, _, _, rc, out = measure(
                self.c.certbot_args(self.base["certbot"], f"r{i}",
                                    cert_names(i)), env=self.c.certbot_env())
            if rc != 0:
                raise RuntimeError(f"certbot certonly r{i} failed: " + out[-2000:])
        took["certbot"] = time.monotonic() - t
        t = time.monotonic()
        for i in range(self.n):
            _, _, _, rc, out = measure(
                self.c.lego_args(self.base["lego"], cert_names(i)) + ["run"],
                env=self.c.lego_env())
            if rc != 0:
                raise RuntimeError(f"lego run r{i} failed: " + out[-2000:])
        took["lego"] = time.monotonic() - t
        for k in self.base:
            missing = [i for i, s in enumerate(self.serials(k)) if s is None]
            if missing:
                raise RuntimeError(f"{k}: no certificate for r{missing[0]} after setup")
        return took


def acme_requests(p):
    """ACME requests Pebble has handled so far (one log line each)."""
    return p.logtext().count("-> calling handler()")


LABELS = {"dns01": "dns01 renew", "certbot": "certbot renew",
          "lego": "lego renew, per certificate"}


def compare(r, p, repeat):
    runs = {k: [] for k in LABELS}
    errors = {}
    for i in range(repeat):
        order = list(LABELS)[i % 3:] + list(LABELS)[:i % 3]
        for k in order:
            if k in errors:
                continue
            before = r.serials(k)
            q0 = acme_requests(p)
            t, rss, cpu, rc, out = getattr(r, k)()
            q = acme_requests(p) - q0
            after = r.serials(k)
            same = [f"r{j}" for j in range(r.n) if after[j] in (None, before[j])]
            if rc != 0 or same:
                errors[k] = (f"exit {rc}; not renewed: {' '.join(same) or 'none'}\n"
                             + out[-2000:])
                continue
            runs[k].append({"wall_s": t, "peak_rss_kib": rss, "cpu_s": cpu,
                            "acme_requests": q, "renewed": r.n})
    res = {}
    for k, v in runs.items():
        if v:
            res[k] = {"label": LABELS[k], "runs": v}
            res[k].update({m: stat([x[m] for x in v]) for m in
                           ("wall_s", "peak_rss_kib", "cpu_s", "acme_requests")})
    return res, errors


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    repeat = int(os.environ.get("REPEAT", "3"))
    n = int(os.environ.get("RENEW_CERTS", "20"))
    with tempfile.TemporaryDirectory() as tmp:
        with issue.bind.Bind(tmp) as b, \
                issue.pebble.Pebble(tmp, f"127.0.0.1:{b.port}") as p:
            c = Clients(tmp, b, p)
            r = Renewers(c, tmp, n)
            setup = r.setup()
            clients, errors = compare(r, p, repeat)
    res = {"date": time.strftime("%Y-%m-%d", time.gmtime()),
           "certificates": n, "names": cert_names("N"), "repeat": repeat,
           "forced": {"dns01": "`force = yes` in dns01.conf",
                      "certbot": "`--force-renewal`",
                      "lego": f"`renew --days {LEGO_DAYS}`"},
           "pebble": issue.version(["dpkg-query", "-W", "-f=${Version}", "pebble"]),
           "lego": issue.version(["dpkg-query", "-W", "-f=${Version}", "lego"]),
           "certbot": issue.version(["certbot", "--version"]),
           "setup_s": setup, "clients": clients, "errors": errors}
    if "dns01" in clients:
        d = clients["dns01"]["wall_s"]["median"]
        res["ratios"] = {k: v["wall_s"]["median"] / d
                         for k, v in clients.items() if k != "dns01"}
        if res["ratios"]:
            res["ratio_vs_fastest_peer"] = min(res["ratios"].values())
    text = json.dumps(res, indent=2)
    if out:
        with open(out, "w") as f:
            f.write(text)
    else:
        print(text)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
