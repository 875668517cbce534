"""Shared by the `dns01 issue` integration tests: a BIND zone with TSIG
secrets laid out as mounted Secrets, a Pebble that validates against that
BIND, and helpers to run the binary and inspect what it wrote."""
import json
import os
import subprocess
import tempfile
import time

import bind
import pebble

BIN = os.environ.get("DNS01_BIN", "build/dns01")
NAMES = ["example.test", "*.example.test", "www.example.test"]


class Lab:
    """BIND + Pebble (-dnsserver = BIND) in one temporary directory."""

    def __init__(self, relay=True, pebble_env=None, eab=False,
                 bind_zones=None):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.bind = bind.Bind(self.dir, zones=bind_zones).__enter__()
        try:
            self.secrets = os.path.join(self.dir, "secrets")
            self.bind.write_secrets(self.secrets)
            wrong = {k: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
                     for k in bind.KEYS}
            self.bind.write_secrets(self.secrets, namespace="wrong",
                                    override=wrong)
            self.config = os.path.join(self.dir, "rfc2136.json")
            with open(self.config, "w") as f:
                json.dump(self.bind.config(), f)
            self.pebble = pebble.Pebble(
                self.dir, f"127.0.0.1:{self.bind.port}", relay=relay,
                eab=eab, env=pebble_env).__enter__()
            self.roots = os.path.join(self.dir, "pebble-root.pem")
            self.pebble.roots(self.roots)
        except BaseException:
            self.bind.__exit__(None, None, None)
            self.tmp.cleanup()
            raise

    def close(self):
        self.pebble.__exit__(None, None, None)
        self.bind.__exit__(None, None, None)
        self.tmp.cleanup()

    def out(self, name):
        return os.path.join(self.dir, name)

    def issue(self, out, names=NAMES, extra=(), namespace="default",
              provider_args=None, timeout=120):
        """Run dns01 issue; returns (rc, stdout, stderr, seconds)."""
        args = [BIN, "issue", "--directory", self.pebble.directory,
                "--email", "admin@example.test", "--out", out,
                "--ca-bundle", self.pebble.ca_bundle]
        if provider_args is None:
            provider_args = ["--provider", "rfc2136", "--config", self.config,
                             "--secrets-dir", self.secrets,
                             "--namespace", namespace,
                             "--nameserver", f"127.0.0.1:{self.bind.port}"]
        args += provider_args
        for n in names:
            args += ["-d", n]
        args += list(extra)
        t = time.monotonic()
        r = subprocess.run(args, capture_output=True, text=True,
                           timeout=timeout)
        dt = time.monotonic() - t
        for v in self.bind.secrets.values():
            assert v not in r.stdout + r.stderr, "TSIG secret in the output"
        assert "PRIVATE KEY" not in r.stdout + r.stderr, "key in the output"
        return r.returncode, r.stdout, r.stderr, dt

    def txt(self, fqdn):
        return self.bind.dig(fqdn, "TXT")[1]


def openssl(*args, input=None):
    r = subprocess.run(("openssl",) + args, capture_output=True, text=True,
                       input=input)
    return r.returncode, r.stdout + r.stderr


def sans(cert):
    _, out = openssl("x509", "-in", cert, "-noout", "-ext", "subjectAltName")
    names = []
    for part in out.replace("\n", ",").split(","):
        part = part.strip()
        if part.startswith("DNS:"):
            names.append(part[4:])
    return sorted(names)


def serial(cert):
    return openssl("x509", "-in", cert, "-noout", "-serial")[1].strip()


def pubkey(path, is_cert):
    args = ["x509", "-in", path, "-noout", "-pubkey"] if is_cert else \
        ["pkey", "-in", path, "-pubout"]
    return openssl(*args)[1]
