"""clouddns through the webhook against the strict Cloud DNS fake (HTTPS,
test PKI; its token endpoint verifies every JWT with the service
account's public key; page size 2): strict conformance (another value and
an SPF record at the name survive; the owner's TTL is kept; Present twice
= one change; CleanUp of an absent value = success; the last value gone =
the rrset deleted), the longest public zone found over several pages of
managedZones, 100 concurrent Presents at one name (10 under valgrind) end
with exactly those values and one token request, a token revoked mid-run
(401 -> one refresh), another writer racing (412 -> re-read), 429 with
Retry-After and 5xx, a hung API answered within the deadline, ambient
credentials from the metadata server only when the request allows them
(and the fake trusted through the operator's --provider-ca-file, never a
tenant's caBundle: the STS and token_uri exchanges with the pod's
credentials refused against a CA only the caBundle names),
endpoints and a key's token_uri outside the policy refused before any
request, the token endpoint's refusal quoted with the identity tried, no
key, assertion or token in any reply or log line; and the CLI with lego's
GCE_* variables and with ADC (GOOGLE_APPLICATION_CREDENTIALS).

Workload identity federation: a second server (ADC is process-wide, so
the first keeps the metadata path) with GOOGLE_APPLICATION_CREDENTIALS
naming an external_account file the tests rewrite: the subject token
file is read at every exchange (rotated, the new one reaches STS), STS's
token is used directly or traded at IAM Credentials when impersonation is
configured, refusals (STS invalid_grant, IAM 403, a missing subject file,
credential_source.url, a tenant's Secret of type external_account) say
which identity path was tried and never quote a token; the CLI with an
external_account file."""
import json
import os
import secrets
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import clouddns_fake
import harness
import pki
from harness import assert_response, challenge

ZONE = "example.test"
NAME = "_acme-challenge.www.example.test."
PROJECT = "proj-1"
VALGRIND = os.environ.get("DNS01_BIN", "").endswith("valgrind-dns01")


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


