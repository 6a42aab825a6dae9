"""Alembic migrations of the session database (run by :mod:`romcam.storage.migrate`)."""
