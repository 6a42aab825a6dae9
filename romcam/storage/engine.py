"""Connecting to the session database: an SQLite file (the default) or a PostgreSQL server given
as a URL (``postgresql://host/dbname``), both through SQLAlchemy Core.

* **SQLite**: one connection (stdlib ``sqlite3``) per :class:`~romcam.storage.store.Store`, with
  SQLite's own transactions: ``BEGIN IMMEDIATE`` for a write (the write lock is taken at once, so
  a locked file is said early), a plain ``BEGIN`` for a read; WAL, ``synchronous=FULL`` and the
  busy timeout are set by the store.
* **PostgreSQL** (driver psycopg 3): one pooled connection, checked before use, so a server that
  restarted or a network that dropped is reconnected on the next write. Credentials never come
  from the command line: a URL holding a password (``user:password@`` or ``?password=``) is
  refused; libpq reads ``PGPASSWORD``,
  ``PGPASSFILE`` or ``~/.pgpass`` (and ``PGUSER``, ``PGHOST``...) itself. URLs are shown without
  any password.

:class:`Conn` runs the store's SQL (``?`` placeholders) on either system, and rows read back
answer both ``row[0]`` and ``row["name"]``.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any
from urllib.parse import unquote
from collections.abc import Callable, Iterable

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from romcam.errors import RomcamError

URL_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
PASSWORD_KEY = "password"            # libpq's connection parameter, also taken from a URL's query
PASSWORD_HELP = ("put the password in the PGPASSWORD environment variable or in ~/.pgpass, which "
                 "PostgreSQL reads itself, and give the URL without it")


# --------------------------------------------------------------------------- URLs


def is_url(text: str) -> bool:
    """Whether a --db / ROMCAM_DB value names a PostgreSQL server rather than an SQLite file."""
    return str(text).partition("://")[0].lower() in URL_SCHEMES and "://" in str(text)


def clean_url(text: str) -> str:
    """A PostgreSQL URL as romcam keeps and shows it (``postgresql://user@host:port/db?...``);
    refuses a URL with a password (it would end up in the shell history, ``ps`` and logs)."""
    try:
        url = make_url(str(text))
    except (ArgumentError, ValueError):                    # ValueError: a port that is no number
        raise RomcamError(f"{shown_url(text)} is not a database URL (give e.g. "
                          f"postgresql://host/romcam or the path of an SQLite file)") from None
    if url.password is not None or any(key.strip().lower() == PASSWORD_KEY for key in url.query):
        raise RomcamError(f"the database URL {shown_url(text)} contains a password, and romcam never "
                          f"takes one on the command line, in ROMCAM_DB or in romcam.toml ({PASSWORD_HELP})")
    if not url.database:
        raise RomcamError(f"the database URL {shown_url(text)} names no database (give it after "
                          f"the server, e.g. postgresql://host/romcam)")
    return "postgresql://" + str(text).split("://", 1)[1]


def shown_url(text: str) -> str:
    """``text`` with any password replaced by ``***``, whatever else is wrong with it: all of the
    user info after its ``:``, and a ``password=`` query parameter with everything after it
    (both cut wide, so that an unencoded ``@``, ``?`` or ``&`` in a password never shows a part)."""
    head, sep, rest = str(text).partition("://")
    if not sep:
        return str(text)
    auth, at, host = rest.rpartition("@")
    if at and ":" in auth:
        auth = auth.split(":", 1)[0] + ":***"
    rest = f"{auth}{at}{host}"
    for match in re.finditer(r"[?&]([^=&?]*)=", rest):
        if unquote(match.group(1)).strip().lower() == PASSWORD_KEY:
            rest = rest[:match.end()] + "***"
            break
    return f"{head}{sep}{rest}"


# --------------------------------------------------------------------------- engines


def sqlite_engine(connect: Callable[[], sqlite3.Connection]) -> Engine:
    """An engine over one SQLite connection made by ``connect`` (autocommit at the driver, so
    that romcam's BEGIN/COMMIT are SQLite's own: DDL in migrations is transactional too)."""
    engine = create_engine("sqlite://", creator=connect, poolclass=StaticPool)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("romcam_write")
                             else "BEGIN")

    return engine


class PgSettings:
    """Connection settings the store may change while open (see ``Store.set_busy_timeout``)."""

    def __init__(self, timeout: float):
        self.timeout = timeout


def pg_engine(url: str, settings: PgSettings) -> Engine:
    """An engine for a PostgreSQL URL (already :func:`clean_url`): one pooled connection, pinged
    before use; short connect timeouts and TCP keepalives so a lost server is noticed in seconds.
    The driver's own log lines (psycopg's "error ignored ..." when a server goes away) are not
    printed: the error that follows says it in romcam's one line."""
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    target = make_url(url).set(drivername="postgresql+psycopg")
    engine = create_engine(target, pool_size=1, max_overflow=0, pool_pre_ping=True,
                           pool_timeout=30, connect_args={"application_name": "romcam"})

    @event.listens_for(engine, "do_connect")
    def _connect_params(dialect, conn_rec, cargs, cparams) -> None:
        wait = max(2, int(round(settings.timeout)))
        cparams.update(connect_timeout=wait, keepalives=1, keepalives_idle=5,
                       keepalives_interval=2, keepalives_count=3, tcp_user_timeout=10_000)
        cparams["options"] = f"-c lock_timeout={int(settings.timeout * 1000)}"

    return engine


