"""No mutable file-static state under core/ or providers/ (issue 13).

Process-wide state lives in the env (core/env.h) or behind the pointer a
provider's init stores there (providers/env.h), so two envs never share
it and a reviewer finds every piece of it in one place. This test reads
the symbol tables of the object files the build made from core/ and
providers/ and fails on any data object in a writable section (.data,
.bss and their sub-sections, thread-local .tdata/.tbss): a file-scope
or function-local `static` that is not const, or a writable global.
.data.rel.ro (const tables of pointers, filled once by the loader) is
read-only after start and allowed.

The only exception is listed in ALLOWED with its reason.
"""
import glob
import os
import re
import shutil
import subprocess
import unittest

# core/log.c keeps the log level: set once from the command line before
# the loop runs, read by every d01_log() call in every layer (core,
# providers, server, issuer), most of which hold no env. Threading the env
# through each log call would buy nothing: log output is process-wide
# (stderr) anyway.
ALLOWED = {("core/log.c.o", "d01_log_level")}

WRITABLE = re.compile(r"^\.(data|bss|tdata|tbss)(\.|$)")
# Objects the compiler or a sanitizer adds, not the source's state.
TOOL = re.compile(r"^(__asan|__odr_asan|__ubsan|__sancov|__gcov|\.L|_ZL?\d*__)")


def object_dir(layer):
    """Where CMake puts the objects of the folder `layer`'s library."""
    real = os.environ.get("DNS01_REAL_BIN") or os.environ.get("DNS01_BIN",
                                                              "build/dns01")
    return os.path.join(os.path.dirname(os.path.abspath(real)),
                        "CMakeFiles", f"d01_{layer}.dir")


def writable_objects(obj, root):
    out = subprocess.run(["objdump", "-t", obj], capture_output=True,
                         text=True, check=True).stdout
    rel = os.path.relpath(obj, root)
    found = []
    for line in out.splitlines():
        # "0000000000000000 l     O .bss	0000000000000020 mac_key"
        m = re.match(r"^[0-9a-f]+ (.{7}) (\S+)\t[0-9a-f]+\s+(\S+)$", line)
        if m is None or "O" not in m.group(1):
            continue
        section, name = m.group(2), m.group(3)
        if not WRITABLE.match(section) or section.startswith(".data.rel.ro"):
            continue
        if TOOL.match(name) or (rel, name) in ALLOWED:
            continue
        found.append(f"{rel}: {name} in {section}")
    return found


class NoStatics(unittest.TestCase):
    def test_core_and_providers_have_no_writable_data(self):
        if shutil.which("objdump") is None:
            raise unittest.SkipTest("objdump (binutils) not installed")
        objs = [(o, object_dir(sub)) for sub in ("core", "providers")
                for o in glob.glob(os.path.join(object_dir(sub), sub, "**",
                                                "*.o"), recursive=True)]
        # A build that has core/ and providers/ at all: never a vacuous pass.
        self.assertGreater(len(objs), 20, object_dir("core"))
        found = [f for o, root in sorted(objs)
                 for f in writable_objects(o, root)]
        self.assertEqual(found, [], "mutable static state; move it into the "
                         "env or the provider's state (providers/env.h)")

    def test_the_check_sees_a_static(self):
        # The parser finds what it must: a known writable static.
        log = os.path.join(object_dir("core"), "core", "log.c.o")
        out = subprocess.run(["objdump", "-t", log], capture_output=True,
                             text=True, check=True).stdout
        self.assertRegex(out, r"O \.data\S*\t[0-9a-f]+\s+d01_log_level")


if __name__ == "__main__":
    unittest.main()
