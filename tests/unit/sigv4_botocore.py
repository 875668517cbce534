"""Oracle for test_sigv4: sign each request of a JSON file with botocore's
SigV4Auth (an implementation independent of ours) at a fixed time and print
one Authorization header per line."""
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

for c in json.load(open(sys.argv[1])):
    creds = Credentials(c["akid"], c["secret"], c.get("token"))
    auth = SigV4Auth(creds, c["service"], c["region"])
    url = "https://" + c["host"] + c["path"] + ("?" + c["query"] if c["query"] else "")
    req = AWSRequest(method=c["method"], url=url, data=c["body"].encode(),
                     headers=c["headers"])
    req.context["timestamp"] = c["amz_date"]
    auth._modify_request_before_signing(req)
    canonical = auth.canonical_request(req)
    sts = auth.string_to_sign(req, canonical)
    print(auth.signature(sts, req))
