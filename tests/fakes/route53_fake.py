"""A strict fake of the Route 53 REST API (2013-04-01), independent of the
C code. Every request's SigV4 signature is recomputed with botocore's
signer from the fake's own copy of the secret and must match; record-set
semantics follow the API: CREATE fails when the set exists, DELETE must
match the existing set exactly (TTL, values, SetIdentifier), a batch is
atomic, a name holds either one simple set or multivalue sets. Errors are
the API's XML shapes. Faults: queued Throttling replies.
"""
import re
import ssl
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NS = "https://route53.amazonaws.com/doc/2013-04-01/"


def err(code, msg, status=400):
    body = (f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{msg}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return status, body


def icb(msgs):
    m = "".join(f"<Message>{x}</Message>" for x in msgs)
    return 400, (f'<?xml version="1.0"?>\n<InvalidChangeBatch xmlns="{NS}"><Messages>{m}</Messages>'
                 f"<RequestId>{uuid.uuid4()}</RequestId></InvalidChangeBatch>")


class Fake:
    def __init__(self, akid="AKIDEXAMPLE", secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                 zones=(("example.test.", False),), tls=None):
        self.akid, self.secret = akid, secret
        self.zones = {f"Z{uuid.uuid4().hex[:12].upper()}": (n, p) for n, p in zones}
        # (zone_id, name, set_id) -> {"ttl", "values", "mv"}
        self.sets = {}
        # STS: temporary credentials it issued, akid -> (secret, token, expiry)
        self.temp = {}
        self.sts_calls = 0
        self.changes = {}  # change id -> GetChange calls seen
        self.sts_ttl = 3600
        self.web_token = "eyJ-test-web-identity-token"
        self.role_arn = "arn:aws:iam::123456789012:role/dns01"
        self.lock = threading.Lock()
        self.faults = []
        self.requests = []
        # (access key ID, X-Amz-Security-Token or None) of every request,
        # so a test can tell whose credentials reached this endpoint.
        self.creds_seen = []
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _go(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                status, out = fake.handle(method, self.path, dict(self.headers.items()), body)
                data = out.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._go("GET")

            def do_POST(self):
                self._go("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        if tls is not None:  # (cert, key): HTTPS
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False

    def secret_for(self, akid, headers, service):
        """The secret of a known key, or an error code."""
        if akid == self.akid:
            return self.secret, None
        t = self.temp.get(akid)
        if t is None:
            return None, "InvalidClientTokenId"
        if headers.get("X-Amz-Security-Token") != t[1]:
            return None, "InvalidClientTokenId"
        if time.time() > t[2]:
            return None, "ExpiredToken"
        return t[0], None

    def check_signature(self, method, path, headers, body, service="route53"):
        auth = headers.get("Authorization", "")
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
        if not m:
            return "IncompleteSignature"
        secret, bad = self.secret_for(m.group(1), headers, service)
        if bad:
            return bad
        if m.group(3) != "us-east-1" or m.group(4) != service:
            return "SignatureDoesNotMatch"
        signed = m.group(5).split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return "SignatureDoesNotMatch"
        h = {k: v for k, v in headers.items() if k.lower() in signed}
        req = AWSRequest(method=method, url=f"http://{headers.get('Host')}{path}",
                         data=body, headers=h)
        req.context["timestamp"] = headers.get("X-Amz-Date", "")
        creds = Credentials(m.group(1), secret, headers.get("X-Amz-Security-Token"))
        a = SigV4Auth(creds, service, "us-east-1")
        a._modify_request_before_signing(req)
        want = a.signature(a.string_to_sign(req, a.canonical_request(req)), req)
        return None if want == m.group(6) else "SignatureDoesNotMatch"

    def handle(self, method, path, headers, body):
        with self.lock:
            self.requests.append((method, path))
            m = re.search(r"Credential=([^/]+)/", headers.get("Authorization", ""))
            self.creds_seen.append((m.group(1) if m else None,
                                    headers.get("X-Amz-Security-Token")))
            if self.faults:
                return err(*self.faults.pop(0))
        if method == "POST" and urlsplit(path).path == "/":
            return self.sts(headers, body)
        bad = self.check_signature(method, path, headers, body)
        if bad:
            return err(bad, "The request signature we calculated does not match", 403)
        u = urlsplit(path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/2013-04-01/hostedzonesbyname" and method == "GET":
            zs = "".join(f"<HostedZone><Id>/hostedzone/{i}</Id><Name>{n}</Name>"
                         f"<Config><PrivateZone>{'true' if p else 'false'}</PrivateZone></Config>"
                         f"</HostedZone>" for i, (n, p) in self.zones.items())
            return 200, (f'<ListHostedZonesByNameResponse xmlns="{NS}"><HostedZones>{zs}'
                         f"</HostedZones><IsTruncated>false</IsTruncated>"
                         f"<MaxItems>100</MaxItems></ListHostedZonesByNameResponse>")
        c = re.match(r"^/2013-04-01/change/(C[A-Z0-9]+)$", u.path)
        if c and method == "GET":
            with self.lock:
                if c.group(1) not in self.changes:
                    return err("NoSuchChange", "no such change", 404)
                self.changes[c.group(1)] += 1  # PENDING once, then INSYNC
                st = "PENDING" if self.changes[c.group(1)] < 2 else "INSYNC"
            return 200, (f'<GetChangeResponse xmlns="{NS}"><ChangeInfo><Id>/change/{c.group(1)}'
                         f"</Id><Status>{st}</Status><SubmittedAt>2026-11-28T00:00:00Z</SubmittedAt>"
                         f"</ChangeInfo></GetChangeResponse>")
        m = re.match(r"^/2013-04-01/hostedzone/([A-Z0-9]+)/rrset/?$", u.path)
        if not m:
            return err("InvalidInput", "unknown path", 404)
        zid = m.group(1)
        if zid not in self.zones:
            return err("NoSuchHostedZone", f"No hosted zone found with ID: {zid}", 404)
        if method == "GET":
            return self.list(zid, q)
        if headers.get("Content-Type") != "text/xml":
            return err("InvalidInput", "content type", 400)
        return self.change(zid, body)

    def list(self, zid, q):
        with self.lock:
            items = sorted((k, v) for k, v in self.sets.items() if k[0] == zid)
        out = ""
        for (z, name, sid), v in items:
            if name < q.get("name", ""):
                continue
            rr = "".join(f"<ResourceRecord><Value>{x}</Value></ResourceRecord>" for x in v["values"])
            extra = (f"<SetIdentifier>{sid}</SetIdentifier><MultiValueAnswer>true</MultiValueAnswer>"
                     if sid else "")
            out += (f"<ResourceRecordSet><Name>{name}</Name><Type>TXT</Type>{extra}<TTL>{v['ttl']}</TTL>"
                    f"<ResourceRecords>{rr}</ResourceRecords></ResourceRecordSet>")
        return 200, (f'<ListResourceRecordSetsResponse xmlns="{NS}"><ResourceRecordSets>{out}'
                     f"</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems>"
                     f"</ListResourceRecordSetsResponse>")

    def change(self, zid, body):
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return err("InvalidInput", "malformed XML")
        changes = root.findall(f"{{{NS}}}ChangeBatch/{{{NS}}}Changes/{{{NS}}}Change")
        if not changes:
            return err("InvalidInput", "no changes")
        with self.lock:
            new = dict(self.sets)
            msgs = []
            for c in changes:
                act = c.findtext(f"{{{NS}}}Action")
                s = c.find(f"{{{NS}}}ResourceRecordSet")
                name = s.findtext(f"{{{NS}}}Name").lower()
                if not name.endswith("."):
                    name += "."
                sid = s.findtext(f"{{{NS}}}SetIdentifier") or ""
                mv = s.findtext(f"{{{NS}}}MultiValueAnswer") == "true"
                ttl = int(s.findtext(f"{{{NS}}}TTL") or 0)
                vals = [r.findtext(f"{{{NS}}}Value") for r in s.iter(f"{{{NS}}}ResourceRecord")]
                if len(vals) != len(set(vals)):
                    msgs.append("Duplicate Resource Record")
                    continue
                key = (zid, name, sid)
                if act == "CREATE":
                    others = [k for k in new if k[:2] == (zid, name)]
                    if key in new:
                        msgs.append(f"Tried to create resource record set [name='{name}', type='TXT'] but it already exists")
                    elif others and (not sid or any(not k[2] for k in others)):
                        msgs.append(f"RRSet with DNS name {name}, type TXT, SetIdentifier {sid} cannot be created because a non multivalue answer rrset exists with the same name and type")
                    else:
                        new[key] = {"ttl": ttl, "values": vals, "mv": mv}
                elif act == "DELETE":
                    cur = new.get(key)
                    if cur is None:
                        msgs.append(f"Tried to delete resource record set [name='{name}', type='TXT'] but it was not found")
                    elif cur["ttl"] != ttl or sorted(cur["values"]) != sorted(vals):
                        msgs.append(f"Tried to delete resource record set [name='{name}', type='TXT'] but the values provided do not match the current values")
                    else:
                        del new[key]
                elif act == "UPSERT":
                    new[key] = {"ttl": ttl, "values": vals, "mv": mv}
                else:
                    msgs.append(f"bad action {act}")
            if msgs:
                return icb(msgs)
            self.sets = new
            cid = "C" + uuid.uuid4().hex[:10].upper()
            self.changes[cid] = 0
        return 200, (f'<ChangeResourceRecordSetsResponse xmlns="{NS}"><ChangeInfo><Id>/change/{cid}'
                     f"</Id><Status>PENDING</Status><SubmittedAt>2026-11-28T00:00:00Z</SubmittedAt>"
                     f"</ChangeInfo></ChangeResourceRecordSetsResponse>")

    def sts(self, headers, body):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        action = form.get("Action")
        if form.get("Version") != "2011-06-15" or form.get("RoleArn") != self.role_arn:
            return err("InvalidParameterValue", "bad RoleArn or Version")
        if action == "AssumeRoleWithWebIdentity":
            if form.get("WebIdentityToken") != self.web_token:
                return err("InvalidIdentityToken", "token rejected", 400)
        elif action == "AssumeRole":
            bad = self.check_signature("POST", "/", headers, body, service="sts")
            if bad:
                return err(bad, "signature", 403)
        else:
            return err("InvalidAction", "unknown action")
        akid = "ASIA" + uuid.uuid4().hex[:16].upper()
        secret, token = uuid.uuid4().hex + uuid.uuid4().hex, "tok" + uuid.uuid4().hex
        exp = time.time() + self.sts_ttl
        with self.lock:
            self.sts_calls += 1
            self.temp[akid] = (secret, token, exp)
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
        return 200, (f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                     f"<{action}Result><Credentials><AccessKeyId>{akid}</AccessKeyId>"
                     f"<SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken>"
                     f"<Expiration>{iso}</Expiration></Credentials></{action}Result></{action}Response>")

    # for tests
    def sts_posts(self):
        """STS calls received, whether they were granted or refused."""
        with self.lock:
            return sum(1 for m, p in self.requests if m == "POST" and urlsplit(p).path == "/")

    def values(self, name):
        with self.lock:
            out = []
            for (z, n, sid), v in self.sets.items():
                if n == name:
                    out += v["values"]
            return sorted(out)

    def put(self, name, values, sid="", ttl=300):
        zid = next(iter(self.zones))
        with self.lock:
            self.sets[(zid, name, sid)] = {"ttl": ttl, "values": values, "mv": bool(sid)}
