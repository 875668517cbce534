"""cert-manager's webhook contract (ChallengePayload v1alpha1) through the real binary: Present
and CleanUp semantics seen with dig on the embedded DNS, the body contract
table, and the log line per call."""
import json
import re
import tempfile
import unittest

import harness
import pki
from harness import assert_response, assert_status, challenge

FQDN = "_acme-challenge.www.example.test."


class Contract(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.srv = harness.Server(cls.pki).__enter__()
        cls.c = cls.srv.client("proxy")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.srv.__exit__(None, None, None)
        cls.tmp.cleanup()

    def call(self, action, key, **kw):
        st, _, body = self.c.post_challenge(challenge(action, key, **kw))
        return st, body

    def test_present_cleanup_multi_value(self):
        # Present twice: idempotent, one value.
        for _ in range(2):
            assert_response(self, *self.call("Present", "K1"), True)
        self.assertEqual(self.srv.dig(FQDN), ("NOERROR", ["K1"]))
        # A second value at the same name coexists.
        assert_response(self, *self.call("Present", "K2"), True)
        self.assertEqual(self.srv.dig(FQDN), ("NOERROR", ["K1", "K2"]))
        self.assertEqual(self.srv.dig(FQDN, tcp=True), ("NOERROR", ["K1", "K2"]))
        # CleanUp of one keeps the other.
        assert_response(self, *self.call("CleanUp", "K2"), True)
        self.assertEqual(self.srv.dig(FQDN), ("NOERROR", ["K1"]))
        # CleanUp of an absent value succeeds.
        assert_response(self, *self.call("CleanUp", "K2"), True)
        assert_response(self, *self.call("CleanUp", "K1"), True)
        self.assertEqual(self.srv.dig(FQDN)[0], "NXDOMAIN")

    def test_echo_and_envelope(self):
        req = challenge("Present", "E1", uid="abc-123", config={"x": [1, 2]})
        for body in ({"request": req},
                     {"apiVersion": harness.PAYLOAD_API, "kind": "ChallengePayload",
                      "request": req}):
            st, hdrs, data = self.c.request(
                "POST", f"/apis/{harness.GROUP}/v1alpha1/embedded", body,
                {"X-Remote-User": "u"})
            o = assert_response(self, st, data, True)
            self.assertEqual(o["request"], req)
            self.assertEqual(o["response"]["uid"], "abc-123")
            # client-go decodes only a JSON content type (§2.4 row 4).
            self.assertEqual(hdrs.get("content-type", "").split(";")[0].strip(),
                             "application/json", hdrs)
        assert_response(self, *self.call("CleanUp", "E1"), True)

    def test_unknown_fields_and_query_ignored(self):
        # Kubernetes' decoder ignores unknown fields (§2.2), and a query
        # string does not change the route.
        path = f"/apis/{harness.GROUP}/v1alpha1/embedded"
        req = dict(challenge("Present", "U1"), someNewField={"a": 1})
        st, _, data = self.c.request("POST", path + "?timeout=30s",
                                     {"request": req, "metadata": {}, "future": 1},
                                     {"X-Remote-User": "u"})
        assert_response(self, st, data, True)
        self.assertEqual(self.srv.dig(FQDN), ("NOERROR", ["U1"]))
        assert_response(self, *self.call("CleanUp", "U1"), True)
        self.assertEqual(self.srv.dig(FQDN)[0], "NXDOMAIN")

    def test_names_case_insensitive(self):
        upper = "_ACME-Challenge.WWW.Example.TEST."
        assert_response(self, *self.call("Present", "C1", fqdn=upper,
                        zone="EXAMPLE.test"), True)
        self.assertEqual(self.srv.dig(FQDN), ("NOERROR", ["C1"]))
        assert_response(self, *self.call("CleanUp", "C1"), True)
        self.assertEqual(self.srv.dig(FQDN)[0], "NXDOMAIN")
        # And the other way round: lower-case Present, upper-case CleanUp,
        # one value for both spellings in between.
        assert_response(self, *self.call("Present", "C2"), True)
        assert_response(self, *self.call("Present", "C2", fqdn=upper,
                        zone="Example.Test."), True)
        self.assertEqual(self.srv.dig(FQDN), ("NOERROR", ["C2"]))
        assert_response(self, *self.call("CleanUp", "C2", fqdn=upper,
                        zone="EXAMPLE.TEST."), True)
        self.assertEqual(self.srv.dig(FQDN)[0], "NXDOMAIN")

    def test_config_absent_or_null(self):
        # cert-manager omits config when the issuer has none; a JSON null
        # decodes to the same thing in Go.
        req = challenge("Present", "N1")
        self.assertNotIn("config", req)
        st, _, data = self.c.request(
            "POST", f"/apis/{harness.GROUP}/v1alpha1/embedded",
            harness.present_body("N1", envelope=False),
            {"X-Remote-User": "u", "Content-Type": "application/json"})
        assert_response(self, st, data, True)
        assert_response(self, *self.call("Present", "N1", config=None), True)
        self.assertEqual(self.srv.dig(FQDN), ("NOERROR", ["N1"]))
        st, _, data = self.c.request(
            "POST", f"/apis/{harness.GROUP}/v1alpha1/embedded",
            harness.cleanup_body("N1"),
            {"X-Remote-User": "u", "Content-Type": "application/json"})
        assert_response(self, st, data, True)
        self.assertEqual(self.srv.dig(FQDN)[0], "NXDOMAIN")

    def test_provider_failure_is_2xx_with_message(self):
        st, body = self.call("Present", "F1", fqdn="_acme-challenge.other.org.",
                             zone="other.org.")
        o = assert_response(self, st, body, False)
        self.assertIn(o["response"]["status"].get("status"), ("Failure", "Failed"), o)
        self.assertEqual(o["response"]["uid"], "u1")
        msg = o["response"]["status"]["message"]
        self.assertIn("embedded", msg)
        self.assertIn("_acme-challenge.other.org.", msg)
        st, body = self.call("Present", "F1", config=[1])
        self.assertIn("config", assert_response(self, st, body, False)
                      ["response"]["status"]["message"])

    def test_bad_bodies_are_400_status(self):
        path = f"/apis/{harness.GROUP}/v1alpha1/embedded"
        good = challenge("Present", "B1")
        bad = [
            {"apiVersion": "acme.test.example/v1alpha1", "request": good},
            {"kind": "Other", "request": good},
            {"other": 1},
            {"request": dict(good, action="present")},
            {"request": dict(good, action="Delete")},
            {"request": {k: v for k, v in good.items() if k != "action"}},
            {"request": dict(good, key=5)},
            {"request": dict(good, key="")},
            {"request": {k: v for k, v in good.items() if k != "key"}},
            {"request": {k: v for k, v in good.items() if k != "resolvedFQDN"}},
            {"request": dict(good, resolvedFQDN="a..b.")},
            {"request": dict(good, resolvedZone="other.org.")},
            {"request": dict(good, type="http-01")},
            {"request": dict(good, action=5)},
            {"request": dict(good, uid=5)},
            {"request": dict(good, resolvedFQDN=5)},
            {"request": dict(good, allowAmbientCredentials="yes")},
            {"request": "Present"},
            {"request": None},
            {"apiVersion": 1, "request": good},
            [1, 2],
            "string",
            42,
            None,
        ]
        for b in bad:
            st, _, data = self.c.request("POST", path, json.dumps(b),
                                         {"X-Remote-User": "u",
                                          "Content-Type": "application/json"})
            assert_status(self, st, data, 400)
        for raw in ("", "{", "not json", '{"request":{},"request":{}}',
                    json.dumps({"request": good}) + "garbage"):
            st, _, data = self.c.request("POST", path, raw,
                                         {"X-Remote-User": "u",
                                          "Content-Type": "application/json"})
            assert_status(self, st, data, 400)
        st, _, data = self.c.request("POST", path, json.dumps({"request": good}),
                                     {"X-Remote-User": "u",
                                      "Content-Type": "text/plain"})
        assert_status(self, st, data, 415)
        # Nothing was written by any of them.
        self.assertEqual(self.srv.dig(FQDN)[0], "NXDOMAIN")

    def test_routes(self):
        h = {"X-Remote-User": "u"}
        g = harness.GROUP
        for path in ("/openapi/v2", "/openapi/v3", "/nope", "/apis/other.group/v1alpha1",
                     f"/apis/{g}/v1", f"/apis/{g}/v1alpha1/nosuchsolver",
                     f"/apis/{g}x"):
            st, hdrs, data = self.c.request("GET", path, headers=h)
            assert_status(self, st, data, 404)
            self.assertEqual(hdrs.get("content-type", "").split(";")[0].strip(),
                             "application/json", hdrs)
        st, _, data = self.c.post_challenge(challenge("Present", "R1"), solver="nosuchsolver")
        assert_status(self, st, data, 404)
        # A valid Present to the wrong group, or below the solver: 404.
        for path in ("/apis/other.group/v1alpha1/embedded",
                     f"/apis/{g}/v1beta1/embedded",
                     f"/apis/{g}/v1alpha1/embedded/extra",
                     f"/apis/{g}/v1alpha1/namespaces/default/embedded"):
            st, _, data = self.c.request("POST", path,
                                         {"request": challenge("Present", "R1")}, h)
            assert_status(self, st, data, 404)
        self.assertEqual(self.srv.dig(FQDN)[0], "NXDOMAIN")
        for method, path, allow in (("GET", f"/apis/{g}/v1alpha1/embedded", "POST"),
                                    ("PUT", f"/apis/{g}/v1alpha1/embedded", "POST"),
                                    ("POST", f"/apis/{g}/v1alpha1", "GET, HEAD"),
                                    ("DELETE", "/apis", "GET, HEAD"),
                                    ("POST", "/healthz", "GET, HEAD")):
            st, hdrs, data = self.c.request(method, path, headers=h)
            assert_status(self, st, data, 405)
            self.assertEqual(hdrs.get("allow"), allow)

    def test_log_line_per_call(self):
        self.call("Present", "L1", uid="log-uid")
        self.call("CleanUp", "L1", uid="log-uid")
        self.call("Present", "L2", uid="log-uid-fail",
                  fqdn="_acme-challenge.x.nowhere.", zone="nowhere.")
        calls = [f for f in map(logfmt, self.srv.log().splitlines())
                 if f.get("event") == "webhook"]
        ok = [f for f in calls if f.get("uid") == "log-uid"]
        self.assertEqual([f.get("action") for f in ok], ["Present", "CleanUp"], calls)
        for f in ok:
            self.assertEqual(f.get("solver"), "embedded", f)
            self.assertEqual(f.get("fqdn"), FQDN, f)
            self.assertEqual(f.get("result"), "ok", f)
            self.assertGreaterEqual(float(f.get("duration_ms", "x")), 0, f)
        bad = [f for f in calls if f.get("uid") == "log-uid-fail"]
        self.assertEqual(len(bad), 1, calls)
        self.assertEqual(bad[0].get("fqdn"), "_acme-challenge.x.nowhere.", bad)
        self.assertNotIn(bad[0].get("result"), (None, "", "ok"), bad)
        self.assertIn("duration_ms", bad[0])


def logfmt(line):
    """key=value fields of one log line; values may be "quoted"."""
    def value(v):
        if v.startswith('"'):
            try:
                return json.loads(v)
            except ValueError:
                return v[1:-1]
        return v
    return {m.group(1): value(m.group(2))
            for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line)}


if __name__ == "__main__":
    unittest.main()
