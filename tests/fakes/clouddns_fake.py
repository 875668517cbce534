"""A strict fake of Google Cloud DNS (v1), Google's OAuth token endpoint
and the GCE/GKE metadata server, independent of the C code.

Written from Google's documentation:
- Token endpoint (POST /token): an RFC 7523 jwt-bearer grant
  (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, assertion=JWT).
  The JWT is verified with the service account's public key
  (python3-cryptography): RS256 only, iss == sub == the account's email,
  aud == this endpoint's URL, scope naming Cloud DNS (or cloud-platform),
  iat within 5 minutes of now, exp after now and at most an hour after
  iat. Refusals are RFC 6749 §5.2 JSON {"error", "error_description"}.
  Success: {"access_token", "expires_in", "token_type": "Bearer"}.
- Metadata server (plain HTTP, its own port): GET
  /computeMetadata/v1/instance/service-accounts/default/token requires
  the header Metadata-Flavor: Google (403 otherwise) and refuses requests
  with X-Forwarded-For, as the real one does.
- STS (POST /v1/token, Google's Security Token Service, RFC 8693): a
  form with grant_type=urn:ietf:params:oauth:grant-type:token-exchange,
  audience == `sts_audience`, requested_token_type
  urn:ietf:params:oauth:token-type:access_token, a subject_token_type,
  a scope, and a subject_token among `subjects` (what the test wrote to
  the credential_source file). Refusals are {"error": "invalid_grant",
  "error_description"} (400). Success: {"access_token" (a federated
  token, also good for Cloud DNS), "issued_token_type", "token_type",
  "expires_in"}.
- IAM Credentials (POST /v1/projects/-/serviceAccounts/{email}:
  generateAccessToken): Bearer a federated token from STS (401
  otherwise), the account in `impersonable` (403 PERMISSION_DENIED
  otherwise), a JSON body whose "scope" list names Cloud DNS or
  cloud-platform (400 otherwise). Success: {"accessToken", "expireTime"
  (RFC 3339, an hour on)}.
- Cloud DNS under /dns/v1/projects/{project}: bearer tokens this fake
  issued and has not revoked (401 UNAUTHENTICATED otherwise); GET
  managedZones (maxResults, pageToken; `page_size` zones a page, 2 by
  default, so clients must follow nextPageToken); GET
  managedZones/{zone}/rrsets?name=&type= (name absolute, inside the
  zone); POST managedZones/{zone}/changes {"additions", "deletions"}:
  every deletion must match the current rrset exactly (ttl and the
  rrdatas as a set) or the whole change is refused with 412
  conditionNotMet; an addition whose name and type still exist after the
  deletions is 409 alreadyExists; TXT rrdatas must be quoted
  character-strings (400 invalid otherwise). Errors are Google's
  {"error": {"code", "message", "errors": [{"domain", "reason",
  "message"}], "status"}}.

Faults, per test: `faults` (queued (status, retry_after, "METHOD
substring" or None) replies), `hang` (requests never answered),
`race` (before each of the next `race` changes another writer adds a
value at the changed name, so the client's deletion no longer matches),
revoke() (every token issued so far answers 401: expired mid-run).
Every request is logged in `requests` as (method, path).
"""
import base64
import json
import re
import secrets
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SCOPES = {"https://www.googleapis.com/auth/ndev.clouddns.readwrite",
          "https://www.googleapis.com/auth/cloud-platform"}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
IAM_PREFIX = "/v1/projects/-/serviceAccounts/"
IAM_SUFFIX = ":generateAccessToken"
QUOTED = re.compile(r'^("([^"\\]|\\.)*"\s*)+$')


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def gerror(code, reason, message, status):
    return {"error": {"code": code, "message": message, "status": status,
                      "errors": [{"domain": "global", "reason": reason, "message": message}]}}


def make_key(email, project="proj-1", token_uri=None, key_id="kid-0123"):
    """(service-account JSON text, private key object) for tests."""
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode()
    d = {"type": "service_account", "project_id": project, "private_key_id": key_id,
         "private_key": pem, "client_email": email, "client_id": "1234567890",
         "auth_uri": "https://accounts.google.com/o/oauth2/auth"}
    if token_uri:
        d["token_uri"] = token_uri
    return json.dumps(d), k


