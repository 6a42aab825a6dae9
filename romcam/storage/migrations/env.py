"""Alembic's environment for romcam: run on the connection :mod:`romcam.storage.migrate` hands
over (``config.attributes["connection"]``), inside its transaction. Developers may also run
``alembic -c romcam/storage/migrations/alembic.ini -x url=sqlite:///dev.sqlite3 upgrade head``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from romcam.storage.migrate import compare_type
from romcam.storage.schema import metadata

config = context.config


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=compare_type,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:                                            # the alembic command line, for developers
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
