"""The README documents what the binary does: every flag `dns01 serve
--help` lists and every option `dns01 issue --help` shows appears in it,
and its Layout names every top-level source folder. (A flag missing from
the README was how --serviceaccount-dir went unnoticed.)"""
import os
import re
import subprocess
import unittest

import harness

SOURCE = os.environ.get("DNS01_SOURCE", ".")


def readme():
    with open(os.path.join(SOURCE, "README.md")) as f:
        return f.read()


def help_flags(*cmd):
    r = subprocess.run([harness.BIN, *cmd, "--help"], capture_output=True,
                       text=True, timeout=30)
    return sorted(set(re.findall(r"--[a-z][a-z0-9-]*", r.stdout + r.stderr)))


class Readme(unittest.TestCase):
    def test_serve_flags_documented(self):
        text = readme()
        flags = [f for f in help_flags("serve") if f not in ("--help", "--version")]
        self.assertGreater(len(flags), 30)
        missing = [f for f in flags if f"`{f}" not in text]
        self.assertEqual(missing, [], "serve flags missing from README.md")

    def test_issue_options_documented(self):
        text = readme()
        flags = [f for f in help_flags("issue") if f != "--help"]
        self.assertGreater(len(flags), 15)
        missing = [f for f in flags if f"`{f}" not in text and f"{f} " not in text]
        self.assertEqual(missing, [], "issue options missing from README.md")

    def test_layout_names_every_folder(self):
        text = readme()
        layout = text[text.index("## Layout"):]
        layout = layout[:layout.index("\n## ", 1)]
        dirs = [d for d in os.listdir(SOURCE)
                if os.path.isdir(os.path.join(SOURCE, d)) and not d.startswith(".")
                and not d.startswith("build") and d not in ("cmake",)]
        missing = [d for d in dirs if f"`{d}/" not in layout]
        self.assertEqual(missing, [], "folders missing from the README's Layout")


if __name__ == "__main__":
    unittest.main()
