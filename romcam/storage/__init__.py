"""Storage: the session database and what leaves it as tables. Owns the schema (``schema``, one
definition for SQLite and PostgreSQL, SQLAlchemy Core) and its Alembic migrations
(``migrations``, run by ``migrate``), the connections (``engine``, ``sqlite_file``), the row
types read back (``rows``), a session's metadata as it starts (``meta``: ``SessionMeta``, checked
when made), the ``Store`` with its queries (``store``, ``queries``, ``turns``, ``bulk``), the live
session's journal (``journal``), copying a database (``copy``) and the CSV export (``export``).
It may import the base modules and ``romcam.measure`` (the before/after outcome it stores);
it must not import the session, report or cli stages. A FHIR exporter (``fhir``)
belongs here.
"""
