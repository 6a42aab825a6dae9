"""`romcam db copy | version | upgrade`: thin commands over :mod:`romcam.storage.copy` and the
store's schema version (imported when a command runs, so `romcam --help` stays fast)."""

from __future__ import annotations

import click

from romcam.cli.options import DB_TYPE
from romcam.cli.store import DB_HELP


@click.group()
def db():
    """The session database itself: copy it into another one (e.g. a clinic's PostgreSQL
    server), show or upgrade its schema version."""


@db.command()
@click.option("--db", "source", type=DB_TYPE, default=None, help="Database to copy from. " + DB_HELP)
@click.option("--to", "target", type=DB_TYPE, required=True,
              help="Database to copy into: postgresql://host/dbname (password in PGPASSWORD or "
                   "~/.pgpass) or an SQLite file (created if missing).")
def copy(source, target):
    """Copy every session (with its trials, reps, turns, frames and results) into another
    database. Sessions it has already are skipped, so running it twice adds nothing."""
    from romcam.errors import RomcamError
    from romcam.files import same_file
    from romcam.storage.copy import copy_database
    from romcam.storage.store import Store, resolve_db_path
    from romcam.text import printable

    src, dst = resolve_db_path(source), resolve_db_path(target)
    if src == dst or (not isinstance(src, str) and not isinstance(dst, str) and same_file(src, dst)):
        raise RomcamError(f"--to names the database being copied ({dst}); give another database")
    with Store.open(source, readonly=True) as from_store, Store.open(target) as to_store:
        click.echo(f"copying {from_store.path} into {to_store.path}")
        count = copy_database(from_store, to_store, say=lambda line: click.echo(printable(line)))
    click.echo(count.summary())


def _version_line(store, verb: str) -> str:
    from romcam.storage.migrate import latest_version, revisions

    version = store.schema_version
    was = getattr(store, "upgraded_from", None)
    how = (f"schema v{version}" if was is None else f"schema created (v{version})" if was == 0
           else f"{verb} from v{was} to v{version}")
    return (f"{store.path}: {how} (Alembic revision {revisions()[version - 1]}; this romcam "
            f"writes v{latest_version()})")


@db.command()
@click.option("--db", "database", type=DB_TYPE, default=None, help=DB_HELP)
def version(database):
    """Show the schema version of the database (an older one is brought up to date on opening)."""
    from romcam.storage.store import Store

    with Store.open(database, readonly=True) as store:
        click.echo(_version_line(store, "upgraded on opening"))


@db.command()
@click.option("--db", "database", type=DB_TYPE, default=None, help=DB_HELP)
def upgrade(database):
    """Bring the database's schema up to this romcam's version (e.g. the clinic server, once,
    after updating romcam; every command also does it on opening)."""
    from romcam.storage.store import Store

    with Store.open(database) as store:
        click.echo(_version_line(store, "upgraded"))
