"""`dns01 serve --demo` prints curl and `dns01 check` commands; run them
exactly as printed and watch the TXT record appear and disappear. Every
program they name must be one `make run` installs (scripts/deps.sh without
arguments) or dns01 itself: a fresh Debian machine has no dig."""
import os
import shlex
import json
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness


def sh(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=15)
    return r.returncode, r.stdout


def ports_free(tcp_port, udp_port):
    for kind, port in ((socket.SOCK_STREAM, tcp_port), (socket.SOCK_DGRAM, udp_port),
                       (socket.SOCK_STREAM, udp_port)):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


# Under valgrind DNS01_BIN is a wrapper; the demo prints the real binary.
REAL_BIN = os.environ.get("DNS01_REAL_BIN", harness.BIN)
SOURCE = os.environ.get("DNS01_SOURCE", ".")


def deps_run_installs():
    """The package names scripts/deps.sh installs for `make run`."""
    src = open(os.path.join(SOURCE, "scripts", "deps.sh")).read()
    m = re.search(r'^build="([^"]*)"', src, re.M)
    return m.group(1).replace("\\\n", " ").split()


class Demo(unittest.TestCase):
    def run_demo(self, args, port, dns):
        """Start the demo with `args`, run its printed commands, stop it."""
        with tempfile.TemporaryFile("w+") as out:
            # The commands may go to stdout or stderr: read both.
            p = subprocess.Popen([harness.BIN, "serve", "--demo", *args],
                                 stdout=out, stderr=subprocess.STDOUT)
            try:
                cmds, text = [], ""
                deadline = time.time() + 10
                while len(cmds) < 4 and time.time() < deadline and p.poll() is None:
                    time.sleep(0.05)
                    out.seek(0)
                    text = out.read()
                    _, _, tail = text.partition("in another shell:")
                    cmds = [l.strip() for l in tail.splitlines()
                            if l.strip() and not l.startswith(("#", "ts="))]
                progs = [shlex.split(c)[0] for c in cmds]
                self.assertEqual(len(cmds), 4, text)
                self.assertEqual(progs[0], "curl")
                self.assertEqual(progs[2], "curl")
                for prog in (progs[1], progs[3]):
                    self.assertEqual(os.path.realpath(prog),
                                     os.path.realpath(REAL_BIN), text)
                self.assertIn("curl", deps_run_installs())
                self.assertIn(f":{port}/", cmds[0])
                self.assertIn(f":{port}/", cmds[2])
                self.assertIn(f"--nameserver 127.0.0.1:{dns}", cmds[1])
                self.assertIn(f"--nameserver 127.0.0.1:{dns}", cmds[3])
                self.assertIn("--absent", cmds[3])
                self.assertIn('"Present"', cmds[0])
                self.assertIn('"CleanUp"', cmds[2])
                key = re.search(r'"key":\s*"([^"]+)"', cmds[0]).group(1)
                # Client authentication is off, and it says so loudly.
                self.assertRegex(text, r"level=(warn|error)\b.*auth")

                rc, reply = sh(cmds[0])
                self.assertEqual(rc, 0, reply)
                self.assertIs(json.loads(reply)["response"]["success"], True, reply)
                self.assertIn(key, cmds[1])
                rc, txt = sh(cmds[1])
                self.assertEqual(rc, 0, txt)
                rc, reply = sh(cmds[2])
                self.assertEqual(rc, 0, reply)
                self.assertIs(json.loads(reply)["response"]["success"], True, reply)
                rc, txt = sh(cmds[3])
                self.assertEqual(rc, 0, txt)
            finally:
                p.send_signal(signal.SIGTERM)
                try:
                    rc = p.wait(timeout=harness.STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    rc = "none (killed)"
            self.assertEqual(rc, 0)

    def test_printed_commands_work(self):
        port = harness.free_port()
        dns = harness.free_port()
        self.run_demo(["--secure-port", str(port), "--dns-listen", f"127.0.0.1:{dns}"],
                      port, dns)

    def test_defaults(self):
        # `make run` uses the defaults, 8443 and 5353; only when both are
        # free on this machine.
        if not ports_free(8443, 5353):
            self.skipTest("127.0.0.1:8443 or :5353 in use")
        self.run_demo([], 8443, 5353)


if __name__ == "__main__":
    unittest.main()
