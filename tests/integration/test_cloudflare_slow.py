"""A Cloudflare API that never answers: the webhook still answers, with
success:false naming the cause, inside its time budget (~20 s, well before
cert-manager's 30 s), and the event loop keeps serving /healthz
meanwhile."""
import os
import tempfile
import threading
import time
import unittest

import cloudflare_fake
import harness
import pki
from harness import assert_response, challenge


class Slow(unittest.TestCase):
    def test_never_answers(self):
        with tempfile.TemporaryDirectory() as d:
            p = pki.PKI(d)
            harness.write_secret(os.path.join(d, "s"), "default", "cf", "token", "test-token")
            with cloudflare_fake.Fake() as fake, \
                    harness.Server(p, zones=(), extra=["--secrets-dir", os.path.join(d, "s")],
                                   endpoints=[fake.url]) as srv:
                fake.hang = 1000  # every request, until the fake stops
                cfg = {"apiTokenSecretRef": {"name": "cf", "key": "token"}, "baseURL": fake.url}
                out = {}

                def call():
                    c = srv.client("proxy")
                    c.conn.timeout = 60
                    t0 = time.time()
                    st, _, body = c.post_challenge(challenge("Present", "S1", config=cfg),
                                                   solver="cloudflare")
                    out["elapsed"] = time.time() - t0
                    out["reply"] = (st, body)
                    c.close()

                th = threading.Thread(target=call)
                th.start()
                time.sleep(1)
                h = srv.client()
                for _ in range(20):  # the loop is not blocked
                    st, _, _ = h.request("GET", "/healthz")
                    self.assertEqual(st, 200)
                h.close()
                th.join(60)
                o = assert_response(self, out["reply"][0], out["reply"][1], False)
                msg = o["response"]["status"]["message"]
                self.assertIn("cloudflare", msg)
                # A custom endpoint's transport failures all read the
                # same (no port-scan oracle); the detail is in the log.
                self.assertIn("upstream unreachable", msg)
                self.assertIn("timed out", srv.log())
                self.assertLess(out["elapsed"], 25)
                self.assertGreater(out["elapsed"], 15)


if __name__ == "__main__":
    unittest.main()
