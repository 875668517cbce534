"""dns01 serve as an in-cluster aggregated API server, against the strict
fake kube-apiserver (tests/fakes/kube_fake.py) and a real BIND 9:

- the front-proxy trust comes from ConfigMap
  kube-system/extension-apiserver-authentication (no CA flag at all): its
  CA and allowed names decide who may call; a failed first read stops
  start-up, or, with --authentication-tolerate-lookup-failure, leaves every
  caller unauthenticated until a later read succeeds;
- every identity is authorized with a SubjectAccessReview whose body is
  checked field by field (resource vs non-resource attributes, groups,
  uid, percent-decoded extra keys); allow -> 201, deny -> 403 worded like
  the apiserver's; system:masters skips the review; decisions are cached
  (allow and deny alike, counted at the fake);
- an rfc2136 Present/CleanUp against BIND with the TSIG secret read from
  the Secrets API (one GET for both calls), and errors that name the
  Secret, the namespace and not-found vs forbidden;
- the service-account token rotated the kubelet's way is picked up;
- a kubeconfig with a client certificate instead of a token;
- /metrics scraped on the plain --metrics-port and parsed.
"""
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import bind
import harness
import kube_fake
import pki
from harness import assert_response, assert_status, challenge

SA = "system:serviceaccount:dns01:dns01-webhook"
CM = "system:serviceaccount:cert-manager:cert-manager"
FQDN = "_acme-challenge.www.example.test."
SOLVER_PATH = f"/apis/{harness.GROUP}/v1alpha1/embedded"


