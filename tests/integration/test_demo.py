"""`dns01 serve --demo` prints curl and dig commands; run them exactly as
printed and watch the TXT record appear and disappear."""
import os
import signal
import subprocess
import tempfile
import time
import unittest

import harness


class Demo(unittest.TestCase):
    def test_printed_commands_work(self):
        port = harness.free_port()
        dns = harness.free_port()
        with tempfile.TemporaryFile("w+") as out:
            p = subprocess.Popen([harness.BIN, "serve", "--demo", "--secure-port",
                                  str(port), "--dns-listen", f"127.0.0.1:{dns}"],
                                 stdout=out, stderr=subprocess.DEVNULL)
            try:
                cmds = []
                deadline = time.time() + 10
                while len(cmds) < 4 and time.time() < deadline:
                    time.sleep(0.05)
                    out.seek(0)
                    cmds = [l for l in out.read().splitlines()
                            if l.startswith(("curl ", "dig "))]
                self.assertEqual([c.split()[0] for c in cmds],
                                 ["curl", "dig", "curl", "dig"], cmds)
                self.assertIn(f":{port}/", cmds[0])
                self.assertIn(f"-p {dns}", cmds[1])

                def sh(cmd):
                    return subprocess.run(cmd, shell=True, capture_output=True,
                                          text=True, timeout=10).stdout

                self.assertIn('"success":true', sh(cmds[0]))
                self.assertEqual(sh(cmds[1]).strip(), '"dns01-demo-challenge-value"')
                self.assertIn('"success":true', sh(cmds[2]))
                self.assertEqual(sh(cmds[3]).strip(), "")
            finally:
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(timeout=10), 0)


if __name__ == "__main__":
    unittest.main()
