"""Rules about the source tree itself, checked so they cannot quietly break
again:

- every header's include guard is unique and derived from its path:
  D01_ followed by the header's trailing path components, upper-cased
  (core/env.h: D01_ENV_H or D01_CORE_ENV_H). kube/authz.h and
  issuer/authz.h once shared D01_AUTHZ_H, so including both dropped one;
- includes follow the layers of docs/DESIGN.md ("Layers and the
  dependency direction"), the same graph the linker checks for calls
  (CMakeLists.txt, d01_layer_*): a folder includes only itself and the
  folders below it;
- the design a comment cites is the one in the repository: every mention
  of DESIGN.md is docs/DESIGN.md, and a section cited by its quoted name
  exists there; nothing cites the steering notes outside the repository
  (../shared/DESIGN.md, webhook-api.md §N, providers.md §N...). No build or binary needed."""
import os
import re
import unittest

SOURCE = os.environ.get("DNS01_SOURCE") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")

# Files other work is rewriting at the same time; their stale reference is
# fixed when that work is merged, and the entry must then go (the test
# fails while a listed file no longer needs it).
PENDING = set()

SKIP_DIRS = {".git", "results", "corpus", "node_modules"}
TEXT_EXT = (".c", ".h", ".py", ".sh", ".txt", ".cmake", ".go", ".lua",
            ".yaml", ".tpl")


def tree_files(exts, names=()):
    out = []
    for root, dirs, files in os.walk(SOURCE):
        rel_root = os.path.relpath(root, SOURCE)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not (
            rel_root == "." and (d.startswith("build") or d.startswith("."))))
        for f in sorted(files):
            if f.endswith(exts) or f in names:
                out.append(os.path.normpath(os.path.join(rel_root, f)))
    return out


