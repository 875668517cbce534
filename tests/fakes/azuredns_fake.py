"""A strict fake of Azure DNS through Azure Resource Manager, with the
Microsoft Entra ID token endpoint and the Instance Metadata Service,
independent of the C code.

Written from Microsoft's documentation:

- Token endpoint, POST /{tenant}/oauth2/v2.0/token (form-encoded):
  grant_type=client_credentials, client_id, scope (the ARM resource +
  "/.default"), and either client_secret or client_assertion_type =
  urn:ietf:params:oauth:client-assertion-type:jwt-bearer with
  client_assertion. A client assertion (workload identity's federated
  token) is an RS256 JWT: its signature is checked with the issuer's
  public key, `aud` must be api://AzureADTokenExchange, `exp` in the
  future, `iss` and `sub` those of the federated credential. Failures
  answer {"error", "error_description"} (AADSTS codes) with 400/401.
  Tokens: {"token_type": "Bearer", "expires_in": <number>,
  "access_token"}.
- IMDS (plain HTTP, its own port), GET /metadata/identity/oauth2/token
  with api-version and resource; the header `Metadata: true` is required
  (400 otherwise); client_id or msi_res_id pick a user-assigned identity.
  expires_in is a string there, as IMDS sends it.
- ARM, .../providers/Microsoft.Network/dnsZones/{zone}/TXT/{name}
  (api-version 2018-05-01; properties.TTL, properties.TXTRecords) and
  .../privateDnsZones/... (2020-06-01; ttl, txtRecords): bearer tokens
  the fake issued and that have not expired (401 otherwise); api-version
  required; GET 200 with `etag`, or 404 NotFound; PUT with If-Match
  (the current etag) or If-None-Match: * (412 PreconditionFailed when it
  does not hold), a new etag on every write, at most 20 records per set
  (400), each value a list of strings of at most 255 bytes; DELETE with
  If-Match. The zone must exist (404 ParentResourceNotFound).
  Deliberate extra strictness: a write without If-Match or If-None-Match
  is refused (400 PreconditionRequired: dns01 must never write blind),
  and unknown members of `properties` are refused.

Faults, per test: `faults` (queued (status, retry_after, "METHOD
substring" or None) replies), `hang` (requests never answered),
`writers` (that many writes each find the set changed just before: an
"intruder-N" value added and a new etag, as a concurrent writer would),
`expire_tokens()` (every token issued so far answers 401 from now on).
Every request is logged in `requests` as (method, path); token
exchanges in `token_calls` as (kind, client_id).
"""
import base64
import json
import threading
import time
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

import fakehttp

ARM_RESOURCE = "https://management.azure.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXCHANGE_AUD = "api://AzureADTokenExchange"
API = {"dnsZones": "2018-05-01", "privateDnsZones": "2020-06-01"}
KEYS = {"dnsZones": ("TTL", "TXTRecords"), "privateDnsZones": ("ttl", "txtRecords")}
MAX_RECORDS = 20


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def arm_error(code, message):
    return {"error": {"code": code, "message": message}}


def aad_error(error, desc):
    return {"error": error, "error_description": desc, "error_codes": [0],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())}


