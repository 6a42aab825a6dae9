"""A throwaway PostgreSQL server for the tests: one cluster per test process (per xdist worker),
made with the server's own ``initdb`` / ``pg_ctl`` in a temporary folder, listening on a Unix
socket there and on a free TCP port of 127.0.0.1, stopped and deleted at the end; a fresh
database per test.

PostgreSQL refuses to run as root (CI runs as root): then the server runs as the ``postgres``
system user (made by Debian's ``postgresql`` package) through ``runuser``. Without the server's
binaries the tests that need it are skipped (failed under ROMCAM_REQUIRE_SYSTEM_TOOLS=1, as in
``.ci/run``, which installs them).

Logins: the socket trusts the local superuser ``romcam_admin``; TCP asks for a password
(scram-sha-256), so the credential tests use a real password check.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from system import find_tool, require_tool

ADMIN = "romcam_admin"


def bindir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl`` (``pg_config --bindir``, else the newest Debian
    /usr/lib/postgresql/<ver>/bin); the test is skipped without them (failed in CI)."""
    folders = []
    pg_config = find_tool("pg_config")
    if pg_config:
        folders.append(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
    folders += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    folders = [f for f in folders if (Path(f) / "pg_ctl").is_file()]
    return Path(require_tool("initdb", package="postgresql", also_in=tuple(folders))).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running throwaway cluster; :meth:`new_database` gives a URL of a fresh empty database."""

    def __init__(self):
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="romcam-pg-"))
        self.data, self.sock, self.log = self.root / "data", self.root / "s", self.root / "log"
        self.sock.mkdir()
        self.port = free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:                      # initdb and postgres refuse root
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._n = itertools.count(1)
        self._run("initdb", "-D", self.data, "-U", ADMIN, "-E", "UTF8", "--no-locale",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
        self.start()

    def _run(self, tool: str, *args) -> None:
        cmd = self.prefix + [str(self.bin / tool), *map(str, args)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            pytest.fail(f"{tool} failed: {done.stderr or done.stdout}\n{log[-2000:]}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def processes(self) -> list[int]:
        """The server's process ids: the postmaster (postmaster.pid) and all its children."""
        main = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == main:
                children.append(int(stat.parent.name))
        return [main, *children]

    def freeze(self) -> list[int]:
        """Stop every server process (SIGSTOP): a server that hangs, or a network that silently
        drops everything; nothing answers, not even an open connection. Returns the pids."""
        pids = self.processes()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    def thaw(self, pids: list[int]) -> None:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    def admin(self, sql: str, database: str = "postgres") -> list:
        import psycopg

        with psycopg.connect(host=str(self.sock), port=self.port, user=ADMIN, dbname=database,
                             autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def url(self, database: str) -> str:
        return f"postgresql://{ADMIN}@/{database}?host={self.sock}&port={self.port}"

    def new_database(self) -> str:
        name = f"t{os.getpid()}_{next(self._n)}"
        self.admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")               # thrown away: no shutdown checkpoint to wait for
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = Cluster()
    yield cluster
    cluster.close()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """The URL of a fresh, empty database on the throwaway server."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request, tmp_path):
    """Where a test's session database is: a new SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "db.sqlite3"
    return request.getfixturevalue("pg_cluster").new_database()


def database_of(url: str) -> str:
    """The database name of a URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).database
