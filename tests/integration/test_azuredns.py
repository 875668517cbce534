"""azuredns through the webhook against the strict Azure fake
(tests/fakes/azuredns_fake.py: ARM, the token endpoint and IMDS; HTTPS
with the test PKI, trusted through caBundle as PEM text, and for the
pod's own identity only through the operator's --provider-ca-file): strict
conformance (another value, an SPF record and an A record set at the name
survive; TTL and metadata kept; Present twice = one value; CleanUp of an
absent value = success; the set deleted with the last value), private
zones, 20 concurrent Presents at one name (the token endpoint asked once)
and the 21st refused naming Azure's limit, the three identity paths
(service principal; workload identity and IMDS only with
allowAmbientCredentials), the endpoint policy (refused before any
request), faults (429 with Retry-After, 5xx, a hung API, a token expired
mid-run, a concurrent writer), no credential, assertion or token in any
reply or log line, a tenant's caBundle never verifying the workload
identity exchange, and the CLI with lego's variables.

The webhook runs with the operator's AZURE_ARM_ENDPOINT and
AZURE_AUTHORITY_HOST pointing at the fake (its defaults, as the workload
identity webhook sets AZURE_AUTHORITY_HOST) and workload identity's
variables; the IMDS path needs a server without
AZURE_FEDERATED_TOKEN_FILE, started for that one test."""
import base64
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import azuredns_fake
import harness
import pki
from harness import assert_response, challenge

ZONE = "example.test"
NAME = "_acme-challenge.www.example.test"
REL = "_acme-challenge.www"
TENANT = "tenant-0001"
SUB = "00000000-1111-2222-3333-444444444444"
GROUP = "dns-rg"
SP_ID, SP_SECRET = "sp-client-1", "sp-secret-Az0123456789abcdef"
BURST_ID, BURST_SECRET = "sp-client-burst", "sp-secret-burst-9876543210"
SHORT_ID, SHORT_SECRET = "sp-client-short", "sp-secret-short-5555555555"
WI_ID = "wi-client-1"
ISSUER, SUBJECT = "https://oidc.test.example/cluster", "system:serviceaccount:cert-manager:dns01"
MI_ID, MI_RES = "mi-client-1", "/subscriptions/x/resourceGroups/y/providers/id/mi-two"
PUB, PRIV = "dnsZones", "privateDnsZones"
VALGRIND = os.environ.get("DNS01_BIN", "").endswith("valgrind-dns01")
# The op's deadline: 20 writes queue at one record set, which under
# valgrind takes seconds.
TIMEOUT = "20s" if VALGRIND else "8s"


