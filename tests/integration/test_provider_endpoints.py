"""What a tenant's config can make the webhook talk to (issue 12, item 2),
through the real binary: baseURL / endpoint / stsEndpoint only to the
providers' public APIs or what the operator listed with
--allow-provider-endpoint (plain http only when listed as http://), and
an unlisted port never even sees a connection; the pod's ambient AWS
credentials never go to a custom endpoint, listed or not, while the
operator's own AWS_ENDPOINT_URL_* may take them; caBundle is PEM text,
never a file the webhook opens; what an upstream says reaches the caller
only through the API's structured error fields, truncated, with the
credential cut out in any encoding; and a listed endpoint that does not
answer reads the same whatever the reason (no port-scan oracle)."""
import base64
import json
import os
import subprocess
import tempfile
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cloudflare_fake
import harness
import pki
import route53_fake
from harness import assert_response, challenge

NAME = "_acme-challenge.www.example.test."
TOKEN = "test-token-0123456789abcdef"  # the tenant's Cloudflare token


class NotAnAPI:
    """An internal service a tenant would like to read: answers every
    request with `status` and `body`, whatever was asked."""

    def __init__(self):
        self.status, self.body, self.hits = 200, b"", 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _go(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                outer.hits += 1
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            do_GET = do_POST = do_DELETE = do_PUT = _go

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Endpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)
        with open(cls.pki.path("serving-ca.crt")) as f:
            cls.ca_pem = f.read()
        cls.cf = cloudflare_fake.Fake(token=TOKEN, tls=cls.pki.cert("serving")).__enter__()
        cls.r53 = route53_fake.Fake().__enter__()
        cls.api = NotAnAPI()
        cls.trap = harness.Trap()        # not listed at all
        cls.https_trap = harness.Trap()  # listed for https only
        cls.closed = harness.free_port()  # listed; nothing listens
        s = os.path.join(cls.tmp.name, "s")
        harness.write_secret(s, "default", "cf", "token", TOKEN)
        harness.write_secret(s, "default", "aws", "id", cls.r53.akid)
        harness.write_secret(s, "default", "aws", "secret", cls.r53.secret)
        # The pod's own credentials, and the operator's Route 53 endpoint
        # (the same fake under another name than the tenants may list).
        env = dict(os.environ, AWS_ACCESS_KEY_ID=cls.r53.akid,
                   AWS_SECRET_ACCESS_KEY=cls.r53.secret,
                   AWS_ENDPOINT_URL_ROUTE_53=f"http://localhost:{cls.r53.port}")
        cls.srv = harness.Server(
            cls.pki, zones=(), env=env, extra=["--secrets-dir", s],
            endpoints=[cls.cf.url, cls.r53.url, cls.api.url,
                       f"https://127.0.0.1:{cls.https_trap.port}",
                       f"http://127.0.0.1:{cls.closed}"]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)
        log = cls.srv.log()
        for x in (cls.cf, cls.r53):
            x.__exit__(None, None, None)
        cls.api.close()
        cls.tmp.cleanup()
        for secret in (TOKEN, cls.r53.secret):
            assert secret not in log, "credential in the server log"

    def setUp(self):
        self.cf.requests.clear()
        self.r53.requests.clear()
        self.api.hits = 0

    def call(self, solver, action, key, cfg, ambient=False):
        c = self.srv.client("proxy")
        try:
            st, _, body = c.post_challenge(challenge(action, key, config=cfg,
                                                     allowAmbientCredentials=ambient),
                                           solver=solver)
        finally:
            c.close()
        return st, body

    def fails(self, *a, **kw):
        st, body = self.call(*a, **kw)
        o = assert_response(self, st, body, False)
        return o["response"]["status"]["message"]

    def ok(self, *a, **kw):
        assert_response(self, *self.call(*a, **kw), True)

    def cf_cfg(self, **kw):
        c = {"apiTokenSecretRef": {"name": "cf", "key": "token"},
             "baseURL": self.cf.url, "caBundle": self.ca_pem}
        c.update(kw)
        return c

    def r53_cfg(self, **kw):
        c = {"accessKeyIDSecretRef": {"name": "aws", "key": "id"},
             "secretAccessKeySecretRef": {"name": "aws", "key": "secret"},
             "endpoint": self.r53.url}
        c.update(kw)
        return c

    def test_unlisted_refused_without_a_connection(self):
        trap = f"http://127.0.0.1:{self.trap.port}"
        for solver, cfg, field in (
                ("cloudflare", self.cf_cfg(baseURL=trap + "/client/v4"), "baseURL"),
                ("route53", self.r53_cfg(endpoint=trap), "endpoint"),
                ("route53", self.r53_cfg(stsEndpoint=trap, role="arn:aws:iam::1:role/x"),
                 "stsEndpoint")):
            msg = self.fails(solver, "Present", "U1", cfg)
            self.assertIn(f"{solver}: {field} {trap} is not allowed", msg)
            self.assertIn(f"--allow-provider-endpoint http://127.0.0.1:{self.trap.port}", msg)
        self.assertEqual(self.trap.connections(), 0)
        # Listed for https: plain http to it is still refused.
        http = f"http://127.0.0.1:{self.https_trap.port}"
        msg = self.fails("cloudflare", "Present", "U2", self.cf_cfg(baseURL=http))
        self.assertIn(f"--allow-provider-endpoint http://127.0.0.1:{self.https_trap.port}", msg)
        msg = self.fails("route53", "Present", "U2", self.r53_cfg(endpoint=http))
        self.assertIn("not allowed", msg)
        self.assertEqual(self.https_trap.connections(), 0)
        # A name before '@' is user info, not the host.
        msg = self.fails("cloudflare", "Present", "U3", self.cf_cfg(
            baseURL=f"https://api.cloudflare.com@127.0.0.1:{self.trap.port}/client/v4"))
        self.assertIn("without user info", msg)
        self.assertEqual(self.trap.connections(), 0)

    def test_listed_works(self):
        self.ok("cloudflare", "Present", "L1", self.cf_cfg())
        self.ok("cloudflare", "CleanUp", "L1", self.cf_cfg())
        self.ok("route53", "Present", "L1", self.r53_cfg())
        self.ok("route53", "CleanUp", "L1", self.r53_cfg())
        self.assertEqual(self.cf.txt(NAME.rstrip(".")), [])
        self.assertEqual(self.r53.values(NAME), [])

    def test_ambient_never_to_a_custom_endpoint(self):
        # Listed, yet the pod's credentials do not go there.
        for cfg, field in (({"endpoint": self.r53.url}, "endpoint"),
                           ({"stsEndpoint": self.r53.url, "role": self.r53.role_arn},
                            "stsEndpoint")):
            msg = self.fails("route53", "Present", "A1", cfg, ambient=True)
            self.assertIn(f"ambient credentials are never sent to a custom {field}", msg)
        self.assertEqual(self.r53.requests, [])
        # The operator's own endpoint (AWS_ENDPOINT_URL_ROUTE_53) may.
        self.ok("route53", "Present", "A2", {}, ambient=True)
        self.ok("route53", "CleanUp", "A2", {}, ambient=True)
        self.assertTrue(self.r53.requests)

    def test_ca_bundle_is_pem_text(self):
        for solver, base in (("cloudflare", self.cf_cfg()), ("route53", self.r53_cfg())):
            for bad in ("/etc/passwd", self.pki.path("serving-ca.crt"), "not base64 !"):
                msg = self.fails(solver, "Present", "C1", dict(base, caBundle=bad))
                self.assertIn(f"{solver}: caBundle must be PEM text", msg)
                self.assertIn("never reads it as a file path", msg)
                self.assertNotIn("root:", msg)
        self.assertEqual(self.cf.requests, [])
        self.assertEqual(self.r53.requests, [])
        # base64 of the PEM, as cert-manager's []byte fields, works too.
        b64 = base64.b64encode(self.ca_pem.encode()).decode()
        self.ok("cloudflare", "Present", "C2", self.cf_cfg(caBundle=b64))
        self.ok("cloudflare", "CleanUp", "C2", self.cf_cfg(caBundle=b64))

    def test_upstream_text_not_echoed(self):
        enc = urllib.parse.quote(TOKEN, safe="")
        # Not JSON at all: nothing of it comes back.
        self.api.status, self.api.body = 500, b"root:x:0:0:root:/root:/bin/bash " + TOKEN.encode()
        msg = self.fails("cloudflare", "Present", "E1", self.cf_cfg(baseURL=self.api.url))
        self.assertIn("not a JSON reply", msg)
        self.assertNotIn("root:x", msg)
        self.api.status = 200
        msg = self.fails("route53", "Present", "E1", self.r53_cfg(endpoint=self.api.url))
        self.assertNotIn("root:x", msg)
        # Cloudflare-shaped: only errors[].code/message, truncated, and
        # the token cut out in every spelling; other fields never.
        self.api.status = 403
        self.api.body = json.dumps({
            "success": False, "internal": "db-password=hunter2",
            "errors": [{"code": 1, "message": f"echo {TOKEN.upper()} and {enc} " + "A" * 2000}],
            "result": {"secret": "xyz-internal"}}).encode()
        msg = self.fails("cloudflare", "Present", "E2", self.cf_cfg(baseURL=self.api.url))
        self.assertIn("[1] echo [redacted] and [redacted]", msg)
        self.assertNotIn("hunter2", msg)
        self.assertNotIn("xyz-internal", msg)
        self.assertLess(msg.count("A"), 200)
        # AWS-shaped: only <Code> and <Message>, truncated.
        self.api.body = ("<ErrorResponse><Error><Code>Nope</Code><Message>"
                         + "B" * 2000 + "</Message><Detail>hunter2</Detail></Error>"
                         "</ErrorResponse>").encode()
        msg = self.fails("route53", "Present", "E3", self.r53_cfg(endpoint=self.api.url))
        self.assertIn("Nope", msg)
        self.assertNotIn("hunter2", msg)
        self.assertLessEqual(msg.count("B"), 200)
        self.assertGreater(self.api.hits, 0)

    def test_unreachable_is_not_an_oracle(self):
        # A closed port and TLS spoken to a plain-HTTP service (an http://
        # entry allows https to it too) read the same.
        closed = f"http://127.0.0.1:{self.closed}"
        tls_to_http = self.api.url.replace("http://", "https://")
        msgs = [self.fails("cloudflare", "Present", "N1", self.cf_cfg(baseURL=closed)),
                self.fails("route53", "Present", "N1", self.r53_cfg(endpoint=closed)),
                self.fails("cloudflare", "Present", "N2", self.cf_cfg(baseURL=tls_to_http))]
        for m in msgs:
            self.assertTrue(m.endswith(": upstream unreachable (details in the "
                                       "webhook's debug log)"), m)
            for detail in ("refused", "Failed to connect", str(self.closed), "SSL", "curl"):
                self.assertNotIn(detail, m)
        self.assertIn("upstream_unreachable", self.srv.log())


class Flag(unittest.TestCase):
    def test_bad_entries_stop_start_up(self):
        for bad in ("https://a/b", "*", "*.com", "u@host", "ftp://h", "h:99999"):
            with tempfile.TemporaryDirectory() as d:
                p = pki.PKI(d)
                srv = harness.Server(p, zones=(), extra=["--allow-provider-endpoint", bad])
                r = subprocess.run(srv.args, capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(f"--allow-provider-endpoint {bad}: want HOST[:PORT]", r.stderr)


if __name__ == "__main__":
    unittest.main()
