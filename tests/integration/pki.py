"""A throwaway test PKI made with the openssl CLI: the front-proxy CA and
the client certificates the webhook must accept or refuse, and a serving
CA + certificate for 127.0.0.1/localhost. Everything lives in one temporary
directory that the caller owns (pki.PKI(tmpdir))."""
import os
import subprocess


def _openssl(*args, cwd):
    subprocess.run(("openssl",) + args, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class PKI:
    def __init__(self, d):
        self.dir = d
        self._ca("proxy-ca", "front-proxy-ca")
        self._ca("other-ca", "untrusted-ca")
        self._ca("serving-ca", "serving-ca")
        self._leaf("serving", "serving-ca", "localhost",
                   "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "extendedKeyUsage=serverAuth\n")
        client = "extendedKeyUsage=clientAuth\n"
        self._leaf("proxy", "proxy-ca", "front-proxy-client", client)
        self._leaf("proxy-othercn", "proxy-ca", "someone-else", client)
        self._leaf("proxy-noeku", "proxy-ca", "front-proxy-client", "")
        self._leaf("proxy-serverauth", "proxy-ca", "front-proxy-client",
                   "extendedKeyUsage=serverAuth\n")
        self._leaf("untrusted", "other-ca", "front-proxy-client", client)
        self._leaf("expired", "proxy-ca", "front-proxy-client", client,
                   expired=True)

    def attacker_serving(self):
        """(certfile, keyfile) of a serving certificate for 127.0.0.1 and
        localhost from other-ca: a CA a tenant may name in a caBundle,
        which the operator never trusted. Made on first use."""
        if not os.path.exists(self.path("attacker-serving.crt")):
            self._leaf("attacker-serving", "other-ca", "localhost",
                       "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                       "extendedKeyUsage=serverAuth\n")
        return self.cert("attacker-serving")

    def path(self, name):
        return os.path.join(self.dir, name)

    def cert(self, name):
        """(certfile, keyfile) for a client or server certificate."""
        return (self.path(name + ".crt"), self.path(name + ".key"))

    def _key(self, name):
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-out", name + ".key", cwd=self.dir)

    def _ca(self, name, cn):
        self._key(name)
        _openssl("req", "-x509", "-new", "-key", name + ".key", "-days", "3",
                 "-subj", "/CN=" + cn, "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext",
                 "keyUsage=critical,keyCertSign,cRLSign",
                 "-out", name + ".crt", cwd=self.dir)

    def _leaf(self, name, ca, cn, ext, expired=False):
        self._key(name)
        _openssl("req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn,
                 "-out", name + ".csr", cwd=self.dir)
        with open(os.path.join(self.dir, name + ".ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\n" + ext)
        args = ["x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
                "-CAkey", ca + ".key", "-CAcreateserial", "-extfile",
                name + ".ext", "-out", name + ".crt"]
        if expired:
            # OpenSSL 3.0's x509 has no -not_after; sign with the ca
            # command, which takes explicit dates.
            self._sign_expired(name, ca)
            return
        _openssl(*(args + ["-days", "2"]), cwd=self.dir)

    def _sign_expired(self, name, ca):
        d = self.dir
        db = os.path.join(d, "ca-db")
        os.makedirs(os.path.join(db, "new"), exist_ok=True)
        open(os.path.join(db, "index.txt"), "w").close()
        with open(os.path.join(db, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(db, "ca.cnf"), "w") as f:
            f.write(f"""[ca]
default_ca = c
[c]
database = {db}/index.txt
new_certs_dir = {db}/new
serial = {db}/serial
default_md = sha256
policy = p
copy_extensions = none
unique_subject = no
[p]
commonName = supplied
""")
        _openssl("ca", "-batch", "-config", os.path.join(db, "ca.cnf"),
                 "-cert", ca + ".crt", "-keyfile", ca + ".key",
                 "-startdate", "20200101000000Z", "-enddate",
                 "20200102000000Z", "-extfile", name + ".ext",
                 "-in", name + ".csr", "-out", name + ".crt", "-notext",
                 cwd=d)
