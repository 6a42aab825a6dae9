"""MkDocs hook: replaces ``<!-- romcam:schema -->`` in a page with the session database's tables,
read from the SQLAlchemy schema (``romcam.storage.schema``), so the reference follows the code."""

from __future__ import annotations

MARK = "<!-- romcam:schema -->"


def _type(column) -> str:
    name = type(column.type).__name__.upper()
    return {"DOUBLE_PRECISION": "DOUBLE PRECISION"}.get(name, name)


def _notes(column) -> str:
    notes = []
    if column.primary_key:
        notes.append("primary key")
    for fk in column.foreign_keys:
        cascade = ", deleted with it" if fk.ondelete == "CASCADE" else ""
        notes.append(f"-> `{fk.target_fullname}`{cascade}")
    if column.unique:
        notes.append("unique")
    if not column.nullable and not column.primary_key:
        notes.append("not null")
    if column.server_default is not None:
        notes.append(f"default {column.server_default.arg.text}")
    for constraint in column.constraints:
        sqltext = getattr(constraint, "sqltext", None)
        if sqltext is not None:
            notes.append(f"`{sqltext}`")
    return ", ".join(notes)


def schema_markdown() -> str:
    from romcam.storage.schema import TABLES, metadata

    parts = []
    for name in TABLES:
        table = metadata.tables[name]
        parts.append(f"### `{name}`\n\n| column | type | constraints |\n|---|---|---|")
        parts.extend(f"| `{c.name}` | {_type(c)} | {_notes(c)} |" for c in table.columns)
        parts.append("")
    return "\n".join(parts)


def on_page_markdown(markdown, page, config, files):
    if MARK in markdown:
        return markdown.replace(MARK, schema_markdown())
    return markdown