class Fake:
    def __init__(self, tls, project="proj-1", page_size=2):
        self.project = project
        self.accounts = {}  # email -> public key
        self.zones = []  # {"name", "dnsName", "visibility"}
        self.rrsets = {}  # (zone, name lower, type) -> rrset
        self.tokens = {}  # token -> identity ("email" or "metadata")
        self.lock = threading.Lock()
        self.faults = []
        self.hang = 0
        self.race = 0
        self.page_size = page_size
        self.stopping = threading.Event()
        self.requests = []
        self.token_requests = []  # (kind, identity or error)
        self.changes = 0
        self.issued = []  # every access token ever handed out
        self.sts_audience = "//iam.googleapis.com/projects/123/locations/global/" \
            "workloadIdentityPools/pool/providers/prov"
        self.subjects = set()  # subject tokens STS accepts
        self.subjects_seen = []  # every subject token STS was sent
        self.federated = set()  # tokens STS issued
        self.impersonable = set()  # service accounts IAM lets them act as
        self.api_callers = []  # who each Cloud DNS request came from
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, status, obj, headers=()):
                body = b"" if obj is None else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method, metadata):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with fake.lock:
                    fake.requests.append((method, self.path))
                    hang = fake.hang > 0
                    fake.hang -= hang
                    fault = None if hang else fake.take_fault(method, self.path)
                if hang:
                    fake.stopping.wait()
                    self.close_connection = True
                    return
                if fault is not None:
                    status, retry = fault[0], (fault[1] if len(fault) > 1 else None)
                    hdrs = [("Retry-After", str(retry))] if retry is not None else []
                    return self._send(status, gerror(status, "rateLimitExceeded" if status == 429
                                                     else "backendError", "fault", "UNAVAILABLE"),
                                      hdrs)
                if metadata:
                    return self._send(*fake.metadata(method, self.path, self.headers))
                path = urlsplit(self.path).path
                if path == "/token":
                    return self._send(*fake.token(method, body, self.headers))
                if path == "/v1/token":
                    return self._send(*fake.sts(method, body, self.headers))
                if path.startswith(IAM_PREFIX) and path.endswith(IAM_SUFFIX):
                    return self._send(*fake.iam(method, path[len(IAM_PREFIX):-len(IAM_SUFFIX)],
                                                body, self.headers))
                if not path.startswith("/dns/v1/"):
                    return self._send(404, gerror(404, "notFound", "Not Found", "NOT_FOUND"))
                auth = self.headers.get("Authorization") or ""
                with fake.lock:
                    ok = auth.startswith("Bearer ") and auth[7:] in fake.tokens
                    if ok:
                        fake.api_callers.append(fake.tokens[auth[7:]])
                if not ok:
                    return self._send(401, gerror(
                        401, "authError", "Request had invalid authentication credentials.",
                        "UNAUTHENTICATED"))
                self._send(*fake.route(method, self.path, body, self.headers))

            def do_GET(self):
                self._handle("GET", self.server.metadata)

            def do_POST(self):
                self._handle("POST", self.server.metadata)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256
            daemon_threads = True
            metadata = False

        class MServer(Server):
            metadata = True

        self.httpd = Server(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.mdhttpd = MServer(("127.0.0.1", 0), H)
        self.md_port = self.mdhttpd.server_address[1]
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in (self.httpd, self.mdhttpd)]

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    @property
    def token_uri(self):
        return self.url + "/token"

    @property
    def metadata_host(self):
        return f"127.0.0.1:{self.md_port}"

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for s in (self.httpd, self.mdhttpd):
            s.shutdown()
            s.server_close()
        return False

    def take_fault(self, method, path):
        for i, f in enumerate(self.faults):
            m = f[2] if len(f) > 2 else None
            if m is not None:
                want, part = m.split(" ", 1)
                if want != method or part not in path:
                    continue
            self.faults.pop(i)
            return f
        return None

    # --- OAuth ----------------------------------------------------------
    def _issue(self, who):
        tok = "ya29." + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[tok] = who
            self.issued.append(tok)
        return {"access_token": tok, "expires_in": 3599, "token_type": "Bearer"}

    def token(self, method, body, headers):
        def refuse(error, desc, status=400):
            with self.lock:
                self.token_requests.append(("jwt", error + ": " + desc))
            return status, {"error": error, "error_description": desc}

        if method != "POST":
            return 405, {"error": "invalid_request", "error_description": "POST only"}
        if (headers.get("Content-Type") or "").split(";")[0] != "application/x-www-form-urlencoded":
            return refuse("invalid_request", "form body required")
        q = parse_qs(body.decode(), strict_parsing=True)
        if q.get("grant_type") != [JWT_BEARER] or len(q.get("assertion", [])) != 1:
            return refuse("unsupported_grant_type", "Invalid grant_type")
        parts = q["assertion"][0].split(".")
        if len(parts) != 3:
            return refuse("invalid_grant", "Invalid JWT")
        try:
            hdr, claims = json.loads(b64d(parts[0])), json.loads(b64d(parts[1]))
            sig = b64d(parts[2])
        except ValueError:
            return refuse("invalid_grant", "Invalid JWT")
        if hdr.get("alg") != "RS256":
            return refuse("invalid_grant", "Invalid JWT: alg")
        email = claims.get("iss")
        with self.lock:
            pub = self.accounts.get(email)
        if pub is None:
            return refuse("invalid_grant", "Invalid grant: account not found")
        try:
            pub.verify(sig, (parts[0] + "." + parts[1]).encode(), padding.PKCS1v15(),
                       hashes.SHA256())
        except InvalidSignature:
            return refuse("invalid_grant", "Invalid JWT Signature.")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if claims.get("sub", email) != email:
            return refuse("invalid_grant", "Invalid JWT: sub")
        if claims.get("aud") != self.token_uri:
            return refuse("invalid_grant", "Invalid JWT: aud")
        if not isinstance(iat, int) or not isinstance(exp, int) or abs(iat - now) > 300 \
                or exp <= now or exp - iat > 3600:
            return refuse("invalid_grant",
                          "Invalid JWT: Token must be a short-lived token (60 minutes) "
                          "and in a reasonable timeframe.")
        if not set(str(claims.get("scope", "")).split()) & SCOPES:
            return refuse("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        with self.lock:
            self.token_requests.append(("jwt", email))
        return 200, self._issue(email)

    def sts(self, method, body, headers):
        def refuse(error, desc, status=400):
            with self.lock:
                self.token_requests.append(("sts", error + ": " + desc))
            return status, {"error": error, "error_description": desc}

        if method != "POST":
            return 405, {"error": "invalid_request", "error_description": "POST only"}
        if (headers.get("Content-Type") or "").split(";")[0] != "application/x-www-form-urlencoded":
            return refuse("invalid_request", "form body required")
        try:
            q = parse_qs(body.decode(), strict_parsing=True)
        except ValueError:
            return refuse("invalid_request", "malformed form")
        one = {k: v[0] for k, v in q.items() if len(v) == 1}
        if len(one) != len(q):
            return refuse("invalid_request", "a parameter is repeated")
        if one.get("grant_type") != TOKEN_EXCHANGE:
            return refuse("unsupported_grant_type", "Invalid grant_type")
        if one.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            return refuse("invalid_request", "Invalid requested_token_type")
        if not one.get("subject_token_type", "").startswith("urn:ietf:params:oauth:token-type:"):
            return refuse("invalid_request", "Invalid subject_token_type")
        if not set(one.get("scope", "").split()) & SCOPES:
            return refuse("invalid_scope", "Invalid scope")
        if one.get("audience") != self.sts_audience:
            return refuse("invalid_target", "The target service indicated by the "
                          "\"audience\" parameters is invalid.")
        subject = one.get("subject_token", "")
        with self.lock:
            self.subjects_seen.append(subject)
            known = subject in self.subjects
        if not known:
            return refuse("invalid_grant", "The ID Token is invalid or expired.")
        tok = "fed." + secrets.token_urlsafe(32)
        with self.lock:
            self.token_requests.append(("sts", "ok"))
            self.federated.add(tok)
            self.tokens[tok] = "federated"
            self.issued.append(tok)
        return 200, {"access_token": tok, "issued_token_type": ACCESS_TOKEN_TYPE,
                     "token_type": "Bearer", "expires_in": 3599}

    def iam(self, method, email, body, headers):
        auth = headers.get("Authorization") or ""
        with self.lock:
            ok = auth.startswith("Bearer ") and auth[7:] in self.federated
            allowed = email in self.impersonable
        if method != "POST":
            return 404, gerror(404, "notFound", "Not Found", "NOT_FOUND")
        if not ok:
            return 401, gerror(401, "authError", "Request had invalid authentication "
                               "credentials.", "UNAUTHENTICATED")
        if (headers.get("Content-Type") or "").split(";")[0] != "application/json":
            return 400, gerror(400, "badRequest", "Content-Type", "INVALID_ARGUMENT")
        try:
            b = json.loads(body)
        except ValueError:
            return 400, gerror(400, "parseError", "Invalid JSON payload", "INVALID_ARGUMENT")
        scope = b.get("scope") if isinstance(b, dict) else None
        if not isinstance(scope, list) or not all(isinstance(x, str) for x in scope) \
                or not set(scope) & SCOPES:
            return 400, gerror(400, "badRequest", "Scope required.", "INVALID_ARGUMENT")
        if not allowed:
            with self.lock:
                self.token_requests.append(("iam", "denied " + email))
            return 403, gerror(403, "forbidden", "Permission 'iam.serviceAccounts."
                               "getAccessToken' denied on resource (or it may not exist).",
                               "PERMISSION_DENIED")
        tok = "ya29.imp." + secrets.token_urlsafe(32)
        with self.lock:
            self.token_requests.append(("iam", email))
            self.tokens[tok] = email
            self.issued.append(tok)
        return 200, {"accessToken": tok,
                     "expireTime": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                 time.gmtime(time.time() + 3600))}

    def metadata(self, method, path, headers):
        u = urlsplit(path)
        if headers.get("Metadata-Flavor") != "Google" or headers.get("X-Forwarded-For"):
            with self.lock:
                self.token_requests.append(("metadata", "no header"))
            return 403, None
        if method != "GET" or u.path != "/computeMetadata/v1/instance/service-accounts/default/token":
            return 404, None
        with self.lock:
            self.token_requests.append(("metadata", "default"))
        return 200, self._issue("metadata")

    # --- Cloud DNS ------------------------------------------------------
    def route(self, method, path, body, headers):
        u = urlsplit(path)
        parts = [p for p in u.path.split("/") if p]
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        if len(parts) < 5 or parts[:3] != ["dns", "v1", "projects"] or parts[4] != "managedZones":
            return 404, gerror(404, "notFound", "Not Found", "NOT_FOUND")
        if parts[3] != self.project:
            return 403, gerror(403, "forbidden", f"Forbidden: project {parts[3]}",
                               "PERMISSION_DENIED")
        if len(parts) == 5 and method == "GET":
            return self.list_zones(q)
        with self.lock:
            zone = next((z for z in self.zones if z["name"] == parts[5]), None) \
                if len(parts) > 5 else None
        if zone is None:
            return 404, gerror(404, "notFound",
                               f"The 'parameters.managedZone' resource named "
                               f"'{parts[5] if len(parts) > 5 else ''}' does not exist.",
                               "NOT_FOUND")
        if len(parts) == 7 and parts[6] == "rrsets" and method == "GET":
            return self.list_rrsets(zone, q)
        if len(parts) == 7 and parts[6] == "changes" and method == "POST":
            if (headers.get("Content-Type") or "").split(";")[0] != "application/json":
                return 400, gerror(400, "invalid", "Content-Type", "INVALID_ARGUMENT")
            return self.change(zone, body)
        return 404, gerror(404, "notFound", "Not Found", "NOT_FOUND")

    def list_zones(self, q):
        if set(q) - {"maxResults", "pageToken", "dnsName"}:
            return 400, gerror(400, "invalid", "unknown parameter", "INVALID_ARGUMENT")
        start = int(q.get("pageToken", "0") or 0)
        with self.lock:
            zs = [dict(z, kind="dns#managedZone") for z in self.zones
                  if "dnsName" not in q or z["dnsName"] == q["dnsName"]]
        size = min(int(q.get("maxResults", "1000")), self.page_size)
        out = {"kind": "dns#managedZonesListResponse", "managedZones": zs[start:start + size]}
        if start + size < len(zs):
            out["nextPageToken"] = str(start + size)
        return 200, out

    def _in_zone(self, zone, name):
        d = zone["dnsName"].lower()
        n = name.lower()
        return n.endswith(".") and (n == d or n.endswith("." + d))

    def list_rrsets(self, zone, q):
        if set(q) - {"name", "type", "maxResults", "pageToken"}:
            return 400, gerror(400, "invalid", "unknown parameter", "INVALID_ARGUMENT")
        name = q.get("name")
        if name is not None and not self._in_zone(zone, name):
            return 400, gerror(400, "invalid", f"Invalid value for 'parameters.name': '{name}'",
                               "INVALID_ARGUMENT")
        with self.lock:
            out = [dict(r, kind="dns#resourceRecordSet") for (z, n, t), r in sorted(self.rrsets.items())
                   if z == zone["name"] and (name is None or n == name.lower())
                   and ("type" not in q or t == q["type"])]
        return 200, {"kind": "dns#resourceRecordSetsListResponse", "rrsets": out}

    def _check_rrset(self, zone, r):
        if not isinstance(r, dict) or not isinstance(r.get("name"), str) \
                or not isinstance(r.get("type"), str) \
                or not isinstance(r.get("ttl"), int) or isinstance(r.get("ttl"), bool) \
                or r["ttl"] < 0 or not isinstance(r.get("rrdatas"), list) or not r["rrdatas"] \
                or not all(isinstance(d, str) for d in r["rrdatas"]):
            return "invalid rrset"
        if not self._in_zone(zone, r["name"]):
            return f"Invalid value for 'entity.change.additions[0].name': '{r['name']}'"
        if r["type"] == "TXT" and not all(QUOTED.match(d) for d in r["rrdatas"]):
            return "Invalid value for 'entity.change.additions[0].rrdata': TXT data must be quoted"
        return None

    def change(self, zone, body):
        try:
            c = json.loads(body)
        except ValueError:
            return 400, gerror(400, "parseError", "Parse Error", "INVALID_ARGUMENT")
        adds, dels = c.get("additions", []), c.get("deletions", [])
        if not isinstance(adds, list) or not isinstance(dels, list) or not (adds or dels) \
                or set(c) - {"additions", "deletions", "kind"}:
            return 400, gerror(400, "invalid", "The 'entity.change' parameter is required "
                               "but was missing.", "INVALID_ARGUMENT")
        for r in adds + dels:
            why = self._check_rrset(zone, r)
            if why:
                return 400, gerror(400, "invalid", why, "INVALID_ARGUMENT")
        with self.lock:
            if self.race > 0 and (adds or dels):
                self.race -= 1
                r0 = (adds or dels)[0]
                k = (zone["name"], r0["name"].lower(), r0["type"])
                cur = self.rrsets.get(k)
                v = f'"concurrent-{self.changes}"'
                self.rrsets[k] = {"name": r0["name"], "type": r0["type"],
                                  "ttl": cur["ttl"] if cur else 300,
                                  "rrdatas": (cur["rrdatas"] if cur else []) + [v]}
                self.changes += 1
            new = dict(self.rrsets)
            for r in dels:
                k = (zone["name"], r["name"].lower(), r["type"])
                cur = new.get(k)
                if cur is None or cur["ttl"] != r["ttl"] \
                        or sorted(cur["rrdatas"]) != sorted(r["rrdatas"]):
                    return 412, gerror(412, "conditionNotMet",
                                       f"Precondition not met for 'entity.change.deletions[0]'",
                                       "FAILED_PRECONDITION")
                del new[k]
            for r in adds:
                k = (zone["name"], r["name"].lower(), r["type"])
                if k in new:
                    return 409, gerror(409, "alreadyExists",
                                       f"The resource 'entity.change.additions[0]' named "
                                       f"'{r['name']} ({r['type']})' already exists",
                                       "ALREADY_EXISTS")
                if len(set(r["rrdatas"])) != len(r["rrdatas"]):
                    return 400, gerror(400, "invalid", "duplicate rrdata", "INVALID_ARGUMENT")
                new[k] = {"name": r["name"], "type": r["type"], "ttl": r["ttl"],
                          "rrdatas": list(r["rrdatas"])}
            self.rrsets = new
            self.changes += 1
            cid = str(self.changes)
        return 200, {"kind": "dns#change", "id": cid, "status": "pending",
                     "additions": adds, "deletions": dels,
                     "startTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}

    # --- for tests ------------------------------------------------------
    def add_account(self, email, key):
        with self.lock:
            self.accounts[email] = key.public_key()

    def add_zone(self, name, dns_name, visibility="public"):
        with self.lock:
            self.zones.append({"name": name, "dnsName": dns_name, "visibility": visibility,
                               "id": str(1000 + len(self.zones))})

    def put(self, zone, name, rrdatas, type_="TXT", ttl=300):
        with self.lock:
            self.rrsets[(zone, name.lower(), type_)] = {"name": name, "type": type_, "ttl": ttl,
                                                        "rrdatas": list(rrdatas)}

    def get(self, zone, name, type_="TXT"):
        with self.lock:
            r = self.rrsets.get((zone, name.lower(), type_))
            return None if r is None else dict(r, rrdatas=sorted(r["rrdatas"]))

    def revoke(self):
        with self.lock:
            self.tokens.clear()
            self.federated.clear()
