"""Drive the real dns01 binary over HTTPS with real client certificates.

    with tempfile.TemporaryDirectory() as d:
        p = pki.PKI(d)
        with Server(p, zones=["example.test"]) as s:
            st, hdrs, body = s.client(cert="proxy").post_challenge(...)

Server starts `dns01 serve` on free loopback ports, waits for /readyz, keeps
stderr in a file (s.log()), and on exit sends SIGTERM and requires exit 0.
"""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time

BIN = os.environ.get("DNS01_BIN", "build/dns01")
GROUP = "acme.test.example"
PAYLOAD_API = "webhook.acme.cert-manager.io/v1alpha1"


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

    def __init__(self, port, ca, cert=None, timeout=10):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False  # the serving cert is for 127.0.0.1
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


def assert_status(tc, status, body, code):
    """A Kubernetes Status object for HTTP `code`."""
    tc.assertEqual(status, code, body)
    o = json.loads(body)
    tc.assertEqual(o.get("kind"), "Status", o)
    tc.assertEqual(o.get("apiVersion"), "v1", o)
    tc.assertEqual(o.get("status"), "Failure", o)
    tc.assertTrue(o.get("message"), o)
    tc.assertTrue(o.get("reason"), o)
    tc.assertEqual(o.get("code"), code, o)
    return o


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


class Server:
    def __init__(self, pki, zones=("example.test",), allowed="front-proxy-client",
                 extra=(), client_ca=True, env=None, demo=False):
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
        self.args = args + list(extra)
        self.env = env
        self.logpath = os.path.join(pki.dir, f"server-{self.port}.log")
        self.proc = None

    def __enter__(self):
        self.logf = open(self.logpath, "w+")
        self.proc = subprocess.Popen(self.args, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("dns01 exited: " + self.log()[-2000:])
            try:
                c = self.client()
                st, _, _ = c.request("GET", "/readyz")
                c.close()
                if st == 200:
                    return self
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass
            if time.time() > deadline:
                raise RuntimeError("no /readyz: " + self.log()[-2000:])
            time.sleep(0.05)

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "timeout"
        self.logf.close()
        if exc[0] is None and rc != 0:
            raise AssertionError(f"dns01 exit status {rc}: {self.log()[-2000:]}")
        return False

    def client(self, cert=None):
        c = self.pki.cert(cert) if isinstance(cert, str) else cert
        return Client(self.port, self.pki.path("serving-ca.crt"), c)

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def dig(self, name, qtype="TXT", tcp=False):
        """(status, [txt values]) from the embedded DNS via dig."""
        args = ["dig", "@127.0.0.1", "-p", str(self.dns_port), "+norec",
                "+time=2", "+tries=1", qtype, name]
        if tcp:
            args.insert(1, "+tcp")
        out = subprocess.run(args, capture_output=True, text=True, timeout=10).stdout
        status = out.split("status: ", 1)[1].split(",", 1)[0] if "status: " in out else None
        vals = []
        in_answer = False
        for line in out.splitlines():
            if line.startswith(";; ANSWER SECTION"):
                in_answer = True
                continue
            if in_answer:
                if not line.strip():
                    break
                parts = line.split(None, 4)
                if len(parts) == 5 and parts[3] == qtype:
                    vals.append(parts[4].strip('"'))
        return status, sorted(vals)
