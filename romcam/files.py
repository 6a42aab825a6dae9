"""Atomic file writing: the one home of it. A file is written to a temporary file beside it and
moved into place, so a crash leaves the old file or the new one, never half of one. Published
files get the ordinary permissions (the umask), not the 0600 of a temporary file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def temp_beside(path: Path) -> Path:
    """A new, empty temporary file in ``path``'s folder (hidden, named after ``path``)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Give a finished temporary file ordinary permissions (mkstemp makes it 0600) and move it in place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` for a temporary file beside ``path`` (whose folder must exist), then
    move the finished file into place."""
    path = Path(path)
    tmp = temp_beside(path)
    try:
        write(tmp)
        publish(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating its folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (no newline translation), creating its folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding=encoding, newline="") as fh:
            fh.write(text)

    atomic_write(path, write)
