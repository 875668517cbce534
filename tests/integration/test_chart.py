"""The Helm chart charts/dns01-webhook, rendered and checked structurally.

Rendered with tests/chart/render.go (Go text/template + sprig from Debian's
packages; Debian 12 has no helm) and, when a `helm` binary is installed, also
with `helm template`, which must give the same objects. For the default values
and six other value sets every cross-reference must resolve
(tests/chart/chartlib.py check()). Every check is then shown to fail: a good
rendering is broken once per check and the check must name it; value sets that
weaken the pod are caught; value sets that cannot work are refused by the
chart itself. Exit 77 only when the Go toolchain or the Debian Go packages are
missing (scripts/deps.sh test installs them).
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("DNS01_SOURCE") or
                                os.path.join(os.path.dirname(__file__), "..", ".."),
                                "tests", "chart"))
import chartlib  # noqa: E402
from chartlib import CHECKS, RenderError, Renderer, check, mutate  # noqa: E402

PEM = """-----BEGIN CERTIFICATE-----
MIIBcDCCARWgAwIBAgIUFrontProxyCAForChartTestsOnly0wCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----
"""

# name -> (values, release, namespace)
VALUE_SETS = {
    "default": (None, "dns01-webhook", "cert-manager"),
    "ha": ({"replicaCount": 3, "podDisruptionBudget": {"maxUnavailable": 1}},
           "dns01", "dns01-system"),
    "embedded": ({"embedded": {"zones": ["acme.example.org", "acme.example.net"],
                               "containerPort": 10053,
                               "service": {"type": "NodePort", "externalTrafficPolicy": "Local"}},
                  "securePort": 9443, "service": {"port": 8443}},
                 "edge", "dns"),
    "embedded-memory": ({"replicaCount": 1, "podAntiAffinityPreset": "hard",
                         "embedded": {"zones": ["acme.example.org"], "store": {"type": "memory"}}},
                        "solo", "dns"),
    "embedded-second": ({"embedded": {"zones": ["acme.example.net"], "store": {"installCRD": False}},
                         "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                             {"topologyKey": "topology.kubernetes.io/zone",
                              "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "dns01-webhook"}}}]}}},
                        "second", "dns-b"),
    "rbac": ({"certManager": {"namespace": "cm-system",
                              "serviceAccountName": "cert-manager-controller"},
              "secretAccess": [
                  {"namespace": "cm-system",
                   "secretNames": ["cloudflare-api-token", "route53-credentials"]},
                  {"namespace": "team-a", "secretNames": ["tsig-key"]}]},
             "dns01-webhook", "cm-system"),
    "requestheader-inline": ({"groupName": "acme.dns01.test", "fullnameOverride": "solver",
                              "requestheader": {"clientCA": {"pem": PEM},
                                                "allowedNames": ["front-proxy-client", "aggregator"]}},
                             "r", "webhooks"),
    "requestheader-configmap": ({"requestheader": {"clientCA": {"existingConfigMap": "front-proxy-ca",
                                                                "key": "client-ca.crt"}},
                                 "image": {"repository": "registry.example/dns01",
                                           "digest": "sha256:" + "ab" * 32},
                                 "pki": {"privateKeyAlgorithm": "RSA", "privateKeySize": 2048},
                                 "topologySpreadConstraints": None},
                                "dns01-webhook", "cert-manager"),
}


SELECTOR = {"app.kubernetes.io/name": "dns01-webhook", "app.kubernetes.io/instance": "dns01-webhook"}


def render(name, extra=None):
    values, release, ns = VALUE_SETS[name]
    vs = [values, extra] if extra is not None else values
    r = Renderer.get()
    return r.render(vs, release=release, namespace=ns), r.values(vs), release, ns


def ids(problems):
    return {p.split(":", 1)[0] for p in problems}


def find(objs, kind, name=None):
    return [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def container(objs):
    return find(objs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]


class ValueSets(unittest.TestCase):
    """Every value set renders and every cross-reference resolves."""

    def test_all_checks_pass(self):
        for name in VALUE_SETS:
            with self.subTest(values=name):
                objs, vals, release, ns = render(name)
                self.assertEqual(check(objs, vals, release, ns), [])

    def test_default(self):
        objs, vals, _, _ = render("default")
        api = find(objs, "APIService")[0]
        self.assertEqual(api["metadata"]["name"], "v1alpha1.acme.example.com")
        self.assertEqual(api["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
                         "cert-manager/dns01-webhook-webhook-tls")
        self.assertEqual(api["spec"]["service"],
                         {"name": "dns01-webhook", "namespace": "cert-manager", "port": 443})
        srv = find(objs, "Certificate", "dns01-webhook-webhook-tls")[0]
        self.assertEqual(srv["spec"]["dnsNames"], ["dns01-webhook", "dns01-webhook.cert-manager",
                                                   "dns01-webhook.cert-manager.svc"])
        self.assertTrue(find(objs, "Certificate", "dns01-webhook-ca")[0]["spec"]["isCA"])
        c = container(objs)
        self.assertEqual(c["image"], "dns01:" + chartlib.app_version())
        self.assertEqual(c["args"], ["--secure-port=8443", "--tls-cert-file=/tls/tls.crt",
                                     "--tls-private-key-file=/tls/tls.key",
                                     "--group-name=acme.example.com", "--log-level=info",
                                     "--metrics-port=9402"])
        # Prometheus scrapes the plain metrics port the annotations name.
        self.assertIn({"name": "metrics", "containerPort": 9402, "protocol": "TCP"},
                      c["ports"])
        ann = find(objs, "Deployment")[0]["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual((ann["prometheus.io/scrape"], ann["prometheus.io/port"]),
                         ("true", "9402"))
        # Two replicas by default: a PDB keeping one up, kept on separate
        # nodes (preferred anti-affinity and a spread over hostnames).
        self.assertEqual(find(objs, "Deployment")[0]["spec"]["replicas"], 2)
        pdb = find(objs, "PodDisruptionBudget")[0]["spec"]
        self.assertEqual(pdb["minAvailable"], 1)
        self.assertEqual(pdb["selector"]["matchLabels"], SELECTOR)
        pspec = find(objs, "Deployment")[0]["spec"]["template"]["spec"]
        self.assertEqual(pspec["affinity"], {"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
                "topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": SELECTOR}}}]}})
        self.assertIn({"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                       "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": SELECTOR}},
                      pspec["topologySpreadConstraints"])
        self.assertIn({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                      c["env"])
        # No store without embedded zones: no CRD, no grant on it.
        self.assertEqual(find(objs, "CustomResourceDefinition"), [])
        vol = find(objs, "Deployment")[0]["spec"]["template"]["spec"]["volumes"][0]
        self.assertEqual(vol["secret"]["defaultMode"], 0o440)
        crb = find(objs, "ClusterRoleBinding", "dns01-webhook:domain-solver")[0]
        self.assertEqual(crb["subjects"], [{"kind": "ServiceAccount", "name": "cert-manager",
                                            "namespace": "cert-manager"}])
        self.assertEqual(find(objs, "Role"), [])

    def test_allow_provider_endpoints(self):
        """Each allowProviderEndpoints entry becomes one
        --allow-provider-endpoint; none by default (test_default)."""
        objs, _, _, _ = render("default", {"allowProviderEndpoints": [
            "dns-api.internal.example.com:8443", "http://10.0.0.5:8080"]})
        args = container(objs)["args"]
        self.assertIn("--allow-provider-endpoint=dns-api.internal.example.com:8443", args)
        self.assertIn("--allow-provider-endpoint=http://10.0.0.5:8080", args)

    def test_ha(self):
        objs, _, _, _ = render("ha")
        self.assertEqual(find(objs, "Deployment")[0]["spec"]["replicas"], 3)
        pdb = find(objs, "PodDisruptionBudget")[0]
        self.assertEqual(pdb["spec"].get("maxUnavailable"), 1)
        self.assertNotIn("minAvailable", pdb["spec"])
        tsc = find(objs, "Deployment")[0]["spec"]["template"]["spec"]["topologySpreadConstraints"]
        self.assertEqual([t["topologyKey"] for t in tsc],
                         ["topology.kubernetes.io/zone", "kubernetes.io/hostname"])
        objs2, vals, rel, ns = render("ha", {"replicaCount": 2, "podDisruptionBudget": {"maxUnavailable": ""}})
        self.assertEqual(find(objs2, "PodDisruptionBudget")[0]["spec"]["minAvailable"], 1)
        self.assertEqual(check(objs2, vals, rel, ns), [])

    def test_embedded(self):
        objs, _, _, _ = render("embedded")
        c = container(objs)
        self.assertIn("--embedded-zone=acme.example.org", c["args"])
        self.assertIn("--embedded-zone=acme.example.net", c["args"])
        self.assertIn("--dns-listen=0.0.0.0:10053", c["args"])
        dns = find(objs, "Service", "edge-dns01-webhook-dns")[0]
        self.assertEqual(dns["spec"]["type"], "NodePort")
        self.assertEqual(dns["spec"]["externalTrafficPolicy"], "Local")
        self.assertEqual(find(objs, "APIService")[0]["spec"]["service"]["port"], 8443)
        objs6, vals, rel, ns = render("embedded", {"embedded": {"listenAddress": "::"}})
        self.assertIn("--dns-listen=[::]:10053", container(objs6)["args"])
        self.assertEqual(check(objs6, vals, rel, ns), [])

    def test_embedded_store(self):
        """With embedded zones the records live in TXTRecords shared by the
        replicas: the CRD, a Role on txtrecords in the release namespace
        with exactly the five verbs, the store flags; the DNS Service
        (UDP and TCP) selects every replica."""
        objs, vals, _, _ = render("embedded")
        self.assertEqual(find(objs, "Deployment")[0]["spec"]["replicas"], 2)
        c = container(objs)
        self.assertIn("--embedded-store=kubernetes", c["args"])
        self.assertIn("--embedded-store-namespace=dns", c["args"])
        crd = find(objs, "CustomResourceDefinition", "txtrecords.store.dns01.io")[0]
        self.assertEqual(crd["spec"]["scope"], "Namespaced")
        self.assertEqual((crd["spec"]["group"], crd["spec"]["names"]["kind"]), ("store.dns01.io", "TXTRecord"))
        self.assertNotIn("namespace", crd["metadata"])
        spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        self.assertEqual(sorted(spec["properties"]), ["created", "name", "value", "writer", "zone"])
        self.assertEqual(spec["properties"]["value"]["maxLength"], 255)
        role = find(objs, "Role", "edge-dns01-webhook:embedded-store")[0]
        self.assertEqual(role["metadata"]["namespace"], "dns")
        self.assertEqual(role["rules"], [{"apiGroups": ["store.dns01.io"], "resources": ["txtrecords"],
                                          "verbs": ["get", "list", "watch", "create", "delete"]}])
        rb = find(objs, "RoleBinding", "edge-dns01-webhook:embedded-store")[0]
        self.assertEqual((rb["metadata"]["namespace"], rb["roleRef"]["name"]),
                         ("dns", "edge-dns01-webhook:embedded-store"))
        self.assertEqual(rb["subjects"], [{"kind": "ServiceAccount", "name": "edge-dns01-webhook",
                                           "namespace": "dns"}])
        self.assertEqual(len(find(objs, "ClusterRole")), 1)  # the domain-solver only
        dns = find(objs, "Service", "edge-dns01-webhook-dns")[0]["spec"]
        self.assertEqual(sorted(p["protocol"] for p in dns["ports"]), ["TCP", "UDP"])
        self.assertEqual(dns["selector"], {"app.kubernetes.io/name": "dns01-webhook",
                                           "app.kubernetes.io/instance": "edge"})

        # memory: one pod, no CRD or store Role, hard anti-affinity preset.
        objs, _, _, _ = render("embedded-memory")
        self.assertIn("--embedded-store=memory", container(objs)["args"])
        self.assertFalse([a for a in container(objs)["args"] if a.startswith("--embedded-store-namespace")])
        self.assertEqual(find(objs, "CustomResourceDefinition") + find(objs, "Role"), [])
        self.assertEqual(find(objs, "PodDisruptionBudget"), [])
        aff = find(objs, "Deployment")[0]["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        self.assertEqual(list(aff), ["requiredDuringSchedulingIgnoredDuringExecution"])

        # A second release in the cluster: the first one's CRD, its own Role;
        # the values' own podAntiAffinity replaces the preset.
        objs, vals, _, _ = render("embedded-second")
        self.assertEqual(find(objs, "CustomResourceDefinition"), [])
        self.assertEqual(find(objs, "Role")[0]["metadata"]["namespace"], "dns-b")
        aff = find(objs, "Deployment")[0]["spec"]["template"]["spec"]["affinity"]
        self.assertEqual(aff, vals["affinity"])

    def test_rbac(self):
        objs, _, _, _ = render("rbac")
        crb = find(objs, "ClusterRoleBinding", "dns01-webhook:domain-solver")[0]
        self.assertEqual(crb["subjects"], [{"kind": "ServiceAccount", "name": "cert-manager-controller",
                                            "namespace": "cm-system"}])
        roles = {r["metadata"]["namespace"]: r for r in find(objs, "Role")}
        self.assertEqual(sorted(roles), ["cm-system", "team-a"])
        self.assertEqual(roles["team-a"]["rules"], [{"apiGroups": [""], "resources": ["secrets"],
                                                     "resourceNames": ["tsig-key"], "verbs": ["get"]}])

    def test_requestheader(self):
        objs, _, _, _ = render("requestheader-inline")
        self.assertEqual(find(objs, "APIService")[0]["metadata"]["name"], "v1alpha1.acme.dns01.test")
        self.assertEqual(find(objs, "ClusterRole")[0]["rules"][0]["apiGroups"], ["acme.dns01.test"])
        c = container(objs)
        self.assertIn("--requestheader-client-ca-file=/requestheader/ca.crt", c["args"])
        self.assertIn("--requestheader-allowed-names=front-proxy-client,aggregator", c["args"])
        self.assertEqual(find(objs, "ConfigMap", "solver-requestheader-ca")[0]["data"]["ca.crt"], PEM)
        ann = find(objs, "Deployment")[0]["spec"]["template"]["metadata"]["annotations"]
        self.assertRegex(ann["checksum/requestheader-ca"], "^[0-9a-f]{64}$")
        self.assertEqual(find(objs, "Certificate", "solver-webhook-tls")[0]["spec"]["dnsNames"],
                         ["solver", "solver.webhooks", "solver.webhooks.svc"])

        objs, _, _, _ = render("requestheader-configmap")
        c = container(objs)
        self.assertIn("--requestheader-client-ca-file=/requestheader/client-ca.crt", c["args"])
        self.assertEqual(find(objs, "ConfigMap"), [])
        self.assertEqual(c["image"], "registry.example/dns01@sha256:" + "ab" * 32)
        self.assertNotIn("topologySpreadConstraints",
                         find(objs, "Deployment")[0]["spec"]["template"]["spec"])
        srv = find(objs, "Certificate", "dns01-webhook-webhook-tls")[0]["spec"]
        self.assertEqual((srv["privateKey"]["algorithm"], srv["privateKey"]["size"]), ("RSA", 2048))
        self.assertIn("key encipherment", srv["usages"])

    def test_same_as_helm(self):
        """With helm installed, `helm template` gives the same objects."""
        if chartlib.helm_template(None, "x", "y") is None:
            self.skipTest("helm is not installed (optional cross-check)")
        for name, (values, release, ns) in VALUE_SETS.items():
            with self.subTest(values=name):
                ours = Renderer.get().render(values, release=release, namespace=ns)
                theirs = chartlib.helm_template(values, release, ns)
                key = lambda o: json.dumps(o, sort_keys=True)  # noqa: E731
                self.assertEqual(sorted(map(key, ours)), sorted(map(key, theirs)))


def _set(path, value):
    def fn(o):
        d = o
        for k in path[:-1]:
            d = d[k] if not isinstance(d, list) else d[int(k)]
        d[path[-1]] = value
    return fn


def _pod(fn):
    return lambda o: fn(o["spec"]["template"]["spec"])


def _ctr(fn):
    return lambda o: fn(o["spec"]["template"]["spec"]["containers"][0])


def _arg(old, new):
    def fn(c):
        c["args"] = [new if a == old else a for a in c["args"]]
    return _ctr(fn)


# (check id, value set, kind, name or None, mutation): each breaks one thing
# in a good rendering; the check must report it.
MUTATIONS = [
    ("objects", "ha", "PodDisruptionBudget", None, lambda o: o.update(kind="ConfigMapX")),
    ("objects", "default", "Deployment", None, lambda o: o.update(apiVersion="apps/v1beta1")),
    ("namespaces", "default", "Service", None, _set(["metadata", "namespace"], "default")),
    ("namespaces", "default", "RoleBinding", None, _set(["metadata", "namespace"], "cert-manager")),
    ("selectors", "default", "Service", None, _set(["spec", "selector", "app.kubernetes.io/name"], "other")),
    ("selectors", "default", "Deployment", None, _set(["spec", "selector", "matchLabels", "app.kubernetes.io/instance"], "x")),
    ("service-ports", "default", "Deployment", None, _ctr(lambda c: c["ports"][0].update(name="web"))),
    ("service-ports", "embedded", "Deployment", None, _ctr(lambda c: c["ports"][1].update(protocol="TCP"))),
    ("service-ports", "default", "Service", None, _set(["spec", "ports", 0, "targetPort"], 8443)),
    ("apiservice", "default", "APIService", None, _set(["metadata", "name"], "v1alpha1.other.example.com")),
    ("apiservice", "default", "APIService", None, _set(["spec", "version"], "v1")),
    ("apiservice", "default", "APIService", None, _set(["spec", "insecureSkipTLSVerify"], True)),
    ("apiservice-service", "default", "APIService", None, _set(["spec", "service", "port"], 8443)),
    ("apiservice-service", "default", "APIService", None, _set(["spec", "service", "namespace"], "default")),
    ("inject-ca", "default", "APIService", None,
     _set(["metadata", "annotations", "cert-manager.io/inject-ca-from"], "cert-manager/dns01-webhook-ca")),
    ("inject-ca", "default", "APIService", None,
     _set(["metadata", "annotations", "cert-manager.io/inject-ca-from"], "default/dns01-webhook-webhook-tls")),
    ("issuer-refs", "default", "Certificate", "dns01-webhook-webhook-tls",
     _set(["spec", "issuerRef", "name"], "dns01-webhook-root")),
    ("issuer-refs", "default", "Certificate", "dns01-webhook-ca", _set(["spec", "issuerRef", "kind"], "ClusterIssuer")),
    ("pki-chain", "default", "Issuer", "dns01-webhook-ca", _set(["spec", "ca", "secretName"], "other-ca")),
    ("pki-chain", "default", "Certificate", "dns01-webhook-ca", _set(["spec", "isCA"], False)),
    ("pki-chain", "default", "Issuer", "dns01-webhook-selfsign", _set(["spec"], {"ca": {"secretName": "x"}})),
    ("dns-names", "default", "Certificate", "dns01-webhook-webhook-tls",
     _set(["spec", "dnsNames"], ["dns01-webhook", "dns01-webhook.cert-manager"])),
    ("tls-volume", "default", "Deployment", None, _ctr(lambda c: c["volumeMounts"][0].update(readOnly=False))),
    ("tls-volume", "default", "Deployment", None,
     _ctr(lambda c: c["volumeMounts"][0].update(subPath="tls.crt"))),
    ("tls-volume", "default", "Certificate", "dns01-webhook-webhook-tls", _set(["spec", "secretName"], "renamed-tls")),
    ("volumes", "default", "Deployment", None, _ctr(lambda c: c["volumeMounts"][0].update(name="certs"))),
    ("volumes", "requestheader-inline", "ConfigMap", None, _set(["metadata", "name"], "other-ca")),
    ("arg-paths", "default", "Deployment", None, _arg("--tls-cert-file=/tls/tls.crt", "--tls-cert-file=/etc/tls/tls.crt")),
    ("arg-paths", "default", "Deployment", None, _arg("--tls-private-key-file=/tls/tls.key", "--tls-private-key-file=/tls/key.pem")),
    ("arg-paths", "requestheader-configmap", "Deployment", None,
     _arg("--requestheader-client-ca-file=/requestheader/client-ca.crt", "--requestheader-client-ca-file=/requestheader/ca.crt")),
    ("arg-values", "default", "Deployment", None, _arg("--group-name=acme.example.com", "--group-name=acme.example.org")),
    ("arg-values", "embedded", "Deployment", None, _arg("--dns-listen=0.0.0.0:10053", "--dns-listen=0.0.0.0:53")),
    ("arg-values", "embedded", "Deployment", None, _arg("--embedded-zone=acme.example.net", "--log-level=debug")),
    ("arg-values", "requestheader-inline", "Deployment", None,
     _arg("--requestheader-allowed-names=front-proxy-client,aggregator", "--log-level=info")),
    ("probes", "default", "Deployment", None, _ctr(lambda c: c["livenessProbe"]["httpGet"].update(scheme="HTTP"))),
    ("probes", "default", "Deployment", None, _ctr(lambda c: c["readinessProbe"]["httpGet"].update(port=8443))),
    ("security", "default", "Deployment", None, _ctr(lambda c: c["securityContext"].update(readOnlyRootFilesystem=False))),
    ("security", "default", "Deployment", None, _ctr(lambda c: c["securityContext"].update(allowPrivilegeEscalation=True))),
    ("security", "default", "Deployment", None, _ctr(lambda c: c["securityContext"]["capabilities"].update(drop=["NET_RAW"]))),
    ("security", "default", "Deployment", None, _pod(lambda p: p["securityContext"].update(runAsUser=0))),
    ("security", "default", "Deployment", None,
     _ctr(lambda c: c["securityContext"].update(seccompProfile={"type": "Unconfined"}))),
    ("security", "default", "Deployment", None,
     _ctr(lambda c: c["securityContext"].update(runAsNonRoot=False))),
    ("resources", "default", "Deployment", None, _ctr(lambda c: c["resources"].pop("limits"))),
    ("replicas", "ha", "Deployment", None, _set(["spec", "replicas"], 1)),
    ("pdb", "ha", "PodDisruptionBudget", None, _set(["spec", "selector", "matchLabels"], {"app": "x"})),
    ("pdb", "ha", "PodDisruptionBudget", None, _set(["spec"], {"minAvailable": 3, "selector": {"matchLabels": {}}})),
    ("topology", "ha", "Deployment", None,
     _pod(lambda p: p["topologySpreadConstraints"][1]["labelSelector"].update(matchLabels={"app": "x"}))),
    ("topology", "ha", "Deployment", None, _pod(lambda p: p.pop("topologySpreadConstraints"))),
    ("service-account", "default", "Deployment", None, _pod(lambda p: p.update(serviceAccountName="default"))),
    ("service-account", "rbac", "RoleBinding", "dns01-webhook:webhook-authentication-reader",
     _set(["subjects", 0, "namespace"], "kube-system")),
    ("rbac-auth-delegator", "default", "ClusterRoleBinding", "dns01-webhook:auth-delegator",
     _set(["roleRef", "name"], "system:auth-delegator-x")),
    ("rbac-auth-reader", "default", "RoleBinding", "dns01-webhook:webhook-authentication-reader",
     _set(["roleRef", "kind"], "ClusterRole")),
    ("rbac-domain-solver", "rbac", "ClusterRoleBinding", "dns01-webhook:domain-solver",
     _set(["subjects", 0, "name"], "cert-manager")),
    ("rbac-domain-solver", "default", "ClusterRole", None, _set(["rules", 0, "verbs"], ["create", "get"])),
    ("rbac-domain-solver", "default", "ClusterRoleBinding", "dns01-webhook:domain-solver",
     _set(["subjects", 0, "namespace"], "default")),
    ("rbac-secrets", "rbac", "Role", None, _set(["rules", 0, "verbs"], ["get", "list"])),
    ("rbac-secrets", "rbac", "Role", None, lambda o: o["rules"][0].pop("resourceNames")),
    ("rbac-secrets", "rbac", "Role", None, _set(["rules", 0, "resourceNames"], ["cloudflare-api-token"])),
    ("rbac-secrets", "default", "ClusterRole", None,
     lambda o: o["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})),
    ("rbac-role-refs", "rbac", "RoleBinding", "dns01-webhook:secret-reader", _set(["roleRef", "name"], "secret-reader")),
    ("rbac-role-refs", "default", "ClusterRoleBinding", "dns01-webhook:domain-solver",
     _set(["roleRef", "name"], "dns01-webhook:solver")),
    ("image", "default", "Deployment", None, _ctr(lambda c: c.update(image="dns01:latest"))),
    ("arg-values", "embedded", "Deployment", None,
     _arg("--embedded-store-namespace=dns", "--embedded-store-namespace=kube-system")),
    ("arg-values", "embedded", "Deployment", None, _arg("--embedded-store=kubernetes", "--embedded-store=memory")),
    ("store-rbac", "embedded", "Role", None, _set(["rules", 0, "verbs"], ["get", "list", "watch", "create", "delete", "update"])),
    ("store-rbac", "embedded", "Role", None, _set(["rules", 0, "resources"], ["txtrecords", "secrets"])),
    ("store-rbac", "embedded", "Role", None, _set(["rules", 0, "resources"], ["*"])),
    ("store-rbac", "embedded", "Role", None, _set(["rules", 0, "verbs"], ["get", "list", "watch"])),
    ("store-rbac", "embedded", "RoleBinding", "edge-dns01-webhook:embedded-store",
     _set(["subjects", 0, "name"], "default")),
    ("store-rbac", "default", "ClusterRole", None,
     lambda o: o["rules"].append({"apiGroups": ["store.dns01.io"], "resources": ["txtrecords"], "verbs": ["get"]})),
    ("crd", "embedded", "CustomResourceDefinition", None, _set(["spec", "scope"], "Cluster")),
    ("crd", "embedded", "CustomResourceDefinition", None, _set(["spec", "names", "plural"], "txts")),
    ("crd", "embedded", "CustomResourceDefinition", None,
     lambda o: o["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].pop("writer")),
    ("crd", "embedded", "CustomResourceDefinition", None, _set(["spec", "versions", 0, "storage"], False)),
    ("anti-affinity", "default", "Deployment", None, _pod(lambda p: p.pop("affinity"))),
    ("anti-affinity", "default", "Deployment", None,
     _pod(lambda p: p["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
          ["podAffinityTerm"].update(topologyKey="topology.kubernetes.io/zone"))),
    ("anti-affinity", "embedded-memory", "Deployment", None,
     _pod(lambda p: p["affinity"].update(podAntiAffinity={}))),
    ("pod-name", "default", "Deployment", None, _ctr(lambda c: c.update(env=c["env"][:1]))),
]

# Value sets the chart renders but that break the pod's hardening or its
# references: the checks must catch them.
CAUGHT = [
    ("security", {"securityContext": {"readOnlyRootFilesystem": False}}),
    ("security", {"podSecurityContext": {"runAsUser": 0, "runAsNonRoot": False}}),
    ("security", {"securityContext": {"capabilities": {"drop": [], "add": ["NET_BIND_SERVICE"]}}}),
    ("topology", {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                 "whenUnsatisfiable": "DoNotSchedule",
                                                 "labelSelector": {"matchLabels": {"app": "other"}}}]}),
    ("arg-paths", {"extraArgs": ["--tls-cert-file=/etc/ssl/dns01.crt"]}),
    ("arg-values", {"extraArgs": ["--group-name=other.example.com"]}),
    ("resources", {"resources": None}),
    ("pdb", {"replicaCount": 3, "podDisruptionBudget": {"minAvailable": 3}}),
    ("arg-values", {"extraArgs": ["--dns-listen=0.0.0.0:53"]}),
    ("pod-name", {"extraEnv": [{"name": "POD_NAME", "value": "dns01"}]}),
]

# Value sets the chart itself refuses, with the message it must give.
REFUSED = [
    ({"replicaCount": 2, "embedded": {"zones": ["acme.example.org"], "store": {"type": "memory"}}},
     "embedded.store.type memory needs replicaCount 1"),
    ({"embedded": {"zones": ["acme.example.org"], "store": {"type": "etcd"}}},
     'embedded.store.type "etcd": use kubernetes or memory'),
    ({"podAntiAffinityPreset": "always"}, 'podAntiAffinityPreset "always": use soft, hard or'),
    ({"embedded": {"zones": ["acme.example.org"]}, "extraArgs": ["--embedded-store=memory"]},
     "extraArgs: --embedded-store=memory: set embedded.store.type instead"),
    ({"replicaCount": 0}, "replicaCount must be at least 1"),
    ({"logLevel": "verbose"}, 'logLevel "verbose": use error, warn, info or debug'),
    ({"secretAccess": [{"namespace": "team-a", "secretNames": []}]}, "secretNames must list the Secrets"),
    ({"secretAccess": [{"secretNames": ["x"]}]}, "secretAccess[0]: namespace is required"),
    ({"secretAccess": [{"namespace": "a", "secretNames": ["x"]}, {"namespace": "a", "secretNames": ["y"]}]},
     "namespace a is listed twice"),
    ({"requestheader": {"clientCA": {"pem": PEM, "existingConfigMap": "x"}}}, "not both"),
    ({"requestheader": {"clientCA": {"existingConfigMap": "x", "key": ""}}}, "requestheader.clientCA.key is required"),
    ({"groupName": "Acme_Example"}, "must be a lower-case DNS subdomain"),
    ({"groupName": "acme"}, "must be a lower-case DNS subdomain"),
    ({"groupName": ""}, "groupName is required"),
    ({"securePort": 443}, "securePort must be between 1024 and 65535"),
    ({"embedded": {"zones": ["acme.example.org"], "containerPort": 53}}, "embedded.containerPort must be 1024"),
    ({"embedded": {"zones": ["bad zone"]}}, "is not a DNS name"),
]


class EveryCheckCanFail(unittest.TestCase):
    def test_mutations(self):
        cache = {}
        for check_id, vset, kind, name, fn in MUTATIONS:
            with self.subTest(check=check_id, values=vset, kind=kind, name=name):
                if vset not in cache:
                    cache[vset] = render(vset)
                objs, vals, release, ns = cache[vset]
                self.assertEqual(check(objs, vals, release, ns), [])
                problems = check(mutate(objs, kind, fn, name), vals, release, ns)
                self.assertIn(check_id, ids(problems), problems)

    def test_every_check_has_a_mutation(self):
        self.assertEqual(sorted(set(CHECKS) - {m[0] for m in MUTATIONS}), [])

    def test_broken_values_are_caught(self):
        for check_id, values in CAUGHT:
            with self.subTest(values=values):
                r = Renderer.get()
                objs = r.render(values, release="dns01-webhook", namespace="cert-manager")
                problems = check(objs, r.values(values), "dns01-webhook", "cert-manager")
                self.assertIn(check_id, ids(problems), problems)

    def test_chart_refuses(self):
        for values, message in REFUSED:
            with self.subTest(values=values):
                with self.assertRaises(RenderError) as cm:
                    Renderer.get().render(values)
                self.assertIn(message, str(cm.exception))

    def test_values_change_the_output(self):
        """The checks compare against the values, so a value the chart
        ignored would show up: each of these must change the rendering."""
        base = Renderer.get().render(None)
        for values in ({"certManager": {"serviceAccountName": "x"}}, {"groupName": "a.b.c"},
                       {"replicaCount": 3}, {"podAntiAffinityPreset": ""}, {"service": {"port": 444}}, {"securePort": 9000},
                       {"logLevel": "debug"}, {"image": {"tag": "9.9"}},
                       {"serviceAccount": {"annotations": {"a": "b"}}},
                       {"nodeSelector": {"k": "v"}}, {"tolerations": [{"operator": "Exists"}]},
                       {"affinity": {"podAntiAffinity": {}}}, {"priorityClassName": "p"},
                       {"imagePullSecrets": [{"name": "r"}]}, {"extraEnv": [{"name": "A", "value": "1"}]},
                       {"podLabels": {"l": "v"}}, {"pki": {"caDuration": "1h"}},
                       {"apiService": {"versionPriority": 9}}, {"terminationGracePeriodSeconds": 5},
                       {"livenessProbe": {"periodSeconds": 7}}, {"readinessProbe": {"periodSeconds": 7}},
                       {"nameOverride": "n"}):
            with self.subTest(values=values):
                self.assertNotEqual(Renderer.get().render(values), base)


if __name__ == "__main__":
    chartlib.main_guard(lambda: unittest.main(verbosity=1))