def metrics(port):
    """Parse Prometheus text: {'name{labels}': value}."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


class InCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.pki = pki.PKI(d)
        cls.bind = bind.Bind(d).__enter__()
        cls.fake = kube_fake.KubeFake(*cls.pki.cert("serving"))
        cls.fake.set_tokens({"tok-1": SA})
        cls.fake.allow(SA, "get", "configmaps", "kube-system",
                       "extension-apiserver-authentication")
        cls.fake.allow(SA, "create", "subjectaccessreviews")
        cls.fake.allow(SA, "get", "secrets", "team-a", "tsig")
        cls.fake.allow(SA, "get", "secrets", "team-a", "nope")  # absent
        cls.fake.put_secret("team-a", "tsig", {
            k.rstrip("."): v.encode() for k, v in cls.bind.secrets.items()})
        cls.fake.put_secret("team-b", "tsig", {"x": b"y"})  # not allowed
        cls.fake.set_authentication_configmap(
            cls.pki.path("proxy-ca.crt"), allowed_names=["front-proxy-client"],
            uid_headers=["X-Remote-Uid"])
        cls.decisions = {}
        cls.fake.sar_policy = cls.policy
        cls.fake.start()
        cls.sa_dir = kube_fake.service_account_dir(
            os.path.join(d, "sa"), "tok-1", cls.pki.path("serving-ca.crt"), "dns01")
        cls.metrics_port = harness.free_port()
        env = dict(os.environ, **cls.fake.in_cluster_env())
        cls.srv = harness.Server(cls.pki, client_ca=False, allowed=None, env=env, extra=[
            "--serviceaccount-dir", cls.sa_dir, "--metrics-port", str(cls.metrics_port),
            "--metrics-bind-address", "127.0.0.1",
            # Authentication and authorization are under test here, not
            # the shared store (test_replicas.py).
            "--embedded-store", "memory"]).__enter__()
        cls.c = cls.srv.client("proxy")

    @classmethod
    def policy(cls, spec):
        user = spec.get("user")
        allowed = cls.decisions.get(user, False)
        return allowed, "" if allowed else f"test policy denies {user}"

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.srv.__exit__(None, None, None)
        log = cls.srv.log()
        cls.fake.stop()
        cls.bind.__exit__(None, None, None)
        cls.tmp.cleanup()
        for v in cls.bind.secrets.values():
            assert v not in log, "TSIG secret in the server log"
        assert "tok-1" not in log and "tok-2" not in log, "token in the log"

    def setUp(self):
        self.fake.clear_log()

    def sars(self):
        return [b["spec"] for b in self.fake.sar_log]

    # --- front-proxy trust from the ConfigMap ------------------------------
    def test_trust_from_configmap(self):
        self.decisions["u-trust"] = True
        st, _, body = self.c.post_challenge(challenge("Present", "T1"), user="u-trust")
        assert_response(self, st, body, True)
        # The ConfigMap allows only CN front-proxy-client; CA from it too.
        for cert in ("proxy-othercn", "untrusted"):
            c = self.srv.client(cert)
            try:
                st, _, body = c.post_challenge(challenge("Present", "T2"), user="u-trust")
            finally:
                c.close()
            assert_status(self, st, body, 401)
        # No CA flag was given: the trust can only have come from there.
        self.assertIn("event=requestheader_loaded source=configmap", self.srv.log())

    # --- SubjectAccessReviews ----------------------------------------------
    def test_sar_allow_body_and_cache(self):
        self.decisions[CM] = True
        hdrs = {"X-Remote-Group": "system:serviceaccounts",
                "X-Remote-Uid": "uid-123",
                "X-Remote-Extra-Authentication.kubernetes.io%2fpod-Name": "cm-abc"}
        c = self.srv.client("proxy")
        c.request("GET", "/readyz")
        c.conn.request("POST", SOLVER_PATH, body=json.dumps(
            {"request": challenge("Present", "A1", uid="x1")}),
            headers=dict(hdrs, **{"X-Remote-User": CM, "Content-Type": "application/json"}))
        r = c.conn.getresponse()
        assert_response(self, r.status, r.read(), True)
        c.close()
        specs = self.sars()
        self.assertEqual(len(specs), 1, specs)
        s = specs[0]
        self.assertEqual(s["resourceAttributes"], {
            "verb": "create", "group": harness.GROUP, "version": "v1alpha1",
            "resource": "embedded"})
        self.assertNotIn("nonResourceAttributes", s)
        self.assertEqual(s["user"], CM)
        self.assertEqual(s["uid"], "uid-123")
        self.assertEqual(sorted(s["groups"]), ["system:authenticated", "system:serviceaccounts"])
        self.assertEqual(s["extra"], {"authentication.kubernetes.io/pod-name": ["cm-abc"]})
        # The same identity and attributes again: from the cache.
        for key in ("A2", "A3"):
            st, _, body = self.c.post_challenge(challenge("CleanUp", key), user=CM,
                                                headers=hdrs)
            assert_response(self, st, body, True)
        self.assertEqual(len(self.fake.sar_log), 1)

    def test_decision_not_shared_between_users(self):
        """An allow cached for one user is not another's: the second user
        gets its own review (and its deny), the first keeps its allow."""
        self.decisions["alice"] = True
        self.decisions["eve"] = False
        n = len(self.fake.sar_log)
        st, _, body = self.c.post_challenge(challenge("Present", "U1"), user="alice")
        assert_response(self, st, body, True)
        st, _, body = self.c.post_challenge(challenge("Present", "U2"), user="eve")
        assert_status(self, st, body, 403)
        self.assertEqual(len(self.fake.sar_log), n + 2)
        st, _, body = self.c.post_challenge(challenge("CleanUp", "U1"), user="alice")
        assert_response(self, st, body, True)
        self.assertEqual(len(self.fake.sar_log), n + 2)  # alice's from the cache

    def test_sar_deny_is_403_and_cached(self):
        self.decisions.pop("mallory", None)
        for _ in range(3):
            st, _, body = self.c.post_challenge(challenge("Present", "D1"), user="mallory")
            o = assert_status(self, st, body, 403)
        self.assertEqual(o["reason"], "Forbidden")
        self.assertEqual(
            o["message"],
            f'embedded.{harness.GROUP} is forbidden: User "mallory" cannot create resource '
            f'"embedded" in API group "{harness.GROUP}" at the cluster scope: '
            "test policy denies mallory")
        self.assertEqual(o["details"], {"group": harness.GROUP, "kind": "embedded"})
        self.assertEqual(len(self.fake.sar_log), 1)  # deny cached too

    def test_forbidden_log_cannot_forge_fields(self):
        # A user name is the caller's text: in the log it stays one quoted
        # value with its quotes escaped (issue 12, item 5).
        evil = 'x" level=error event=admin_login x="'
        self.decisions.pop(evil, None)
        st, _, body = self.c.post_challenge(challenge("Present", "E1"), user=evil)
        assert_status(self, st, body, 403)
        lines = [l for l in self.srv.log().splitlines() if "event=forbidden" in l]
        self.assertTrue(lines)
        quoted = 'user="x\\" level=error event=admin_login x=\\"" verb='
        self.assertIn(quoted, lines[-1])

    def test_burst_shares_one_review(self):
        """Ten calls from one identity while its review is in flight: one
        SubjectAccessReview answers all of them."""
        self.decisions["burst"] = True
        self.fake.fault("POST", "/apis/authorization.k8s.io", "delay", seconds=1.0)
        results = []

        def one(i):
            c = self.srv.client("proxy")
            try:
                results.append(c.post_challenge(challenge("Present", f"B{i}"), user="burst"))
            finally:
                c.close()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(results), 10)
        for st, _, body in results:
            assert_response(self, st, body, True)
        self.assertEqual(len(self.fake.sar_log), 1)
        self.assertGreaterEqual(metrics(self.metrics_port)["dns01_authz_joined_total"], 9)

    def test_masters_skip_review(self):
        st, _, body = self.c.post_challenge(challenge("Present", "M1"), user="admin",
                                            headers={"X-Remote-Group": "system:masters"})
        assert_response(self, st, body, True)
        self.assertEqual(self.fake.sar_log, [])

    def test_discovery_is_a_nonresource_review(self):
        self.decisions.pop("disco", None)
        st, _, body = self.c.request("GET", f"/apis/{harness.GROUP}/v1alpha1",
                                     headers={"X-Remote-User": "disco"})
        o = assert_status(self, st, body, 403)
        self.assertEqual(self.sars()[0]["nonResourceAttributes"],
                         {"path": f"/apis/{harness.GROUP}/v1alpha1", "verb": "get"})
        self.assertTrue(o["message"].startswith(
            f'forbidden: User "disco" cannot get path "/apis/{harness.GROUP}/v1alpha1"'), o)
        self.decisions["disco2"] = True
        st, _, body = self.c.request("GET", "/apis", headers={"X-Remote-User": "disco2"})
        self.assertEqual(st, 200, body)

    def test_review_failure_is_500_and_not_cached(self):
        self.decisions["flaky"] = True
        self.fake.fault("POST", "/apis/authorization.k8s.io", "status", count=3, code=503)
        st, _, body = self.c.post_challenge(challenge("Present", "F1"), user="flaky")
        o = assert_status(self, st, body, 500)
        # The caller learns that the check failed, not where the API
        # server is or what it said: that is in the log (issue 12, 13).
        self.assertEqual(o["message"], "Internal error occurred: authorization "
                         "check failed; see the webhook's log")
        self.assertNotIn(b"127.0.0.1", body)
        self.assertNotIn(b"https://", body)
        lines = [l for l in self.srv.log().splitlines() if "event=authz_failed" in l]
        self.assertTrue(lines and "503" in lines[-1], lines[-1:])
        st, _, body = self.c.post_challenge(challenge("Present", "F1"), user="flaky")
        assert_response(self, st, body, True)

    # --- Secrets from the API ------------------------------------------------
    def rfc2136(self, action, key, ns="team-a", name="tsig"):
        cfg = self.bind.config()
        cfg["tsigSecretSecretRef"]["name"] = name
        st, _, body = self.c.post_challenge(
            challenge(action, key, config=cfg, resourceNamespace=ns), solver="rfc2136",
            headers={"X-Remote-Group": "system:masters"})
        for v in self.bind.secrets.values():
            self.assertNotIn(v.encode(), body)
        return st, body

    def test_rfc2136_with_secret_from_api(self):
        assert_response(self, *self.rfc2136("Present", "S1"), True)
        self.assertEqual(self.bind.dig(FQDN), ("NOERROR", ["S1", bind.SPF]))
        assert_response(self, *self.rfc2136("CleanUp", "S1"), True)
        self.assertEqual(self.bind.dig(FQDN), ("NOERROR", [bind.SPF]))
        # Present and CleanUp within the cache's 10 s: one GET.
        self.assertEqual(self.fake.count("GET", "/api/v1/namespaces/team-a/secrets/tsig"), 1)

    def test_secret_errors_name_secret_and_namespace(self):
        cases = [("team-a", "nope", 'secret "nope" not found in namespace "team-a"'),
                 ("team-b", "tsig", 'secret "tsig" in namespace "team-b": forbidden')]
        for ns, name, want in cases:
            with self.subTest(ns=ns, name=name):
                st, body = self.rfc2136("Present", "E1", ns=ns, name=name)
                o = assert_response(self, st, body, False)
                self.assertIn(want, o["response"]["status"]["message"])

    def test_secret_value_errors_say_what_is_wrong(self):
        """A key that is there but unusable is not reported as missing:
        "has no key" sends the user looking for a typo in the key name."""
        key = self.bind.config()["tsigSecretSecretRef"]["key"]
        self.fake.allow(SA, "get", "secrets", "team-a", "tsig-bad64")
        obj = self.fake.put_secret("team-a", "tsig-bad64", {key: b"x"})
        obj["data"][key] = "!!not base64!!"
        st, body = self.rfc2136("Present", "B1", name="tsig-bad64")
        msg = assert_response(self, st, body, False)["response"]["status"]["message"]
        self.assertIn(f'secret "tsig-bad64" in namespace "team-a" key "{key}"', msg)
        self.assertIn("not valid base64", msg)
        self.assertNotIn("has no key", msg)

    def test_secret_api_faults(self):
        """A dropped connection is retried; a persistent 500 becomes a
        clear failure, never a hang or a 5xx to cert-manager."""
        self.fake.allow(SA, "get", "secrets", "team-a", "tsig-faults")
        self.fake.put_secret("team-a", "tsig-faults", {
            k.rstrip("."): v.encode() for k, v in self.bind.secrets.items()})
        self.fake.fault("GET", "/api/v1/namespaces/team-a/secrets/tsig-faults", "drop")
        assert_response(self, *self.rfc2136("Present", "G1", name="tsig-faults"), True)
        assert_response(self, *self.rfc2136("CleanUp", "G1", name="tsig-faults"), True)
        self.fake.allow(SA, "get", "secrets", "team-a", "tsig-500")
        self.fake.put_secret("team-a", "tsig-500", {"x": b"y"})
        self.fake.fault("GET", "/api/v1/namespaces/team-a/secrets/tsig-500", "status",
                        count=None, code=500)
        try:
            t0 = time.time()
            st, body = self.rfc2136("Present", "G2", name="tsig-500")
            o = assert_response(self, st, body, False)
            self.assertLess(time.time() - t0, 15)
            msg = o["response"]["status"]["message"]
            self.assertIn('secret "tsig-500" in namespace "team-a"', msg)
            self.assertIn("HTTP 500", msg)
        finally:
            self.fake.clear_faults()

    def test_review_that_hangs_is_retried(self):
        """One SubjectAccessReview never answered: the attempt times out
        (5 s) and the next one decides."""
        self.decisions["slowpoke"] = True
        self.fake.fault("POST", "/apis/authorization.k8s.io", "hang")
        t0 = time.time()
        st, _, body = self.c.post_challenge(challenge("Present", "H1"), user="slowpoke")
        assert_response(self, st, body, True)
        self.assertLess(time.time() - t0, 12)
        self.assertEqual(self.fake.count("POST", "/apis/authorization.k8s.io"), 2)

    # --- metrics ---------------------------------------------------------------
    def test_metrics_port(self):
        self.decisions["m-user"] = True
        self.c.post_challenge(challenge("Present", "X1"), user="m-user")
        m = metrics(self.metrics_port)
        self.assertEqual(m["dns01_requestheader_trust_loaded"], 1)
        self.assertGreaterEqual(m["dns01_authz_reviews_total"], 1)
        self.assertGreaterEqual(
            m['dns01_webhook_calls_total{solver="embedded",action="Present",result="success"}'], 1)
        self.assertIn('dns01_provider_duration_seconds_count{solver="embedded",action="Present"}', m)
        self.assertGreater(m["dns01_serving_cert_not_after_seconds"], time.time())
        # Nothing else is served there, and no authentication is asked.
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/apis", timeout=5)
        self.assertEqual(e.exception.code, 404)

    # --- token rotation (last: it changes the fake's tokens) -------------------
    def test_zz_token_rotation(self):
        self.fake.set_tokens({"tok-2": SA})  # the old token is now refused
        kube_fake.rotate_service_account_token(self.sa_dir, "tok-2")
        self.decisions["rot"] = True
        st, _, body = self.c.post_challenge(challenge("Present", "R1"), user="rot")
        assert_response(self, st, body, True)
        auths = [dict(d["headers"]).get("Authorization") for d in self.fake.request_details]
        self.assertIn("Bearer tok-2", auths)
        self.assertNotIn("Bearer tok-1", auths)


class StartUp(unittest.TestCase):
    """The first ConfigMap read decides start-up; kubeconfig credentials."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.pki._leaf("kube-client", "other-ca", SA, "extendedKeyUsage=clientAuth\n")
        cls.fake = kube_fake.KubeFake(*cls.pki.cert("serving"),
                                      client_ca=cls.pki.path("other-ca.crt"))
        cls.fake.set_tokens({"tok-1": SA})
        cls.fake.allow(SA, "get", "configmaps", "kube-system",
                       "extension-apiserver-authentication")
        cls.fake.allow(SA, "create", "subjectaccessreviews")
        cls.fake.set_authentication_configmap(cls.pki.path("proxy-ca.crt"))
        cls.fake.sar_policy = lambda spec: (True, "")
        cls.fake.start()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        cls.tmp.cleanup()

    def kubeconfig(self, **kw):
        path = os.path.join(self.tmp.name, "kubeconfig")
        return self.fake.kubeconfig(path, ca_file=self.pki.path("serving-ca.crt"), **kw)

    def test_client_certificate_kubeconfig(self):
        cert, key = self.pki.cert("kube-client")
        kc = self.kubeconfig(client_cert=cert, client_key=key)
        with harness.Server(self.pki, client_ca=False, allowed=None,
                            extra=["--kubeconfig", kc, "--embedded-store", "memory"]) as srv:
            c = srv.client("proxy")
            st, _, body = c.post_challenge(challenge("Present", "K1"))
            c.close()
            assert_response(self, st, body, True)
        users = {u for _, _, u, _ in self.fake.requests}
        self.assertEqual(users, {SA})

    def test_lookup_failure_stops_start_up(self):
        kc = self.kubeconfig(token="tok-1")
        self.fake.fault("GET", "/api/v1/namespaces/kube-system/configmaps", "status",
                        count=None, code=500)
        try:
            r = subprocess.run(
                [harness.BIN, "serve", "--group-name", harness.GROUP,
                 "--tls-cert-file", self.pki.cert("serving")[0],
                 "--tls-private-key-file", self.pki.cert("serving")[1],
                 "--bind-address", "127.0.0.1", "--secure-port", str(harness.free_port()),
                 "--kubeconfig", kc], capture_output=True, text=True, timeout=60)
        finally:
            self.fake.clear_faults()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("extension-apiserver-authentication", r.stderr)
        self.assertIn("500", r.stderr)

    def test_tolerated_lookup_failure_heals(self):
        kc = self.kubeconfig(token="tok-1")
        self.fake.fault("GET", "/api/v1/namespaces/kube-system/configmaps", "status",
                        count=None, code=500)
        srv = harness.Server(self.pki, client_ca=False, allowed=None, extra=[
            "--kubeconfig", kc, "--authentication-tolerate-lookup-failure",
            "--requestheader-refresh-interval", "500ms", "--embedded-store", "memory"])
        with srv:
            c = srv.client("proxy")
            st, _, body = c.post_challenge(challenge("Present", "H1"))
            assert_status(self, st, body, 401)  # no trust yet
            self.fake.clear_faults()
            deadline = time.time() + 30
            while True:
                st, _, body = c.post_challenge(challenge("Present", "H1"))
                if st != 401 or time.time() > deadline:
                    break
                time.sleep(0.2)
            c.close()
            assert_response(self, st, body, True)
            self.assertIn("requestheader_lookup_failed", srv.log())


if __name__ == "__main__":
    unittest.main()
