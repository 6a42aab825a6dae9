"""The JSON files of boards, angle sheets and camera profiles: reading, checking the format, writing."""

from __future__ import annotations

import json
import re
from pathlib import Path

from romcam.errors import RomcamError


def json_text(data: dict) -> str:
    """Indented JSON with each list of plain numbers kept on one line (matrix rows read as rows)."""
    text = json.dumps(data, indent=2)
    return re.sub(r"\[\s*([-+0-9.eE,\s]+?)\s*\]", lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
                  text) + "\n"


def read_json(path: Path, what: str) -> dict:
    """A JSON object from ``path``, or a RomcamError naming the file and what it should be."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RomcamError(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RomcamError(f"cannot read {what} file {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RomcamError(f"{path} is not valid JSON (line {exc.lineno}): it is not a {what} file") from None
    if not isinstance(data, dict):
        raise RomcamError(f"{path} is not a {what} file (expected a JSON object)")
    return data


def check_format(data: dict, path, expected: str, what: str, remedy: str) -> None:
    if data.get("format") != expected:
        raise RomcamError(f"{path} is not a {what} file (no \"format\": \"{expected}\" in it); {remedy}")
