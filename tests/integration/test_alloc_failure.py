"""Allocation failure drops the affected connection, never spins (issue 12,
item 3(d)), through the real binary.

`dns01 serve` runs with tests/shim/failmalloc.c preloaded: while a flag file
exists, malloc/calloc/realloc fail, as once `ulimit -v` is exhausted. With
failure on, a TLS connection sends a request: libevent's TLS read path
cannot get buffer space and tells nobody, and its read event stays armed on
a readable socket, so the loop used to spin until the head deadline (set to
60 s here, so that a prompt close is not the deadline's doing). Expected:
that connection is closed within seconds, the server's CPU time stays low,
an idle connection that sent nothing is left alone, and once allocations
work again the server serves (/healthz) on new and kept connections.

Skips (77) where a malloc shim cannot be preloaded: sanitizer builds (the
shim is not built, D01_FAILMALLOC unset) and valgrind runs.
"""
import os
import socket
import ssl
import sys
import tempfile
import time
import unittest

import harness
import pki
from test_webhook_dos import cpu_seconds
from test_webhook_limits import Raw

SHIM = os.environ.get("D01_FAILMALLOC")
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def closed_within(sock, seconds):
    """Seconds until the peer closed `sock` (EOF or reset), or None."""
    t0 = time.time()
    sock.settimeout(0.2)
    while time.time() - t0 < seconds:
        try:
            if not sock.recv(4096):
                return time.time() - t0
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (OSError, ssl.SSLError):
            return time.time() - t0
    return None


class AllocFailure(unittest.TestCase):
    def test_read_without_memory_drops_connection(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            flag = os.path.join(d, "fail-malloc")
            env = dict(os.environ, LD_PRELOAD=SHIM, D01_FAILMALLOC_FILE=flag)
            with harness.Server(p, env=env, extra=[
                    "--head-timeout", "60s", "--idle-timeout", "60s",
                    "--request-timeout", "60s", "--log-level", "info"]) as srv:
                victim, idle = Raw(srv), Raw(srv)
                # One request each first: the client's side of a TLS 1.3
                # handshake ends before the server has read its Finished,
                # and a server that reads it without memory rightly drops
                # the connection (seen on a loaded machine).
                for c in (victim, idle):
                    c.send(HEALTHZ)
                    self.assertEqual(c.reply()[0], 200)
                open(flag, "w").close()
                try:
                    time.sleep(0.2)  # the shim looks every 2 ms
                    c0, t0 = cpu_seconds(srv.proc.pid), time.time()
                    victim.send(HEALTHZ)
                    took = closed_within(victim.s, 10)
                    # A new connection meanwhile is refused, not spun on.
                    try:
                        Raw(srv)
                    except (OSError, ssl.SSLError):
                        pass
                    time.sleep(max(0.0, 3 - (time.time() - t0)))
                    used = cpu_seconds(srv.proc.pid) - c0
                    wall = time.time() - t0
                finally:
                    os.unlink(flag)
                victim.s.close()
                self.assertIsNotNone(
                    took, "connection still open 10 s after its read failed "
                    f"for lack of memory (head deadline 60 s); {used:.2f} s "
                    f"CPU in {wall:.2f} s")
                self.assertLess(used, wall * 0.3,
                                f"{used:.2f} s CPU in {wall:.2f} s")
                time.sleep(0.2)
                # Memory back: the idle connection and new ones are served.
                idle.send(HEALTHZ)
                st, _, _ = idle.reply()
                self.assertEqual(st, 200)
                idle.s.close()
                st, _, _ = srv.request("GET", "/healthz")
                self.assertEqual(st, 200)
                self.assertEqual(srv.proc.poll(), None)


if __name__ == "__main__":
    if not SHIM or "valgrind" in harness.BIN:
        print("skipped: no malloc shim (sanitizer build) or under valgrind")
        sys.exit(77)
    unittest.main()