class Fake(fakehttp.Server):
    def __init__(self, tenant, subscription, group, zones, tls,
                 secrets=None, federated=None, imds_identities=None, token_ttl=3599):
        """secrets: {client_id: secret}; federated: {client_id: (issuer,
        subject, public_key)}; imds_identities: {"system": name,
        client_id: name, resource_id: name}; zones: [(kind, zone)]."""
        self.tenant = tenant
        self.subscription = subscription
        self.group = group
        self.zones = set(zones)
        self.secrets = dict(secrets or {})
        self.federated = dict(federated or {})
        self.imds_identities = dict(imds_identities or {})
        self.token_ttl = token_ttl
        self.sets = {}  # (kind, zone, type, rel) -> {"etag", "ttl", "records", "metadata"}
        self.tokens = {}  # token -> (identity, expires_at)
        self.lock = threading.Lock()
        self.faults = []
        self.hang = 0
        self.writers = 0
        self.intruders = 0
        self.requests = []
        self.token_calls = []
        self.stopping = threading.Event()
        fake = self

        class H(fakehttp.Handler):
            methods = ("GET", "POST", "PUT", "DELETE", "PATCH")

            def content_type(self, status):
                return "application/json; charset=utf-8"

            def _handle(self, method):
                body = self._body()
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
                    status, retry = fault[0], fault[1]
                    hdrs = [("Retry-After", str(retry))] if retry is not None else []
                    code = "TooManyRequests" if status == 429 else "InternalServerError"
                    return self._send(status, arm_error(code, "fault injected"), hdrs)
                status, obj, hdrs = fake.route(method, self.path, body, self.headers,
                                               self.server.imds)
                self._send(status, obj, hdrs)

        self._listen(H, tls).imds = False
        self.imds_httpd = self._also(fakehttp.listen(H))
        self.imds_httpd.imds = True
        self.imds_port = self.imds_httpd.server_address[1]

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    @property
    def imds_url(self):
        return f"http://127.0.0.1:{self.imds_port}"

    def take_fault(self, method, path):
        for i, f in enumerate(self.faults):
            f = tuple(f) + (None,) * (3 - len(f))
            if f[2] is not None:
                want, part = f[2].split(" ", 1)
                if want != method or part not in path:
                    continue
            self.faults.pop(i)
            return f
        return None

    # -- the test's view of the zone ------------------------------------

    def put_set(self, kind, zone, rel, values, ttl=300, type_="TXT", metadata=None):
        with self.lock:
            self.sets[(kind, zone, type_, rel.lower())] = {
                "etag": str(uuid.uuid4()), "ttl": ttl,
                "records": [{"value": [v]} if isinstance(v, str) else {"value": list(v)}
                            for v in values],
                "metadata": metadata}

    def txt(self, kind, zone, rel):
        with self.lock:
            s = self.sets.get((kind, zone, "TXT", rel.lower()))
            return None if s is None else sorted("".join(r["value"]) for r in s["records"])

    def get_set(self, kind, zone, rel, type_="TXT"):
        with self.lock:
            s = self.sets.get((kind, zone, type_, rel.lower()))
            return None if s is None else json.loads(json.dumps(s))

    def expire_tokens(self):
        with self.lock:
            for t, (who, _) in list(self.tokens.items()):
                self.tokens[t] = (who, 0)

    # -- routing ----------------------------------------------------------

    def route(self, method, path, body, headers, imds):
        u = urlsplit(path)
        q = parse_qs(u.query, keep_blank_values=True)
        if imds:
            if method == "GET" and u.path == "/metadata/identity/oauth2/token":
                return self.imds_token(q, headers)
            return 404, {"error": "not_found"}, ()
        parts = [unquote(p) for p in u.path.split("/") if p]
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"] and method == "POST":
            return self.aad_token(parts[0], body, headers)
        if len(parts) == 10 and parts[0] == "subscriptions" and parts[2] == "resourceGroups" \
                and parts[4:6] == ["providers", "Microsoft.Network"] and parts[8] == "TXT":
            return self.arm(method, parts, q, body, headers)
        return 404, arm_error("InvalidResourceType", f"no route for {u.path}"), ()

    # -- tokens -----------------------------------------------------------

    def issue(self, who, as_string=False):
        tok = "fake-arm-token." + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        with self.lock:
            self.tokens[tok] = (who, time.time() + self.token_ttl)
        ttl = str(self.token_ttl) if as_string else self.token_ttl
        return {"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl,
                "access_token": tok}

    def aad_token(self, tenant, body, headers):
        if (headers.get("Content-Type") or "").split(";")[0].strip() != \
                "application/x-www-form-urlencoded":
            return 400, aad_error("invalid_request", "AADSTS900144: the request body must be "
                                  "form-encoded"), ()
        try:
            f = {k: v for k, v in parse_qs(body.decode(), keep_blank_values=True,
                                           strict_parsing=True).items()}
        except (ValueError, UnicodeDecodeError):
            return 400, aad_error("invalid_request", "AADSTS900144: malformed body"), ()
        if any(len(v) != 1 for v in f.values()):
            return 400, aad_error("invalid_request", "AADSTS90014: a parameter is repeated"), ()
        f = {k: v[0] for k, v in f.items()}
        if tenant != self.tenant:
            return 400, aad_error("invalid_request", f"AADSTS90002: Tenant '{tenant}' not "
                                  "found."), ()
        if f.get("grant_type") != "client_credentials":
            return 400, aad_error("unsupported_grant_type", "AADSTS70003: grant_type must be "
                                  "client_credentials"), ()
        if f.get("scope") != ARM_RESOURCE + "/.default":
            return 400, aad_error("invalid_scope", "AADSTS70011: The provided value for the "
                                  "input parameter 'scope' is not valid."), ()
        cid = f.get("client_id", "")
        if "client_secret" in f and "client_assertion" in f:
            return 400, aad_error("invalid_request", "AADSTS700025: both a secret and an "
                                  "assertion"), ()
        if "client_secret" in f:
            with self.lock:
                self.token_calls.append(("secret", cid))
            if cid not in self.secrets:
                return 400, aad_error("unauthorized_client", f"AADSTS700016: Application "
                                      f"with identifier '{cid}' was not found."), ()
            if f["client_secret"] != self.secrets[cid]:
                return 401, aad_error("invalid_client", "AADSTS7000215: Invalid client "
                                      "secret provided."), ()
            return 200, self.issue(("secret", cid)), ()
        if "client_assertion" in f:
            with self.lock:
                self.token_calls.append(("assertion", cid))
            if f.get("client_assertion_type") != ASSERTION_TYPE:
                return 400, aad_error("invalid_request", "AADSTS700024: client_assertion_type "
                                      "is not jwt-bearer"), ()
            why = self.check_assertion(cid, f["client_assertion"])
            if why is not None:
                return 401, aad_error("invalid_client", why), ()
            return 200, self.issue(("workload", cid)), ()
        return 401, aad_error("invalid_client", "AADSTS7000216: 'client_assertion', "
                              "'client_secret' or 'request' is required."), ()

    def check_assertion(self, cid, jwt):
        if cid not in self.federated:
            return f"AADSTS700016: Application with identifier '{cid}' has no federated credential."
        issuer, subject, key = self.federated[cid]
        try:
            h, p, s = jwt.split(".")
            header, claims = json.loads(b64d(h)), json.loads(b64d(p))
            if header.get("alg") != "RS256":
                return "AADSTS50012: the assertion is not RS256"
            key.verify(b64d(s), (h + "." + p).encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "AADSTS50012: the assertion's signature does not verify"
        except (ValueError, KeyError, TypeError, AttributeError):
            return "AADSTS50027: the assertion is not a JWT"
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        now = time.time()
        if EXCHANGE_AUD not in auds:
            return "AADSTS700212: the assertion's audience is not api://AzureADTokenExchange"
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            return "AADSTS700024: Client assertion is not within its valid time range."
        if claims.get("nbf", 0) > now + 300:
            return "AADSTS700024: Client assertion is not yet valid."
        if claims.get("iss") != issuer or claims.get("sub") != subject:
            return ("AADSTS700213: No matching federated identity record found for presented "
                    "assertion subject.")
        return None

    def imds_token(self, q, headers):
        q = {k: v[0] for k, v in q.items()}
        if headers.get("Metadata") != "true":
            return 400, {"error": "invalid_request",
                         "error_description": "Required metadata header not specified"}, ()
        if q.get("api-version") != "2018-02-01":
            return 400, {"error": "invalid_request",
                         "error_description": "Invalid or missing api-version"}, ()
        if q.get("resource") not in (ARM_RESOURCE, ARM_RESOURCE + "/"):
            return 400, {"error": "invalid_resource",
                         "error_description": "AADSTS500011: resource not found"}, ()
        sel = q.get("client_id") or q.get("msi_res_id") or "system"
        with self.lock:
            self.token_calls.append(("imds", sel))
        if sel not in self.imds_identities:
            return 400, {"error": "invalid_request",
                         "error_description": "Identity not found"}, ()
        return 200, self.issue(("imds", self.imds_identities[sel]), as_string=True), ()

    # -- ARM --------------------------------------------------------------

    def arm(self, method, parts, q, body, headers):
        sub, group, kind, zone, rel = parts[1], parts[3], parts[6], parts[7].lower(), parts[9]
        auth = headers.get("Authorization") or ""
        with self.lock:
            t = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if t is None:
            return 401, arm_error("InvalidAuthenticationToken",
                                  "The access token is invalid."), ()
        if t[1] <= time.time():
            return 401, arm_error("ExpiredAuthenticationToken", "The access token expiry "
                                  "UTC time is earlier than current UTC time."), ()
        if "api-version" not in q:
            return 400, arm_error("MissingApiVersionParameter", "The api-version query "
                                  "parameter (?api-version=) is required for all requests."), ()
        if kind not in API:
            return 404, arm_error("InvalidResourceType", f"no resource type {kind}"), ()
        if q["api-version"] != [API[kind]]:
            return 400, arm_error("InvalidApiVersionParameter", "The api-version "
                                  f"'{q['api-version'][0]}' is invalid."), ()
        if sub != self.subscription:
            return 404, arm_error("SubscriptionNotFound", f"The subscription '{sub}' could "
                                  "not be found."), ()
        if group != self.group:
            return 404, arm_error("ResourceGroupNotFound", f"Resource group '{group}' could "
                                  "not be found."), ()
        if (kind, zone) not in self.zones:
            return 404, arm_error("ParentResourceNotFound", f"Can not perform requested "
                                  f"operation on nested resource. Parent resource '{zone}' "
                                  "not found."), ()
        key = (kind, zone, "TXT", rel.lower())
        if method == "GET":
            with self.lock:
                s = self.sets.get(key)
                if s is None:
                    return 404, arm_error("NotFound", f"The resource record '{rel}' does "
                                          "not exist in resource group "
                                          f"'{group}' of subscription '{sub}'."), ()
                return 200, self.view(kind, zone, rel, s), [("ETag", s["etag"])]
        if method == "PUT":
            return self.put(kind, zone, rel, key, body, headers)
        if method == "DELETE":
            return self.delete(key, headers)
        return 405, arm_error("MethodNotAllowed", method), ()

    def view(self, kind, zone, rel, s):
        ttl, recs = KEYS[kind]
        props = {ttl: s["ttl"], recs: s["records"],
                 "fqdn": (zone if rel == "@" else f"{rel}.{zone}") + ".",
                 "provisioningState": "Succeeded"}
        if s["metadata"] is not None:
            props["metadata"] = s["metadata"]
        return {"id": f"/subscriptions/{self.subscription}/resourceGroups/{self.group}/"
                      f"providers/Microsoft.Network/{kind}/{zone}/TXT/{rel}",
                "name": rel, "type": f"Microsoft.Network/{kind}/TXT",
                "etag": s["etag"], "properties": props}

    def concurrent_writer(self, key):
        """Called under the lock before a write's precondition check."""
        if self.writers <= 0 or key not in self.sets:
            return
        self.writers -= 1
        self.intruders += 1
        s = self.sets[key]
        if len(s["records"]) < MAX_RECORDS:
            s["records"].append({"value": [f"intruder-{self.intruders}"]})
        s["etag"] = str(uuid.uuid4())

    def precondition(self, s, headers):
        im, inm = headers.get("If-Match"), headers.get("If-None-Match")
        if im is None and inm is None:
            return 400, arm_error("PreconditionRequired", "this fake requires If-Match or "
                                  "If-None-Match on every write")
        if inm is not None and (inm != "*" or im is not None):
            return 400, arm_error("BadRequest", "If-None-Match must be * alone")
        if inm == "*" and s is not None:
            return 412, arm_error("PreconditionFailed", "The condition 'If-None-Match: *' "
                                  "failed: the record set exists.")
        if im is not None and (s is None or im != s["etag"]):
            return 412, arm_error("PreconditionFailed", f"The condition 'If-Match: {im}' "
                                  "failed: the etag has changed.")
        return None

    def put(self, kind, zone, rel, key, body, headers):
        if (headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return 415, arm_error("UnsupportedMediaType", "Content-Type must be "
                                  "application/json"), ()
        try:
            o = json.loads(body)
            props = o["properties"]
            if set(o) - {"properties", "etag"} or not isinstance(props, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return 400, arm_error("BadRequest", "The request body is not a record set."), ()
        tkey, rkey = KEYS[kind]
        extra = set(props) - {tkey, rkey, "metadata"}
        if extra:
            return 400, arm_error("BadRequest", f"Unknown properties {sorted(extra)} for "
                                  f"{kind} (expected {tkey}, {rkey})"), ()
        ttl, recs = props.get(tkey), props.get(rkey)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= 2147483647:
            return 400, arm_error("BadRequest", f"{tkey} must be an integer"), ()
        if not isinstance(recs, list) or not recs:
            return 400, arm_error("BadRequest", f"{rkey} must hold at least one record"), ()
        if len(recs) > MAX_RECORDS:
            return 400, arm_error("BadRequest", f"The record set holds {len(recs)} records: "
                                  f"at most {MAX_RECORDS} records are allowed in a record "
                                  "set."), ()
        for r in recs:
            v = r.get("value") if isinstance(r, dict) else None
            if not isinstance(v, list) or not v or set(r) != {"value"} or \
                    any(not isinstance(x, str) or len(x.encode()) > 255 for x in v):
                return 400, arm_error("BadRequest", "each TXT record is {\"value\": [strings "
                                      "of at most 255 bytes]}"), ()
        with self.lock:
            self.concurrent_writer(key)
            s = self.sets.get(key)
            bad = self.precondition(s, headers)
            if bad is not None:
                return bad[0], bad[1], ()
            created = s is None
            s = {"etag": str(uuid.uuid4()), "ttl": ttl, "records": recs,
                 "metadata": props.get("metadata")}
            self.sets[key] = s
            view = self.view(kind, zone, rel, s)
        return (201 if created else 200), view, [("ETag", s["etag"])]

    def delete(self, key, headers):
        if headers.get("If-None-Match") is not None:
            return 400, arm_error("BadRequest", "If-None-Match on DELETE"), ()
        with self.lock:
            self.concurrent_writer(key)
            s = self.sets.get(key)
            if s is None:
                return 204, None, ()
            bad = self.precondition(s, headers)
            if bad is not None:
                return bad[0], bad[1], ()
            del self.sets[key]
        return 200, None, ()