class CloudDNS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.fake = clouddns_fake.Fake(tls=cls.pki.cert("serving"), project=PROJECT).__enter__()
        cls.trap = Trap()
        s = os.path.join(cls.tmp.name, "secrets")
        cls.keys = {}
        # One account per test that counts token requests (cold cache).
        for name in ("sa", "burst", "revoke", "cli", "adc"):
            email = f"{name}@{PROJECT}.iam.gserviceaccount.com"
            text, key = clouddns_fake.make_key(email, PROJECT, cls.fake.token_uri)
            cls.fake.add_account(email, key)
            cls.keys[name] = text
            harness.write_secret(s, "default", name, "key.json", text)
        # A key the token endpoint does not know (wrong public key).
        text, _ = clouddns_fake.make_key(f"sa@{PROJECT}.iam.gserviceaccount.com", PROJECT,
                                         cls.fake.token_uri)
        cls.keys["forged"] = text
        harness.write_secret(s, "default", "forged", "key.json", text)
        # Another namespace's Secret "sa": the same client_email, not the key.
        harness.write_secret(s, "evil", "sa", "key.json", text)
        text, key = clouddns_fake.make_key("trap@p.iam.gserviceaccount.com", PROJECT,
                                           f"https://127.0.0.1:{cls.trap.port}/token")
        cls.keys["trap"] = text
        harness.write_secret(s, "default", "trap", "key.json", text)
        harness.write_secret(s, "other", "sa", "key.json", cls.keys["sa"])
        harness.write_secret(s, "default", "notjson", "key.json", "{not json")
        harness.write_secret(s, "default", "extsecret", "key.json", json.dumps({
            "type": "external_account", "audience": cls.fake.sts_audience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": cls.fake.url + "/v1/token",
            "credential_source": {"file": "/etc/shadow"}}))
        # Zones over three pages; the right one (longest public suffix)
        # on the last; a private zone for the very name is ignored.
        for name, dns, vis in (("other", "other.test.", "public"),
                               ("private-www", "www.example.test.", "private"),
                               ("sub", "sub.example.test.", "public"),
                               ("root-test", "test.", "public"),
                               ("example-test", "example.test.", "public")):
            cls.fake.add_zone(name, dns, vis)
        env = dict(os.environ, GCE_METADATA_HOST=cls.fake.metadata_host,
                   GCE_DNS_ENDPOINT=cls.fake.url)
        env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
        cls.srv = harness.Server(cls.pki, zones=(), endpoints=[cls.fake.url], env=env,
                                 extra=["--secrets-dir", s, "--provider-timeout", "10s",
                                        "--provider-ca-file", cls.pki.path("serving-ca.crt")]
                                 ).__enter__()
        with open(cls.pki.path("serving-ca.crt")) as f:
            cls.ca_pem = f.read()
        cls.c = cls.srv.client("proxy")
        # The workload identity federation server: its ADC file is
        # rewritten by each test (read at every request).
        cls.subject_tokens = []
        cls.adc_path = os.path.join(cls.tmp.name, "adc-wif.json")
        wenv = dict(env, GOOGLE_APPLICATION_CREDENTIALS=cls.adc_path)
        cls.wsrv = harness.Server(cls.pki, zones=(), endpoints=[cls.fake.url], env=wenv,
                                  extra=["--provider-timeout", "10s", "--provider-ca-file",
                                         cls.pki.path("serving-ca.crt")]).__enter__()
        cls.wc = cls.wsrv.client("proxy")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.wc.close()
        cls.srv.__exit__(None, None, None)
        cls.wsrv.__exit__(None, None, None)
        log = cls.srv.log() + cls.wsrv.log()
        cls.fake.__exit__(None, None, None)
        cls.trap.sock.close()
        cls.tmp.cleanup()
        cls.assert_no_secret(log)

    @classmethod
    def secrets(cls):
        out = list(cls.fake.issued) + list(cls.subject_tokens)
        for text in cls.keys.values():
            pem = json.loads(text)["private_key"]
            out += [line for line in pem.splitlines() if "-----" not in line][:3]
        return out

    @classmethod
    def assert_no_secret(cls, text):
        for s in cls.secrets():
            assert s not in text, "credential in output"
        # An assertion: a JWT header {"alg":"RS256","typ":"JWT"} in base64url.
        assert "eyJhbGciOiJSUzI1NiIs" not in text, "assertion in output"

    def setUp(self):
        with self.fake.lock:
            self.fake.rrsets.clear()
            self.fake.faults.clear()
            self.fake.requests.clear()
            self.fake.hang = self.fake.race = 0
            self.fake.subjects_seen.clear()
            self.fake.api_callers.clear()

    def api(self, method=None, part=""):
        with self.fake.lock:
            return [p for m, p in self.fake.requests
                    if (method is None or m == method) and part in p]

    def tokens_for(self, who):
        with self.fake.lock:
            return [t for t in self.fake.token_requests if t[1] == who]

    def cfg(self, secret="sa", **kw):
        c = {"project": PROJECT, "serviceAccountSecretRef": {"name": secret, "key": "key.json"},
             "endpoint": self.fake.url, "caBundle": self.ca_pem}
        if secret is None:
            # The pod's own credentials: the fake is trusted through the
            # operator's --provider-ca-file, never a config's caBundle.
            del c["serviceAccountSecretRef"], c["caBundle"]
        c.update(kw)
        return c

    def call(self, action, key, cfg=None, name=NAME, ns="default", client=None,
             zone=ZONE + ".", **kw):
        st, _, body = (client or self.c).post_challenge(
            challenge(action, key, fqdn=name, zone=zone, resourceNamespace=ns,
                      config=cfg if cfg is not None else self.cfg(), **kw),
            solver="clouddns")
        self.assert_no_secret(body.decode(errors="replace"))
        return st, body

    def ok(self, *a, **kw):
        assert_response(self, *self.call(*a, **kw), True)

    def fails(self, *a, **kw):
        o = assert_response(self, *self.call(*a, **kw), False)
        return o["response"]["status"]["message"]

    def txt(self, name=NAME):
        r = self.fake.get("example-test", name)
        return r and r["rrdatas"]

    def test_conformance(self):
        self.fake.put("example-test", NAME, ['"another-client-value"', '"v=spf1 -all"'], ttl=300)
        self.fake.put("example-test", NAME, ["192.0.2.1"], type_="A")
        pages = "_acme-challenge.pages.example.test."
        self.ok("Present", "PG", name=pages)
        self.assertTrue(self.api("GET", "pageToken=4"), "zone pages were not followed")
        self.ok("CleanUp", "PG", name=pages)
        self.ok("Present", "K1")
        self.assertEqual(self.txt(), ['"K1"', '"another-client-value"', '"v=spf1 -all"'])
        self.assertEqual(self.fake.get("example-test", NAME)["ttl"], 300)  # the owner's
        n = len(self.api("POST"))
        self.ok("Present", "K1")
        self.assertEqual(len(self.api("POST")), n, self.fake.requests[-6:])
        self.ok("Present", "K2")
        self.ok("CleanUp", "K1")
        self.assertEqual(self.txt(), ['"K2"', '"another-client-value"', '"v=spf1 -all"'])
        self.ok("CleanUp", "K1")
        self.ok("CleanUp", "never-presented")
        self.ok("CleanUp", "K2")
        self.assertEqual(self.txt(), ['"another-client-value"', '"v=spf1 -all"'])
        self.assertEqual(self.fake.get("example-test", NAME, "A")["rrdatas"], ["192.0.2.1"])
        # A fresh name: created with cert-manager's TTL, deleted with its
        # last value.
        fresh = "_acme-challenge.fresh.example.test."
        self.ok("Present", "F1", name=fresh)
        self.assertEqual(self.fake.get("example-test", fresh)["ttl"], 60)
        self.ok("CleanUp", "F1", name=fresh)
        self.assertIsNone(self.fake.get("example-test", fresh))
        # hostedZoneName skips the listing.
        self.fake.requests.clear()
        self.ok("Present", "Z1", self.cfg(hostedZoneName="example-test"))
        self.assertEqual(self.api("GET", "/managedZones?"), [])
        self.ok("CleanUp", "Z1", self.cfg(hostedZoneName="example-test"))

    def test_concurrent_presents_one_token(self):
        n = 10 if VALGRIND else 100
        self.fake.put("example-test", NAME, ['"keep-me"'], ttl=120)
        clients = [self.srv.client("proxy") for _ in range(n)]
        out = []

        def go(i, c):
            out.append(self.call("Present", f"C{i}", self.cfg("burst"), client=c))

        ts = [threading.Thread(target=go, args=(i, c)) for i, c in enumerate(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for c in clients:
            c.close()
        self.assertEqual(len(out), n)
        for st, body in out:
            assert_response(self, st, body, True)
        self.assertEqual(self.txt(), sorted([f'"C{i}"' for i in range(n)] + ['"keep-me"']))
        self.assertEqual(self.fake.get("example-test", NAME)["ttl"], 120)
        self.assertEqual(len(self.tokens_for("burst@proj-1.iam.gserviceaccount.com")), 1)

    def test_token_expired_mid_run(self):
        who = "revoke@proj-1.iam.gserviceaccount.com"
        self.ok("Present", "E1", self.cfg("revoke"))
        self.assertEqual(len(self.tokens_for(who)), 1)
        self.fake.revoke()
        self.ok("Present", "E2", self.cfg("revoke"))
        self.assertEqual(len(self.tokens_for(who)), 2)
        self.assertEqual(self.txt(), ['"E1"', '"E2"'])

    def test_concurrent_writer(self):
        self.fake.race = 3
        self.ok("Present", "W1")
        got = self.txt()
        self.assertIn('"W1"', got)
        self.assertEqual(len([v for v in got if "concurrent" in v]), 3)
        self.assertGreaterEqual(len(self.api("POST")), 4)

    def test_retries(self):
        self.fake.faults += [(429, 1, "GET /rrsets"), (500, None, "POST /changes"),
                             (503, None, "POST /token")]
        t0 = time.monotonic()
        self.ok("Present", "R1", self.cfg(hostedZoneName="example-test"))
        self.assertGreaterEqual(time.monotonic() - t0, 1.0, "Retry-After: 1 not honoured")
        self.assertEqual(self.txt(), ['"R1"'])

    def test_hang_answers_within_the_deadline(self):
        self.ok("Present", "H0")  # token and zone known
        self.fake.hang = 10
        t0 = time.monotonic()
        msg = self.fails("Present", "H1")
        self.assertLess(time.monotonic() - t0, 25)
        self.assertIn("TXT rrset", msg)  # read, or changed from the last known set

    def test_ambient_metadata(self):
        self.fake.requests.clear()
        msg = self.fails("Present", "A1", self.cfg(None))
        self.assertIn("allowAmbientCredentials is false", msg)
        self.assertEqual(self.api(), [])
        self.ok("Present", "A1", self.cfg(None), allowAmbientCredentials=True)
        self.assertIn(("metadata", "default"), self.fake.token_requests)
        self.assertEqual(self.txt(), ['"A1"'])
        self.ok("CleanUp", "A1", self.cfg(None), allowAmbientCredentials=True)
        # Never to an endpoint the tenant named, even an allowed one.
        msg = self.fails("Present", "A2", self.cfg(None, endpoint=self.fake.url.replace(
            "127.0.0.1", "localhost")), allowAmbientCredentials=True)
        self.assertIn("--allow-provider-endpoint", msg)

    def test_endpoint_policy(self):
        trap = f"https://127.0.0.1:{self.trap.port}"
        msg = self.fails("Present", "P1", self.cfg(endpoint=trap))
        self.assertIn("--allow-provider-endpoint", msg)
        msg = self.fails("Present", "P1", self.cfg("trap"))
        self.assertIn("token_uri", msg)
        self.assertIn("--allow-provider-endpoint", msg)
        self.assertEqual(self.trap.connections(), 0)

    def test_token_not_shared_with_another_tenant(self):
        """A token cached for sa@ is not handed to another namespace whose
        key names the same client_email with another private key: it
        signs its own JWT, and the token endpoint refuses it."""
        self.ok("Present", "N1")
        with self.fake.lock:
            before = len(self.fake.token_requests)
        msg = self.fails("Present", "N2", ns="evil")
        self.assertIn("Invalid JWT Signature", msg)
        with self.fake.lock:
            self.assertEqual(len(self.fake.token_requests), before + 1)

    def test_errors(self):
        msg = self.fails("Present", "X1", self.cfg("forged"))
        self.assertIn("service account sa@proj-1.iam.gserviceaccount.com", msg)
        self.assertIn(self.fake.token_uri, msg)
        self.assertIn("HTTP 400: invalid_grant: Invalid JWT Signature.", msg)
        msg = self.fails("Present", "X1", self.cfg("notjson"))
        self.assertIn("not a JSON object", msg)
        msg = self.fails("Present", "X1", self.cfg(project="nope-2"))
        self.assertIn("HTTP 403: forbidden", msg)
        msg = self.fails("Present", "X1", name="_acme-challenge.www.nowhere.invalid.",
                         zone="nowhere.invalid.")
        self.assertIn("no public managed zone", msg)
        # Another namespace's Secret is never read.
        msg = self.fails("Present", "X1", self.cfg("burst"), ns="other")
        self.assertIn("burst", msg)
        for bad in ({"project": PROJECT}, self.cfg(endpoint="ftp://x"), self.cfg(ttl="60"),
                    self.cfg(hostedZoneName="Bad Zone"), self.cfg(project="a/b")):
            self.assertIn("clouddns", self.fails("Present", "X1", bad))
        self.assertIsNone(self.txt())

    def run_cli(self, action, value, env):
        return subprocess.run([harness.BIN, action, "--provider", "clouddns", NAME, value],
                              capture_output=True, text=True, env=env, timeout=60)

    def test_cli_lego_variables(self):
        keyfile = os.path.join(self.tmp.name, "cli.json")
        with open(keyfile, "w") as f:
            f.write(self.keys["cli"])
        base = {k: v for k, v in os.environ.items()
                if k not in ("GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST")}
        env = dict(base, GCE_PROJECT=PROJECT, GCE_SERVICE_ACCOUNT_FILE=keyfile,
                   GCE_DNS_ENDPOINT=self.fake.url,
                   GCE_CA_BUNDLE=self.pki.path("serving-ca.crt"))
        r = self.run_cli("present", "CLI1", env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_no_secret(r.stdout + r.stderr)
        self.assertEqual(self.fake.get("example-test", NAME)["ttl"], 120)  # lego's GCE_TTL
        r = self.run_cli("cleanup", "CLI1", env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(self.txt())
        # Inline JSON, a zone named, a TTL.
        env2 = dict(base, GCE_SERVICE_ACCOUNT=self.keys["cli"], GCE_ZONE_ID="example-test",
                    GCE_TTL="300", GCE_DNS_ENDPOINT=self.fake.url,
                    GCE_CA_BUNDLE=self.pki.path("serving-ca.crt"))
        self.fake.requests.clear()
        r = self.run_cli("present", "CLI2", env2)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.fake.get("example-test", NAME)["ttl"], 300)
        self.assertEqual(self.api("GET", "/managedZones?"), [])
        self.assert_no_secret(r.stdout + r.stderr)
        # ADC: a key file in GOOGLE_APPLICATION_CREDENTIALS (ambient).
        adc = os.path.join(self.tmp.name, "adc.json")
        with open(adc, "w") as f:
            f.write(self.keys["adc"])
        env3 = dict(base, GOOGLE_APPLICATION_CREDENTIALS=adc, GCE_DNS_ENDPOINT=self.fake.url,
                    GCE_CA_BUNDLE=self.pki.path("serving-ca.crt"))
        r = self.run_cli("cleanup", "CLI2", env3)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(self.txt())
        self.assertEqual(len(self.tokens_for("adc@proj-1.iam.gserviceaccount.com")), 1)
        self.assert_no_secret(r.stdout + r.stderr)

    # --- workload identity federation (external_account ADC) ------------
    def wif_file(self, name, impersonate=None, field=None, path=None, **kw):
        """Write an external_account ADC file (the server's unless `path`)
        whose subject token file is subject-<name>; returns that path."""
        sub = os.path.join(self.tmp.name, f"subject-{name}")
        d = {"type": "external_account", "audience": self.fake.sts_audience,
             "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
             "token_url": self.fake.url + "/v1/token",
             "credential_source": {"file": sub}}
        if field:
            d["credential_source"]["format"] = {"type": "json",
                                                "subject_token_field_name": field}
        if impersonate:
            d["service_account_impersonation_url"] = self.iam_url(impersonate)
        d.update(kw)
        with open(path or self.adc_path, "w") as f:
            json.dump(d, f)
        return sub

    def iam_url(self, email):
        return f"{self.fake.url}/v1/projects/-/serviceAccounts/{email}:generateAccessToken"

    def subject(self, path, field=None, accept=True):
        """A fresh subject token written to `path` (atomically, as the
        kubelet does), accepted by STS unless told otherwise."""
        tok = "eyJ" + secrets.token_urlsafe(24) + ".subject"
        self.subject_tokens.append(tok)
        if accept:
            with self.fake.lock:
                self.fake.subjects.add(tok)
        with open(path + ".tmp", "w") as f:
            f.write(json.dumps({field: tok, "other": 1}) if field else tok + "\n")
        os.replace(path + ".tmp", path)
        return tok

    def wif(self, action, key, ok=True, **kw):
        kw.setdefault("allowAmbientCredentials", True)
        args = (action, key, self.cfg(None))
        return self.ok(*args, client=self.wc, **kw) if ok else \
            self.fails(*args, client=self.wc, **kw)

    def test_wif_sts_and_rotation(self):
        sub = self.wif_file("direct")
        t1 = self.subject(sub)
        msg = self.wif("Present", "W1", ok=False, allowAmbientCredentials=False)
        self.assertIn("allowAmbientCredentials is false", msg)
        self.assertEqual(self.fake.subjects_seen, [])
        self.wif("Present", "W1")
        self.assertEqual(self.fake.subjects_seen, [t1])
        self.assertEqual(set(self.fake.api_callers), {"federated"})  # STS's token, as is
        self.assertEqual(self.txt(), ['"W1"'])
        # Rotated: the old subject token is no longer good; a 401 makes
        # the one exchange that must send the new one.
        t2 = self.subject(sub)
        with self.fake.lock:
            self.fake.subjects.discard(t1)
        self.fake.revoke()
        self.wif("CleanUp", "W1")
        self.assertEqual(self.fake.subjects_seen, [t1, t2])
        self.assertIsNone(self.txt())

    def test_wif_impersonation(self):
        email = f"dns-wif@{PROJECT}.iam.gserviceaccount.com"
        with self.fake.lock:
            self.fake.impersonable.add(email)
        sub = self.wif_file("imp", impersonate=email, field="id_token")
        t = self.subject(sub, field="id_token")
        self.wif("Present", "I1")
        self.assertEqual(self.fake.subjects_seen, [t])
        self.assertIn(("iam", email), self.fake.token_requests)
        self.assertEqual(set(self.fake.api_callers), {email})
        self.wif("CleanUp", "I1")
        self.assertIsNone(self.txt())
        # IAM refuses an account the pool is not bound to.
        nobody = f"nobody@{PROJECT}.iam.gserviceaccount.com"
        self.subject(self.wif_file("imp-denied", impersonate=nobody))
        msg = self.wif("Present", "I2", ok=False)
        self.assertIn("external account (workload identity federation): impersonating the "
                      f"service account at {self.iam_url(nobody)}: HTTP 403: forbidden: "
                      "Permission 'iam.serviceAccounts.getAccessToken' denied", msg)

    def test_wif_refusals(self):
        sub = self.wif_file("refused")
        t = self.subject(sub, accept=False)
        msg = self.wif("Present", "F1", ok=False)
        self.assertIn("external account (workload identity federation): STS at "
                      f"{self.fake.url}/v1/token: HTTP 400: invalid_grant: "
                      "The ID Token is invalid or expired.", msg)
        self.assertNotIn(t, msg)
        self.assertNotIn(t, self.wsrv.log())
        self.assertEqual(self.fake.subjects_seen, [t])  # it was sent, to STS only
        # A failure is not cached: accepted now, after a 503 retried.
        with self.fake.lock:
            self.fake.subjects.add(t)
            self.fake.faults.append((503, None, "POST /v1/token"))
        self.wif("Present", "F1")
        self.wif("CleanUp", "F1")
        self.wif_file("missing")
        msg = self.wif("Present", "F2", ok=False)
        self.assertIn("external account (workload identity federation): reading the subject "
                      "token: " + os.path.join(self.tmp.name, "subject-missing") + ": ", msg)
        # A JSON-format file without the field: said, the text not quoted.
        sub = self.wif_file("nofield", field="id_token")
        with open(sub, "w") as f:
            f.write('{"token": "eyJnot-the-field"}')
        msg = self.wif("Present", "F2", ok=False)
        self.assertIn("not a JSON object with a string id_token", msg)
        self.assertNotIn("eyJnot-the-field", msg)
        self.wif_file("url", credential_source={"url": "http://169.254.169.254/token"})
        msg = self.wif("Present", "F3", ok=False)
        self.assertIn("credential_source.url is not supported", msg)
        # A tenant's Secret never names a file on the server.
        msg = self.fails("Present", "F4", self.cfg("extsecret"))
        self.assertIn("only read from the server's GOOGLE_APPLICATION_CREDENTIALS", msg)
        self.assertIsNone(self.txt())

    def test_tenant_ca_bundle_never_verifies_the_pods_credentials(self):
        """The operator's STS and token_uri answered by whoever holds
        other-ca (traffic steered there), and a tenant's caBundle naming
        other-ca: neither the subject token nor an assertion signed with
        the pod's key is sent (TLS fails before any request), and the
        message says why."""
        evil = clouddns_fake.Fake(tls=self.pki.attacker_serving(), project=PROJECT).__enter__()
        with open(self.pki.path("other-ca.crt")) as f:
            evil_ca = f.read()
        try:
            email = f"adc-steered@{PROJECT}.iam.gserviceaccount.com"
            key_text, key = clouddns_fake.make_key(email, PROJECT, evil.token_uri)
            evil.add_account(email, key)
            for what in ("STS", "token_uri"):
                if what == "STS":  # an external_account file
                    t = self.subject(self.wif_file("steered", token_url=evil.url + "/v1/token"))
                    with evil.lock:
                        evil.subjects.add(t)
                else:  # a service-account key file
                    with open(self.adc_path, "w") as f:
                        f.write(key_text)
                reply = self.call("Present", "S1", self.cfg(None, caBundle=evil_ca),
                                  client=self.wc, allowAmbientCredentials=True)
                with evil.lock:
                    self.assertEqual(evil.subjects_seen, [], what)
                    self.assertEqual(evil.token_requests, [], what)
                    self.assertEqual(evil.requests, [], what)
                msg = assert_response(self, *reply, False)["response"]["status"]["message"]
                self.assertIn("--provider-ca-file", msg, what)
                self.assertIn("not the config's caBundle", msg, what)
        finally:
            evil.__exit__(None, None, None)

    def test_cli_wif(self):
        adc = os.path.join(self.tmp.name, "adc-cli.json")
        t = self.subject(self.wif_file("cli", path=adc))
        base = {k: v for k, v in os.environ.items() if k != "GCE_METADATA_HOST"}
        env = dict(base, GOOGLE_APPLICATION_CREDENTIALS=adc, GCE_PROJECT=PROJECT,
                   GCE_DNS_ENDPOINT=self.fake.url, GCE_CA_BUNDLE=self.pki.path("serving-ca.crt"))
        r = self.run_cli("present", "CLIW", env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.txt(), ['"CLIW"'])
        self.assertEqual(self.fake.subjects_seen, [t])
        self.assert_no_secret(r.stdout + r.stderr)
        with self.fake.lock:
            self.fake.subjects.discard(t)
        r = self.run_cli("cleanup", "CLIW", env)
        self.assertEqual(r.returncode, 1, r.stderr)  # the provider failed
        self.assertNotIn("Sanitizer", r.stderr)
        self.assertIn("STS at", r.stderr)
        self.assert_no_secret(r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
