"""Oracle for test_jwt: PyJWT + cryptography (implementations independent
of ours).
  verify PUBKEY.pem TOKEN AUD   check a token dns01 signed; print its
                                claims as JSON (exit 1 when it fails)
  sign KEY.pem ALG              print a token PyJWT signed with KEY"""
import json
import sys

try:
    import jwt
except ImportError:  # a python3 other than Debian's (pyenv): its package
    sys.path.append("/usr/lib/python3/dist-packages")
    import jwt
from cryptography.hazmat.primitives import serialization

mode, keyfile = sys.argv[1], sys.argv[2]
with open(keyfile, "rb") as f:
    pem = f.read()
if mode == "verify":
    pub = serialization.load_pem_public_key(pem)
    header = jwt.get_unverified_header(sys.argv[3])
    claims = jwt.decode(sys.argv[3], pub, algorithms=[header["alg"]],
                        audience=sys.argv[4], options={"require": ["exp", "iat", "iss"]})
    print(json.dumps({"header": header, "claims": claims}, sort_keys=True))
elif mode == "sign":
    key = serialization.load_pem_private_key(pem, password=None)
    print(jwt.encode({"iss": "pyjwt", "aud": "dns01", "n": 42}, key,
                     algorithm=sys.argv[3], headers={"kid": "k1"}))
