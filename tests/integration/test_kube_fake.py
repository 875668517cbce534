"""The fake kube-apiserver (tests/fakes/kube_fake.py) on its own, over real
TLS: it must be as strict as the real server before any dns01 test can lean
on it. 401 without or with a wrong token, token rotation, 403 before 404,
the exact Status shapes, Secret/ConfigMap objects, SubjectAccessReview
validation and policy, the fault kinds, client-certificate authentication,
keep-alive, and a stop() that does not wait for hung requests."""
import base64
import http.client
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import harness
import kube_fake
import pki

SA = "system:serviceaccount:dns01:dns01-webhook"
CM = "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication"
SAR = kube_fake.SAR_PATH


def secret_path(ns, name):
    return f"/api/v1/namespaces/{ns}/secrets/{name}"


def sar_body(**spec):
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": spec}


RA = {"verb": "create", "group": "acme.test.example", "version": "v1alpha1",
      "resource": "embedded"}


class KubeFakeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        # A client certificate with groups (O) for x509 authentication.
        d = cls.tmp.name

        def run(*a):
            subprocess.run(("openssl",) + a, cwd=d, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", "alice.key")
        run("req", "-new", "-key", "alice.key", "-subj", "/O=devs/O=ops/CN=alice",
            "-out", "alice.csr")
        with open(os.path.join(d, "alice.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
        run("x509", "-req", "-in", "alice.csr", "-CA", "proxy-ca.crt", "-CAkey", "proxy-ca.key",
            "-CAcreateserial", "-extfile", "alice.ext", "-days", "2", "-out", "alice.crt")
        cls.ca = cls.pki.path("serving-ca.crt")
        cls.fake = kube_fake.KubeFake(*cls.pki.cert("serving"),
                                      client_ca=cls.pki.path("proxy-ca.crt")).start()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        cls.tmp.cleanup()

    def setUp(self):
        f = self.fake
        f.set_tokens({"tok-1": SA})
        f.revoke()
        f.clear_faults()
        f.clear_log()
        f.sar_policy = kube_fake.deny_policy
        f.strict = True
        self.c = harness.Client(f.port, self.ca, timeout=5)

    def tearDown(self):
        self.c.close()

    def get(self, path, token="tok-1", client=None, headers=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        st, hdrs, body = (client or self.c).request("GET", path, headers=h)
        return st, hdrs, body

    def post(self, path, body, token="tok-1", ctype="application/json", headers=None):
        h = {"Authorization": f"Bearer {token}"}
        if ctype is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.c.request("POST", path, body=data, headers=h)

    def status_of(self, st, body, code, reason):
        self.assertEqual(st, code, body)
        o = harness.assert_status_object(body, code)
        self.assertEqual(o["reason"], reason, o)
        self.assertTrue(body.endswith(b"\n"))
        return o

    # --- authentication ---------------------------------------------------
    def test_unauthorized_exact(self):
        want = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
        for tok, hdr in ((None, None), ("wrong", None), (None, "Basic dG9rLTE6"),
                         (None, "Bearer"), (None, "Bearer  tok-1")):
            h = {"Authorization": hdr} if hdr else None
            st, hdrs, body = self.get(secret_path("dns01", "x"), token=tok, headers=h)
            self.assertEqual(st, 401, (tok, hdr))
            self.assertEqual(json.loads(body), want)
            self.assertEqual(hdrs["content-type"], "application/json")
            self.assertEqual(int(hdrs["content-length"]), len(body))
        # The scheme is case-insensitive; anything after the token is ignored.
        st, _, _ = self.get(secret_path("dns01", "x"), token=None,
                            headers={"Authorization": "bearer tok-1 trailing"})
        self.assertEqual(st, 403)
        self.assertEqual([r[2:] for r in self.fake.requests][:2], [(None, 401), (None, 401)])

    def test_token_rotation(self):
        self.fake.allow(SA, "get", "secrets", "dns01")
        self.fake.put_secret("dns01", "cf", {"token": b"t"})
        self.assertEqual(self.get(secret_path("dns01", "cf"))[0], 200)
        self.fake.set_tokens({"tok-2": SA})
        self.assertEqual(self.get(secret_path("dns01", "cf"))[0], 401)
        self.assertEqual(self.get(secret_path("dns01", "cf"), token="tok-2")[0], 200)
        self.assertEqual(self.fake.requests[-1][2], SA)
        self.fake.add_token("tok-3", "bob", ["team"])
        self.fake.remove_token("tok-2")
        self.assertEqual(self.get(secret_path("dns01", "cf"), token="tok-2")[0], 401)
        self.assertEqual(self.get(secret_path("dns01", "cf"), token="tok-3")[0], 403)
        d = self.fake.request_details[-1]
        self.assertEqual((d["user"], d["groups"]), ("bob", ["team", "system:authenticated"]))

    def test_anonymous(self):
        f = kube_fake.KubeFake(*self.pki.cert("serving"), tokens={"t": "u"},
                               anonymous=True).start()
        try:
            c = harness.Client(f.port, self.ca, timeout=5)
            st, _, body = self.get(secret_path("a", "b"), token=None, client=c)
            o = self.status_of(st, body, 403, "Forbidden")
            self.assertIn('User "system:anonymous" cannot get', o["message"])
            # A bad token is still 401: anonymous is only for no credentials.
            self.assertEqual(self.get(secret_path("a", "b"), token="bad", client=c)[0], 401)
            c.close()
        finally:
            f.stop()

    # --- authorization and objects ------------------------------------------
    def test_forbidden_before_not_found(self):
        st, hdrs, body = self.get(secret_path("dns01", "x"))
        self.assertEqual(st, 403)
        self.assertEqual(json.loads(body), {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f'secrets "x" is forbidden: User "{SA}" cannot get resource "secrets" '
                       'in API group "" in the namespace "dns01"',
            "reason": "Forbidden", "details": {"name": "x", "kind": "secrets"}, "code": 403})
        # Field order as the apiserver writes it.
        self.assertEqual(list(json.loads(body)), ["kind", "apiVersion", "metadata", "status",
                                                  "message", "reason", "details", "code"])
        self.fake.allow(SA, "get", "secrets", "dns01", "x")
        st, _, body = self.get(secret_path("dns01", "x"))
        self.assertEqual(st, 404)
        self.assertEqual(json.loads(body), {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'secrets "x" not found', "reason": "NotFound",
            "details": {"name": "x", "kind": "secrets"}, "code": 404})
        # resourceNames: the rule for "x" does not cover "y" or another namespace.
        self.assertEqual(self.get(secret_path("dns01", "y"))[0], 403)
        self.assertEqual(self.get(secret_path("other", "x"))[0], 403)
        # A name that can never exist is simply not found; "%" is refused.
        self.fake.allow(SA, "get", "secrets", "dns01")
        self.assertEqual(self.get(secret_path("dns01", "Not_A_Name"))[0], 404)
        st, _, body = self.get(secret_path("dns01", "a%25b"))
        o = self.status_of(st, body, 400, "BadRequest")
        self.assertEqual(o["message"], "Name parameter invalid: \"a%b\": may not contain '%'")

    def test_secret_object(self):
        self.fake.allow(SA, "get", "secrets", "cert-manager", "cf")
        raw = bytes(range(256))
        self.fake.put_secret("cert-manager", "cf", {"token": b"abc\n", "bin": raw})
        st, hdrs, body = self.get(secret_path("cert-manager", "cf"))
        self.assertEqual(st, 200, body)
        o = json.loads(body)
        self.assertEqual(list(o), ["kind", "apiVersion", "metadata", "data", "type"])
        self.assertEqual((o["kind"], o["apiVersion"], o["type"]), ("Secret", "v1", "Opaque"))
        m = o["metadata"]
        self.assertEqual((m["name"], m["namespace"]), ("cf", "cert-manager"))
        for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
            self.assertIn(k, m)
        self.assertIsInstance(m["resourceVersion"], str)
        self.assertRegex(m["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(base64.b64decode(o["data"]["token"]), b"abc\n")
        self.assertEqual(base64.b64decode(o["data"]["bin"]), raw)
        self.assertTrue(hdrs.get("audit-id"))
        # Replacing keeps uid and creationTimestamp and bumps resourceVersion.
        self.fake.put_secret("cert-manager", "cf", {}, type="kubernetes.io/tls")
        o2 = json.loads(self.get(secret_path("cert-manager", "cf"))[2])
        self.assertEqual(o2["metadata"]["uid"], m["uid"])
        self.assertGreater(int(o2["metadata"]["resourceVersion"]), int(m["resourceVersion"]))
        self.assertNotIn("data", o2)  # omitempty
        self.assertEqual(o2["type"], "kubernetes.io/tls")
        self.fake.delete_secret("cert-manager", "cf")
        self.assertEqual(self.get(secret_path("cert-manager", "cf"))[0], 404)
        with self.assertRaises(ValueError):
            self.fake.put_secret("cert-manager", "Bad_Name", {})
        with self.assertRaises(ValueError):
            self.fake.put_secret("cert-manager", "ok", {"bad/key": b""})
        # An Accept the fake cannot serve.
        self.fake.put_secret("cert-manager", "cf", {"token": b"x"})
        st, _, body = self.get(secret_path("cert-manager", "cf"),
                               headers={"Accept": "application/vnd.kubernetes.protobuf"})
        self.status_of(st, body, 406, "NotAcceptable")

    def test_list_and_group_rules(self):
        self.fake.put_secret("ns1", "a", {"k": b"1"})
        self.fake.put_secret("ns1", "b", {"k": b"2"})
        self.fake.put_secret("ns2", "c", {"k": b"3"})
        path = "/api/v1/namespaces/ns1/secrets"
        st, _, body = self.get(path)
        o = self.status_of(st, body, 403, "Forbidden")
        self.assertEqual(o["message"], f'secrets is forbidden: User "{SA}" cannot list resource '
                                       '"secrets" in API group "" in the namespace "ns1"')
        self.assertEqual(o["details"], {"kind": "secrets"})
        self.fake.allow_group("system:serviceaccounts:dns01", ["get", "list"], "secrets", "ns1")
        st, _, body = self.get(path)
        self.assertEqual(st, 200, body)
        o = json.loads(body)
        self.assertEqual(o["kind"], "SecretList")
        self.assertEqual([i["metadata"]["name"] for i in o["items"]], ["a", "b"])
        self.assertNotIn("kind", o["items"][0])

    def test_configmap_keys(self):
        f = self.fake
        f.allow(SA, "get", "configmaps", "kube-system", "extension-apiserver-authentication")
        ca = self.pki.path("proxy-ca.crt")
        with open(ca) as fh:
            pem = fh.read()
        f.set_authentication_configmap(ca)
        st, _, body = self.get(CM)
        self.assertEqual(st, 200, body)
        o = json.loads(body)
        self.assertEqual((o["kind"], o["apiVersion"]), ("ConfigMap", "v1"))
        self.assertEqual(o["data"], {
            "requestheader-allowed-names": '["front-proxy-client"]',
            "requestheader-client-ca-file": pem,
            "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
            "requestheader-group-headers": '["X-Remote-Group"]',
            "requestheader-username-headers": '["X-Remote-User"]'})
        self.assertEqual(list(o["data"]), sorted(o["data"]))
        f.set_authentication_configmap(pem.encode(), allowed_names=[],
                                       uid_headers=["X-Remote-Uid"], client_ca_pem=pem)
        d = json.loads(self.get(CM)[2])["data"]
        self.assertEqual(d["requestheader-allowed-names"], "[]")
        self.assertEqual(d["requestheader-uid-headers"], '["X-Remote-Uid"]')
        self.assertEqual(d["client-ca-file"], pem)
        f.set_authentication_configmap(None, client_ca_pem=pem)
        self.assertEqual(json.loads(self.get(CM)[2])["data"], {"client-ca-file": pem})
        # Only that one ConfigMap was granted.
        self.assertEqual(self.get("/api/v1/namespaces/kube-system/configmaps/other")[0], 403)

    def test_unknown_paths_and_methods(self):
        f = self.fake
        # An unserved resource is still authorized first...
        st, _, body = self.get("/api/v1/namespaces/dns01/pods/p")
        self.status_of(st, body, 403, "Forbidden")
        f.allow(SA, "*", "*", group="*")
        st, _, body = self.get("/api/v1/namespaces/dns01/pods/p")
        generic = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "the server could not find the requested resource",
                   "reason": "NotFound", "details": {}, "code": 404}
        self.assertEqual((st, json.loads(body)), (404, generic))
        for p in ("/", "/version", "/apis/foo.example/v1/bars", "/api/v1/namespaces/a/secrets/b/c"):
            st, _, body = self.get(p)
            self.assertEqual((st, json.loads(body)), (404, generic), p)
        # A served resource with another verb.
        for m, p in (("PUT", secret_path("a", "b")), ("DELETE", secret_path("a", "b")),
                     ("GET", SAR)):
            st, _, body = self.c.request(m, p, headers={"Authorization": "Bearer tok-1"})
            o = self.status_of(st, body, 405, "MethodNotAllowed")
            self.assertEqual(o["message"],
                             "the server does not allow this method on the requested resource")
        # 401 comes before everything, even for unknown paths.
        self.assertEqual(self.get("/nowhere", token=None)[0], 401)

    # --- SubjectAccessReviews -----------------------------------------------
    def test_sar_forbidden(self):
        st, _, body = self.post(SAR, sar_body(user="u", resourceAttributes=RA))
        self.assertEqual(st, 403)
        self.assertEqual(json.loads(body), {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "subjectaccessreviews.authorization.k8s.io is forbidden: User "
                       f'"{SA}" cannot create resource "subjectaccessreviews" in API group '
                       '"authorization.k8s.io" at the cluster scope',
            "reason": "Forbidden",
            "details": {"group": "authorization.k8s.io", "kind": "subjectaccessreviews"},
            "code": 403})
        self.assertEqual(self.fake.sar_log, [])

    def test_sar_validation(self):
        f = self.fake
        f.allow(SA, "create", "subjectaccessreviews")
        good = sar_body(user="u", resourceAttributes=RA)
        for ctype in (None, "text/plain", "application/yaml"):
            st, _, body = self.post(SAR, good, ctype=ctype)
            o = self.status_of(st, body, 415, "UnsupportedMediaType")
            self.assertTrue(o["message"].startswith(
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json"), o)
        st, _, body = self.post(SAR, sar_body(user="u", resourceAttributes=RA,
                                              nonResourceAttributes={"path": "/x", "verb": "get"}))
        o = self.status_of(st, body, 422, "Invalid")
        self.assertEqual([c["field"] for c in o["details"]["causes"]],
                         ["spec.nonResourceAttributes"])
        self.assertIn("cannot be specified in combination with resourceAttributes",
                      o["message"])
        st, _, body = self.post(SAR, sar_body(user="u"))
        o = self.status_of(st, body, 422, "Invalid")
        self.assertEqual(o["details"]["causes"], [{
            "reason": "FieldValueInvalid", "field": "spec.resourceAttributes",
            "message": 'Invalid value: "null": exactly one of nonResourceAttributes or '
                       "resourceAttributes must be specified"}])
        st, _, body = self.post(SAR, sar_body(resourceAttributes=RA, groups=[]))
        o = self.status_of(st, body, 422, "Invalid")
        self.assertEqual(o["message"], '.authorization.k8s.io "" is invalid: spec.user: '
                         'Invalid value: "": at least one of user or group must be specified')
        self.assertEqual(o["details"]["group"], "authorization.k8s.io")
        st, _, body = self.post(SAR, sar_body())
        o = self.status_of(st, body, 422, "Invalid")
        self.assertEqual(len(o["details"]["causes"]), 2)
        self.assertIn(": [spec.resourceAttributes: ", o["message"])
        for bad in (b"{not json", b"[1]", {"apiVersion": "v1", "kind": "SubjectAccessReview"},
                    {"apiVersion": "authorization.k8s.io/v1", "kind": "TokenReview"},
                    {"apiVersion": "authorization.k8s.io/v1beta1", "kind": "SubjectAccessReview",
                     "spec": {"user": "u", "resourceAttributes": RA}},
                    {"spec": {"user": "u", "resourceAttributes": RA}},
                    sar_body(user=7, resourceAttributes=RA),
                    sar_body(groups="g", resourceAttributes=RA)):
            st, _, body = self.post(SAR, bad)
            self.status_of(st, body, 400, "BadRequest")
        self.assertEqual(self.fake.count("POST", SAR), 15)
        self.assertEqual(len(self.fake.sar_log), 12)  # 415s never decode a body
        # The real server's leniency, when strictness is switched off.
        f.strict = False
        f.sar_policy = lambda spec: (True, "")
        self.assertEqual(self.post(SAR, good, ctype=None)[0], 201)
        self.assertEqual(self.post(SAR, {"spec": {"user": "u", "resourceAttributes": RA}})[0],
                         201)
        # Content-Type parameters are fine.
        self.assertEqual(self.post(SAR, good, ctype="application/json; charset=utf-8")[0], 201)

    def test_sar_policy_log_and_unknown_fields(self):
        f = self.fake
        f.allow(SA, "create", "subjectaccessreviews")
        st, _, body = self.post(SAR, sar_body(user="u", resourceAttributes=RA))
        self.assertEqual(st, 201, body)
        o = json.loads(body)
        self.assertEqual(o["status"], {"allowed": False, "reason": "kube-fake: no sar_policy set"})
        seen = []

        def policy(spec):
            seen.append(spec)
            if spec.get("user") == "evil":
                return False, "explicitly denied", True
            return "cert-manager" in spec.get("groups", []), "by test"
        f.sar_policy = policy
        req = sar_body(user="cm", groups=["cert-manager", "system:authenticated"],
                       uid="42", extra={"pod": ["p-1"]}, resourceAttributes=dict(RA, name=""),
                       futureField=True)
        req["status"] = {"allowed": True}
        st, hdrs, body = self.post(SAR, req)
        self.assertEqual(st, 201, body)
        o = json.loads(body)
        self.assertEqual(list(o), ["kind", "apiVersion", "metadata", "spec", "status"])
        self.assertEqual((o["kind"], o["apiVersion"]),
                         ("SubjectAccessReview", "authorization.k8s.io/v1"))
        self.assertEqual(o["spec"], {"resourceAttributes": RA, "user": "cm",
                                     "groups": ["cert-manager", "system:authenticated"],
                                     "extra": {"pod": ["p-1"]}, "uid": "42"})
        self.assertEqual(o["status"], {"allowed": True, "reason": "by test"})
        self.assertEqual(hdrs["warning"], '299 - "unknown field \\"spec.futureField\\""')
        self.assertEqual(f.unknown_fields, ["spec.futureField"])
        self.assertEqual(seen[-1]["user"], "cm")
        st, _, body = self.post(SAR, sar_body(user="evil", resourceAttributes=RA))
        self.assertEqual(json.loads(body)["status"],
                         {"allowed": False, "denied": True, "reason": "explicitly denied"})
        st, _, body = self.post(SAR + "?fieldValidation=Strict",
                                sar_body(user="u", resourceAttributes=RA, futureField=1))
        o = self.status_of(st, body, 400, "BadRequest")
        self.assertEqual(o["message"], 'strict decoding error: unknown field "spec.futureField"')
        # Concurrent callers on their own connections: every body is logged.
        f.clear_log()

        def one(i):
            c = harness.Client(f.port, self.ca, timeout=5)
            c.request("POST", SAR, body=sar_body(user=f"u{i}", resourceAttributes=RA),
                      headers={"Authorization": "Bearer tok-1"})
            c.close()
        ts = [threading.Thread(target=one, args=(i,)) for i in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(len(f.sar_log), 16)
        self.assertEqual(sorted(b["spec"]["user"] for b in f.sar_log),
                         sorted(f"u{i}" for i in range(16)))
        self.assertEqual(f.count("POST", SAR), 16)

    def test_rbac_policy(self):
        f = self.fake
        f.allow(SA, "create", "subjectaccessreviews")
        f.sar_policy = f.rbac_policy
        f.allow("system:serviceaccount:cert-manager:cert-manager", "create", "embedded",
                group="acme.test.example")
        f.allow_path("viewer", "get", "/apis/*")
        cases = ((sar_body(user="system:serviceaccount:cert-manager:cert-manager",
                           resourceAttributes=RA), True),
                 (sar_body(user="other", resourceAttributes=RA), False),
                 (sar_body(groups=["system:masters"], resourceAttributes=RA), True),
                 (sar_body(user="viewer", nonResourceAttributes={"path": "/apis/x", "verb": "get"}),
                  True),
                 (sar_body(user="viewer", nonResourceAttributes={"path": "/api", "verb": "get"}),
                  False))
        for req, allowed in cases:
            st, _, body = self.post(SAR, req)
            self.assertEqual(st, 201, body)
            self.assertIs(json.loads(body)["status"]["allowed"], allowed, req)

    # --- faults ---------------------------------------------------------------
    def test_fault_status(self):
        f = self.fake
        f.allow(SA, "get", "secrets")
        f.put_secret("a", "s", {"k": b"v"})
        f.fault("GET", "/api/v1/namespaces/a/", "status", count=2, code=503, retry_after=2)
        f.fault("POST", "/", "status", count=None, code=500)  # never matches a GET
        for _ in range(2):
            st, hdrs, body = self.get(secret_path("a", "s"))
            o = self.status_of(st, body, 503, "ServiceUnavailable")
            self.assertEqual(hdrs["retry-after"], "2")
            self.assertEqual(o["details"], {"retryAfterSeconds": 2})
        self.assertEqual(self.get(secret_path("a", "s"))[0], 200)
        f.clear_faults()
        f.fault("*", "/api/", "status", code=429, retry_after=1, text=True)
        st, hdrs, body = self.get(secret_path("a", "s"))
        self.assertEqual((st, body, hdrs["content-type"]),
                         (429, b"Too many requests, please try again later.\n",
                          "text/plain; charset=utf-8"))
        f.fault("GET", "/api/", "status", code=429)
        self.status_of(*self.get(secret_path("a", "s"))[::2], 429, "TooManyRequests")
        self.assertEqual([r[3] for r in f.requests], [503, 503, 200, 429, 429])

    def test_fault_delay_hang_drop(self):
        f = self.fake
        f.allow(SA, "get", "secrets")
        f.put_secret("a", "s", {"k": b"v"})
        f.fault("GET", "/api/", "delay", seconds=0.3)
        t0 = time.monotonic()
        self.assertEqual(self.get(secret_path("a", "s"))[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        f.fault("GET", "/api/", "drop")
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.get(secret_path("a", "s"))
        self.c.close()
        self.assertEqual(self.get(secret_path("a", "s"))[0], 200)  # a new connection
        f.fault("GET", "/api/", "hang")
        c = harness.Client(f.port, self.ca, timeout=0.5)
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.get(secret_path("a", "s"), client=c)
        c.close()
        self.assertEqual(self.get(secret_path("a", "s"))[0], 200)
        self.assertEqual([r[3] for r in f.requests], [200, None, 200, None, 200])
        self.assertEqual(f.count("GET", "/api/v1/namespaces/a/"), 5)
        self.assertEqual(f.count("POST"), 0)

    def test_stop_releases_hung_requests(self):
        f = kube_fake.KubeFake(*self.pki.cert("serving"), tokens={"t": "u"}).start()
        f.fault("*", "/", "hang", count=None)
        errs = []

        def call():
            try:
                c = harness.Client(f.port, self.ca, timeout=30)
                c.request("GET", "/x", headers={"Authorization": "Bearer t"})
            except Exception as e:  # the connection is closed under it
                errs.append(e)
        ts = [threading.Thread(target=call) for _ in range(3)]
        for t in ts:
            t.start()
        deadline = time.monotonic() + 5
        while f.count() < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(f.count(), 3)
        # An idle keep-alive connection too.
        idle = socket.create_connection(("127.0.0.1", f.port))
        stopper = threading.Thread(target=f.stop)
        stopper.start()
        stopper.join(10)
        self.assertFalse(stopper.is_alive(), "stop() hung")
        for t in ts:
            t.join(10)
            self.assertFalse(t.is_alive())
        self.assertEqual(len(errs), 3)
        idle.close()

    # --- transport ------------------------------------------------------------
    def test_keep_alive(self):
        f = self.fake
        f.allow(SA, "create", "subjectaccessreviews")
        before = f.connections
        self.assertEqual(self.get("/x", token="bad")[0], 401)
        self.assertEqual(self.get("/x")[0], 404)
        self.assertEqual(self.post(SAR, sar_body(user="u", resourceAttributes=RA),
                                   ctype="text/plain")[0], 415)
        self.assertEqual(self.post(SAR, sar_body(user="u", resourceAttributes=RA))[0], 201)
        self.assertEqual(f.connections - before, 1)
        # A chunked body and Expect: 100-continue work too.
        ctx = ssl.create_default_context(cafile=self.ca)
        conn = http.client.HTTPSConnection("127.0.0.1", f.port, context=ctx, timeout=5)
        body = json.dumps(sar_body(user="u", resourceAttributes=RA)).encode()
        conn.request("POST", SAR, body=iter([body[:10], body[10:]]),
                     headers={"Authorization": "Bearer tok-1", "Content-Type": "application/json",
                              "Transfer-Encoding": "chunked"}, encode_chunked=True)
        r = conn.getresponse()
        self.assertEqual(r.status, 201, r.read())
        r.read()
        conn.close()

    def test_client_certificates(self):
        f = self.fake
        alice = (os.path.join(self.tmp.name, "alice.crt"), os.path.join(self.tmp.name, "alice.key"))
        c = harness.Client(f.port, self.ca, cert=alice, timeout=5)
        f.put_secret("a", "s", {"k": b"v"})
        st, _, body = self.get(secret_path("a", "s"), token=None, client=c)
        o = self.status_of(st, body, 403, "Forbidden")
        self.assertIn('User "alice"', o["message"])
        f.allow_group("ops", "get", "secrets", "a")
        self.assertEqual(self.get(secret_path("a", "s"), token=None, client=c)[0], 200)
        d = f.request_details[-1]
        self.assertEqual((d["user"], d["groups"]),
                         ("alice", ["devs", "ops", "system:authenticated"]))
        # The certificate wins over a bearer token, valid or not (x509 first).
        self.assertEqual(self.get(secret_path("a", "s"), token="bad", client=c)[0], 200)
        self.assertEqual(f.requests[-1][2], "alice")
        c.close()
        # A proxy cert (CN only) is an ordinary user here.
        c = harness.Client(f.port, self.ca, cert=self.pki.cert("proxy"), timeout=5)
        st, _, body = self.get(secret_path("a", "s"), token=None, client=c)
        self.assertIn('User "front-proxy-client"', json.loads(body)["message"])
        c.close()
        # A certificate from another CA fails the handshake.
        c = harness.Client(f.port, self.ca, cert=self.pki.cert("untrusted"), timeout=5)
        with self.assertRaises(OSError):
            self.get(secret_path("a", "s"), token=None, client=c)
        c.close()
        deadline = time.monotonic() + 5
        while not f.tls_errors and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertTrue(f.tls_errors)
        # Without client_ca, certificates are not asked for: 401.
        g = kube_fake.KubeFake(*self.pki.cert("serving")).start()
        try:
            c = harness.Client(g.port, self.ca, cert=alice, timeout=5)
            self.assertEqual(self.get("/x", token=None, client=c)[0], 401)
            c.close()
        finally:
            g.stop()

    # --- configuration helpers ----------------------------------------------
    def test_kubeconfig_and_service_account_dir(self):
        f = self.fake
        p = os.path.join(self.tmp.name, "kubeconfig")
        f.kubeconfig(p, token="tok-1", ca_file=self.ca)
        with open(p) as fh:
            text = fh.read()
        for line in ("apiVersion: v1", "kind: Config", f'    server: "{f.url}"',
                     f'    certificate-authority: "{self.ca}"', '    token: "tok-1"',
                     'current-context: "kube-fake"', "clusters:", "users:", "contexts:"):
            self.assertIn(line + "\n", text)
        with open(self.ca, "rb") as fh:
            pem = fh.read()
        f.kubeconfig(p, client_cert="c.crt", client_key="c.key", ca_data=pem, namespace="ns")
        with open(p) as fh:
            text = fh.read()
        self.assertIn(f'certificate-authority-data: "{base64.b64encode(pem).decode()}"', text)
        self.assertIn('    client-key: "c.key"\n', text)
        self.assertIn('    namespace: "ns"\n', text)
        f.kubeconfig(p, insecure=True)
        with open(p) as fh:
            text = fh.read()
        self.assertIn("insecure-skip-tls-verify: true\n", text)
        self.assertIn("  user: {}\n", text)

        d = os.path.join(self.tmp.name, "sa")
        kube_fake.service_account_dir(d, "tok-1", self.ca, namespace="dns01")

        def read(n):
            with open(os.path.join(d, n)) as fh:
                return fh.read()
        self.assertEqual((read("token"), read("namespace"), read("ca.crt")),
                         ("tok-1", "dns01", pem.decode()))
        self.assertTrue(os.path.islink(os.path.join(d, "token")))
        gen = os.readlink(os.path.join(d, "..data"))
        kube_fake.rotate_service_account_token(d, "tok-2")
        self.assertEqual(read("token"), "tok-2")
        self.assertEqual(read("namespace"), "dns01")
        self.assertNotEqual(os.readlink(os.path.join(d, "..data")), gen)
        self.assertFalse(os.path.exists(os.path.join(d, gen)))
        self.assertEqual(f.in_cluster_env(), {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                                              "KUBERNETES_SERVICE_PORT": str(f.port)})


if __name__ == "__main__":
    unittest.main()
