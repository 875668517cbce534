"""Files a Kubernetes client reads, laid out as the real thing writes them:
a kubeconfig pointing at the fake, and a mounted service-account volume
(token, ca.crt, namespace) in the kubelet's ..data symlink layout, with
token rotation done the kubelet's way (a new generation swapped in
atomically)."""
import base64
import datetime
import json
import os
import shutil
import uuid

from kube_api import pem_text


def write_kubeconfig(path, server, token=None, token_file=None, client_cert=None,
                     client_key=None, ca_file=None, ca_data=None, insecure=False,
                     namespace=None, name="kube-fake"):
    """A kubeconfig (apiVersion v1, kind Config; one cluster, user and
    context, all named `name`, as current-context). ca_data is PEM (text,
    bytes or a path) stored base64 in certificate-authority-data, as the
    format wants. Strings are written double-quoted (JSON escapes are
    valid YAML)."""
    q = json.dumps
    cluster = [f"    server: {q(server)}"]
    if ca_file:
        cluster.append(f"    certificate-authority: {q(ca_file)}")
    if ca_data:
        pem = pem_text(ca_data).encode()
        cluster.append(f"    certificate-authority-data: {q(base64.b64encode(pem).decode())}")
    if insecure:
        cluster.append("    insecure-skip-tls-verify: true")
    user = []
    if token:
        user.append(f"    token: {q(token)}")
    if token_file:
        user.append(f"    tokenFile: {q(token_file)}")
    if client_cert:
        user.append(f"    client-certificate: {q(client_cert)}")
    if client_key:
        user.append(f"    client-key: {q(client_key)}")
    ctx = [f"    cluster: {q(name)}", f"    user: {q(name)}"]
    if namespace:
        ctx.append(f"    namespace: {q(namespace)}")
    text = "\n".join(
        ["apiVersion: v1", "kind: Config", "clusters:", f"- name: {q(name)}", "  cluster:"]
        + cluster
        + ["users:", f"- name: {q(name)}", "  user:" + ("" if user else " {}")] + user
        + ["contexts:", f"- name: {q(name)}", "  context:"] + ctx
        + [f"current-context: {q(name)}", "preferences: {}", ""])
    with open(path, "w") as f:
        f.write(text)
    return path


def _sa_write_generation(d, files):
    """One kubelet AtomicWriter generation: files in a timestamped ..dir,
    ..data swapped to it by rename, the visible names symlinks through
    ..data (so a reader sees the old or the new set, never a mix)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("..%Y_%m_%d_%H_%M_%S.")
    gen = os.path.join(d, stamp + uuid.uuid4().hex[:9])
    os.makedirs(gen)
    for n, content in files.items():
        with open(os.path.join(gen, n), "wb") as f:
            f.write(content)
        os.chmod(os.path.join(gen, n), 0o644)
    data = os.path.join(d, "..data")
    old = os.readlink(data) if os.path.islink(data) else None
    tmp = os.path.join(d, "..data_tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.basename(gen), tmp)
    os.rename(tmp, data)
    for n in files:
        link = os.path.join(d, n)
        if not os.path.islink(link):
            os.symlink(os.path.join("..data", n), link)
    if old:
        shutil.rmtree(os.path.join(d, old), ignore_errors=True)


def service_account_dir(path, token, ca_pem, namespace="default"):
    """Lay out a mounted service-account volume at `path` (the in-cluster
    /var/run/secrets/kubernetes.io/serviceaccount): token, ca.crt and
    namespace, in the kubelet's ..data symlink layout. ca_pem: PEM text,
    bytes or a file path. Returns `path`."""
    os.makedirs(path, exist_ok=True)
    _sa_write_generation(path, {"token": token.encode(), "ca.crt": pem_text(ca_pem).encode(),
                                "namespace": namespace.encode()})
    return path


def rotate_service_account_token(path, token):
    """Rotate the token the way the kubelet does (new generation, atomic
    ..data swap); ca.crt and namespace are carried over."""
    keep = {}
    for n in ("ca.crt", "namespace"):
        with open(os.path.join(path, n), "rb") as f:
            keep[n] = f.read()
    keep["token"] = token.encode()
    _sa_write_generation(path, keep)