def read(rel):
    with open(os.path.join(SOURCE, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


def allowed_guards(rel):
    """D01_ + the last k path components, k >= 1, as identifiers."""
    parts = [re.sub(r"[^A-Za-z0-9]", "_", p).upper()
             for p in rel[:-len(".h")].split(os.sep)]
    return {"D01_" + "_".join(parts[-k:]) + "_H" for k in range(1, len(parts) + 1)}


def guard_of(text):
    """The guard of a header: its first two directives must be
    #ifndef G / #define G, and its last #endif."""
    directives = re.findall(r"^[ \t]*#[ \t]*(\w+)[ \t]*(\S*)", text, re.M)
    if len(directives) < 3 or directives[0][0] != "ifndef" or \
            directives[1] != ("define", directives[0][1]) or \
            directives[-1][0] != "endif":
        return None
    return directives[0][1]


# What each folder may include: itself and the layers below it.
LAYERS = {
    "core": {"core"},
    "providers": {"core", "providers"},
    "httpd": {"core", "httpd"},
    "kube": {"core", "httpd", "kube"},
    "store": {"core", "store"},
    "server": {"core", "providers", "httpd", "kube", "store", "server"},
    "issuer": {"core", "providers", "issuer"},
    "cli": {"core", "providers", "httpd", "kube", "store", "server", "issuer", "cli"},
}


def layer_violations(rel, text):
    """The project includes in file `rel` that its folder may not make."""
    folder = rel.split(os.sep)[0]
    out = []
    for m in re.finditer(r'^[ \t]*#[ \t]*include[ \t]*"([^"/]+)/', text, re.M):
        if m.group(1) in LAYERS and m.group(1) not in LAYERS[folder]:
            line = text.count("\n", 0, m.start()) + 1
            out.append(f"{rel}:{line}: {folder}/ includes {m.group(1)}/")
    return out


def design_sections():
    text = read(os.path.join("docs", "DESIGN.md"))
    return {m.group(1).strip() for m in re.finditer(r"^#+\s+(.+)$", text, re.M)}


class Tree(unittest.TestCase):
    def test_header_guards_unique_and_from_path(self):
        headers = tree_files((".h",))
        self.assertGreater(len(headers), 50)
        seen, bad = {}, []
        for h in headers:
            g = guard_of(read(h))
            if g is None:
                bad.append(f"{h}: no #ifndef/#define guard around the whole file")
                continue
            if g not in allowed_guards(h):
                bad.append(f"{h}: guard {g} not one of {sorted(allowed_guards(h))}")
            if g in seen:
                bad.append(f"{h}: guard {g} also used by {seen[g]}")
            seen.setdefault(g, h)
        self.assertEqual(bad, [])

    def test_guard_rule_catches_a_collision(self):
        # The rule itself: two authz.h in different folders may not both
        # take the bare name, and a foreign name is refused.
        self.assertIn("D01_KUBE_AUTHZ_H", allowed_guards(os.path.join("kube", "authz.h")))
        self.assertNotIn("D01_ISSUER_AUTHZ_H", allowed_guards(os.path.join("kube", "authz.h")))
        self.assertIsNone(guard_of("#pragma once\nint x;\n"))
        self.assertEqual(guard_of("/* c */\n#ifndef A_H\n#define A_H\n#endif\n"), "A_H")

    def test_includes_follow_the_layers(self):
        files = [f for f in tree_files((".c", ".h")) if f.split(os.sep)[0] in LAYERS]
        self.assertEqual(sorted({f.split(os.sep)[0] for f in files}), sorted(LAYERS))
        bad = [v for f in files for v in layer_violations(f, read(f))]
        self.assertEqual(bad, [])

    def test_layer_rule_catches_an_upward_include(self):
        self.assertEqual(layer_violations(os.path.join("httpd", "x.c"),
                                          '#include "core/err.h"\n#include "kube/kube.h"\n'),
                         [os.path.join("httpd", "x.c") + ":2: httpd/ includes kube/"])
        self.assertEqual(layer_violations(os.path.join("server", "x.c"),
                                          '#include "issuer/acme.h"\n'),
                         [os.path.join("server", "x.c") + ":1: server/ includes issuer/"])
        self.assertEqual(layer_violations(os.path.join("cli", "x.c"), '#include "server/daemon.h"\n'), [])

    def test_design_citations_are_in_the_repository(self):
        sections = design_sections()
        self.assertIn("The async call shape", sections)
        bad, pending_seen = [], set()
        for rel in tree_files(TEXT_EXT, ("CMakeLists.txt", "Makefile", "Dockerfile")) + \
                ["README.md"]:
            if rel == os.path.join("tests", "integration", "test_tree.py"):
                continue  # this file names the rule it checks
            text = read(rel)
            for m in re.finditer(r"(\S*)DESIGN\.md", text):
                line = text.count("\n", 0, m.start()) + 1
                prefix = m.group(1)
                if "shared" in prefix or "spec/" in prefix:
                    bad.append(f"{rel}:{line}: cites a design outside the repository")
                elif not prefix.endswith("docs/"):
                    if rel in PENDING:
                        pending_seen.add(rel)
                    else:
                        bad.append(f"{rel}:{line}: cite docs/DESIGN.md, not DESIGN.md")
                    continue
                # docs/DESIGN.md, "Section" or docs/DESIGN.md "Section"
                after = text[m.end():m.end() + 120]
                q = re.match(r'[,:]?\s*(?:#\s*)?(?:section\s*)?"([^"]+)"', after, re.S)
                if q and " ".join(q.group(1).split()) not in sections:
                    bad.append(f"{rel}:{line}: no section \"{q.group(1)}\" in docs/DESIGN.md")
            # The steering notes beside the repository are not shipped with
            # it: cite the upstream document (an RFC, an API reference).
            for m in re.finditer(r"\b(webhook-api|providers|style-anchors)(\.md)?\s*§", text):
                line = text.count("\n", 0, m.start()) + 1
                bad.append(f"{rel}:{line}: cites {m.group(0)} outside the repository")
        self.maxDiff = None
        self.assertEqual(bad, [])
        self.assertEqual(PENDING - pending_seen, set(),
                         "fixed: remove these from PENDING in test_tree.py")


if __name__ == "__main__":
    unittest.main()
