"""Files romcam writes: the one home of the rules for them.

* **Atomic writing.** A file is written to a temporary file beside it and moved into place, so a
  crash leaves the old file or the new one, never half of one. A new file gets the ordinary
  permissions (the umask), not the 0600 of a temporary file; a replaced file keeps its own
  permissions, and a symlink is written through (its target is replaced, the link stays).
* **May I write this output?** (:func:`check_output`, called before any long work starts)
  romcam never replaces a file it did not create in this run unless the user passed
  ``--overwrite``; an output that is one of the command's inputs (same file after resolving
  symlinks, or same inode) is refused even then; the folder must exist (a typo must not create
  a tree somewhere unexpected); and the folder must take a small probe write, so a read-only or
  full disk is said in one line before the work, not after it.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path
from collections.abc import Callable, Iterable

from romcam.errors import RomcamError

_CREATED: dict[str, tuple] = {}     # real path -> identity of the files this process wrote
PROBE_BYTES = 64 * 1024             # what a folder must take before long work starts


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(path))


def _identity(real: str) -> tuple | None:
    try:
        st = os.stat(real)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def created_this_run(path: str | os.PathLike) -> bool:
    """Whether romcam itself wrote ``path`` earlier in this process, and nobody changed it since."""
    real = _real(path)
    return real in _CREATED and _CREATED[real] == _identity(real)


def mark_created(path: str | os.PathLike) -> None:
    """Remember that romcam wrote ``path`` in this run (it may be replaced again)."""
    real = _real(path)
    _CREATED[real] = _identity(real)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """The same file: equal after resolving symlinks, or the same inode (hard links, bind mounts)."""
    if _real(a) == _real(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def disk_error(exc: OSError, where: str | os.PathLike, option: str) -> RomcamError:
    """One line for a failed write: what went wrong where, and what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RomcamError(f"the disk holding {where} is full (free some space, or choose "
                           f"another place with {option})")
    if exc.errno == errno.EROFS:
        return RomcamError(f"{where} is on a read-only disk (choose another place with {option})")
    return RomcamError(f"cannot write {where}: {exc.strerror or exc} (check the folder's "
                       f"permissions, or choose another place with {option})")


def probe_folder(folder: Path, option: str, nbytes: int = PROBE_BYTES) -> None:
    """Refuse a folder romcam cannot write ``nbytes`` into (read-only, full, no permission),
    leaving nothing behind."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".romcam-probe.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0" * nbytes)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise disk_error(exc, folder, option) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def check_folder(folder: Path, option: str, create: bool = False) -> None:
    """The folder an output goes into must exist. A missing last folder whose parent exists is
    made, and that is said; a deeper missing path is refused (a typo must not create a tree).
    ``create``: romcam's own default folders, made with their parents."""
    if not create and not folder.exists() and folder.parent.is_dir():
        try:
            folder.mkdir()
        except OSError as exc:
            raise disk_error(exc, folder, option) from None
        print(f"romcam: created the folder {folder}", file=sys.stderr)
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(exc, folder, option) from None
    if not folder.exists():
        raise RomcamError(f"the folder {folder} does not exist (create it first, or check "
                          f"{option} for a typo)")
    if not folder.is_dir():
        raise RomcamError(f"{folder} is not a folder (check {option})")


def check_output(path: str | os.PathLike, option: str, *, overwrite: bool = False,
                 inputs: Iterable[str | os.PathLike | None] = (), create_folder: bool = False,
                 probe: bool = True) -> Path:
    """Check, before any long work, that ``path`` may be written (see the module notes);
    returns it. ``option`` names the option that chose it (for the message); ``inputs`` are the
    command's input files; ``create_folder`` is for romcam's own default folders."""
    path = Path(path)
    if path.is_dir():
        raise RomcamError(f"{path} is a folder (give a file name with {option})")
    for source in inputs:
        if source is not None and _exists(Path(source)) and same_file(path, source):
            raise RomcamError(f"{option} {path} is also an input of this command, and romcam "
                              f"never writes over its input (choose another file name)")
    check_folder(path.parent, option, create=create_folder)
    if _exists(path) and not overwrite and not created_this_run(path):
        raise RomcamError(f"{path} already exists and romcam did not write it in this run (pass "
                          f"--overwrite to replace it, or choose another file with {option})")
    if probe:
        probe_folder(Path(_real(path)).parent, option)
    return path


def free_name(path: str | os.PathLike) -> Path:
    """``path``, or ``stem-2.ext``, ``stem-3.ext``... : the first one that does not exist (or that
    romcam wrote in this run). For romcam's own default names, which never replace a file."""
    path = Path(path)
    candidate, n = path, 1
    while _exists(candidate) and not created_this_run(candidate):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def temp_beside(path: Path) -> Path:
    """A new, empty temporary file in ``path``'s folder (hidden, named after ``path``)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def publish(tmp: str | os.PathLike, path: str | os.PathLike, mode: int | None = None) -> None:
    """Move a finished temporary file in place. A new file gets ordinary permissions (mkstemp
    makes it 0600); a file it replaces keeps its own; a symlink is written through. ``mode``:
    the file gets these permissions, whatever it had."""
    target = Path(_real(path))
    if mode is not None:
        pass                              # as given
    elif target.exists():
        mode = stat.S_IMODE(target.stat().st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)
    os.replace(tmp, target)
    mark_created(target)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], mode: int | None = None) -> None:
    """Call ``write(tmp)`` for a temporary file beside ``path`` (whose folder must exist; beside
    the target of a symlink), then move the finished file into place (``mode``: with these
    permissions, see :func:`publish`)."""
    target = Path(_real(path))
    tmp = temp_beside(target)
    try:
        write(tmp)
        publish(tmp, target, mode)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating its folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8", mode: int | None = None) -> None:
    """Write ``text`` to ``path`` atomically (no newline translation), creating its folder if
    needed (``mode``: with these permissions)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding=encoding, newline="") as fh:
            fh.write(text)

    atomic_write(path, write, mode)