# --------------------------------------------------------------------------- errors


def pg_error(exc: BaseException, where: str) -> RomcamError:
    """One clear sentence for a PostgreSQL error: what is wrong, what to do."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return RomcamError(f"the PostgreSQL server refused the login to {where} ({text}) "
                           f"({PASSWORD_HELP}; the user name goes in the URL or PGUSER)")
    if "does not exist" in low and "database" in low:
        return RomcamError(f"there is no database {where} on the server ({text}) (create it "
                           f"first, e.g. `createdb romcam`, or check the name in the URL)")
    if "permission denied" in low:
        return RomcamError(f"the PostgreSQL user has no right to do this in {where} ({text}) "
                           f"(ask the server's administrator for access to the database)")
    if "lock timeout" in low or "canceling statement" in low:
        return RomcamError(f"the database {where} is locked by another program (another romcam "
                           f"session?); wait for it to finish, then try again")
    if "read-only transaction" in low or "read only" in low:
        return RomcamError(f"the database {where} is read-only for this connection (use a "
                           f"user or server that may write)")
    if any(word in low for word in ("connection refused", "could not connect", "could not translate",
                                    "timeout expired", "connection failed", "no route to host",
                                    "server closed the connection", "connection is lost",
                                    "terminating connection", "consuming input failed",
                                    "connection is closed", "connection is bad",
                                    "connection to server", "the database system is")):
        return RomcamError(f"cannot reach the PostgreSQL server of {where} ({text}) (check that "
                           f"it runs and that host, port and network are right)")
    return RomcamError(f"database error in {where} ({text}); check the server or choose another "
                       f"database with --db")


# --------------------------------------------------------------------------- running SQL


class DbRow(tuple):
    """A row read back: ``row[0]`` or ``row["name"]`` (like ``sqlite3.Row``)."""

    _index: dict[str, int]

    def __new__(cls, values: Iterable, index: dict[str, int]) -> DbRow:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


class Result:
    """What :meth:`Conn.execute` returns: rows and the number of rows changed."""

    def __init__(self, result):
        self.rowcount = result.rowcount
        if result.returns_rows:
            index = {name: k for k, name in enumerate(result.keys())}
            self._rows = [DbRow(r, index) for r in result.fetchall()]
        else:
            self._rows = []

    def fetchall(self) -> list[DbRow]:
        return self._rows

    def fetchone(self) -> DbRow | None:
        return self._rows[0] if self._rows else None


class Conn:
    """A connection running the store's plain SQL (``?`` placeholders) on SQLite or PostgreSQL."""

    def __init__(self, conn: Connection):
        self.sa = conn
        self.postgres = conn.dialect.name == "postgresql"

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params: tuple | list = ()) -> Result:
        return Result(self.sa.exec_driver_sql(self._sql(sql), tuple(params)))

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        if rows:
            self.sa.exec_driver_sql(self._sql(sql), [tuple(r) for r in rows])

    def insert(self, sql: str, params: tuple) -> int:
        """Run an INSERT and return the new row's id."""
        return int(self.execute(sql + " RETURNING id", params).fetchone()[0])


def driver_error(exc: BaseException) -> Any:
    """The database driver's own exception inside an SQLAlchemy one (else ``exc`` itself)."""
    return getattr(exc, "orig", None) or exc
