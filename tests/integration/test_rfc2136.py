"""rfc2136 through the webhook against a real BIND 9: cert-manager's strict
conformance flow (cert-manager's DNS-01 conformance suite) with an unrelated TXT value at the
same name that must survive every step, every TSIG algorithm, TCP, and
the failures users hit (wrong secret, unknown key, refused zone, nothing
listening), each with a message naming the cause and never the secret."""
import concurrent.futures
import json
import os
import socket
import tempfile
import unittest

import bind
import harness
import pki
from harness import assert_response, assert_status, challenge

FQDN = "_acme-challenge.www.example.test."


class RFC2136(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.bind = bind.Bind(cls.tmp.name).__enter__()
        cls.secrets = os.path.join(cls.tmp.name, "secrets")
        cls.bind.write_secrets(cls.secrets)
        # A secret of the right shape but wrong value, under another name.
        wrong = {k: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" for k in bind.KEYS}
        cls.bind.write_secrets(cls.secrets, namespace="wrong", override=wrong)
        cls.srv = harness.Server(cls.pki, zones=(), extra=["--secrets-dir", cls.secrets]).__enter__()
        cls.c = cls.srv.client("proxy")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.srv.__exit__(None, None, None)
        cls.bind.__exit__(None, None, None)
        log = cls.srv.log()
        cls.tmp.cleanup()
        # No secret ever reached the log.
        for v in cls.bind.secrets.values():
            assert v not in log, "TSIG secret in the server log"

    def call(self, action, key, config, fqdn=FQDN, zone="example.test.", ns="default"):
        st, _, body = self.c.post_challenge(
            challenge(action, key, fqdn=fqdn, zone=zone, config=config,
                      resourceNamespace=ns), solver="rfc2136")
        for v in self.bind.secrets.values():
            self.assertNotIn(v.encode(), body)
        return st, body

    def ok(self, *a, **kw):
        return assert_response(self, *self.call(*a, **kw), True)

    def fails(self, *a, **kw):
        o = assert_response(self, *self.call(*a, **kw), False)
        return o["response"]["status"]["message"]

    def test_burst(self):
        """160 Presents at once, then their CleanUps, against real BIND:
        every call succeeds, BIND never refuses one for its update-quota,
        nothing is left behind (test_rfc2136_gate.py shows the per-server
        limit itself)."""
        names = [f"_acme-challenge.q{i}.example.test." for i in range(160)]
        cfg = self.bind.config()

        def call(action, fqdn):
            c = self.srv.client("proxy")
            try:
                st, _, body = c.post_challenge(
                    challenge(action, "Q", fqdn=fqdn, zone="example.test.", config=cfg),
                    solver="rfc2136")
            finally:
                c.close()
            return st, body

        for action in ("Present", "CleanUp"):
            with concurrent.futures.ThreadPoolExecutor(len(names)) as ex:
                results = list(ex.map(lambda n: call(action, n), names))
            for st, body in results:
                assert_response(self, st, body, True)
        self.assertNotIn("too many DNS UPDATEs", self.bind.logtext())
        self.assertEqual(self.bind.dig(names[0]), ("NXDOMAIN", []))

    def txt(self, name=FQDN):
        return self.bind.dig(name)

    def test_conformance_strict(self):
        cfg = self.bind.config()
        self.assertEqual(self.txt(), ("NOERROR", [bind.SPF]))
        self.ok("Present", "K1", cfg)
        self.ok("Present", "K1", cfg)  # idempotent
        self.assertEqual(self.txt(), ("NOERROR", ["K1", bind.SPF]))
        self.ok("Present", "anothertestingkey", cfg)
        self.assertEqual(self.txt(), ("NOERROR", ["K1", "anothertestingkey", bind.SPF]))
        self.ok("CleanUp", "anothertestingkey", cfg)
        self.assertEqual(self.txt(), ("NOERROR", ["K1", bind.SPF]))
        self.ok("CleanUp", "anothertestingkey", cfg)  # already gone
        self.ok("CleanUp", "K1", cfg)
        self.ok("CleanUp", "K1", cfg)
        self.assertEqual(self.txt(), ("NOERROR", [bind.SPF]))

    def test_algorithms_and_tcp(self):
        for key in ("dns01-sha512.", "dns01-md5."):
            with self.subTest(key=key):
                self.ok("Present", key, self.bind.config(key))
                self.assertIn(key, self.txt()[1])
                self.ok("CleanUp", key, self.bind.config(key))
                self.assertNotIn(key, self.txt()[1])
        cfg = self.bind.config(protocol="TCP", ttl=120)
        self.ok("Present", "T1", cfg)
        self.assertEqual(self.txt(), ("NOERROR", ["T1", bind.SPF]))
        self.ok("CleanUp", "T1", cfg)
        self.assertEqual(self.txt(), ("NOERROR", [bind.SPF]))

    def test_host_name_nameserver(self):
        # cert-manager allows a host name: resolved off the loop by the
        # system's resolver (here /etc/hosts).
        first = socket.getaddrinfo("localhost", None, type=socket.SOCK_DGRAM)[0][4][0]
        if first != "127.0.0.1":
            self.skipTest(f"localhost resolves to {first} first; BIND is on 127.0.0.1")
        cfg = self.bind.config(nameserver=f"localhost:{self.bind.port}")
        self.ok("Present", "H1", cfg)
        self.assertEqual(self.txt(), ("NOERROR", ["H1", bind.SPF]))
        self.ok("CleanUp", "H1", cfg)
        self.assertEqual(self.txt(), ("NOERROR", [bind.SPF]))

    def test_sub_zone(self):
        name = "_acme-challenge.x.sub.example.test."
        cfg = self.bind.config()
        self.ok("Present", "S1", cfg, fqdn=name, zone="sub.example.test.")
        self.assertEqual(self.txt(name), ("NOERROR", ["S1"]))
        self.ok("CleanUp", "S1", cfg, fqdn=name, zone="sub.example.test.")
        self.assertEqual(self.txt(name)[0], "NXDOMAIN")

    def test_failures_name_the_cause(self):
        cfg = self.bind.config()
        msg = self.fails("Present", "W1", cfg, ns="wrong")
        self.assertIn("BADSIG", msg)
        self.assertIn(f"127.0.0.1:{self.bind.port}", msg)
        msg = self.fails("Present", "W1", dict(cfg, tsigKeyName="nosuchkey."))
        self.assertIn("BADKEY", msg)
        msg = self.fails("Present", "W1", self.bind.config("dns01-nogrant."))
        self.assertIn("REFUSED", msg)
        msg = self.fails("Present", "W1", cfg, fqdn="_acme-challenge.refused.test.",
                         zone="refused.test.")
        self.assertIn("REFUSED", msg)
        self.assertIn("refused.test.", msg)
        dead = dict(cfg, nameserver=f"127.0.0.1:{bind.free_port()}")
        msg = self.fails("Present", "W1", dead)
        self.assertIn("refused", msg)
        msg = self.fails("Present", "W1", dict(dead, protocol="TCP"))
        self.assertIn(dead["nameserver"], msg)
        msg = self.fails("Present", "W1", dict(cfg, tsigSecretSecretRef={"name": "nope", "key": "k"}))
        self.assertIn("default/nope", msg)
        msg = self.fails("Present", "W1", dict(cfg, nameserver="no-such-host.invalid:53"))
        self.assertIn("no-such-host.invalid", msg)
        self.assertIn("cannot resolve", msg)
        for bad in ({}, {"nameserver": "ns.example.com:0"}, {"nameserver": "bad..name"},
                    dict(cfg, tsigAlgorithm="HMACSHA384"),
                    dict(cfg, protocol="QUIC"), dict(cfg, ttl="60"),
                    dict(cfg, tsigSecretSecretRef="x")):
            with self.subTest(config=bad):
                self.assertIn("rfc2136", self.fails("Present", "W1", bad))
        # None of it reached BIND.
        self.assertEqual(self.txt(), ("NOERROR", [bind.SPF]))


if __name__ == "__main__":
    unittest.main()
