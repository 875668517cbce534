"""Drive the real dns01 binary over HTTPS with real client certificates.

    with tempfile.TemporaryDirectory() as d:
        p = pki.PKI(d)
        with Server(p, zones=["example.test"]) as s:
            st, hdrs, body = s.client(cert="proxy").post_challenge(...)

Server starts `dns01 serve` on free loopback ports, waits for /readyz, keeps
stderr in a file (s.log()), and on exit sends SIGTERM and requires exit 0
within STOP_SECONDS (idle servers must stop promptly; valgrind gets longer).

Also: present_body()/cleanup_body() (ChallengePayload JSON text),
assert_status_object() (a Kubernetes Status, without a TestCase), and
dig_txt()/dig_full() reading the embedded DNS with a real `dig`.
"""
import concurrent.futures
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.parse

BIN = os.environ.get("DNS01_BIN", "build/dns01")
GROUP = "acme.test.example"
PAYLOAD_API = "webhook.acme.cert-manager.io/v1alpha1"
STOP_SECONDS = 60 if "valgrind" in BIN else 10
START_SECONDS = 30 if "valgrind" in BIN else 10


def free_port(kind=socket.SOCK_STREAM):
    # Bind both protocols on the same number so DNS gets UDP and TCP.
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET, other) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


class Client:
    """One keep-alive HTTPS connection, optionally with a client cert."""

    def __init__(self, port, ca, cert=None, timeout=None):
        # A reply's wait: under valgrind a burst of TLS handshakes alone
        # takes seconds of CPU, so the default is longer there.
        if timeout is None:
            timeout = 30 if "valgrind" in BIN else 10
        # Verifies the serving chain and the IP SAN 127.0.0.1.
        ctx = ssl.create_default_context(cafile=ca)
        if cert is not None:
            ctx.load_cert_chain(*cert)
        self.conn = http.client.HTTPSConnection("127.0.0.1", port,
                                                context=ctx, timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        self.conn.request(method, path, body=body, headers=hdrs)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def post_challenge(self, request, solver="embedded", user="system:serviceaccount:cert-manager:cert-manager", **kw):
        h = {"X-Remote-User": user} if user is not None else {}
        h.update(kw.pop("headers", {}))
        return self.request("POST", f"/apis/{GROUP}/v1alpha1/{solver}",
                            {"request": request}, h)

    def close(self):
        self.conn.close()


def challenge(action, key, fqdn="_acme-challenge.www.example.test.",
              zone="example.test.", uid="u1", **extra):
    r = {"uid": uid, "action": action, "type": "dns-01",
         "dnsName": fqdn.split("_acme-challenge.", 1)[-1].rstrip("."),
         "key": key, "resourceNamespace": "default", "resolvedFQDN": fqdn,
         "resolvedZone": zone, "allowAmbientCredentials": False}
    r.update(extra)
    return r


def present_body(key, envelope=True, **kw):
    """ChallengePayload JSON text for a Present (see challenge() for kw)."""
    return _payload(challenge("Present", key, **kw), envelope)


def cleanup_body(key, envelope=True, **kw):
    """ChallengePayload JSON text for a CleanUp (see challenge() for kw)."""
    return _payload(challenge("CleanUp", key, **kw), envelope)


def _payload(request, envelope):
    o = {"apiVersion": PAYLOAD_API, "kind": "ChallengePayload"} if envelope else {}
    o["request"] = request
    return json.dumps(o)


def write_secret(root, namespace, name, key, value):
    """Lay one Secret value out as --secrets-dir reads it
    (<root>/<namespace>/<name>/<key>); returns root."""
    d = os.path.join(root, namespace, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, key), "w") as f:
        f.write(value)
    return root


def assert_status_object(body, code):
    """`body` is a Kubernetes Status for HTTP `code`; returns it decoded.
    Raises AssertionError otherwise (usable outside a TestCase)."""
    try:
        o = json.loads(body)
    except ValueError:
        raise AssertionError(f"not JSON: {body[:200]!r}") from None
    if not isinstance(o, dict):
        raise AssertionError(f"not an object: {o!r}")
    want = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
    for k, v in want.items():
        if o.get(k) != v or type(o.get(k)) is not type(v):
            raise AssertionError(f"Status {k}: want {v!r}, got {o.get(k)!r} in {o}")
    for k in ("message", "reason"):
        if not isinstance(o.get(k), str) or not o[k]:
            raise AssertionError(f"Status {k} missing or empty in {o}")
    return o


