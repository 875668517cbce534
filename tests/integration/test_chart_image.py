"""The Dockerfile the chart's default image is built from, checked without a
container engine: two stages (debian:12 building with scripts/deps.sh and
CMake, debian:12-slim running), a numeric non-root USER equal to the chart's
runAsUser, ENTRYPOINT ["dns01", "serve"], the image tag = the chart's
appVersion = the CMake project VERSION, and -- against the binary ctest built --
every shared library dns01 links is provided by the runtime stage's packages
(or the base image), with no build packages in the runtime stage. A
.dockerignore that dropped a file the build needs is caught too."""
import fnmatch
import json
import os
import re
import shutil
import subprocess
import unittest

SOURCE = os.environ.get("DNS01_SOURCE") or os.path.join(os.path.dirname(__file__), "..", "..")
# Under `make test-valgrind` DNS01_BIN is a wrapper script; the binary is
# DNS01_REAL_BIN then.
BIN = os.environ.get("DNS01_REAL_BIN") or os.environ.get("DNS01_BIN") or \
    os.path.join(SOURCE, "build", "dns01")
CHART = os.path.join(SOURCE, "charts", "dns01-webhook")
SANITIZER_LIBS = ("libasan", "libubsan", "liblsan", "libtsan")


def read(*p):
    with open(os.path.join(SOURCE, *p)) as f:
        return f.read()


def stages(dockerfile):
    """[(from-line, [instructions])] with continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
    return out


def apt_packages(instructions):
    pkgs = []
    for ins in instructions:
        for m in re.finditer(r"apt-get install ([^&;|]*)", ins):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def dpkg_depends_closure(pkgs):
    """Installed packages reachable through Depends/Pre-Depends."""
    seen = set()
    todo = list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Depends}, ${Pre-Depends}", p],
                           capture_output=True, text=True)
        if r.returncode != 0:
            continue  # not installed here: only its own name counts
        seen.add(p)
        for dep in r.stdout.split(","):
            for alt in dep.split("|"):
                name = alt.strip().split(" ")[0].split(":")[0]
                if name:
                    todo.append(name)
    return seen


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = stages(read("Dockerfile"))

    def test_stages(self):
        self.assertEqual(len(self.stages), 2)
        (b_from, build), (r_from, run) = self.stages
        self.assertRegex(b_from, r"^FROM debian:12 AS build$")
        self.assertEqual(r_from, "FROM debian:12-slim")
        joined = "\n".join(build)
        self.assertIn("scripts/deps.sh", joined)
        self.assertRegex(joined, r"cmake -S \. -B (\S+) .*cmake --build \1 --target dns01")
        self.assertIn("COPY --from=build /out/usr/local/bin/dns01 /usr/local/bin/dns01", run)
        self.assertIn('ENTRYPOINT ["dns01", "serve"]', run)
        self.assertEqual(json.loads(run[-1].split(" ", 1)[1]), ["dns01", "serve"])

    def test_non_root_user_matches_chart(self):
        users = [i.split()[1] for i in self.stages[1][1] if i.upper().startswith("USER ")]
        self.assertEqual(len(users), 1)
        uid, _, gid = users[0].partition(":")
        self.assertTrue(uid.isdigit() and int(uid) != 0, users)
        self.assertTrue(gid == "" or gid.isdigit() and int(gid) != 0, users)
        values = read("charts", "dns01-webhook", "values.yaml")
        pod = values[values.index("\npodSecurityContext:"):].split("\n\n")[0]
        self.assertEqual(re.search(r"runAsUser: (\d+)", pod).group(1), uid)
        if gid:
            self.assertEqual(re.search(r"runAsGroup: (\d+)", pod).group(1), gid)

    def test_versions_agree(self):
        project = re.search(r"project\(dns01 VERSION (\S+)", read("CMakeLists.txt")).group(1)
        chart = read("charts", "dns01-webhook", "Chart.yaml")
        self.assertEqual(re.search(r'^appVersion: "?([^"\s]+)"?', chart, re.M).group(1), project)
        values = read("charts", "dns01-webhook", "values.yaml")
        self.assertRegex(values, r'\nimage:\n(  #.*\n)*  repository: dns01\n(  #.*\n)*  tag: ""')
        self.assertIn("8443/tcp", " ".join(i for i in self.stages[1][1] if i.startswith("EXPOSE")))
        self.assertRegex(values, r"\nsecurePort: 8443\n")

    def test_runtime_packages(self):
        run_pkgs = apt_packages(self.stages[1][1])
        self.assertIn("ca-certificates", run_pkgs)
        for p in run_pkgs:
            self.assertFalse(p.endswith("-dev") or p in ("build-essential", "cmake", "pkg-config", "gcc"), p)
        if shutil.which("dpkg-query") is None or not os.path.exists(BIN):
            self.skipTest("needs dpkg and the built binary")
        ldd = subprocess.run(["ldd", BIN], capture_output=True, text=True, check=True).stdout
        libs = re.findall(r"=> (/\S+)", ldd)
        self.assertTrue(libs)
        # debian:12-slim holds the Priority: required packages and what they need.
        listing = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Priority}\n"],
                                 capture_output=True, text=True, check=True).stdout
        base = dpkg_depends_closure([ln.split()[0] for ln in listing.splitlines()
                                     if ln.endswith(" required")])
        provided = dpkg_depends_closure(run_pkgs) | base
        missing = []
        for lib in libs:
            if os.path.basename(lib).startswith(SANITIZER_LIBS):
                continue  # the ASan+UBSan build's runtime, not in the image
            real = os.path.realpath(lib)
            owner = None
            for path in (lib, real, real.replace("/lib/", "/usr/lib/", 1), lib.replace("/lib/", "/usr/lib/", 1)):
                r = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
                if r.returncode == 0:
                    owner = r.stdout.split(":")[0]
                    break
            if owner is None:
                missing.append(f"{lib} (no package owns it)")
            elif owner not in provided:
                missing.append(f"{lib} from {owner}")
        self.assertEqual(missing, [], "runtime stage lacks packages")

    def test_dockerignore_keeps_sources(self):
        patterns = [ln.strip() for ln in read(".dockerignore").splitlines()
                    if ln.strip() and not ln.startswith("#")]

        def ignored(path):
            parts = path.split("/")
            return any(fnmatch.fnmatch(path, p.strip("/")) or fnmatch.fnmatch(parts[0], p.strip("/"))
                       or (p.startswith("**/") and fnmatch.fnmatch(parts[-1], p[3:]))
                       for p in patterns)

        for p in (".git", "build", "build-asan"):
            self.assertTrue(ignored(p), p)
        r = subprocess.run(["git", "-C", SOURCE, "ls-files"], capture_output=True, text=True)
        files = r.stdout.split() if r.returncode == 0 else []
        needed = [f for f in files if f == "CMakeLists.txt" or f.startswith(
            ("cmake/", "core/", "providers/", "httpd/", "kube/", "server/", "issuer/", "cli/", "scripts/"))
            or f == "tests/CMakeLists.txt"]
        if not needed:
            self.skipTest("not a git checkout")
        self.assertEqual([f for f in needed if ignored(f)], [])
        self.assertTrue(ignored("build-x/dns01"))


if __name__ == "__main__":
    unittest.main(verbosity=1)
