"""A throwaway PostgreSQL server for the tests and the bench: initdb into a temporary folder, start it on a
free port of 127.0.0.1 (password required) and on a unix socket in that folder (no password), stop it and
remove the folder at the end.

The binaries are found on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (its `postgresql`
package does not put them on PATH), else RHEL's /usr/pgsql-<version>/bin. PostgreSQL refuses to run as
root, so as root the server runs as the `postgres` user the package creates (else `nobody`), in a folder
given to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


def bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl, or None when PostgreSQL's server is not installed."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")
    candidates = [c for c in candidates if os.access(os.path.join(c, "pg_ctl"), os.X_OK)
                  and os.access(os.path.join(c, "initdb"), os.X_OK)]
    if not candidates:
        return None
    version = lambda c: [int(n) for n in re.findall(r"\d+", c)]  # noqa: E731 - newest version first
    return Path(max(candidates, key=version))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    folder: Path
    port: int
    password: str
    user: str = "agentzoo"
    _bin: Path = field(default=Path("."), repr=False)
    _run_as: dict = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        """Over TCP, with the password (what a worker on another machine would use)."""
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/postgres"

    @property
    def socket_url(self) -> str:
        """Over the unix socket in the server's folder (trusted: no password)."""
        return f"postgresql://{self.user}@/postgres?host={self.folder}&port={self.port}"

    def database(self, name: str) -> str:
        """A new empty database on this server; the URL (with the password) of it."""
        import psycopg

        with psycopg.connect(self.socket_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.socket_url) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def stop(self) -> None:
        subprocess.run([self._bin / "pg_ctl", "stop", "-D", self.folder / "data", "-m", "immediate", "-w"],
                       capture_output=True, timeout=60, **self._run_as)
        shutil.rmtree(self.folder, ignore_errors=True)


def start(*, durable: bool = False) -> Server:
    """Start a server. `durable=False` (tests) turns fsync off; `durable=True` keeps PostgreSQL's defaults
    (an fsync'd WAL at every commit), for figures a user would see."""
    where = bin_dir()
    if where is None:
        raise FileNotFoundError("PostgreSQL's server (initdb, pg_ctl) is not installed")
    folder = Path(tempfile.mkdtemp(prefix="agentzoo-pg-"))
    run_as: dict = {}
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            account = pwd.getpwnam("nobody")
        os.chown(folder, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [], "cwd": folder}
    password = secrets.token_hex(12)
    pwfile = folder / "pw"
    pwfile.write_text(password + "\n")
    if run_as:
        os.chown(pwfile, run_as["user"], run_as["group"])
    server = Server(folder, 0, password, _bin=where, _run_as=run_as)
    try:
        subprocess.run([where / "initdb", "-D", folder / "data", "-U", server.user, "--pwfile", pwfile,
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
                       check=True, capture_output=True, timeout=120, **run_as)
        options = f"-c listen_addresses=127.0.0.1 -k {folder} -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for _ in range(5):  # a free port may be taken between choosing it and the server binding it
            server.port = _free_port()
            done = subprocess.run([where / "pg_ctl", "start", "-D", folder / "data", "-w", "-t", "60",
                                   "-l", folder / "log", "-o", f"{options} -p {server.port}"],
                                  capture_output=True, timeout=90, **run_as)
            if done.returncode == 0:
                return server
        raise RuntimeError(f"PostgreSQL did not start: {(folder / 'log').read_text()[-2000:]}")
    except BaseException:
        server.stop()
        raise