def assert_status(tc, status, body, code):
    """HTTP `code` with a Kubernetes Status object for it as the body."""
    tc.assertEqual(status, code, body)
    return assert_status_object(body, code)


def assert_response(tc, status, body, success):
    """A 2xx ChallengePayload whose response says `success`."""
    tc.assertEqual(status, 201, body)
    o = json.loads(body)
    tc.assertEqual(o.get("kind"), "ChallengePayload")
    tc.assertEqual(o.get("apiVersion"), PAYLOAD_API)
    resp = o.get("response")
    tc.assertIsInstance(resp, dict, o)
    tc.assertIs(resp.get("success"), success, o)
    if not success:
        tc.assertTrue(resp.get("status", {}).get("message"), o)
    return o


def allow_endpoint(url):
    """The --allow-provider-endpoint entry that lets a config name `url`
    (a fake's): http://HOST:PORT for plain http, HOST:PORT for https."""
    u = urllib.parse.urlsplit(url)
    hostport = f"{u.hostname}:{u.port}" if u.port else u.hostname
    return f"http://{hostport}" if u.scheme == "http" else hostport


class Server:
    def __init__(self, pki, zones=("example.test",), allowed="front-proxy-client",
                 extra=(), client_ca=True, env=None, demo=False, endpoints=()):
        """`endpoints`: URLs (the fakes') a tenant config may name."""
        self.pki = pki
        self.port = free_port()
        self.dns_port = free_port(socket.SOCK_DGRAM)
        args = [BIN, "serve", "--bind-address", "127.0.0.1",
                "--secure-port", str(self.port), "--log-level", "debug"]
        if not demo:
            args += ["--group-name", GROUP,
                     "--tls-cert-file", pki.cert("serving")[0],
                     "--tls-private-key-file", pki.cert("serving")[1]]
        else:
            args += ["--demo"]
        if client_ca and not demo:
            args += ["--requestheader-client-ca-file", pki.path("proxy-ca.crt")]
        if allowed is not None:
            args += ["--requestheader-allowed-names=" + allowed]
        for z in zones:
            args += ["--embedded-zone", z]
        if zones:
            args += ["--dns-listen", f"127.0.0.1:{self.dns_port}"]
        for url in endpoints:
            args += ["--allow-provider-endpoint", allow_endpoint(url)]
        self.args = args + list(extra)
        self.env = env
        self.logpath = os.path.join(pki.dir, f"server-{self.port}.log")
        self.proc = None

    def __enter__(self):
        self.logf = open(self.logpath, "w+")
        self.proc = subprocess.Popen(self.args, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + START_SECONDS
        while True:
            if self.proc.poll() is not None:
                self.logf.close()
                raise RuntimeError(f"dns01 exited {self.proc.returncode}: "
                                   + self.log()[-2000:])
            try:
                c = self.client()
                try:
                    st, _, _ = c.request("GET", "/readyz")
                finally:
                    c.close()
                if st == 200:
                    return self
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass
            if time.time() > deadline:
                self.proc.kill()
                self.proc.wait()
                self.logf.close()
                raise RuntimeError(f"no 200 from /readyz within {START_SECONDS} s: "
                                   + self.log()[-2000:])
            time.sleep(0.05)

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = f"none: still running {STOP_SECONDS} s after SIGTERM, killed"
        self.logf.close()
        if exc[0] is None and rc != 0:
            raise AssertionError(f"dns01 exit status {rc}: {self.log()[-2000:]}")
        return False

    def request(self, method, path, body=None, headers=None, cert=None):
        """One request on a fresh connection with client `cert` (a PKI
        name, a (crt, key) pair or None): (status, headers, body)."""
        c = self.client(cert)
        try:
            return c.request(method, path, body, headers)
        finally:
            c.close()

    def client(self, cert=None):
        c = self.pki.cert(cert) if isinstance(cert, str) else cert
        return Client(self.port, self.pki.path("serving-ca.crt"), c)

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def dig(self, name, qtype="TXT", tcp=False):
        """(status, [txt values]) from the embedded DNS via dig."""
        r = dig_full(self.dns_port, name, qtype, tcp)
        return r["status"], sorted(rd.strip('"') for _, _, t, rd in r["answer"]
                                   if t == qtype)



class Trap:
    """A listening socket no request may reach: accept() tells."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def connections(self):
        self.sock.settimeout(0.3)
        n = 0
        try:
            while True:
                c, _ = self.sock.accept()
                c.close()
                n += 1
        except OSError:
            return n


def serve_provider(cls, secrets_dir, endpoints, extra=(), env=None):
    """setUpClass of a provider test: the one dns01 serve of the class,
    with no embedded zone, `--secrets-dir secrets_dir` and the fakes'
    `endpoints` allowed. Sets cls.srv, cls.ca_pem (the fakes' CA, for a
    config's caBundle) and cls.c (a front-proxy client)."""
    cls.srv = Server(cls.pki, zones=(), env=env, endpoints=endpoints,
                     extra=["--secrets-dir", secrets_dir] + list(extra)).__enter__()
    with open(cls.pki.path("serving-ca.crt")) as f:
        cls.ca_pem = f.read()
    cls.c = cls.srv.client("proxy")


def stop_provider(cls, secrets):
    """tearDownClass after serve_provider: stop the server, then cls.fake
    (and cls.trap, if any), remove cls.tmp; fail if one of `secrets` (a
    list, or a callable read while the fake still runs) is in the log."""
    cls.c.close()
    cls.srv.__exit__(None, None, None)
    log = cls.srv.log()
    leaked = [s[:12] for s in (secrets() if callable(secrets) else secrets) if s in log]
    cls.fake.__exit__(None, None, None)
    if getattr(cls, "trap", None) is not None:
        cls.trap.sock.close()
    cls.tmp.cleanup()
    assert not leaked, f"credentials in the server log: {leaked}"

def dig_full(port, name, qtype="TXT", tcp=False, extra=()):
    """Ask 127.0.0.1:port with a real dig (no recursion). Returns a dict:
    status (e.g. "NOERROR", None when no reply), flags (set, e.g. {"qr",
    "aa"}), answer and authority (lists of (owner, ttl, type, rdata))."""
    args = ["dig", "@127.0.0.1", "-p", str(port), "+norec", "+time=2",
            "+tries=1", "+tcp" if tcp else "+notcp", *extra, qtype, name]
    out = subprocess.run(args, capture_output=True, text=True, timeout=10).stdout
    r = {"status": None, "flags": set(), "answer": [], "authority": [], "raw": out}
    section = None
    for line in out.splitlines():
        if "status: " in line:
            r["status"] = line.split("status: ", 1)[1].split(",", 1)[0]
        elif line.startswith(";; flags:"):
            r["flags"] = set(line[len(";; flags:"):].split(";", 1)[0].split())
        elif line.startswith(";; ANSWER SECTION"):
            section = "answer"
        elif line.startswith(";; AUTHORITY SECTION"):
            section = "authority"
        elif not line.strip() or line.startswith(";"):
            section = None
        elif section:
            parts = line.split(None, 4)
            if len(parts) == 5 and parts[2] == "IN":
                r[section].append((parts[0], int(parts[1]), parts[3], parts[4]))
    return r


def dig_txt(server_port, name, tcp=False):
    """Sorted TXT values at `name` on the embedded DNS (quotes removed)."""
    r = dig_full(server_port, name, "TXT", tcp)
    return sorted(rd.strip('"') for _, _, t, rd in r["answer"] if t == "TXT")


def presents_with_kill9(srv, present, n, poll=0.005):
    """Start n Presents (present(i) -> (status, body)) on 8 threads, SIGKILL
    server `srv` once a third have answered, wait for the rest; the indexes
    whose Present answered success. A call cut off by the kill is no
    promise and counts as not answered."""
    results = {}

    def one(i):
        try:
            results[i] = present(i)
        except Exception as e:  # srv died under us
            results[i] = (None, str(e).encode())

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        futs = [ex.submit(one, i) for i in range(n)]
        while len(results) < n // 3:
            time.sleep(poll)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        concurrent.futures.wait(futs)
    srv.logf.close()
    return [i for i, (st, body) in results.items()
            if st == 201 and b'"success":true' in body.replace(b" ", b"")]
