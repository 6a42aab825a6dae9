"""MkDocs hook: fills the reference's tables from the code, so the reference follows it.

``<!-- romcam:schema -->`` becomes the session database's tables (``romcam.storage.schema``);
``<!-- romcam:columns sessions -->`` (``frames``, ``turns``) the export's columns with their units
and meanings (``romcam.storage.export``); ``<!-- romcam:columns mot -->`` the .mot file's angle
columns (``romcam.storage.mot``)."""

from __future__ import annotations

import re

MARK = "<!-- romcam:schema -->"
COLUMNS_MARK = re.compile(r"<!-- romcam:columns (sessions|frames|turns|mot) -->")


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
    if column.unique or any(index.unique and list(index.columns) == [column] for index in column.table.indexes):
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


def mot_markdown() -> str:
    from romcam.measure.joints import JOINTS
    from romcam.storage.mot import COORDINATES, coordinate_name

    def names(joint: str) -> str:
        sides = ("left", "right") if JOINTS[joint].kind == "limb" else (None,)
        return ", ".join(f"`{coordinate_name(joint, side)}`" for side in sides)

    rows = [f"| `{joint}` | {names(joint)} | {'yes' if opensim else 'no'} | {meaning} |"
            for joint, _, opensim, meaning in COORDINATES]
    return "\n".join(["| romcam joint | column | a coordinate of OpenSim's common models | meaning |",
                      "|---|---|---|---|", *rows])


def columns_markdown(which: str) -> str:
    if which == "mot":
        return mot_markdown()
    from romcam.storage.export import FRAME_COLUMNS, SESSION_COLUMNS, TURN_COLUMNS

    columns = {"sessions": SESSION_COLUMNS, "frames": FRAME_COLUMNS, "turns": TURN_COLUMNS}[which]
    rows = [f"| `{name}` | {unit} | {meaning} |" for name, unit, meaning in columns]
    return "\n".join(["| column | unit | meaning |", "|---|---|---|", *rows])


def on_page_markdown(markdown, page, config, files):
    if MARK in markdown:
        markdown = markdown.replace(MARK, schema_markdown())
    return COLUMNS_MARK.sub(lambda m: columns_markdown(m.group(1)), markdown)
