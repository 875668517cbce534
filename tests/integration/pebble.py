"""A real Pebble (Debian package `pebble`) for the tests, on free loopback
ports, in its own temporary directory:

    with Pebble(tmpdir, dnsserver=f"127.0.0.1:{bind.port}") as p:
        p.directory          # https://127.0.0.1:PORT/dir
        p.ca_bundle          # the harness-made CA that signed Pebble's TLS cert
        p.roots()            # Pebble's issuing root (management /roots/0)
        p.connections        # TCP connections accepted by the counting relay

Pebble's TLS certificate is made here with openssl (a small CA + a leaf for
127.0.0.1/localhost). The environment makes runs deterministic:
PEBBLE_VA_NOSLEEP=1 (validate at once), PEBBLE_WFE_NONCEREJECT=0 (no
random badNonce), PEBBLE_AUTHZREUSE=0 (every order needs its challenges).
With relay=True the ACME port is reached through a TCP relay that counts
connections, so a test can prove that a run sent nothing to the CA.
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request

from bind import free_port

EAB_KEYS = {  # kid -> base64url HMAC key, as Pebble's example config has
    "kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",
}


def _openssl(cwd, *args):
    subprocess.run(("openssl",) + args, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_tls(d):
    """CA + serving certificate for 127.0.0.1; returns (ca, cert, key)."""
    _openssl(d, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
             "-out", "ca.crt", "-days", "2", "-subj", "/CN=pebble-test-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl(d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", "tls.key", "-out", "tls.csr",
             "-subj", "/CN=localhost")
    with open(os.path.join(d, "tls.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\n")
    _openssl(d, "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey",
             "ca.key", "-CAcreateserial", "-extfile", "tls.ext", "-days", "2",
             "-out", "tls.crt")
    return tuple(os.path.join(d, n) for n in ("ca.crt", "tls.crt", "tls.key"))


class Relay(threading.Thread):
    """Forward 127.0.0.1:port to 127.0.0.1:target, counting connections."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            u = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            a.close()  # each direction owns its source socket

    def stop(self):
        self.stopping = True
        self.sock.close()


class Pebble:
    def __init__(self, tmpdir, dnsserver, relay=False, eab=False, env=None):
        if shutil.which("pebble") is None:
            raise RuntimeError("pebble is not installed (apt-get install pebble)")
        self.dir = os.path.join(tmpdir, f"pebble-{free_port()}")
        os.makedirs(self.dir)
        self.port = free_port()
        self.mgmt = free_port()
        self.dnsserver = dnsserver
        self.eab = eab
        self.extra_env = env or {}
        self.relay = Relay(self.port) if relay else None
        self.proc = None

    @property
    def directory(self):
        port = self.relay.port if self.relay else self.port
        return f"https://127.0.0.1:{port}/dir"

    @property
    def connections(self):
        return self.relay.count if self.relay else None

    def _config(self, cert, key):
        c = {"listenAddress": f"127.0.0.1:{self.port}",
             "managementListenAddress": f"127.0.0.1:{self.mgmt}",
             "certificate": cert, "privateKey": key,
             "httpPort": free_port(), "tlsPort": free_port(),
             "ocspResponderURL": "",
             "externalAccountBindingRequired": bool(self.eab)}
        if self.eab:
            c["externalAccountMACKeys"] = EAB_KEYS
        path = os.path.join(self.dir, "pebble-config.json")
        with open(path, "w") as f:
            json.dump({"pebble": c}, f)
        return path

    def __enter__(self):
        self.ca_bundle, cert, key = make_tls(self.dir)
        cfg = self._config(cert, key)
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1",
                   PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="0")
        env.update(self.extra_env)
        self.log = open(os.path.join(self.dir, "pebble.log"), "w+")
        self.proc = subprocess.Popen(
            ["pebble", "-config", cfg, "-dnsserver", self.dnsserver],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.dir)
        self.ctx = ssl.create_default_context(cafile=self.ca_bundle)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pebble exited: " + self.logtext()[-3000:])
            try:
                self._get(f"https://127.0.0.1:{self.port}/dir")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("pebble did not start: " + self.logtext()[-3000:])
        if self.relay:
            self.relay.start()
        return self

    def __exit__(self, *exc):
        if self.relay:
            self.relay.stop()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return False

    def _get(self, url):
        with urllib.request.urlopen(url, context=self.ctx, timeout=5) as r:
            return r.read()

    def logtext(self):
        with open(os.path.join(self.dir, "pebble.log")) as f:
            return f.read()

    def roots(self, path=None):
        """Pebble's issuing root (PEM), optionally written to `path`."""
        pem = self._get(f"https://127.0.0.1:{self.mgmt}/roots/0")
        if path:
            with open(path, "wb") as f:
                f.write(pem)
        return pem.decode()
