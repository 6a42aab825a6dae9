"""A recorded visit in the app, the pure parts: the marks a clinician drags on the timeline as the
``--phases`` and ``--neutral`` texts `romcam visit` takes, and the checks on an uploaded video's
name, size and first bytes. No video, model or database."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from romcam.errors import RomcamError
from romcam.session import phases as ph

MARKS = ("before", "set", "after", "neutral")       # what the page marks, in the order shown
MAX_UPLOAD_MB = 2048                                 # a 30-min 1080p phone video is about 1-2 GB
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRefused(RomcamError):
    """An upload the app does not take; ``status`` is its HTTP status (413 too big, 415 not a video)."""

    def __init__(self, message: str, status: int = 415):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class VisitMarkTexts:
    phases: str                 # as --phases takes it, e.g. "before=0:00-0:10.6,set=0:10.6-0:17.9,after=..."
    neutral: str | None         # as --neutral takes it, e.g. "0:00.5-0:02.5"; None: found by romcam


def _range(marks: dict, name: str) -> tuple[float, float] | None:
    value = marks.get(name)
    if value is None:
        return None
    try:
        start, end = (float(v) for v in value)
    except (TypeError, ValueError):
        raise RomcamError(f"the {name} mark is not a start and an end in seconds") from None
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0:
        raise RomcamError(f"the {name} mark must lie within the video (from 0 s on)")
    if not start < end:
        raise RomcamError(f"the {name} mark ends before it starts (drag it again, or type the earlier time first)")
    return start, end


def clock(seconds: float) -> str:
    """A time as --phases takes it, rounded to the tenth of a second: 0:10.6."""
    return ph.format_time(seconds)


def marks_to_texts(marks: dict) -> VisitMarkTexts:
    """The page's marks (``{"before": [start_s, end_s], "set": [...] or None, "after": [...],
    "neutral": [...] or None}``) as the ``--phases`` and ``--neutral`` texts, times to the tenth of a
    second, checked as `romcam visit` checks them (one-line errors)."""
    unknown = set(marks) - set(MARKS)
    if unknown:
        raise RomcamError(f"unknown marks: {', '.join(sorted(unknown))} (mark {', '.join(MARKS)})")
    items = []
    for name in ph.PHASE_NAMES:
        span = _range(marks, name)
        if span is not None:
            items.append(f"{name}={clock(span[0])}-{clock(span[1])}")
    neutral = _range(marks, "neutral")
    texts = VisitMarkTexts(",".join(items) if items else "",
                           None if neutral is None else f"{clock(neutral[0])}-{clock(neutral[1])}")
    if not items:
        raise RomcamError("mark the phases first: before and after at least (drag on the timeline)")
    ph.parse_phases(texts.phases)
    if texts.neutral is not None:
        ph.parse_range(texts.neutral, "the neutral")
    return texts


def safe_video_name(name: str | None) -> str:
    """The uploaded file's own name, reduced to a plain file name (no folders, no odd characters),
    with a video suffix; else :class:`UploadRefused` (415)."""
    base = re.split(r"[\\/]", (name or "").strip())[-1]
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in VIDEO_SUFFIXES:
        raise UploadRefused(f"'{suffix or base or 'the file'}' is not a video file the app reads (send one of "
                            f"{', '.join(VIDEO_SUFFIXES)})")
    stem = _SAFE.sub("_", stem).strip("._") or "visit"
    return stem[:80] + suffix


def check_size(length: int | None, max_bytes: int) -> None:
    """An upload's announced or received size within ``max_bytes``; else :class:`UploadRefused` (413)."""
    if length is not None and length > max_bytes:
        raise UploadRefused(f"the video is {length / 1e6:.0f} MB, over the app's limit of {max_bytes / 1e6:.0f} MB "
                            f"(cut it to the visit, or run `romcam visit` on it)", status=413)
    if length == 0:
        raise UploadRefused("the file is empty", status=400)


def check_video_bytes(head: bytes, name: str) -> None:
    """The file's first bytes are those of the container its name says (MP4/QuickTime, AVI,
    Matroska/WebM); else :class:`UploadRefused` (415)."""
    suffix = name.rpartition(".")[2].lower()
    if suffix in ("mp4", "m4v", "mov"):
        ok = head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
    elif suffix == "avi":
        ok = head[:4] == b"RIFF" and head[8:12] == b"AVI "
    else:
        ok = head[:4] == b"\x1a\x45\xdf\xa3"
    if not ok:
        raise UploadRefused(f"the file is not a .{suffix} video (its first bytes are not those of that format); "
                            f"send the video file itself")
