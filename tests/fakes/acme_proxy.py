"""An HTTPS proxy in front of a real ACME server (Pebble) for the tests of
what Pebble of Debian 12 lacks: it adds `meta.profiles` and
`meta.caaIdentities` to the directory, and records the payload of every
newOrder it forwards.

Everything else passes through untouched, with the client's Host header:
Pebble builds the URLs it hands out (and checks each JWS "url") from that
Host, so every later request comes back through the proxy too, and the
signed requests verify. The proxy cannot strip a field from a signed
payload without breaking the signature, so a "profile" reaches Pebble,
which (Go's encoding/json) ignores members it does not know.

    with AcmeProxy(pebble, profiles={"shortlived": "6 days"},
                   caa_ids=["pebble.test"]) as px:
        px.directory        # https://127.0.0.1:PORT/dir
        px.new_orders       # decoded newOrder payloads, in order
        px.requests         # (method, path) of every request
"""
import base64
import http.client
import http.server
import json
import ssl
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length",
       "proxy-connection", "upgrade", "te", "trailer"}


def _b64url_json(s):
    return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _forward(self, method):
        px = self.server.proxy
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        path = urllib.parse.urlsplit(self.path).path
        with px.lock:
            px.requests.append((method, path))
        if method == "POST" and path == px.new_order_path and body:
            try:
                payload = _b64url_json(json.loads(body)["payload"])
            except (ValueError, KeyError):
                payload = None
            with px.lock:
                px.new_orders.append(payload)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in HOP}
        c = http.client.HTTPSConnection("127.0.0.1", px.target_port,
                                        context=px.client_ctx, timeout=30)
        try:
            c.request(method, self.path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            rheaders = [(k, v) for k, v in r.getheaders()
                        if k.lower() not in HOP]
            status = r.status
        finally:
            c.close()
        if method == "GET" and path == "/dir" and status == 200:
            data = px.rewrite_directory(data)
        self.send_response(status)
        for k, v in rheaders:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self._forward("GET")

    def do_HEAD(self):
        self._forward("HEAD")

    def do_POST(self):
        self._forward("POST")


class AcmeProxy:
    def __init__(self, target_port, certfile, keyfile, cafile,
                 profiles=None, caa_ids=None):
        self.target_port = target_port
        self.profiles = profiles
        self.caa_ids = caa_ids
        self.requests, self.new_orders = [], []
        self.new_order_path = None
        self.lock = threading.Lock()
        self.client_ctx = ssl.create_default_context(cafile=cafile)
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.srv.daemon_threads = True
        self.srv.proxy = self
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(certfile, keyfile)
        self.srv.socket = sctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       daemon=True)

    @classmethod
    def for_pebble(cls, p, **kw):
        """In front of a started pebble.Pebble (its own TLS certificate)."""
        import os
        return cls(p.port, os.path.join(p.dir, "tls.crt"),
                   os.path.join(p.dir, "tls.key"), p.ca_bundle, **kw)

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def rewrite_directory(self, data):
        d = json.loads(data)
        self.new_order_path = urllib.parse.urlsplit(d["newOrder"]).path
        meta = d.setdefault("meta", {})
        if self.profiles is not None:
            meta["profiles"] = self.profiles
        if self.caa_ids is not None:
            meta["caaIdentities"] = self.caa_ids
        return json.dumps(d).encode()

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.new_orders.clear()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()
        return False
