"""dns01 serve's command line: both flag forms, Go webhook flags accepted
with a warning, unknown flags and missing required ones refused (exit 2)."""
import os
import subprocess
import tempfile
import unittest

import harness
import kube_files
import pki
from harness import assert_response, challenge


class Flags(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pki = pki.PKI(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_serve(self, *args, env=None):
        return subprocess.run([harness.BIN, "serve", *args], capture_output=True,
                              text=True, timeout=10, env=env)

    def test_refusals(self):
        base = ["--tls-cert-file", self.pki.cert("serving")[0],
                "--tls-private-key-file", self.pki.cert("serving")[1],
                "--requestheader-client-ca-file", self.pki.path("proxy-ca.crt")]
        env = {k: v for k, v in os.environ.items()
               if k not in ("GROUP_NAME", "KUBERNETES_SERVICE_HOST")}
        cases = [
            (["--bogus"] + base + ["--group-name", "g"], "unknown flag"),
            (base, "group-name"),
            (base + ["--group-name", "g", "--secure-port", "x"], "secure-port"),
            (base + ["--group-name", "g", "--secure-port", "70000"], "secure-port"),
            (base + ["--group-name"], "needs a value"),
            (base + ["--group-name", "g", "--embedded-zone", "a.test"], "dns-listen"),
            (base + ["--group-name", "g", "--log-level", "loud"], "log-level"),
            (["--demo", "--bind-address", "0.0.0.0"], "loopback"),
            (base + ["--group-name", "g", "--embedded-zone", "a..b",
                     "--dns-listen", "127.0.0.1:1"], "valid DNS name"),
            (base[:2] + base[4:] + ["--group-name", "g"], "required together"),
            # Without the CA file the trust comes from the cluster, and
            # there is none here (KUBERNETES_SERVICE_HOST is unset).
            (base[:4] + ["--group-name", "g"],
             "no --requestheader-client-ca-file"),
            (base[:4] + ["--group-name", "g", "--authentication-skip-lookup"],
             "skip-lookup"),
            (base + ["--group-name", "g", "--kubeconfig", "/nonexistent"],
             "/nonexistent: No such file"),
            (base + ["--group-name", "g", "--metrics-port", "8443"],
             "metrics-port"),
            # Every numeric range, with the bound it names.
            (base + ["--group-name", "g", "--max-requests-inflight", "0"],
             "--max-requests-inflight must be 1-100000"),
            (base + ["--group-name", "g", "--max-connections", "1000001"],
             "--max-connections must be 1-1000000"),
            (base + ["--group-name", "g", "--max-upstream-connections", "0"],
             "--max-upstream-connections must be 1-100000"),
            (base + ["--group-name", "g", "--max-body-bytes-total", "1048575"],
             "--max-body-bytes-total must be at least 1048576"),
            (base + ["--group-name", "g", "--secure-port", "0"],
             "--secure-port 0 (no webhook) needs --acmedns-listen"),
            (base + ["--group-name", "g", "--secure-port", "65536"],
             "--secure-port must be 0-65535"),
            (base + ["--group-name", "g", "--embedded-store-stale-after", "500ms"],
             "--embedded-store-stale-after must be 1000-3600000"),
            (base + ["--group-name", "g", "--embedded-store-stale-after", "2h"],
             "--embedded-store-stale-after must be 1000-3600000"),
        ]
        for args, why in cases:
            with self.subTest(args=args):
                r = self.run_serve(*args, env=env)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(why, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = self.run_serve("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--requestheader-client-ca-file", r.stdout)

    def test_go_flags_and_env_group(self):
        env = dict(os.environ, GROUP_NAME=harness.GROUP)
        srv = harness.Server(self.pki, env=env, extra=[
            "--v=2", "-v", "4", "--cert-dir", "/nonexistent",
            "--authentication-token-webhook-cache-ttl=10s", "--audit-log-path=-",
            "--profiling", "--tls-min-version=VersionTLS12"])
        srv.args.remove("--group-name")
        srv.args.remove(harness.GROUP)
        with srv:
            c = srv.client("proxy")
            st, _, body = c.post_challenge(challenge("Present", "F1"))
            assert_response(self, st, body, True)
            c.close()
            log = srv.log()
            for f in ("--v", "--cert-dir", "--audit-log-path",
                      "--profiling", "--tls-min-version"):
                self.assertIn(f"event=flag_ignored flag=\"{f}\"", log)

    def test_secrets_without_source_warned(self):
        """Outside a pod, --authentication-kubeconfig reaches an API but is
        not used for Secrets: start-up says that Secret references have no
        source, and a provider that needs one says so, not "not found"."""
        kc = os.path.join(self.tmp.name, "authn.kubeconfig")
        kube_files.write_kubeconfig(kc, "https://127.0.0.1:1", token="t")
        env = {k: v for k, v in os.environ.items()
               if k != "KUBERNETES_SERVICE_HOST"}
        with harness.Server(self.pki, env=env,
                            extra=["--authentication-kubeconfig", kc]) as srv:
            self.assertRegex(srv.log(), r"level=warn event=secrets_off .*no source")
            cfg = {"nameserver": "127.0.0.1:1", "tsigKeyName": "k",
                   "tsigAlgorithm": "HMACSHA256",
                   "tsigSecretSecretRef": {"name": "tsig", "key": "k"}}
            c = srv.client("proxy")
            st, _, body = c.post_challenge(challenge("Present", "N1", config=cfg),
                                           solver="rfc2136")
            c.close()
            msg = assert_response(self, st, body, False)["response"]["status"]["message"]
            self.assertIn("Secret references have no source", msg)
        # With --secrets-dir there is a source: no warning.
        with harness.Server(self.pki, env=env,
                            extra=["--secrets-dir", self.tmp.name]) as srv:
            self.assertNotIn("secrets_off", srv.log())


if __name__ == "__main__":
    unittest.main()
