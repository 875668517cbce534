"""A real BIND 9 (`named`) for the tests, on a free port of 127.0.0.1, in its
own temporary directory. (named only listens on addresses its interfaces
have, so a second "authoritative server" is a second Bind instance.)

Zones:
  example.test.    NS ns1, ns2 (both 127.0.0.1); TSIG-updatable TXT
                   for KEYS; an unrelated TXT "v=spf1 -all" at
                   _acme-challenge.www; _acme-challenge.alias is a CNAME to
                   _acme-challenge.target.delegated.test.; sub is delegated.
  sub.example.test. its own SOA (a sub-zone), updatable.
  delegated.test.  the CNAME target's zone, updatable.
  refused.test.    no update policy: every UPDATE is REFUSED.
"""
import base64
import os
import shutil
import signal
import socket
import subprocess
import time

KEYS = {  # key name -> (BIND algorithm, cert-manager tsigAlgorithm)
    "dns01-sha256.": ("hmac-sha256", "HMACSHA256"),
    "dns01-sha512.": ("hmac-sha512", "HMACSHA512"),
    "dns01-md5.": ("hmac-md5", "HMACMD5"),
    "dns01-nogrant.": ("hmac-sha256", "HMACSHA256"),  # known, not granted
}
SPF = "v=spf1 -all"


def free_port():
    """A port free for UDP and TCP on 127.0.0.1."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ok = True
        for addr in ("127.0.0.1",):
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    try:
                        s.bind((addr, port))
                    except OSError:
                        ok = False
        if ok:
            return port
    raise RuntimeError("no free port")


def _zone(origin, body):
    return f"""$TTL 60
@ IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
@ IN NS ns1.example.test.
@ IN NS ns2.example.test.
{body}
"""


class Bind:
    def __init__(self, tmpdir, name="bind", zones=None):
        """`zones`: more zones, {origin: records}, updatable like the
        others (the SOA and NS records are added)."""
        self.extra_zones = zones or {}
        self.dir = os.path.join(tmpdir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.secrets = {k: base64.b64encode(os.urandom(32)).decode() for k in KEYS}
        self.proc = None

    def __enter__(self):
        self._write()
        self.log = open(os.path.join(self.dir, "named.log"), "w+")
        self.proc = subprocess.Popen(
            ["named", "-g", "-c", os.path.join(self.dir, "named.conf")],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("named exited: " + self.logtext()[-3000:])
            if self.dig("example.test.", "SOA")[0] == "NOERROR":
                return self
            time.sleep(0.1)
        raise RuntimeError("named did not start: " + self.logtext()[-3000:])

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return False

    def logtext(self):
        with open(os.path.join(self.dir, "named.log")) as f:
            return f.read()

    def _write(self):
        keys = "".join(f'key "{k}" {{ algorithm {a}; secret "{self.secrets[k]}"; }};\n'
                       for k, (a, _) in KEYS.items())
        grant = "".join(f"grant {k} zonesub TXT; " for k in KEYS if "nogrant" not in k)
        zones = {
            "example.test": _zone("example.test", f"""ns1 IN A 127.0.0.1
ns2 IN A 127.0.0.1
_acme-challenge.www IN TXT "{SPF}"
_acme-challenge.alias IN CNAME _acme-challenge.target.delegated.test.
sub IN NS ns1.example.test.
"""),
            "sub.example.test": _zone("sub.example.test", ""),
            "delegated.test": _zone("delegated.test", ""),
            "refused.test": _zone("refused.test", ""),
        }
        zones.update({k: _zone(k, v) for k, v in self.extra_zones.items()})
        conf = f"""options {{
    directory "{self.dir}";
    pid-file "{self.dir}/named.pid";
    session-keyfile "{self.dir}/session.key";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-query {{ any; }};
}};
controls {{ }};
{keys}"""
        for name, body in zones.items():
            with open(os.path.join(self.dir, name + ".zone"), "w") as f:
                f.write(body)
            policy = ("allow-update { none; };" if name == "refused.test"
                      else f"update-policy {{ {grant}}};")
            conf += f'zone "{name}" {{ type primary; file "{name}.zone"; {policy} }};\n'
        with open(os.path.join(self.dir, "named.conf"), "w") as f:
            f.write(conf)

    def dig(self, name, qtype="TXT", server="127.0.0.1", tcp=False):
        """(status, sorted TXT strings or rdata) asked with RD=0."""
        args = ["dig", f"@{server}", "-p", str(self.port), "+norec", "+time=2",
                "+tries=1", qtype, name]
        if tcp:
            args.insert(1, "+tcp")
        out = subprocess.run(args, capture_output=True, text=True, timeout=10).stdout
        status = out.split("status: ", 1)[1].split(",", 1)[0] if "status: " in out else None
        vals, in_answer = [], False
        for line in out.splitlines():
            if line.startswith(";; ANSWER SECTION"):
                in_answer = True
            elif in_answer and not line.strip():
                break
            elif in_answer:
                parts = line.split(None, 4)
                if len(parts) == 5 and parts[3] == qtype:
                    vals.append(parts[4].strip('"') if qtype == "TXT" else parts[4])
        return status, sorted(vals)

    def kdig(self, name, qtype="TXT"):
        """(status, sorted TXT strings) from Knot's kdig, as a second
        client independent of dig and of dns01."""
        out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(self.port), "+norec",
                              "+time=2", "+retry=0", qtype, name],
                             capture_output=True, text=True, timeout=10).stdout
        status = (out.split("status: ", 1)[1].split(None, 1)[0].rstrip(";")
                  if "status: " in out else None)
        vals = []
        for line in out.splitlines():
            parts = line.split(None, 4)
            if (not line.startswith(";") and len(parts) == 5 and parts[3] == qtype
                    and parts[0].lower() == name.lower()):
                vals.append(parts[4].strip('"'))
        return status, sorted(vals)

    def config(self, key="dns01-sha256.", **extra):
        """A cert-manager rfc2136 config for `key`, secret ref tsig/<key>."""
        c = {"nameserver": f"127.0.0.1:{self.port}", "tsigKeyName": key,
             "tsigAlgorithm": KEYS[key][1],
             "tsigSecretSecretRef": {"name": "tsig", "key": key.rstrip(".")}}
        c.update(extra)
        return c

    def write_secrets(self, root, namespace="default", override=None):
        """Lay the TSIG secrets out as mounted Secrets under root."""
        d = os.path.join(root, namespace, "tsig")
        os.makedirs(d, exist_ok=True)
        for k, v in self.secrets.items():
            with open(os.path.join(d, k.rstrip(".")), "w") as f:
                f.write((override or {}).get(k, v) + "\n")
