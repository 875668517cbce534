"""Discovery documents (/apis/<group>, /apis/<group>/v1alpha1) exactly as the
aggregator and kubectl read them, and /metrics behind the same
authentication."""
import json
import tempfile
import unittest

import harness
import pki
from harness import assert_status, challenge

G = harness.GROUP
GV = {"groupVersion": f"{G}/v1alpha1", "version": "v1alpha1"}


class Discovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        cls.srv = harness.Server(cls.pki).__enter__()
        # The aggregator's availability probe identity.
        cls.c = cls.srv.client("proxy")
        cls.h = {"X-Remote-User": "system:kube-aggregator",
                 "X-Remote-Group": "system:masters"}

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.srv.__exit__(None, None, None)
        cls.tmp.cleanup()

    def get(self, path):
        st, hdrs, body = self.c.request("GET", path, headers=self.h)
        self.assertEqual(st, 200, body)
        # Plain JSON: a `g=apidiscovery...` parameter would announce the
        # aggregated v2 format, which these documents are not (§4.4.2).
        media = hdrs.get("content-type", "").split(";")
        self.assertEqual(media[0].strip().lower(), "application/json", hdrs)
        self.assertFalse([p for p in media[1:] if not p.strip().lower().startswith("charset=")],
                         hdrs)
        return json.loads(body)

    def test_resource_list(self):
        o = self.get(f"/apis/{G}/v1alpha1")
        self.assertEqual(o["kind"], "APIResourceList")
        self.assertEqual(o["apiVersion"], "v1")
        self.assertEqual(o["groupVersion"], f"{G}/v1alpha1")
        names = [r["name"] for r in o["resources"]]
        self.assertIn("embedded", names)
        self.assertEqual(len(names), len(set(names)))
        for r in o["resources"]:
            self.assertEqual(list(r), ["name", "singularName", "namespaced",
                                       "group", "version", "kind", "verbs"])
            self.assertEqual(r["singularName"], "ChallengePayload")
            self.assertIs(r["namespaced"], False)
            self.assertEqual(r["group"], "webhook.acme.cert-manager.io")
            self.assertEqual(r["version"], "v1alpha1")
            self.assertEqual(r["kind"], "ChallengePayload")
            self.assertEqual(r["verbs"], ["create"])
        # Every listed solver is a served route (not 404): an empty request
        # reaches the body check of its handler.
        for name in names:
            st, _, body = self.c.request("POST", f"/apis/{G}/v1alpha1/{name}",
                                         {"other": 1}, self.h)
            assert_status(self, st, body, 400)

    def test_group_list_and_group(self):
        o = self.get("/apis")
        self.assertEqual((o["kind"], o["apiVersion"]), ("APIGroupList", "v1"))
        self.assertEqual(o["groups"], [{"name": G, "versions": [GV],
                                        "preferredVersion": GV}])
        o = self.get(f"/apis/{G}")
        self.assertEqual((o["kind"], o["apiVersion"], o["name"]), ("APIGroup", "v1", G))
        self.assertEqual(o["versions"], [GV])
        self.assertEqual(o["preferredVersion"], GV)

    def test_apis_with_aggregator_accept(self):
        # The aggregator's discovery manager asks for v2 first; a legacy
        # APIGroupList as plain application/json makes it fall back, a
        # v2 document must say so in its Content-Type; never 503 (§4.4).
        st, hdrs, body = self.c.request("GET", "/apis", headers=dict(
            self.h, Accept="application/json;g=apidiscovery.k8s.io;v=v2;"
                           "as=APIGroupDiscoveryList,application/json"))
        self.assertEqual(st, 200, body)
        o = json.loads(body)
        ct = hdrs.get("content-type", "").replace(" ", "")
        if "g=apidiscovery.k8s.io" in ct:
            self.assertIn("as=APIGroupDiscoveryList", ct)
            self.assertEqual(o["kind"], "APIGroupDiscoveryList")
        else:
            self.assertEqual(ct.split(";")[0], "application/json")
            self.assertEqual(o["kind"], "APIGroupList")
            self.assertEqual(o["groups"][0]["name"], G)

    def test_metrics(self):
        self.c.post_challenge(challenge("Present", "M1"))
        self.c.post_challenge(challenge("CleanUp", "M1"))
        self.c.post_challenge(challenge("Present", "M2", fqdn="_acme-challenge.x.nowhere.",
                                        zone="nowhere."))
        st, hdrs, body = self.c.request("GET", "/metrics", headers=self.h)
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/plain"))
        samples = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        calls = 'dns01_webhook_calls_total{solver="embedded",action="%s",result="%s"}'
        self.assertGreaterEqual(samples[calls % ("Present", "success")], 1)
        self.assertGreaterEqual(samples[calls % ("CleanUp", "success")], 1)
        self.assertGreaterEqual(samples[calls % ("Present", "failure")], 1)
        self.assertGreaterEqual(
            samples['dns01_provider_duration_seconds_count{solver="embedded",action="Present"}'], 2)
        self.assertGreater(samples["dns01_serving_cert_not_after_seconds"], 1.7e9)
        self.assertIn("dns01_inflight_requests", samples)
        # Not without the front-proxy identity.
        c = self.srv.client()
        st, _, body = c.request("GET", "/metrics")
        assert_status(self, st, body, 401)
        c.close()


if __name__ == "__main__":
    unittest.main()
