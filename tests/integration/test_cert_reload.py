"""Serving certificate reload: swapping the files behind --tls-cert-file and
--tls-private-key-file changes the certificate new connections see, without
a restart; a broken pair is refused and the old one keeps serving."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("DNS01_BIN", "build/dns01")


def run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_cert(d, name, cn):
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
        "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", name + ".key", "-out", name + ".crt", cwd=d)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peer_cn(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"],
                         input=pem.encode(), capture_output=True, check=True)
    return out.stdout.decode().strip().rsplit("=", 1)[-1].strip()


class CertReload(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        for n, cn in (("a", "first"), ("b", "second"), ("ca", "ca")):
            make_cert(self.dir, n, cn)
        shutil.copy(os.path.join(self.dir, "a.crt"), os.path.join(self.dir, "tls.crt"))
        shutil.copy(os.path.join(self.dir, "a.key"), os.path.join(self.dir, "tls.key"))
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--bind-address", "127.0.0.1",
             "--secure-port", str(self.port), "--group-name", "acme.test",
             "--tls-cert-file", os.path.join(self.dir, "tls.crt"),
             "--tls-private-key-file", os.path.join(self.dir, "tls.key"),
             "--requestheader-client-ca-file", os.path.join(self.dir, "ca.crt"),
             "--tls-reload-interval", "100ms"],
            stderr=self.log, stdout=subprocess.DEVNULL)
        # As harness.START_SECONDS: valgrind starts far slower.
        deadline = time.time() + (30 if "valgrind" in BIN else 10)
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.05)

    def tearDown(self):
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=10), 0)
        self.log.close()
        shutil.rmtree(self.dir)

    def swap(self, src):
        # Replace both files atomically, as the kubelet does with a Secret.
        for ext in ("crt", "key"):
            tmp = os.path.join(self.dir, "new." + ext)
            shutil.copy(os.path.join(self.dir, src + "." + ext), tmp)
            os.rename(tmp, os.path.join(self.dir, "tls." + ext))

    def wait_cn(self, want, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            cn = peer_cn(self.port)
            if cn == want:
                return cn
            time.sleep(0.05)
        return peer_cn(self.port)

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def test_swap_then_broken_pair(self):
        self.assertEqual(peer_cn(self.port), "first")
        self.swap("b")
        self.assertEqual(self.wait_cn("second"), "second")
        self.assertIn("event=tls_reloaded", self.logtext())
        # A certificate with someone else's key: refused, old pair stays.
        tmp = os.path.join(self.dir, "new.crt")
        shutil.copy(os.path.join(self.dir, "a.crt"), tmp)
        os.rename(tmp, os.path.join(self.dir, "tls.crt"))
        deadline = time.time() + 5
        while "event=tls_reload_failed" not in self.logtext():
            self.assertLess(time.time(), deadline, "reload failure not logged")
            time.sleep(0.05)
        self.assertEqual(peer_cn(self.port), "second")
        # Once the key catches up, the pair loads.
        tmp = os.path.join(self.dir, "new.key")
        shutil.copy(os.path.join(self.dir, "a.key"), tmp)
        os.rename(tmp, os.path.join(self.dir, "tls.key"))
        self.assertEqual(self.wait_cn("first"), "first")


if __name__ == "__main__":
    unittest.main()
