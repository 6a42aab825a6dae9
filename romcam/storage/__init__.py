"""Storage: the session database and what leaves it as tables. Owns the SQLite schema and its
migrations (``schema``), the row types read back (``rows``), the ``Store`` with its queries
(``store``) and the CSV export (``export``). It may import the base modules and
``romcam.measure`` (the before/after outcome it stores); it must not import the session,
report or cli stages. A PostgreSQL backend and a FHIR exporter (``fhir``) belong here.
"""
