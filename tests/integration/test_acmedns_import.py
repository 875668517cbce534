"""`dns01 acmedns import`: an acme-dns database, built here with acme-dns's
own schema (records, txt, acmedns tables) and bcrypt hashes made the way
acme-dns makes them ($2a$, cost 10), is carried over into dns01's SQLite
store; a dns01 serving that store then answers the old account's updates
with its old password, serves its old subdomain, and refuses a wrong key.
"""
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

import harness
import pg
from harness import BIN

try:
    import bcrypt
except ImportError:  # python3-bcrypt is in scripts/deps.sh test
    bcrypt = None

DOMAIN = "auth.example.test"
ACCTS = [
    # username, password, subdomain, allowfrom
    ("6e0a3c86-9b57-4b4a-8d2c-1a2b3c4d5e6f", "p" * 40,
     "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "[]"),
    ("b2c4d6e8-0a1c-4e3f-9a8b-7c6d5e4f3a2b", "Q" * 20 + "r" * 20,
     "11111111-2222-4333-8444-555555555555", '["127.0.0.0/8"]'),
]
BAD_USER = "NOT A UUID/../x"
VALUE_NEW = "A" * 42 + "Q"
VALUE_OLD = "B" * 42 + "Q"
VALUE_NEXT = "C" * 42 + "Q"


def build_acmedns_db(path, now):
    """acme-dns's schema as its db.go creates it (DBVersion 1)."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE IF NOT EXISTS acmedns(Name TEXT, Value TEXT);
        CREATE TABLE IF NOT EXISTS records(
            Username TEXT UNIQUE NOT NULL PRIMARY KEY,
            Password TEXT UNIQUE NOT NULL,
            Subdomain TEXT UNIQUE NOT NULL,
            AllowFrom TEXT);
        CREATE TABLE IF NOT EXISTS txt(
            Subdomain TEXT NOT NULL,
            Value TEXT NOT NULL DEFAULT '',
            LastUpdate INT);
        INSERT INTO acmedns (Name, Value) values('db_version', '1');
    """)
    for user, pw, sub, afrom in ACCTS:
        h = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(10, prefix=b"2a"))
        # acme-dns hands its driver the hash as bytes: a BLOB in SQLite.
        db.execute("INSERT INTO records VALUES (?, ?, ?, ?)",
                   (user, h, sub, afrom))
        db.execute("INSERT INTO txt (Subdomain, LastUpdate) VALUES (?, 0)",
                   (sub,))
        db.execute("INSERT INTO txt (Subdomain, LastUpdate) VALUES (?, 0)",
                   (sub,))
    h = bcrypt.hashpw(b"x" * 40, bcrypt.gensalt(4, prefix=b"2a"))
    db.execute("INSERT INTO records VALUES (?, ?, ?, ?)",
               (BAD_USER, h, "22222222-3333-4444-8555-666666666666", "[]"))
    sub0, sub1 = ACCTS[0][2], ACCTS[1][2]
    # Account 0 wrote one value an hour ago; account 1 one three days ago
    # (past a 24 h TTL: left out).
    db.execute("UPDATE txt SET Value=?, LastUpdate=? WHERE rowid=("
               "SELECT rowid FROM txt WHERE Subdomain=? LIMIT 1)",
               (VALUE_NEW, now - 3600, sub0))
    db.execute("UPDATE txt SET Value=?, LastUpdate=? WHERE rowid=("
               "SELECT rowid FROM txt WHERE Subdomain=? LIMIT 1)",
               (VALUE_OLD, now - 3 * 86400, sub1))
    db.commit()
    db.close()


