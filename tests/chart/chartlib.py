"""Render charts/dns01-webhook and check the rendered objects structurally.

    r = Renderer.get()                     # builds tests/chart/render.go once
    objs = r.render(values)                # list of Kubernetes objects (dicts)
    vals = r.values(values)                # the coalesced values
    problems = check(objs, vals, release=..., namespace=...)

Rendering: `helm template` is not packaged for Debian 12, so render.go (Go's
text/template + sprig, from Debian's golang-* packages, built in GOPATH mode
with no network) renders the chart the way Helm 3 does and prints each
document as JSON. When a `helm` binary is on PATH the tests also render with
it and require the same objects (see test_chart.py).

check() returns a list of "<check-id>: message" strings, empty when every
cross-reference resolves. CHECKS lists every check id; the tests break a good
rendering once per check (MUTATIONS in test_chart.py) and require that the
matching id is reported, so no check can silently pass everything.
"""
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("DNS01_SOURCE") or os.path.dirname(os.path.dirname(HERE))
CHART = os.path.join(SOURCE, "charts", "dns01-webhook")
GOPATH = "/usr/share/gocode"
GO_DEPS = ["github.com/Masterminds/sprig", "sigs.k8s.io/yaml"]
SKIP = 77

CHECKS = [
    "objects", "namespaces", "selectors", "service-ports", "apiservice",
    "apiservice-service", "inject-ca", "issuer-refs", "pki-chain",
    "dns-names", "tls-volume", "volumes", "arg-paths", "arg-values", "probes",
    "security", "resources", "replicas", "pdb", "topology", "service-account",
    "rbac-auth-delegator", "rbac-auth-reader", "rbac-domain-solver",
    "rbac-secrets", "rbac-role-refs", "image", "store-rbac", "crd",
    "anti-affinity", "pod-name",
]

# Roles that exist in every cluster (bootstrap policy); the chart binds them.
BUILTIN_ROLES = {("ClusterRole", "system:auth-delegator"),
                 ("Role", "extension-apiserver-authentication-reader")}
# Keys of the Secret cert-manager writes for a Certificate.
CERT_SECRET_KEYS = {"tls.crt", "tls.key", "ca.crt"}
# Flags whose value is a file the container must have mounted.
PATH_FLAGS = ("--tls-cert-file", "--tls-private-key-file",
              "--requestheader-client-ca-file")
