"""`romcam report`: a thin command over :mod:`romcam.report` (imported when it runs, so
`romcam --help` stays fast)."""

from __future__ import annotations

from pathlib import Path

import click

from romcam.cli.options import DB_TYPE
from romcam.cli.store import DB_HELP, say_waiting


@click.command()
@click.option("--session", "session_id", type=int, default=None,
              help="Report on this session (its number in `romcam history`).")
@click.option("--subject", default=None,
              help="Report on this subject's progress over all their sessions (subject code).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML file to write [default: romcam-reports/session-<id>-<hash>.html or "
                   "romcam-reports/subject-<code>-<hash>.html in the current folder; the hash is of "
                   "the database's path; an existing file is never replaced: -2, -3... are added].")
@click.option("--pdf", is_flag=True,
              help="Also print the page on A4 to a PDF beside the HTML (same name, .pdf).")
@click.option("--db", "db", type=DB_TYPE, default=None, help=DB_HELP)
@click.option("--overwrite", is_flag=True, help="Let --out (and its PDF) replace existing files.")
def report(session_id, subject, out, pdf, db, overwrite):
    """Before/after report of one session, or progress report of one subject: a
    self-contained HTML page (opens offline; figures embedded) and optionally the same page as
    an A4 PDF."""
    from romcam.report.write import make_report
    from romcam.storage.store import Store

    if (session_id is None) == (subject is None):
        raise click.UsageError("give either --session ID or --subject CODE")
    if out is not None:                 # before the database is read and the figures drawn
        from romcam.report.write import check_report_outputs
        from romcam.storage.store import resolve_db_path
        check_report_outputs(out, pdf, overwrite, inputs=[resolve_db_path(db)])
    with Store.open(db, readonly=True) as store:
        say_waiting(store)
        paths = make_report(store, session_id=session_id, subject=subject, out=out, pdf=pdf,
                            overwrite=overwrite)
    for path in paths:
        click.echo(f"wrote {path}")
