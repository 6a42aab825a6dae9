"""Text from outside romcam (the session database, a file, the command line) made safe to print
on a terminal: no control characters, and no value so long that it buries the line."""

from __future__ import annotations

import re
import unicodedata

LONG_VALUE = 200          # characters of one value kept in a one-line message
ELLIPSIS = "…"
# bidirectional overrides and isolates: they reorder what a terminal shows
_BIDI = {"\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
         "\u2066", "\u2067", "\u2068", "\u2069"}
_LONG_RUN = re.compile(rf"\S{{{LONG_VALUE + 1},}}")


def printable(text: object) -> str:
    """``str(text)`` without control characters (terminal escapes, bell, C1 codes, bidirectional
    overrides): a line break, carriage return or tab becomes a space, the others are dropped."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) == "Cc" or ch in _BIDI:
            if ch.isspace():
                out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def shortened(text: str, limit: int = LONG_VALUE, tail: int = 10) -> str:
    """``text`` when at most ``limit`` characters long; else its start and its last ``tail``
    characters (a closing quote, a file's extension) around an ellipsis, ``limit`` in all."""
    if len(text) <= limit:
        return text
    return text[:limit - tail - 1] + ELLIPSIS + text[-tail:]


def one_line(text: object, limit: int = LONG_VALUE) -> str:
    """``text`` printable on one line: control characters gone, runs of white space made one
    space, and each run of more than ``limit`` characters without a space shortened; a message
    still longer than eight such runs keeps its start and its end (where the hint is)."""
    line = " ".join(printable(text).split())
    line = _LONG_RUN.sub(lambda m: shortened(m.group(0), limit), line)
    most = 8 * limit
    if len(line) > most:
        line = f"{line[:most - 2 * limit]} {ELLIPSIS} {line[-2 * limit:]}"
    return line
