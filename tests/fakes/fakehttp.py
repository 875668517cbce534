"""The HTTP(S) plumbing the provider API fakes share, and nothing else.

A fake is a `Server` (a loopback ThreadingHTTPServer, TLS with the test
PKI when given a (cert, key) pair, served on a daemon thread, used as a
context manager) and a request handler derived from `Handler` (JSON
replies, the request body, a dropped connection, and do_<METHOD> routed to
its `_handle(method)` for the methods it lists). What a fake answers, how
it authenticates and which faults it injects stay in the fake: those are
the API's behaviour, not plumbing. Python stdlib only.
"""
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def listen(handler, tls=None, port=0, queue=256):
    """A threading HTTP server on 127.0.0.1:`port` (0: a free one), wrapped
    in TLS when `tls` is (cert, key). `queue`: the listen backlog, large
    for the fakes that take hundreds of concurrent clients."""
    class _Server(ThreadingHTTPServer):
        request_queue_size = queue
        daemon_threads = True

    httpd = _Server(("127.0.0.1", port), handler)
    if tls is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    return httpd


class Server:
    """Start with `with fake:`; on exit `stopping` is set (so hung requests
    end) and every server is shut down and closed."""

    def _listen(self, handler, tls=None, port=0, queue=256):
        """The fake's main server: sets httpd, scheme, port and thread."""
        self.httpd = listen(handler, tls, port, queue)
        self.scheme = "https" if tls is not None else "http"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.servers = [self.httpd]
        return self.httpd

    def _also(self, httpd):
        """Another server started and stopped with the main one."""
        self.servers.append(httpd)
        return httpd

    def __enter__(self):
        self.threads = [self.thread] + [
            threading.Thread(target=s.serve_forever, daemon=True) for s in self.servers[1:]]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for s in self.servers:
            s.shutdown()
            s.server_close()
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    methods = ()  # do_<M> calls self._handle(M) for each M listed

    def __getattr__(self, name):
        # Only reached for attributes the class lacks: do_<M> of a listed
        # method. Any other method stays unknown (501), as before.
        if name.startswith("do_") and name[3:] in type(self).methods:
            return lambda: self._handle(name[3:])
        raise AttributeError(name)

    def log_message(self, *a):
        pass

    def content_type(self, status):
        return "application/json"

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, obj, headers=()):
        """`obj` as JSON; None: an empty body without a Content-Type."""
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", self.content_type(status))
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self):
        """Close the connection without a reply."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass
