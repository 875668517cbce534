"""A real PostgreSQL 15 for the tests (Debian's `postgresql-15` binaries),
like bind.py and pebble.py: a fresh cluster in its own temporary directory,
on a free port of 127.0.0.1, its unix socket in that directory too, one
role `dns01` with a password (scram-sha-256 over TCP; trust on the socket,
which only this helper uses). PostgreSQL refuses to run as root: as root,
the directory is given to the `postgres` user and every command runs as it
(runuser).

    pg = Postgres()          # raises Unavailable without the binaries
    pg.start(); pg.url       # postgres://dns01:<password>@127.0.0.1:<port>/postgres
    pg.sql("SELECT ...")     # psql over the socket, the rows as text
    pg.restart(); pg.stop(); pg.cleanup()
"""
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile

BIN = "/usr/lib/postgresql/15/bin"


class Unavailable(Exception):
    pass


def available():
    return os.path.exists(os.path.join(BIN, "postgres")) and os.path.exists(
        os.path.join(BIN, "initdb"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self):
        if not os.path.exists(os.path.join(BIN, "postgres")):
            raise Unavailable(f"{BIN}/postgres not installed (scripts/deps.sh test)")
        self.as_user = []
        self.dir = tempfile.mkdtemp(prefix="dns01-pg-")
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and no postgres user")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.dir, 0o700)
        self.data = os.path.join(self.dir, "data")
        self.sock = self.dir
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.password = "pw-" + secrets.token_hex(12)
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        if self.as_user:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        self.run([f"{BIN}/initdb", "-D", self.data, "-U", "dns01", "--pwfile", pwfile,
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                  "--no-sync"])
        os.unlink(pwfile)
        self.url = f"postgres://dns01:{self.password}@127.0.0.1:{self.port}/postgres"
        self.running = False

    def run(self, argv, **kw):
        r = subprocess.run(self.as_user + argv, capture_output=True, text=True,
                           timeout=kw.pop("timeout", 120), **kw)
        if r.returncode != 0:
            raise RuntimeError(f"{argv[0]} exited {r.returncode}: {r.stdout}{r.stderr}")
        return r.stdout

    def start(self):
        # fsync off: what the tests kill is dns01, never this server's host.
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c max_connections=30 -c shared_buffers=16MB")
        self.run([f"{BIN}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60",
                  "-o", opts, "start"])
        self.running = True

    def stop(self, mode="fast"):
        if self.running:
            self.run([f"{BIN}/pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"])
        self.running = False

    def restart(self):
        self.stop()
        self.start()

    def sql(self, query):
        """Rows of `query` as lists of strings (psql over the socket)."""
        out = self.run(["psql", "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-h", self.sock, "-p", str(self.port), "-U", "dns01",
                        "-d", "postgres", "-c", query])
        return [line.split("\t") for line in out.splitlines() if line]

    def cleanup(self):
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
