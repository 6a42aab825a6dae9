"""The before/after report: one self-contained HTML page (and optionally a PDF) per session or
per subject.

Flow: :func:`session_report` / :func:`subject_report` read the Store and describe the page as a
:class:`Report` (sections of text, tables of :class:`Cell` values and figures to draw);
:func:`write_report` draws the figures once (:mod:`romcam.report.plots`, as SVG), renders the page
from the Jinja2 templates with them embedded (:mod:`romcam.report.html`) and, with ``pdf=True``,
prints that same page on A4 with WeasyPrint (:mod:`romcam.report.pdf`; no browser needed).

Every number on the page comes from the store: the before/after values, SEM, MDC95, verdicts,
rep counts and first-rep-at-after-level are the stored results (or, for a session that never
finished, :func:`romcam.measure.outcome.side_outcome` over its stored trials, as ``Store.sessions`` gives
them). The report itself only adds the trend slope of the rep peaks (least squares) and, when a
session's statistics lack it, the share of stored frames marked valid. Each number sits in a
cell with ``data-key`` (what it is), ``data-value`` (the exact stored value) and, in per-side
rows, ``data-side``/``data-session``, so the page can be checked against the database.

The page has no external references: inline CSS, images as ``data:`` URIs, no scripts or fonts
to fetch, so it opens offline and can be mailed as one file. Files are written atomically.
"""
from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime
from pathlib import Path

from romcam.errors import RomcamError
from romcam.files import (atomic_write, check_folder, check_output, disk_error, free_name, probe_folder, publish,
                          temp_beside)
from romcam.report import plots
from romcam.report.html import render_html
from romcam.report.model import REPORT_DIR, Report
from romcam.report.pdf import check_pdf_writer, write_pdf
from romcam.report.session_page import session_report
from romcam.report.subject_page import subject_report
from romcam.storage.store import Store


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:8]


def default_out_path(session_id: int | None = None, subject: str | None = None,
                     db: str | os.PathLike = "") -> Path:
    """romcam-reports/session-<id>-<hash>.html or romcam-reports/subject-<code>-<hash>.html (in
    the current folder). The short hash is of the database's real path (and, for a subject, of
    the exact code), so session 1 of two databases, or two codes that clean up to the same file
    name ("Zoë/01" and "Zoë 01"), never share a file name."""
    where = os.path.realpath(os.fspath(db)) if db else ""
    if session_id is not None:
        return Path(REPORT_DIR) / f"session-{int(session_id)}-{_short_hash(where)}.html"
    safe = re.sub(r"[^\w.-]+", "_", str(subject).strip()).strip("._") or "subject"
    return Path(REPORT_DIR) / f"subject-{safe}-{_short_hash(where, str(subject))}.html"


def check_report_outputs(out: str | os.PathLike, pdf: bool, overwrite: bool = False,
                         inputs=()) -> Path:
    """Before any work: the HTML (and the PDF beside it) may be written (see romcam.files)."""
    out = check_output(out, "--out", overwrite=overwrite, inputs=inputs)
    if pdf:
        check_pdf_writer()
        check_output(pdf_path(out), "--out", overwrite=overwrite, inputs=inputs, probe=False)
    return out


def pdf_path(html_path: Path) -> Path:
    """Where --pdf writes: beside the HTML, same name, .pdf."""
    return Path(html_path).with_suffix(".pdf")


def _prepare_target(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise RomcamError(f"{path} is a folder; give a file name for the report, e.g. "
                          f"{path / 'report.html'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RomcamError(f"cannot create the folder {path.parent} ({exc.strerror}); choose "
                          f"another place with --out") from None
    return path


def draw_figures(report: Report) -> dict[str, bytes]:
    """Every figure of the page drawn once, as SVG (key -> image)."""
    images: dict[str, bytes] = {}
    for item in (f for s in report.sections for f in s.figures):
        fig = item.make()
        try:
            images[item.key] = plots.svg_bytes(fig)
        finally:
            plots.close(fig)
    return images


def write_report(report: Report, out: str | os.PathLike, pdf: bool = False) -> list[Path]:
    """Draw the figures once, write the HTML page at ``out`` and (``pdf``) the same page printed
    to a PDF beside it. Returns the written paths, HTML first."""
    out = _prepare_target(Path(out))
    target_pdf = pdf_path(out) if pdf else None
    if pdf:
        check_pdf_writer()
    probe_folder(out.parent, "--out")
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    text = render_html(report, draw_figures(report), generated)
    tmp_pdf: Path | None = None
    try:
        if target_pdf is not None:
            tmp_pdf = temp_beside(target_pdf)
            write_pdf(text, tmp_pdf, report.title)
        atomic_write(out, lambda p: p.write_text(text, encoding="utf-8"))
        if tmp_pdf is not None:
            publish(tmp_pdf, target_pdf)
    except OSError as exc:
        raise disk_error(exc, out, "--out") from None
    finally:
        if tmp_pdf is not None and tmp_pdf.exists():
            tmp_pdf.unlink()
    return [out] + ([target_pdf] if target_pdf is not None else [])


def make_report(store: Store, session_id: int | None = None, subject: str | None = None,
                out: str | os.PathLike | None = None, pdf: bool = False,
                overwrite: bool = False) -> list[Path]:
    """The report of one session or one subject, written to ``out`` (default
    :func:`default_out_path`, made free with ``-2``, ``-3``... rather than replacing a file);
    returns the written paths. ``out`` must not be a file romcam did not write in this run
    unless ``overwrite``."""
    if (session_id is None) == (subject is None):
        raise RomcamError("give either a session (--session ID) or a subject (--subject CODE)")
    if out is not None:
        check_report_outputs(out, pdf, overwrite, inputs=[store.path])
    if session_id is not None:
        report = session_report(store, session_id)
    else:
        report = subject_report(store, subject)
    if out is None:
        base = target = default_out_path(session_id, subject, store.path)
        n = 1
        while any(free_name(p) != p for p in [target] + ([pdf_path(target)] if pdf else [])):
            n += 1
            target = base.with_name(f"{base.stem}-{n}{base.suffix}")
        check_folder(target.parent, "--out", create=True)
    else:
        target = Path(out)
    return write_report(report, target, pdf=pdf)
