"""The chart's documentation agrees with the chart: values.yaml documents
every key and defines every value the templates read; the README's values
example installs cleanly and its ClusterIssuers (one per provider) name the
group, solvers, Secrets and config fields the chart and dns01 know; NOTES.txt
renders. Exit 77 only when the renderer's Go toolchain is missing."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("DNS01_SOURCE") or
                                os.path.join(os.path.dirname(__file__), "..", ".."),
                                "tests", "chart"))
import chartlib  # noqa: E402
from chartlib import CHART, Renderer, check  # noqa: E402

PROVIDERS = {"embedded", "rfc2136", "cloudflare", "route53", "acmedns", "digitalocean", "akamai",
             "clouddns", "azuredns"}
# Issuer config fields per provider (README.md, "Providers";
# the same names as cert-manager's built-in solvers).
CONFIG_FIELDS = {
    "rfc2136": {"nameserver", "tsigKeyName", "tsigAlgorithm", "tsigSecretSecretRef", "protocol", "ttl"},
    "cloudflare": {"email", "apiKeySecretRef", "apiTokenSecretRef", "zoneID", "ttl", "baseURL"},
    "route53": {"region", "accessKeyID", "accessKeyIDSecretRef", "secretAccessKeySecretRef", "role",
                "hostedZoneID", "endpoint", "stsEndpoint"},
    "embedded": set(),
    "acmedns": {"host", "accountSecretRef"},
    "digitalocean": {"tokenSecretRef", "baseURL", "ttl"},
    "akamai": {"serviceConsumerDomain", "clientTokenSecretRef", "clientSecretSecretRef",
               "accessTokenSecretRef", "ttl", "caBundle", "edgercSecretRef", "edgercSection"},
    "clouddns": {"project", "hostedZoneName", "serviceAccountSecretRef", "endpoint", "ttl"},
    "azuredns": {"subscriptionID", "resourceGroupName", "hostedZoneName", "environment", "tenantID",
                 "clientID", "clientSecretSecretRef", "managedIdentity", "zoneType", "endpoint",
                 "authorityHost"},
}
REQUIRED_FIELDS = {"rfc2136": {"nameserver"}, "cloudflare": set(), "route53": set(), "embedded": set(),
                   "acmedns": {"host", "accountSecretRef"}, "digitalocean": {"tokenSecretRef"},
                   "akamai": {"serviceConsumerDomain"}, "clouddns": {"project"},
                   "azuredns": {"subscriptionID", "resourceGroupName"}}


def read(*path):
    with open(os.path.join(CHART, *path)) as f:
        return f.read()


def values_tree(text):
    """(indent, key, directly commented, children) for the keys of a YAML
    values file, skipping the contents of lists."""
    root = {"indent": -1, "key": None, "comment": True, "children": []}
    stack = [root]
    prev_comment = False
    list_indent = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            prev_comment = False
            continue
        if stripped.startswith("#"):
            prev_comment = True
            continue
        indent = len(line) - len(line.lstrip())
        if list_indent is not None and (indent > list_indent or
                                        (indent == list_indent and stripped.startswith("- "))):
            prev_comment = False
            continue
        list_indent = None
        if stripped.startswith("- "):
            list_indent = indent
            prev_comment = False
            continue
        m = re.match(r"([A-Za-z][\w.-]*):", stripped)
        if not m:
            prev_comment = False
            continue
        while stack[-1]["indent"] >= indent:
            stack.pop()
        node = {"indent": indent, "key": m.group(1), "comment": prev_comment, "children": []}
        stack[-1]["children"].append(node)
        stack.append(node)
        prev_comment = False
    return root["children"]


def documented(node):
    return node["comment"] or (bool(node["children"]) and all(documented(c) for c in node["children"]))


def yaml_blocks(markdown):
    return re.findall(r"^ *```yaml\n(.*?)^ *```", markdown, re.S | re.M)


def dedent(block):
    lines = block.splitlines()
    n = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
    return "\n".join(x[n:] for x in lines) + "\n"


class ValuesFile(unittest.TestCase):
    def test_every_key_documented(self):
        undocumented = []

        def walk(nodes, path):
            for n in nodes:
                if not documented(n):
                    undocumented.append(".".join(path + [n["key"]]))

        walk(values_tree(read("values.yaml")), [])
        self.assertEqual(undocumented, [])
        # The check itself fails on an undocumented key.
        self.assertFalse(all(documented(n) for n in values_tree("# a\na: 1\nb:\n  c: 2\n")))
        self.assertTrue(all(documented(n) for n in values_tree("# a\na: 1\nb:\n  # c\n  c: 2\n")))

    def test_every_referenced_value_has_a_default(self):
        defaults = Renderer.get().values()
        missing = []
        tdir = os.path.join(CHART, "templates")
        for name in sorted(os.listdir(tdir)):
            with open(os.path.join(tdir, name)) as f:
                text = f.read()
            for path in sorted(set(re.findall(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text))):
                d = defaults
                for k in path.strip(".").split("."):
                    if not isinstance(d, dict) or k not in d:
                        missing.append(f"{name}: .Values{path}")
                        break
                    d = d[k]
        self.assertEqual(missing, [])


class Readme(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = read("README.md")
        cls.objs = []
        cls.values_block = None
        for block in yaml_blocks(cls.text):
            block = dedent(block)
            if block.startswith("# values for the examples below"):
                cls.values_block = block
            cls.objs += Renderer.get().yaml_to_json(block)

    def values(self):
        self.assertIsNotNone(self.values_block, "README has no '# values for the examples below' block")
        r = Renderer.get()
        return r.yaml_to_json(self.values_block)[0]

    def test_values_example_installs(self):
        v = self.values()
        r = Renderer.get()
        objs = r.render(v, release="dns01-webhook", namespace="cert-manager")
        self.assertEqual(check(objs, r.values(v), "dns01-webhook", "cert-manager"), [])

    def test_a_cluster_issuer_per_provider(self):
        v = Renderer.get().values(self.values())
        issuers = [o for o in self.objs if o.get("kind") == "ClusterIssuer"]
        solvers = {}
        for iss in issuers:
            acme = iss["spec"]["acme"]
            for k in ("server", "email", "privateKeySecretRef"):
                self.assertIn(k, acme, iss["metadata"]["name"])
            for s in acme["solvers"]:
                wh = s["dns01"]["webhook"]
                self.assertEqual(wh["groupName"], v["groupName"])
                solvers[wh["solverName"]] = (s, iss)
        self.assertEqual(set(solvers), PROVIDERS)
        secrets = {(o["metadata"]["namespace"], o["metadata"]["name"]): o.get("stringData") or {}
                   for o in self.objs if o.get("kind") == "Secret"}
        readable = {(e["namespace"], n) for e in v["secretAccess"] for n in e["secretNames"]}
        # A ClusterIssuer's Secrets are read in cert-manager's cluster
        # resource namespace, by default cert-manager's own namespace.
        ns = v["certManager"]["namespace"]
        for name, (s, iss) in solvers.items():
            with self.subTest(solver=name):
                config = s["dns01"]["webhook"].get("config") or {}
                self.assertLessEqual(set(config), CONFIG_FIELDS[name])
                self.assertLessEqual(REQUIRED_FIELDS[name], set(config))
                for field, ref in config.items():
                    if field.endswith("SecretRef"):
                        self.assertIn((ns, ref["name"]), readable, f"{field} not in secretAccess")
                        self.assertIn(ref["key"], secrets.get((ns, ref["name"]), {}),
                                      f"{field}: no example Secret {ns}/{ref['name']} with key {ref['key']}")
        self.assertTrue(v["embedded"]["zones"], "the embedded example needs embedded.zones")
        self.assertEqual(solvers["embedded"][0]["dns01"].get("cnameStrategy"), "Follow")
        # The CNAME target of the embedded example lies in a served zone.
        target = re.search(r"CNAME\s+(\S+)\.\s", self.text).group(1)
        self.assertTrue(any(target.endswith("." + z) for z in v["embedded"]["zones"]), target)

    def test_install_steps(self):
        for needle in ("docker build", "helm install", "kubectl get apiservice v1alpha1.",
                       "kubectl get --raw /apis/"):
            self.assertIn(needle, self.text)


class Notes(unittest.TestCase):
    def test_notes_render(self):
        r = Renderer.get()
        out = r.run(None, output="notes")
        self.assertIn("kubectl get apiservice v1alpha1.acme.example.com", out)
        self.assertIn("cert-manager/cert-manager", out)
        self.assertIn("may read no Secrets", out)
        out = r.run({"embedded": {"zones": ["acme.example.org"]},
                     "secretAccess": [{"namespace": "a", "secretNames": ["s1", "s2"]}]}, output="notes")
        self.assertIn("a: s1, s2", out)
        self.assertIn("Embedded DNS for acme.example.org", out)
        self.assertIn("The 2 replicas share the records as TXTRecord objects in cert-manager", out)


if __name__ == "__main__":
    chartlib.main_guard(lambda: unittest.main(verbosity=1))