def b64(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def make_jwt(key, **claims):
    now = int(time.time())
    body = {"iss": ISSUER, "sub": SUBJECT, "aud": ["api://AzureADTokenExchange"],
            "iat": now, "nbf": now, "exp": now + 3600}
    body.update(claims)
    h = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode())
    p = b64(json.dumps(body).encode())
    sig = key.sign(f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{h}.{p}.{b64(sig)}"


class AzureDNS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.wi_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cls.fake = azuredns_fake.Fake(
            TENANT, SUB, GROUP, [(PUB, ZONE), (PRIV, "corp.internal")],
            tls=cls.pki.cert("serving"),
            secrets={SP_ID: SP_SECRET, BURST_ID: BURST_SECRET, SHORT_ID: SHORT_SECRET},
            federated={WI_ID: (ISSUER, SUBJECT, cls.wi_key.public_key())},
            imds_identities={"system": "system", MI_ID: "mi-one", MI_RES: "mi-two"},
        ).__enter__()
        s = os.path.join(cls.tmp.name, "secrets")
        harness.write_secret(s, "default", "az", "secret", SP_SECRET + "\n")
        harness.write_secret(s, "default", "burst", "secret", BURST_SECRET)
        harness.write_secret(s, "default", "short", "secret", SHORT_SECRET)
        harness.write_secret(s, "default", "bad", "secret", "wrong-secret-0123456789")
        harness.write_secret(s, "other", "az-other", "secret", SP_SECRET)
        # Another namespace naming the same tenant and client ID, with a
        # secret that is not the service principal's.
        harness.write_secret(s, "evil", "az", "secret", "wrong-secret-0123456789")
        cls.fedfile = os.path.join(cls.tmp.name, "azure-identity-token")
        cls.assertions = []
        cls.write_assertion()
        cls.trap = harness.Trap()
        cls.env = dict(os.environ, AZURE_ARM_ENDPOINT=cls.fake.url,
                       AZURE_AUTHORITY_HOST=cls.fake.url + "/",
                       AZURE_FEDERATED_TOKEN_FILE=cls.fedfile,
                       AZURE_CLIENT_ID=WI_ID, AZURE_TENANT_ID=TENANT)
        cls.env.pop("AZURE_IMDS_ENDPOINT", None)
        cls.operator_ca = ["--provider-ca-file", cls.pki.path("serving-ca.crt")]
        harness.serve_provider(cls, s, [cls.fake.url, f"https://localhost:{cls.fake.port}"],
                               ["--provider-timeout", TIMEOUT] + cls.operator_ca, env=cls.env)

    @classmethod
    def write_assertion(cls, **claims):
        jwt = make_jwt(cls.wi_key, **claims)
        cls.assertions.append(jwt)
        with open(cls.fedfile, "w") as f:
            f.write(jwt + "\n")

    @classmethod
    def secrets(cls):
        with cls.fake.lock:
            toks = list(cls.fake.tokens)
        return [SP_SECRET, BURST_SECRET, SHORT_SECRET, "wrong-secret-0123456789"] + cls.assertions + toks

    @classmethod
    def tearDownClass(cls):
        harness.stop_provider(cls, cls.secrets)

    def setUp(self):
        with self.fake.lock:
            self.fake.sets.clear()
            self.fake.faults.clear()
            self.fake.requests.clear()
            self.fake.token_calls.clear()
            self.fake.hang = self.fake.writers = 0
            self.fake.token_ttl = 3599

    def arm_requests(self, method=None):
        with self.fake.lock:
            return [p for m, p in self.fake.requests
                    if "/subscriptions/" in p and (method is None or m == method)]

    def token_calls(self):
        with self.fake.lock:
            return list(self.fake.token_calls)

    def cfg(self, **kw):
        c = {"subscriptionID": SUB, "resourceGroupName": GROUP, "tenantID": TENANT,
             "clientID": SP_ID, "clientSecretSecretRef": {"name": "az", "key": "secret"},
             "caBundle": self.ca_pem}
        c.update(kw)
        return {k: v for k, v in c.items() if v is not None}

    def ambient_cfg(self, **kw):
        """The pod's identity: the fake is trusted through the operator's
        --provider-ca-file, no caBundle."""
        kw.setdefault("caBundle", None)
        return self.cfg(clientID=None, clientSecretSecretRef=None, tenantID=None, **kw)

    def call(self, action, key, cfg=None, name=NAME, zone=ZONE + ".", ns="default",
             ambient=False, client=None):
        st, _, body = (client or self.c).post_challenge(
            challenge(action, key, fqdn=name + ".", zone=zone, resourceNamespace=ns,
                      allowAmbientCredentials=ambient,
                      config=cfg if cfg is not None else self.cfg()),
            solver="azuredns")
        for secret in self.secrets():
            self.assertNotIn(secret.encode(), body)
        return st, body

    def ok(self, *a, **kw):
        assert_response(self, *self.call(*a, **kw), True)

    def fails(self, *a, **kw):
        o = assert_response(self, *self.call(*a, **kw), False)
        return o["response"]["status"]["message"]

    def txt(self, kind=PUB, zone=ZONE, rel=REL):
        return self.fake.txt(kind, zone, rel)

    def test_conformance(self):
        self.fake.put_set(PUB, ZONE, REL, ["v=spf1 -all", "another-client-value"], ttl=300,
                          metadata={"owner": "someone"})
        self.fake.put_set(PUB, ZONE, REL, ["192.0.2.1"], type_="A")
        self.ok("Present", "K1")
        self.ok("Present", "K1")
        self.assertEqual(self.txt(), ["K1", "another-client-value", "v=spf1 -all"])
        s = self.fake.get_set(PUB, ZONE, REL)
        self.assertEqual((s["ttl"], s["metadata"]), (300, {"owner": "someone"}))
        self.ok("CleanUp", "K1")
        self.ok("CleanUp", "K1")
        self.ok("CleanUp", "never-presented")
        self.assertEqual(self.txt(), ["another-client-value", "v=spf1 -all"])
        self.assertEqual(self.fake.get_set(PUB, ZONE, REL, "A")["records"],
                         [{"value": ["192.0.2.1"]}])
        # A new set (If-None-Match: *) gets cert-manager's TTL of 60; the
        # last value out deletes it; the apex is "@".
        self.ok("Present", "APEX", name=ZONE)
        self.assertEqual(self.fake.get_set(PUB, ZONE, "@")["ttl"], 60)
        self.ok("CleanUp", "APEX", name=ZONE)
        self.assertIsNone(self.fake.get_set(PUB, ZONE, "@"))
        self.assertTrue(self.arm_requests("DELETE"))
        # hostedZoneName wins over resolvedZone; a name outside it is refused.
        self.ok("Present", "HZ", self.cfg(hostedZoneName=ZONE), zone="www.example.test.")
        self.assertIn("HZ", self.txt())
        self.ok("CleanUp", "HZ", self.cfg(hostedZoneName=ZONE), zone="www.example.test.")
        msg = self.fails("Present", "HZ", self.cfg(hostedZoneName="other.test"))
        self.assertIn("must hold", msg)

    def test_private_zone(self):
        name, zone = "_acme-challenge.db.corp.internal", "corp.internal"
        self.fake.put_set(PRIV, zone, "_acme-challenge.db", ["keep-me"], ttl=120)
        self.ok("Present", "P1", self.cfg(zoneType="private"), name=name, zone=zone + ".")
        self.assertEqual(self.fake.txt(PRIV, zone, "_acme-challenge.db"), ["P1", "keep-me"])
        self.ok("CleanUp", "P1", self.cfg(zoneType="private"), name=name, zone=zone + ".")
        self.assertEqual(self.fake.txt(PRIV, zone, "_acme-challenge.db"), ["keep-me"])
        # The same zone is no public zone.
        msg = self.fails("Present", "P2", name=name, zone=zone + ".")
        self.assertIn("ParentResourceNotFound", msg)

    def test_concurrent_presents_up_to_the_limit(self):
        """20 Presents at once end with exactly those 20 values (a gate per
        record set in the process, If-Match against the rest) and one
        token exchange; a 21st is refused naming Azure's limit."""
        cfg = self.cfg(clientID=BURST_ID, clientSecretSecretRef={"name": "burst", "key": "secret"})
        n = azuredns_fake.MAX_RECORDS
        clients = [self.srv.client("proxy") for _ in range(n)]
        out = []

        def go(i, c):
            out.append(self.call("Present", f"C{i:02d}", cfg, client=c))

        ts = [threading.Thread(target=go, args=(i, c)) for i, c in enumerate(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for c in clients:
            c.close()
        for st, body in out:
            assert_response(self, st, body, True)
        want = sorted(f"C{i:02d}" for i in range(n))
        self.assertEqual(self.txt(), want)
        self.assertEqual(self.token_calls(), [("secret", BURST_ID)])
        puts = len(self.arm_requests("PUT"))
        msg = self.fails("Present", "C99", cfg)
        self.assertIn("at most 20 records", msg)
        self.assertEqual(len(self.arm_requests("PUT")), puts, "refused before writing")
        self.assertEqual(self.txt(), want)
        self.ok("CleanUp", "C00", cfg)
        self.assertEqual(self.txt(), want[1:])

    def test_token_kept_until_five_minutes_before_expiry(self):
        """A token living less than 5 minutes is used once and not kept;
        one living an hour serves every op after it."""
        cfg = self.cfg(clientID=SHORT_ID, clientSecretSecretRef={"name": "short", "key": "secret"})
        self.fake.token_ttl = 290
        self.ok("Present", "T1", cfg)
        self.ok("Present", "T2", cfg)
        self.assertEqual(self.token_calls(), [("secret", SHORT_ID)] * 2)
        self.fake.token_ttl = 3599
        for k in ("T3", "T4", "T5"):
            self.ok("Present", k, cfg)
        self.assertEqual(self.token_calls(), [("secret", SHORT_ID)] * 3)
        self.assertEqual(self.txt(), ["T1", "T2", "T3", "T4", "T5"])

    def test_service_principal_errors(self):
        msg = self.fails("Present", "E1", self.cfg(clientSecretSecretRef={"name": "bad",
                                                                            "key": "secret"}))
        self.assertIn("service principal (client secret) token request", msg)
        self.assertIn("invalid_client: AADSTS7000215", msg)
        msg = self.fails("Present", "E1", self.cfg(tenantID="tenant-nope"))
        self.assertIn("AADSTS90002", msg)
        self.assertEqual(self.arm_requests(), [])
        # Tenant isolation: another namespace's Secret is not ours.
        msg = self.fails("Present", "E1", self.cfg(clientSecretSecretRef={"name": "az-other",
                                                                            "key": "secret"}))
        self.assertIn("az-other", msg)
        self.ok("Present", "E2", self.cfg(clientSecretSecretRef={"name": "az-other",
                                                                  "key": "secret"}), ns="other")
        for bad in ({}, self.cfg(subscriptionID=None), self.cfg(environment="Mars"),
                    self.cfg(zoneType="both"), self.cfg(clientSecretSecretRef=None)):
            self.assertIn("azuredns", self.fails("Present", "E3", bad))
        cfg = self.cfg()
        del cfg["caBundle"]  # the fake's certificate is not trusted then
        self.assertIn("azuredns", self.fails("Present", "E3", cfg))

    def test_token_not_shared_with_another_tenant(self):
        """A token cached for the service principal is not handed to
        another namespace that names the same tenant and client ID with
        another secret: it asks the token endpoint itself and is refused."""
        self.ok("Present", "X1")
        before = len(self.token_calls())
        msg = self.fails("Present", "X2", ns="evil")
        self.assertIn("invalid_client", msg)
        self.assertEqual(len(self.token_calls()), before + 1)
        self.assertEqual(self.txt(), ["X1"])

    def test_workload_identity(self):
        msg = self.fails("Present", "W1", self.ambient_cfg())
        self.assertIn("allowAmbientCredentials is false", msg)
        self.assertEqual(self.token_calls(), [])
        self.ok("Present", "W1", self.ambient_cfg(), ambient=True)
        self.assertEqual(self.token_calls(), [("assertion", WI_ID)])
        self.assertEqual(self.txt(), ["W1"])
        # The token file is read again on every op: an expired assertion
        # (the kubelet stopped rotating it) is refused by Entra ID, and a
        # fresh one works at once.
        self.fake.expire_tokens()
        self.write_assertion(exp=int(time.time()) - 60)
        msg = self.fails("CleanUp", "W1", self.ambient_cfg(), ambient=True)
        self.assertIn("workload identity (federated token) token request", msg)
        self.assertIn("AADSTS700024", msg)
        self.write_assertion()
        self.ok("CleanUp", "W1", self.ambient_cfg(), ambient=True)
        self.assertIsNone(self.txt())
        # The pod's identity never goes to a host a tenant named (even one
        # the operator allowed for tenants' own credentials).
        self.fake.requests.clear()
        msg = self.fails("Present", "W2",
                         self.ambient_cfg(endpoint=f"https://localhost:{self.fake.port}"),
                         ambient=True)
        self.assertIn("never sent to a custom endpoint", msg)
        self.assertEqual(self.fake.requests, [])

    def test_imds(self):
        env = {k: v for k, v in self.env.items() if k != "AZURE_FEDERATED_TOKEN_FILE"}
        env["AZURE_IMDS_ENDPOINT"] = self.fake.imds_url
        with harness.Server(self.pki, zones=(), env=env, endpoints=[self.fake.url],
                            extra=["--provider-timeout", TIMEOUT] + self.operator_ca) as srv:
            c = srv.client("proxy")
            try:
                msg = self.fails("Present", "M1", self.ambient_cfg(), client=c)
                self.assertIn("allowAmbientCredentials is false", msg)
                self.assertEqual(self.fake.requests, [])
                self.ok("Present", "M1", self.ambient_cfg(), ambient=True, client=c)
                self.ok("Present", "M2", self.ambient_cfg(managedIdentity={"clientID": MI_ID}),
                        ambient=True, client=c)
                self.ok("Present", "M3",
                        self.ambient_cfg(managedIdentity={"resourceID": MI_RES}),
                        ambient=True, client=c)
                self.assertEqual(self.token_calls(), [("imds", "system"), ("imds", MI_ID),
                                                      ("imds", MI_RES)])
                self.assertEqual(self.txt(), ["M1", "M2", "M3"])
                msg = self.fails("Present", "M4",
                                 self.ambient_cfg(managedIdentity={"clientID": "nobody"}),
                                 ambient=True, client=c)
                self.assertIn("managed identity (IMDS) token request", msg)
                self.assertIn("Identity not found", msg)
            finally:
                c.close()
            log = srv.log()
        for s in self.secrets():
            self.assertNotIn(s, log)

    def test_tenant_ca_bundle_never_verifies_the_pods_identity(self):
        """The authority host answered by whoever holds other-ca (traffic
        steered there), and a tenant's caBundle naming other-ca: the
        federated assertion is not sent (TLS fails before any request),
        and the message says why."""
        evil = azuredns_fake.Fake(
            TENANT, SUB, GROUP, [(PUB, ZONE)], tls=self.pki.attacker_serving(),
            federated={WI_ID: (ISSUER, SUBJECT, self.wi_key.public_key())}).__enter__()
        with open(self.pki.path("other-ca.crt")) as f:
            evil_ca = f.read()
        env = dict(self.env, AZURE_AUTHORITY_HOST=evil.url + "/", AZURE_ARM_ENDPOINT=evil.url)
        try:
            with harness.Server(self.pki, zones=(), env=env,
                                extra=["--provider-timeout", TIMEOUT] + self.operator_ca) as srv:
                c = srv.client("proxy")
                try:
                    reply = self.call("Present", "A1", self.ambient_cfg(caBundle=evil_ca),
                                      ambient=True, client=c)
                finally:
                    c.close()
            with evil.lock:
                self.assertEqual(evil.token_calls, [])
                self.assertEqual(evil.requests, [])
            msg = assert_response(self, *reply, False)["response"]["status"]["message"]
            self.assertIn("--provider-ca-file", msg)
            self.assertIn("not the config's caBundle", msg)
        finally:
            evil.__exit__(None, None, None)

    def test_endpoint_policy(self):
        trap = f"https://127.0.0.1:{self.trap.port}"
        for field in ("endpoint", "authorityHost"):
            msg = self.fails("Present", "X1", self.cfg(**{field: trap}))
            self.assertIn("--allow-provider-endpoint", msg)
            self.assertIn(field, msg)
        self.assertEqual(self.trap.connections(), 0)
        self.assertEqual(self.fake.requests, [])

    def test_retries_and_faults(self):
        self.fake.faults += [(429, 1, "GET /subscriptions/"), (500,), (503,)]
        t0 = time.monotonic()
        self.ok("Present", "R1")
        self.assertGreaterEqual(time.monotonic() - t0, 1.0, "Retry-After: 1 not honoured")
        self.assertEqual(self.txt(), ["R1"])
        # A token expired mid-run: ARM says 401, one new token, success.
        self.ok("Present", "R0")  # the token is cached now
        self.fake.token_calls.clear()
        self.fake.expire_tokens()
        self.ok("Present", "R2")
        self.assertEqual(self.token_calls(), [("secret", SP_ID)])
        self.assertEqual(self.txt(), ["R0", "R1", "R2"])
        # A concurrent writer changes the set under two writes (412): the
        # op reads again and keeps the intruder's values.
        self.fake.writers = 2
        self.ok("CleanUp", "R1")
        vals = self.txt()
        self.assertNotIn("R1", vals)
        self.assertEqual(len([v for v in vals if v.startswith("intruder-")]), 2)
        self.assertIn("R2", vals)
        # A hung API: answered within the op's deadline, naming the step.
        self.fake.hang = 10
        t0 = time.monotonic()
        msg = self.fails("Present", "H1")
        self.assertLess(time.monotonic() - t0, 45 if VALGRIND else 20)
        self.assertIn("reading the TXT record set", msg)

    def cli(self, action, value, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
        env.update(AZURE_SUBSCRIPTION_ID=SUB, AZURE_RESOURCE_GROUP=GROUP,
                   AZURE_ZONE_NAME=ZONE, AZURE_ARM_ENDPOINT=self.fake.url,
                   AZURE_AUTHORITY_HOST=self.fake.url,
                   AZURE_CA_BUNDLE=self.pki.path("serving-ca.crt"))
        env.update(extra)
        return subprocess.run([harness.BIN, action, "--provider", "azuredns", NAME, value],
                              capture_output=True, text=True, env=env, timeout=60)

    def test_cli_env(self):
        sp = dict(AZURE_CLIENT_ID=SP_ID, AZURE_CLIENT_SECRET=SP_SECRET, AZURE_TENANT_ID=TENANT)
        for action in ("present", "cleanup"):
            r = self.cli(action, "CLI1", **sp)
            self.assertEqual(r.returncode, 0, r.stderr)
            for s in self.secrets():
                self.assertNotIn(s, r.stdout + r.stderr)
            if action == "present":
                self.assertEqual(self.txt(), ["CLI1"])
        self.assertIsNone(self.txt())
        # Workload identity's variables (no secret: AZURE_CLIENT_ID is then
        # the federated client).
        r = self.cli("present", "CLI2", AZURE_CLIENT_ID=WI_ID, AZURE_TENANT_ID=TENANT,
                     AZURE_FEDERATED_TOKEN_FILE=self.fedfile)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.txt(), ["CLI2"])
        self.assertIn(("assertion", WI_ID), self.token_calls())
        r = self.cli("present", "x", AZURE_SUBSCRIPTION_ID="")
        self.assertEqual(r.returncode, 2)
        self.assertIn("AZURE_SUBSCRIPTION_ID is not set", r.stderr)


if __name__ == "__main__":
    unittest.main()