CLUSTER_SCOPED = {"APIService", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
# The embedded store (kube/kube_store.h): its resource, and exactly the verbs
# the webhook needs on it (objects are created once and deleted once).
STORE_GROUP, STORE_PLURAL, STORE_KIND = "store.dns01.io", "txtrecords", "TXTRecord"
STORE_VERBS = ["get", "list", "watch", "create", "delete"]
# spec fields kube/kube_store_write.c writes (object_json), and those it
# needs to read an object back (ks_entry_parse).
STORE_FIELDS = {"zone", "name", "value", "created", "writer"}
STORE_REQUIRED = {"zone", "name", "value", "created"}


class Unavailable(Exception):
    """The renderer's toolchain is not installed (test exit 77)."""


class RenderError(Exception):
    """The chart refused the values (fail/required) or did not render."""


def find_go():
    for cand in (shutil.which("go"), "/usr/lib/go/bin/go"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


class Renderer:
    _instance = None

    @classmethod
    def get(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self):
        go = find_go()
        if go is None:
            raise Unavailable("no Go toolchain (scripts/deps.sh test installs golang-go)")
        for dep in GO_DEPS:
            if not os.path.isdir(os.path.join(GOPATH, "src", dep)):
                raise Unavailable(f"Go package {dep} missing under {GOPATH} "
                                  "(scripts/deps.sh test installs it)")
        # Outside the source and build trees (DNS01_BIN may be a wrapper
        # script in the source tree); one directory per render.go content,
        # shared by the build variants and parallel tests.
        with open(os.path.join(HERE, "render.go"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        self.dir = os.path.join(tempfile.gettempdir(), f"dns01-chart-render-{os.getuid()}-{digest}")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        if os.stat(self.dir).st_uid != os.getuid():  # not ours: don't run its binary
            self.dir = tempfile.mkdtemp(prefix="dns01-chart-render-")
        self.env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="",
                        GOPROXY="off", GOTOOLCHAIN="local", CGO_ENABLED="0",
                        GOCACHE=os.path.join(self.dir, "gocache"), HOME=self.dir)
        self.bin = os.path.join(self.dir, "render")
        tmp = f"{self.bin}.{os.getpid()}"
        r = subprocess.run([go, "build", "-o", tmp, os.path.join(HERE, "render.go")],
                           env=self.env, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError(f"building render.go failed:\n{r.stderr}")
        os.replace(tmp, self.bin)  # atomic: parallel test processes share it

    def run(self, values=None, release="dns01-webhook", namespace="cert-manager",
            output="json", chart=CHART):
        with tempfile.TemporaryDirectory() as d:
            args = [self.bin, "-name", release, "-namespace", namespace, "-o", output]
            for i, v in enumerate(values if isinstance(values, list) else [values]):
                if v is None:
                    continue
                path = os.path.join(d, f"values{i}.json")  # JSON is YAML
                with open(path, "w") as f:
                    json.dump(v, f)
                args += ["-f", path]
            r = subprocess.run(args + [chart], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RenderError(r.stderr.strip())
        return r.stdout

    def render(self, values=None, **kw):
        return [d["object"] for d in json.loads(self.run(values, **kw))]

    def values(self, values=None, **kw):
        return json.loads(self.run(values, output="values", **kw))

    def yaml_to_json(self, text):
        """Multi-document YAML (e.g. `helm template` output) to objects."""
        r = subprocess.run([self.bin, "-yaml2json"], input=text, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RenderError(r.stderr.strip())
        return [d["object"] for d in json.loads(r.stdout)]


def helm_template(values, release, namespace):
    """`helm template` output as objects, or None when helm is not installed."""
    helm = shutil.which("helm")
    if helm is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        args = [helm, "template", release, CHART, "--namespace", namespace,
                "--kube-version", "v1.29.0"]
        if values:
            path = os.path.join(d, "values.json")
            with open(path, "w") as f:
                json.dump(values, f)
            args += ["-f", path]
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RenderError(r.stderr.strip())
    return Renderer.get().yaml_to_json(r.stdout)


# ---------------------------------------------------------------- checks


class Index:
    def __init__(self, objs):
        self.objs = objs
        self.by_kind = {}
        for o in objs:
            self.by_kind.setdefault(o.get("kind"), []).append(o)

    def kind(self, kind):
        return self.by_kind.get(kind, [])

    def get(self, kind, name, namespace=None):
        for o in self.kind(kind):
            md = o.get("metadata", {})
            if md.get("name") == name and (namespace is None or md.get("namespace") == namespace):
                return o
        return None


def _name(o):
    return o.get("metadata", {}).get("name")


def _ns(o):
    return o.get("metadata", {}).get("namespace")


def _matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _flags(args):
    """--flag=value (or --flag value) pairs, in order."""
    out = []
    i = 0
    while i < len(args):
        a = str(args[i])
        if a.startswith("--") and "=" in a:
            k, v = a.split("=", 1)
            out.append((k, v))
        elif a.startswith("--") and i + 1 < len(args) and not str(args[i + 1]).startswith("--"):
            out.append((a, str(args[i + 1])))
            i += 1
        else:
            out.append((a, None))
        i += 1
    return out


def check(objs, values, release, namespace):
    """Every problem found, as "<check-id>: message"."""
    p = []

    def bad(check_id, msg):
        assert check_id in CHECKS, check_id
        p.append(f"{check_id}: {msg}")

    ix = Index(objs)
    group = values["groupName"]
    replicas = int(values["replicaCount"])
    zones = values["embedded"]["zones"] or []
    store = values["embedded"].get("store") or {}
    kube_store = bool(zones) and store.get("type") == "kubernetes"
    ca_cfg = values["requestheader"]["clientCA"]
    cm = values["certManager"]

    # objects: exactly the expected kinds, once each, nothing duplicated.
    seen = set()
    for o in objs:
        key = (o.get("apiVersion"), o.get("kind"), _ns(o), _name(o))
        if key in seen:
            bad("objects", f"duplicate object {key}")
        seen.add(key)
    expected = {"Deployment": 1, "ServiceAccount": 1, "APIService": 1,
                "Issuer": 2, "Certificate": 2, "ClusterRole": 1,
                "ClusterRoleBinding": 2,
                "RoleBinding": 1 + len(values["secretAccess"]) + kube_store,
                "Role": len(values["secretAccess"]) + kube_store,
                "CustomResourceDefinition": 1 if kube_store and store.get("installCRD") else 0,
                "Service": 2 if zones else 1,
                "PodDisruptionBudget": 1 if replicas > 1 else 0,
                "ConfigMap": 1 if ca_cfg.get("pem") else 0}
    for kind, n in expected.items():
        if len(ix.kind(kind)) != n:
            bad("objects", f"{len(ix.kind(kind))} {kind} objects, expected {n}")
    for kind in ix.by_kind:
        if kind not in expected:
            bad("objects", f"unexpected kind {kind}")
    api_versions = {"Deployment": "apps/v1", "Service": "v1", "ServiceAccount": "v1",
                    "ConfigMap": "v1", "APIService": "apiregistration.k8s.io/v1",
                    "Issuer": "cert-manager.io/v1", "Certificate": "cert-manager.io/v1",
                    "PodDisruptionBudget": "policy/v1",
                    "CustomResourceDefinition": "apiextensions.k8s.io/v1"}
    for o in objs:
        want = api_versions.get(o.get("kind"), "rbac.authorization.k8s.io/v1")
        if o.get("apiVersion") != want:
            bad("objects", f"{o.get('kind')} {_name(o)}: apiVersion {o.get('apiVersion')}, expected {want}")

    # namespaces: everything in the release namespace except what belongs
    # elsewhere; cluster-scoped objects carry none.
    secret_ns = {e["namespace"] for e in values["secretAccess"]}
    for o in objs:
        k, ns = o.get("kind"), _ns(o)
        if k in CLUSTER_SCOPED:
            if ns is not None:
                bad("namespaces", f"cluster-scoped {k} {_name(o)} has namespace {ns}")
        elif k == "RoleBinding" and o.get("roleRef", {}).get("name") == "extension-apiserver-authentication-reader":
            if ns != "kube-system":
                bad("namespaces", f"RoleBinding {_name(o)} must be in kube-system, is in {ns}")
        elif k in ("Role", "RoleBinding") and str(_name(o)).endswith(":embedded-store"):
            if ns != namespace:
                bad("namespaces", f"{k} {_name(o)} in {ns}, not the release namespace {namespace}")
        elif k in ("Role", "RoleBinding"):
            if ns not in secret_ns:
                bad("namespaces", f"{k} {_name(o)} in {ns}, not a secretAccess namespace")
        elif ns != namespace:
            bad("namespaces", f"{k} {_name(o)} in namespace {ns}, expected {namespace}")

    deps = ix.kind("Deployment")
    if not deps:
        bad("objects", "no Deployment")
        return p
    dep = deps[0]
    pod = dep.get("spec", {}).get("template", {})
    pod_labels = pod.get("metadata", {}).get("labels") or {}
    pspec = pod.get("spec", {})
    containers = pspec.get("containers") or []
    if len(containers) != 1:
        bad("objects", f"{len(containers)} containers, expected 1")
        return p
    c = containers[0]
    cports = {cp.get("name"): cp for cp in c.get("ports") or []}

    # selectors: Deployment, Services and PDB select the webhook's pods.
    sel = dep.get("spec", {}).get("selector", {}).get("matchLabels") or {}
    if not _matches(sel, pod_labels):
        bad("selectors", f"Deployment selector {sel} does not match pod labels {pod_labels}")
    for svc in ix.kind("Service"):
        s = svc.get("spec", {}).get("selector") or {}
        if not _matches(s, pod_labels):
            bad("selectors", f"Service {_name(svc)} selector {s} does not match pod labels")

    # service-ports: every targetPort names a container port of the same protocol.
    svc_name = None
    main_svc = None
    for svc in ix.kind("Service"):
        for sp in svc.get("spec", {}).get("ports") or []:
            tp = sp.get("targetPort")
            proto = sp.get("protocol", "TCP")
            if not isinstance(tp, str):
                bad("service-ports", f"Service {_name(svc)} port {sp.get('name')}: targetPort {tp!r} is not a port name")
            elif tp not in cports:
                bad("service-ports", f"Service {_name(svc)} targetPort {tp} is not a container port ({sorted(cports)})")
            elif cports[tp].get("protocol", "TCP") != proto:
                bad("service-ports", f"Service {_name(svc)} port {tp}: protocol {proto} vs container {cports[tp].get('protocol', 'TCP')}")
            if sp.get("name") != tp:
                bad("service-ports", f"Service {_name(svc)} port name {sp.get('name')} differs from targetPort {tp}")
        names = [sp.get("name") for sp in svc.get("spec", {}).get("ports") or []]
        if "https" in names:
            main_svc, svc_name = svc, _name(svc)
    if main_svc is None:
        bad("service-ports", "no Service with a port named https")
    elif [sp.get("port") for sp in main_svc["spec"]["ports"] if sp.get("name") == "https"] != [int(values["service"]["port"])]:
        bad("service-ports", f"Service https port is not service.port {values['service']['port']}")
    if "https" not in cports or cports["https"].get("containerPort") != int(values["securePort"]):
        bad("service-ports", f"container port https is not securePort {values['securePort']}")
    if zones:
        dns_svcs = [s for s in ix.kind("Service") if s is not main_svc]
        protos = sorted((sp.get("protocol"), sp.get("port")) for s in dns_svcs for sp in s["spec"].get("ports") or [])
        port = int(values["embedded"]["service"]["port"])
        if protos != [("TCP", port), ("UDP", port)]:
            bad("service-ports", f"embedded DNS Service ports {protos}, expected TCP+UDP {port}")
        for name in ("dns-udp", "dns-tcp"):
            if cports.get(name, {}).get("containerPort") != int(values["embedded"]["containerPort"]):
                bad("service-ports", f"container port {name} is not embedded.containerPort")
    elif {"dns-udp", "dns-tcp"} & set(cports):
        bad("service-ports", "DNS container ports without embedded.zones")

    # apiservice: name, group, version, priorities, TLS verification on.
    apis = ix.kind("APIService")
    api = apis[0] if apis else {}
    aspec = api.get("spec", {})
    if _name(api) != f"v1alpha1.{group}":
        bad("apiservice", f"APIService name {_name(api)}, expected v1alpha1.{group}")
    if aspec.get("group") != group or aspec.get("version") != "v1alpha1":
        bad("apiservice", f"APIService group/version {aspec.get('group')}/{aspec.get('version')}")
    if _name(api) != f"{aspec.get('version')}.{aspec.get('group')}":
        bad("apiservice", "APIService name is not <version>.<group>")
    if not 1 <= int(aspec.get("groupPriorityMinimum") or 0) <= 20000 or \
            not 1 <= int(aspec.get("versionPriority") or 0) <= 1000:
        bad("apiservice", "APIService priorities out of range")
    if aspec.get("insecureSkipTLSVerify") or aspec.get("caBundle"):
        bad("apiservice", "APIService must leave caBundle to cainjector and verify TLS")

    # apiservice-service: the Service exists and has that port (default 443).
    ref = aspec.get("service") or {}
    target = ix.get("Service", ref.get("name"), ref.get("namespace"))
    if target is None:
        bad("apiservice-service", f"APIService service {ref} does not exist")
    else:
        ports = {sp.get("port"): sp.get("name") for sp in target["spec"].get("ports") or []}
        if ports.get(ref.get("port", 443)) != "https":
            bad("apiservice-service", f"APIService port {ref.get('port', 443)} is not the Service's https port {ports}")

    # PKI objects by role.
    certs = {_name(x): x for x in ix.kind("Certificate")}
    issuers = {_name(x): x for x in ix.kind("Issuer")}
    volumes = {v.get("name"): v for v in pspec.get("volumes") or []}
    mounted_secrets = {v["secret"].get("secretName"): n for n, v in volumes.items() if "secret" in v}
    serving = [x for x in certs.values() if not x["spec"].get("isCA")]
    ca_certs = [x for x in certs.values() if x["spec"].get("isCA")]

    # inject-ca: <ns>/<name> of the serving Certificate, the one the pod mounts.
    ann = (api.get("metadata", {}).get("annotations") or {}).get("cert-manager.io/inject-ca-from", "")
    ns_, _, cname = ann.partition("/")
    cert = certs.get(cname)
    if cert is None or ns_ != _ns(cert):
        bad("inject-ca", f"inject-ca-from {ann!r} names no rendered Certificate")
    elif cert["spec"].get("isCA") or cert["spec"].get("secretName") not in mounted_secrets:
        bad("inject-ca", f"inject-ca-from {ann!r} is not the serving certificate the pod mounts")

    # issuer-refs: every Certificate's issuerRef is a rendered Issuer in its namespace.
    for x in certs.values():
        r = x["spec"].get("issuerRef") or {}
        if r.get("kind", "Issuer") != "Issuer" or r.get("group", "cert-manager.io") != "cert-manager.io":
            bad("issuer-refs", f"Certificate {_name(x)} issuerRef {r} is not a cert-manager Issuer")
        elif ix.get("Issuer", r.get("name"), _ns(x)) is None:
            bad("issuer-refs", f"Certificate {_name(x)} issuerRef {r.get('name')} not rendered")

    # pki-chain: self-signed Issuer -> CA Certificate -> CA Issuer -> serving.
    if len(ca_certs) != 1 or len(serving) != 1:
        bad("pki-chain", f"{len(ca_certs)} CA and {len(serving)} serving Certificates, expected 1 and 1")
    else:
        ca, srv = ca_certs[0], serving[0]
        ca_iss = issuers.get((ca["spec"].get("issuerRef") or {}).get("name"), {})
        if "selfSigned" not in ca_iss.get("spec", {}):
            bad("pki-chain", "the CA Certificate is not issued by a self-signed Issuer")
        srv_iss = issuers.get((srv["spec"].get("issuerRef") or {}).get("name"), {})
        if (srv_iss.get("spec", {}).get("ca") or {}).get("secretName") != ca["spec"].get("secretName"):
            bad("pki-chain", f"the serving Certificate's Issuer does not sign with the CA Secret {ca['spec'].get('secretName')}")
        if ca["spec"].get("secretName") == srv["spec"].get("secretName"):
            bad("pki-chain", "CA and serving certificates share a Secret")
        if "server auth" not in (srv["spec"].get("usages") or ["server auth"]):
            bad("pki-chain", "serving certificate usages lack server auth")

    # dns-names: <svc>, <svc>.<ns>, <svc>.<ns>.svc of the APIService's Service.
    if serving:
        want = [svc_name, f"{svc_name}.{namespace}", f"{svc_name}.{namespace}.svc"]
        got = serving[0]["spec"].get("dnsNames") or []
        if sorted(got) != sorted(want):
            bad("dns-names", f"serving dnsNames {got}, expected {want}")
        if ref.get("name") != svc_name:
            bad("dns-names", "the serving certificate is not for the APIService's Service")

    # tls-volume: the serving Secret is a volume, mounted read-only, no subPath.
    mounts = c.get("volumeMounts") or []
    if serving:
        sname = serving[0]["spec"].get("secretName")
        vol = mounted_secrets.get(sname)
        ms = [m for m in mounts if m.get("name") == vol]
        if vol is None or not ms:
            bad("tls-volume", f"serving Secret {sname} is not mounted")
        for m in ms:
            if not m.get("readOnly") or m.get("subPath") or m.get("subPathExpr"):
                bad("tls-volume", f"mount {m} must be readOnly without subPath (renewals are picked up in place)")
        v = volumes.get(vol) or {}
        if vol and v.get("secret", {}).get("items"):
            bad("tls-volume", "the serving Secret volume restricts items")

    # volumes: each mount has a volume, each volume is mounted, ConfigMaps exist.
    mnames = [m.get("name") for m in mounts]
    for m in mnames:
        if m not in volumes:
            bad("volumes", f"volumeMount {m} has no volume")
    for n in volumes:
        if n not in mnames:
            bad("volumes", f"volume {n} is not mounted")
    if len(set(m.get("mountPath") for m in mounts)) != len(mounts):
        bad("volumes", "two mounts share a mountPath")
    for n, v in volumes.items():
        if "configMap" in v:
            cmname = v["configMap"].get("name")
            rendered_cm = ix.get("ConfigMap", cmname, namespace)
            if rendered_cm is None and cmname != ca_cfg.get("existingConfigMap"):
                bad("volumes", f"volume {n}: ConfigMap {cmname} neither rendered nor configured")
            for it in v["configMap"].get("items") or []:
                if rendered_cm is not None and it.get("key") not in (rendered_cm.get("data") or {}):
                    bad("volumes", f"volume {n}: key {it.get('key')} not in ConfigMap {cmname}")

    # arg-paths: file flags point into a mount at a key that volume provides.
    flags = _flags(c.get("args") or [])
    for k, v in flags:
        if k not in PATH_FLAGS:
            continue
        d, _, base = (v or "").rpartition("/")
        m = next((m for m in mounts if m.get("mountPath", "").rstrip("/") == d), None)
        if m is None:
            bad("arg-paths", f"{k}={v}: {d} is not a mountPath")
            continue
        vol = volumes.get(m.get("name"), {})
        if "secret" in vol:
            items = vol["secret"].get("items")
            keys = {i.get("path") for i in items} if items else CERT_SECRET_KEYS
        elif "configMap" in vol:
            items = vol["configMap"].get("items")
            keys = {i.get("path") for i in items} if items else set(
                (ix.get("ConfigMap", vol["configMap"].get("name"), namespace) or {}).get("data") or {})
        else:
            keys = set()
        if base not in keys:
            bad("arg-paths", f"{k}={v}: volume {m.get('name')} provides {sorted(keys)}")
    for k in PATH_FLAGS[:2]:
        if k not in dict(flags):
            bad("arg-paths", f"{k} not passed")

    # arg-values: the flags say what the values say.
    fl = {}
    for k, v in flags:
        fl.setdefault(k, []).append(v)
    if fl.get("--group-name") != [group]:
        bad("arg-values", f"--group-name {fl.get('--group-name')} vs groupName {group}")
    if fl.get("--secure-port") != [str(values["securePort"])] or \
            cports.get("https", {}).get("containerPort") != int(values["securePort"]):
        bad("arg-values", f"--secure-port {fl.get('--secure-port')} vs securePort/container port")
    if fl.get("--embedded-zone", []) != list(zones):
        bad("arg-values", f"--embedded-zone {fl.get('--embedded-zone')} vs embedded.zones {zones}")
    dl = fl.get("--dns-listen")
    if zones:
        if not dl or len(dl) != 1 or dl[0].rpartition(":")[2] != str(values["embedded"]["containerPort"]):
            bad("arg-values", f"--dns-listen {dl} vs embedded.containerPort")
    elif dl:
        bad("arg-values", "--dns-listen without embedded.zones")
    want_store = [store.get("type")] if zones else None
    if fl.get("--embedded-store") != want_store:
        bad("arg-values", f"--embedded-store {fl.get('--embedded-store')} vs embedded.store.type {want_store}")
    if fl.get("--embedded-store-namespace") != ([namespace] if kube_store else None):
        bad("arg-values", f"--embedded-store-namespace {fl.get('--embedded-store-namespace')}: "
            f"expected the release namespace {namespace} with the kubernetes store")
    has_ca = bool(ca_cfg.get("pem") or ca_cfg.get("existingConfigMap"))
    if has_ca != ("--requestheader-client-ca-file" in fl):
        bad("arg-values", "--requestheader-client-ca-file passed iff requestheader.clientCA is set")
    allowed = values["requestheader"]["allowedNames"] or []
    if (fl.get("--requestheader-allowed-names") or [None]) != ([",".join(allowed)] if allowed else [None]):
        bad("arg-values", f"--requestheader-allowed-names {fl.get('--requestheader-allowed-names')} vs {allowed}")
    for k, vs in fl.items():
        if len(vs) > 1 and k != "--embedded-zone":
            bad("arg-values", f"{k} given {len(vs)} times")

    # probes: HTTPS GET /healthz on the named port.
    for probe in ("livenessProbe", "readinessProbe"):
        g = (c.get(probe) or {}).get("httpGet") or {}
        if g.get("path") != "/healthz" or g.get("scheme") != "HTTPS" or g.get("port") != "https" \
                or "https" not in cports:
            bad("probes", f"{probe} {g} is not HTTPS GET /healthz on port https")

    # security: non-root, read-only root, no capabilities, RuntimeDefault seccomp.
    psc = pspec.get("securityContext") or {}
    csc = c.get("securityContext") or {}
    eff = dict(psc, **{k: v for k, v in csc.items() if k in ("runAsUser", "runAsNonRoot", "runAsGroup", "seccompProfile")})
    if eff.get("runAsNonRoot") is not True:
        bad("security", "runAsNonRoot is not true")
    if not isinstance(eff.get("runAsUser"), int) or eff.get("runAsUser") == 0:
        bad("security", f"runAsUser {eff.get('runAsUser')!r} is not a non-zero UID")
    if (eff.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        bad("security", "seccompProfile is not RuntimeDefault")
    if csc.get("allowPrivilegeEscalation") is not False:
        bad("security", "allowPrivilegeEscalation is not false")
    if csc.get("readOnlyRootFilesystem") is not True:
        bad("security", "readOnlyRootFilesystem is not true")
    caps = csc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []) or caps.get("add"):
        bad("security", f"capabilities {caps}: must drop ALL and add none")
    if csc.get("privileged"):
        bad("security", "privileged container")
    for k in ("hostNetwork", "hostPID", "hostIPC"):
        if pspec.get(k):
            bad("security", f"{k} set")

    # resources: requests and a memory limit.
    res = c.get("resources") or {}
    if not res.get("requests") or not (res.get("limits") or {}).get("memory"):
        bad("resources", f"resources {res}: need requests and a memory limit")

    # replicas.
    if dep.get("spec", {}).get("replicas") != replicas:
        bad("replicas", f"Deployment replicas {dep.get('spec', {}).get('replicas')} vs replicaCount {replicas}")

    # pdb: only with more than one replica, selecting the pods, allowing evictions.
    pdbs = ix.kind("PodDisruptionBudget")
    if (replicas > 1) != bool(pdbs):
        bad("pdb", f"{len(pdbs)} PodDisruptionBudgets with {replicas} replicas")
    for pdb in pdbs:
        s = pdb.get("spec", {})
        if not _matches((s.get("selector") or {}).get("matchLabels") or {}, pod_labels):
            bad("pdb", "PodDisruptionBudget selector does not match the pods")
        ma = s.get("minAvailable")
        if isinstance(ma, int) and ma >= replicas:
            bad("pdb", f"minAvailable {ma} blocks every eviction with {replicas} replicas")
        if ma is None and s.get("maxUnavailable") in (None, 0, "0", "0%"):
            bad("pdb", "PodDisruptionBudget allows no eviction")

    # topology: every constraint selects the webhook's pods.
    tsc = pspec.get("topologySpreadConstraints") or []
    if len(tsc) != len(values.get("topologySpreadConstraints") or []):
        bad("topology", f"{len(tsc)} topology spread constraints, values list {len(values.get('topologySpreadConstraints') or [])}")
    for t in tsc:
        if not _matches((t.get("labelSelector") or {}).get("matchLabels") or {}, pod_labels):
            bad("topology", f"constraint on {t.get('topologyKey')} does not select the webhook's pods")
        if not t.get("topologyKey") or not t.get("whenUnsatisfiable"):
            bad("topology", f"incomplete constraint {t}")

    # service-account: the pod runs as the rendered ServiceAccount; the
    # webhook's bindings name it.
    sas = ix.kind("ServiceAccount")
    sa = sas[0] if sas else {}
    sa_ref = {"kind": "ServiceAccount", "name": _name(sa), "namespace": _ns(sa)}
    if pspec.get("serviceAccountName") != _name(sa) or _ns(sa) != namespace:
        bad("service-account", f"pod serviceAccountName {pspec.get('serviceAccountName')} is not the rendered ServiceAccount")
    if pspec.get("automountServiceAccountToken") is False:
        bad("service-account", "the token is needed for the Kubernetes API")
    solver_roles = [r for r in ix.kind("ClusterRole")
                    if any(group in (rule.get("apiGroups") or []) for rule in r.get("rules") or [])]
    solver_names = {_name(r) for r in solver_roles}
    for b in ix.kind("ClusterRoleBinding") + ix.kind("RoleBinding"):
        rr = b.get("roleRef") or {}
        if rr.get("kind") == "ClusterRole" and rr.get("name") in solver_names:
            continue  # cert-manager's binding, checked below
        for s in b.get("subjects") or []:
            if {k: s.get(k) for k in sa_ref} != sa_ref:
                bad("service-account", f"{b['kind']} {_name(b)} subject {s} is not the webhook's ServiceAccount")

    def bindings_to(kind, role):
        return [b for b in ix.kind("ClusterRoleBinding") + ix.kind("RoleBinding")
                if b.get("roleRef", {}).get("kind") == kind and b.get("roleRef", {}).get("name") == role]

    def subjects_are_sa(b):
        return [{k: s.get(k) for k in sa_ref} for s in b.get("subjects") or []] == [sa_ref]

    # rbac-auth-delegator.
    bs = [b for b in bindings_to("ClusterRole", "system:auth-delegator") if b["kind"] == "ClusterRoleBinding"]
    if len(bs) != 1 or not subjects_are_sa(bs[0]):
        bad("rbac-auth-delegator", "no ClusterRoleBinding of system:auth-delegator to the webhook's ServiceAccount")

    # rbac-auth-reader.
    bs = [b for b in bindings_to("Role", "extension-apiserver-authentication-reader")
          if b["kind"] == "RoleBinding" and _ns(b) == "kube-system"]
    if len(bs) != 1 or not subjects_are_sa(bs[0]):
        bad("rbac-auth-reader", "no kube-system RoleBinding of extension-apiserver-authentication-reader to the webhook's ServiceAccount")

    # rbac-domain-solver: create on <group>/* for cert-manager's ServiceAccount.
    if len(solver_roles) != 1 or solver_roles[0].get("rules") != [
            {"apiGroups": [group], "resources": ["*"], "verbs": ["create"]}]:
        bad("rbac-domain-solver", f"domain-solver ClusterRole for {group} missing or not exactly create on {group}/*")
    else:
        bs = bindings_to("ClusterRole", _name(solver_roles[0]))
        want = [{"kind": "ServiceAccount", "name": cm["serviceAccountName"], "namespace": cm["namespace"]}]
        got = [[{k: s.get(k) for k in ("kind", "name", "namespace")} for s in b.get("subjects") or []] for b in bs]
        if got != [want] or bs[0]["kind"] != "ClusterRoleBinding":
            bad("rbac-domain-solver", f"domain-solver bound to {got}, expected cert-manager's {want}")

    # rbac-secrets: get on exactly the listed Secrets, nothing wider anywhere.
    wanted = {e["namespace"]: sorted(e["secretNames"]) for e in values["secretAccess"]}
    granted = {}
    for r in ix.kind("Role") + ix.kind("ClusterRole"):
        for rule in r.get("rules") or []:
            if not ({"", "*"} & set(rule.get("apiGroups") or []) and
                    {"secrets", "*"} & set(rule.get("resources") or [])):
                continue
            if r["kind"] == "ClusterRole":
                bad("rbac-secrets", f"ClusterRole {_name(r)} grants Secrets cluster-wide")
                continue
            if rule.get("verbs") != ["get"] or rule.get("apiGroups") != [""] or not rule.get("resourceNames"):
                bad("rbac-secrets", f"Role {_ns(r)}/{_name(r)} rule {rule} is wider than get on named Secrets")
            granted.setdefault(_ns(r), []).extend(rule.get("resourceNames") or [])
            bs = [b for b in bindings_to("Role", _name(r)) if _ns(b) == _ns(r)]
            if len(bs) != 1 or not subjects_are_sa(bs[0]):
                bad("rbac-secrets", f"Role {_ns(r)}/{_name(r)} is not bound to the webhook's ServiceAccount")
    if {k: sorted(v) for k, v in granted.items()} != wanted:
        bad("rbac-secrets", f"Secrets granted {granted}, values list {wanted}")

    # rbac-role-refs: every roleRef resolves.
    for b in ix.kind("ClusterRoleBinding") + ix.kind("RoleBinding"):
        rr = b.get("roleRef") or {}
        if rr.get("apiGroup") != "rbac.authorization.k8s.io":
            bad("rbac-role-refs", f"{b['kind']} {_name(b)} roleRef apiGroup {rr.get('apiGroup')}")
        if (rr.get("kind"), rr.get("name")) in BUILTIN_ROLES:
            continue
        if rr.get("kind") == "ClusterRole":
            ok = ix.get("ClusterRole", rr.get("name")) is not None
        else:
            ok = b["kind"] == "RoleBinding" and ix.get("Role", rr.get("name"), _ns(b)) is not None
        if not ok:
            bad("rbac-role-refs", f"{b['kind']} {_ns(b)}/{_name(b)} refers to missing {rr.get('kind')} {rr.get('name')}")

    # store-rbac: with the kubernetes store, exactly get/list/watch/create/
    # delete on txtrecords in the release namespace, bound to the webhook;
    # nothing grants txtrecords anywhere else, nor at all without it.
    store_rules = []
    for r in ix.kind("Role") + ix.kind("ClusterRole"):
        for rule in r.get("rules") or []:
            if {STORE_GROUP, "*"} & set(rule.get("apiGroups") or []):
                store_rules.append((r, rule))
    if kube_store and len(store_rules) != 1:
        bad("store-rbac", f"{len(store_rules)} rules on {STORE_GROUP}, expected 1")
    if not kube_store and store_rules:
        bad("store-rbac", f"rules on {STORE_GROUP} without the kubernetes store")
    for r, rule in store_rules:
        if r["kind"] != "Role" or _ns(r) != namespace:
            bad("store-rbac", f"{r['kind']} {_ns(r)}/{_name(r)} grants {STORE_GROUP} outside the release namespace")
        if rule.get("apiGroups") != [STORE_GROUP] or rule.get("resources") != [STORE_PLURAL] or \
                sorted(rule.get("verbs") or []) != sorted(STORE_VERBS) or rule.get("resourceNames"):
            bad("store-rbac", f"Role {_name(r)} rule {rule} is not {STORE_VERBS} on {STORE_PLURAL}")
        bs = [b for b in bindings_to("Role", _name(r)) if _ns(b) == _ns(r)]
        if len(bs) != 1 or not subjects_are_sa(bs[0]):
            bad("store-rbac", f"Role {_ns(r)}/{_name(r)} is not bound to the webhook's ServiceAccount")

    # crd: the store's CRD, namespaced, one served+stored version whose
    # schema carries the fields the C code writes.
    for crd in ix.kind("CustomResourceDefinition"):
        cs = crd.get("spec") or {}
        names = cs.get("names") or {}
        if _name(crd) != f"{STORE_PLURAL}.{STORE_GROUP}" or cs.get("group") != STORE_GROUP or \
                names.get("plural") != STORE_PLURAL or names.get("kind") != STORE_KIND:
            bad("crd", f"CRD {_name(crd)} is not {STORE_PLURAL}.{STORE_GROUP} kind {STORE_KIND}")
        if cs.get("scope") != "Namespaced":
            bad("crd", f"CRD scope {cs.get('scope')}: the store's objects live in one namespace")
        vers = cs.get("versions") or []
        if [(v.get("name"), v.get("served"), v.get("storage")) for v in vers] != [("v1", True, True)]:
            bad("crd", f"CRD versions {[v.get('name') for v in vers]}: expected v1 served and stored")
            continue
        schema = ((vers[0].get("schema") or {}).get("openAPIV3Schema") or {})
        spec = (schema.get("properties") or {}).get("spec") or {}
        props = spec.get("properties") or {}
        if set(props) != STORE_FIELDS or any((v or {}).get("type") != "string" for v in props.values()):
            bad("crd", f"CRD spec fields {sorted(props)}: expected strings {sorted(STORE_FIELDS)}")
        if set(spec.get("required") or []) != STORE_REQUIRED:
            bad("crd", f"CRD spec required {spec.get('required')}, expected {sorted(STORE_REQUIRED)}")
    if kube_store and not store.get("installCRD") and ix.kind("CustomResourceDefinition"):
        bad("crd", "CRD rendered with embedded.store.installCRD false")

    # anti-affinity: with more than one replica, the pods avoid sharing a
    # node unless the values say otherwise.
    aff = (pspec.get("affinity") or {}).get("podAntiAffinity")
    preset = values.get("podAntiAffinityPreset")
    user_aff = (values.get("affinity") or {}).get("podAntiAffinity")
    if user_aff is not None:
        if aff != user_aff:
            bad("anti-affinity", "affinity.podAntiAffinity from the values not rendered as given")
    elif preset:
        key = "requiredDuringSchedulingIgnoredDuringExecution" if preset == "hard" else \
            "preferredDuringSchedulingIgnoredDuringExecution"
        terms = (aff or {}).get(key) or []
        terms = [t.get("podAffinityTerm", t) if preset != "hard" else t for t in terms]
        if len(terms) != 1 or terms[0].get("topologyKey") != "kubernetes.io/hostname" or \
                not _matches((terms[0].get("labelSelector") or {}).get("matchLabels") or {}, pod_labels):
            bad("anti-affinity", f"podAntiAffinity {aff} does not keep the webhook's pods on separate nodes ({preset})")
    elif aff:
        bad("anti-affinity", "podAntiAffinity rendered with podAntiAffinityPreset empty")

    # pod-name: POD_NAME from the downward API (the writer of TXTRecords).
    env = {e.get("name"): e for e in c.get("env") or []}
    ref_ = ((env.get("POD_NAME") or {}).get("valueFrom") or {}).get("fieldRef") or {}
    if ref_.get("fieldPath") != "metadata.name":
        bad("pod-name", f"POD_NAME {env.get('POD_NAME')} is not the downward API metadata.name")

    # image: the Dockerfile's image at the chart's appVersion unless overridden.
    img = values["image"]
    want = f"{img['repository']}@{img['digest']}" if img.get("digest") else \
        f"{img['repository']}:{img.get('tag') or app_version()}"
    if c.get("image") != want:
        bad("image", f"image {c.get('image')}, expected {want}")
    return p


def app_version():
    with open(os.path.join(CHART, "Chart.yaml")) as f:
        m = re.search(r'^appVersion:\s*"?([^"\s]+)"?', f.read(), re.M)
    return m.group(1) if m else ""


def main_guard(fn):
    """Run a unittest main, turning a missing toolchain into exit 77."""
    try:
        Renderer.get()
    except Unavailable as e:
        print(f"skip: {e}", file=sys.stderr)
        sys.exit(SKIP)
    fn()


def mutate(objs, kind, fn, name=None):
    """A deep copy of objs with fn applied to the first matching object."""
    out = copy.deepcopy(objs)
    for o in out:
        if o.get("kind") == kind and (name is None or _name(o) == name):
            fn(o)
            return out
    raise AssertionError(f"no {kind} {name or ''} to mutate")