def run(*args):
    p = subprocess.run([BIN, "acmedns", "import", *args], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


class Serve:
    """dns01 serve as an acme-dns replacement on a VM: no webhook."""

    def __init__(self, tmp, store):
        self.api = harness.free_port()
        self.dns = harness.free_port(socket.SOCK_DGRAM)
        self.logpath = os.path.join(tmp, f"serve-{self.api}.log")
        self.args = [BIN, "serve", "--secure-port", "0",
                     "--embedded-zone", DOMAIN,
                     "--dns-listen", f"127.0.0.1:{self.dns}",
                     "--embedded-store", store,
                     "--acmedns-listen", f"127.0.0.1:{self.api}",
                     "--acmedns-insecure-http",
                     "--acmedns-domain", DOMAIN, "--log-level", "debug"]

    def __enter__(self):
        self.logf = open(self.logpath, "w+")
        self.proc = subprocess.Popen(self.args, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + (60 if "valgrind" in BIN else 15)
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dns01 exited: " + self.log()[-2000:])
            try:
                if self.request("GET", "/health")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("no /health: " + self.log()[-2000:])

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.logf.close()
        return False

    def log(self):
        with open(self.logpath) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.api, timeout=30)
        try:
            c.request(method, path,
                      body=json.dumps(body) if body is not None else None,
                      headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def txt(self, name):
        return harness.dig_txt(self.dns, name)


@unittest.skipIf(bcrypt is None, "python3-bcrypt is not installed")
class Import(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="d01-import-")
        cls.src = os.path.join(cls.tmp, "acme-dns.db")
        build_acmedns_db(cls.src, int(time.time()))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_dry_run_writes_nothing_and_never_prints_a_hash(self):
        dest = os.path.join(self.tmp, "dry.db")
        rc, out, err = run("--from", "sqlite:" + self.src,
                           "--to", "sqlite:" + dest,
                           "--acmedns-domain", DOMAIN, "--dry-run")
        # The malformed account is reported, so the exit says "not all".
        self.assertEqual(rc, 1, out + err)
        self.assertFalse(os.path.exists(dest))
        for user, _, sub, _ in ACCTS:
            self.assertIn(f"account {user} subdomain {sub} "
                          f"fulldomain {sub}.{DOMAIN}.", out)
        self.assertIn(f'value {ACCTS[0][2]}.{DOMAIN}. "{VALUE_NEW}"', out)
        self.assertNotIn(VALUE_OLD, out)
        self.assertIn("would import 2 accounts and 1 values (1 values older "
                      "than the TTL left out, 1 rows skipped)", out)
        self.assertIn("skipped account", err)
        self.assertNotIn("$2a$", out + err)

    def test_import_then_old_account_updates(self):
        dest = os.path.join(self.tmp, "dns01.db")
        rc, out, err = run("--from", "sqlite:" + self.src,
                           "--to", "sqlite:" + dest,
                           "--acmedns-domain", DOMAIN)
        self.assertEqual(rc, 1, out + err)  # the one malformed row
        self.assertIn("imported 2 accounts (0 already there, kept) and 1 "
                      "values (1 older than the TTL left out); 0 failed, "
                      "1 rows skipped", out)
        self.assertNotIn("$2a$", out + err)
        # A second run changes nothing and overwrites nothing.
        rc, out, err = run("--from", "sqlite:" + self.src,
                           "--to", "sqlite:" + dest,
                           "--acmedns-domain", DOMAIN)
        self.assertIn("imported 0 accounts (2 already there, kept)", out)

        user, pw, sub, _ = ACCTS[0]
        fqdn = f"{sub}.{DOMAIN}"
        with Serve(self.tmp, "sqlite:" + dest) as s:
            self.assertEqual(s.txt(fqdn), [VALUE_NEW])
            hdr = {"X-Api-User": user, "X-Api-Key": pw,
                   "Content-Type": "application/json"}
            st, body = s.request("POST", "/update",
                                 {"subdomain": sub, "txt": VALUE_NEXT}, hdr)
            self.assertEqual(st, 200, body)
            self.assertEqual(json.loads(body), {"txt": VALUE_NEXT})
            self.assertEqual(sorted(s.txt(fqdn)), [VALUE_NEW, VALUE_NEXT])
            # The hash came over, not a blank: a wrong key is refused.
            bad = dict(hdr, **{"X-Api-Key": "z" * 40})
            st, body = s.request("POST", "/update",
                                 {"subdomain": sub, "txt": VALUE_NEXT}, bad)
            self.assertEqual(st, 401, body)
            # The second account's allowfrom came over too (127.0.0.0/8
            # admits this client): its key works on its own subdomain only.
            u1, p1, s1, _ = ACCTS[1]
            h1 = {"X-Api-User": u1, "X-Api-Key": p1}
            st, _ = s.request("POST", "/update",
                              {"subdomain": sub, "txt": VALUE_NEXT}, h1)
            self.assertEqual(st, 401)
            st, body = s.request("POST", "/update",
                                 {"subdomain": s1, "txt": VALUE_NEXT}, h1)
            self.assertEqual(st, 200, body)
            self.assertNotIn(pw, s.log())


@unittest.skipIf(bcrypt is None, "python3-bcrypt is not installed")
@unittest.skipUnless(pg.available(), "PostgreSQL 15 is not installed")
class ImportPostgres(unittest.TestCase):
    """acme-dns on PostgreSQL (its txt table has a rowid SERIAL there) into
    dns01's tables in the very same database: dns01's are prefixed, so
    both live side by side during the move."""

    @classmethod
    def setUpClass(cls):
        cls.pg = pg.Postgres()
        cls.pg.start()
        now = int(time.time())
        user, pw, sub, afrom = ACCTS[0]
        h = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(10, prefix=b"2a"))
        cls.pg.sql(f"""
            CREATE TABLE acmedns(Name TEXT, Value TEXT);
            CREATE TABLE records(Username TEXT UNIQUE NOT NULL PRIMARY KEY,
                Password TEXT UNIQUE NOT NULL, Subdomain TEXT UNIQUE NOT NULL,
                AllowFrom TEXT);
            CREATE TABLE txt(rowid SERIAL, Subdomain TEXT NOT NULL,
                Value TEXT NOT NULL DEFAULT '', LastUpdate INT);
            INSERT INTO acmedns VALUES ('db_version', '1');
            INSERT INTO records VALUES ('{user}', '{h.decode()}', '{sub}',
                '{afrom}');
            INSERT INTO txt (Subdomain, Value, LastUpdate)
                VALUES ('{sub}', '{VALUE_NEW}', {now - 60});
            INSERT INTO txt (Subdomain, LastUpdate) VALUES ('{sub}', 0);
        """)

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        cls.pg.cleanup()

    def test_postgres_to_postgres(self):
        rc, out, err = run("--from", self.pg.url, "--to", self.pg.url,
                           "--acmedns-domain", DOMAIN, "--dry-run")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("would import 1 accounts and 1 values", out)
        self.assertNotIn(self.pg.url.split(":")[2].split("@")[0], out + err)
        rc, out, err = run("--from", self.pg.url, "--to", self.pg.url,
                           "--acmedns-domain", DOMAIN)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("imported 1 accounts (0 already there, kept) and 1 "
                      "values", out)
        user, _, sub, _ = ACCTS[0]
        rows = self.pg.sql("SELECT username, subdomain, hash FROM "
                           "dns01_accounts")
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0][:2], [user, sub])
        self.assertTrue(rows[0][2].startswith("$2a$10$"))
        rows = self.pg.sql("SELECT fqdn, value FROM dns01_values")
        self.assertEqual(rows, [[f"{sub}.{DOMAIN}.", VALUE_NEW]])


if __name__ == "__main__":
    unittest.main()
