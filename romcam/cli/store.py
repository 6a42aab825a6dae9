"""`romcam history` and `romcam export`: thin commands over :mod:`romcam.storage.store` and
:mod:`romcam.storage.export` (imported when a command runs, so `romcam --help` stays fast)."""

from __future__ import annotations

from pathlib import Path

import click

from romcam.cli.options import DB_TYPE

DB_HELP = ("Session database: an SQLite file, or a PostgreSQL server as postgresql://host/dbname "
           "(password in PGPASSWORD or ~/.pgpass, never in the URL) [default: $ROMCAM_DB, else "
           "romcam.sqlite3 in the per-user data folder].")


def _db_option(fn):
    return click.option("--db", "db", type=DB_TYPE, default=None, help=DB_HELP)(fn)


def _joint_name(joint: str | None) -> str | None:
    """The canonical name of a joint given by name or alias (RomcamError if unknown)."""
    if joint is None:
        return None
    from romcam.measure.joints import get_joint

    return get_joint(joint).name


@click.command()
@click.option("--subject", default=None, help="Only this subject's sessions (subject code).")
@click.option("--joint", "-j", default=None, help="Only this joint (name or alias, e.g. ankle).")
@click.option("--since", default=None, help="Only sessions started on or after this date "
                                            "(YYYY-MM-DD, or YYYY-MM-DDTHH:MM).")
@_db_option
def history(subject, joint, since, db):
    """Table of the recorded sessions: before/after/delta per side, status, date."""
    from romcam.storage.export import history_table
    from romcam.storage.store import Store

    with Store.open(db, readonly=True) as store:
        rows = store.sessions(subject=subject, joint=_joint_name(joint), since=since)
        where = store.path
    if not rows:
        click.echo(f"no sessions{' match' if subject or joint or since else ''} in {where}")
        return
    click.echo(history_table(rows))
    click.echo(f"{len(rows)} session{'s' if len(rows) != 1 else ''} in {where}")


@click.command()
@click.option("--csv", "csv_path", required=True, type=click.Path(path_type=Path),
              help="CSV file to write: one row per session and side.")
@click.option("--subject", default=None, help="Only this subject's sessions (subject code).")
@click.option("--since", default=None, help="Only sessions started on or after this date "
                                            "(YYYY-MM-DD, or YYYY-MM-DDTHH:MM).")
@click.option("--joint", "-j", default=None, help="Only this joint (name or alias).")
@click.option("--frames", is_flag=True, help="Also write the per-frame angle series to "
                                             "<stem>_frames.csv beside the CSV.")
@click.option("--turns", is_flag=True, help="Also write the neck circles of sets of circles, one row "
                                            "per turn, to <stem>_turns.csv beside the CSV.")
@_db_option
@click.option("--overwrite", is_flag=True, help="Let the export replace existing files.")
def export(csv_path, subject, since, joint, frames, turns, db, overwrite):
    """Write the sessions as CSV for a spreadsheet (UTF-8, comma separated, units in the
    column names)."""
    from romcam.storage.export import check_export_outputs, export_tables, write_export
    from romcam.storage.store import Store, resolve_db_path

    check_export_outputs(csv_path, frames, resolve_db_path(db), overwrite)
    if turns:
        from romcam.storage.export import check_turns_output, turns_table, write_csv

        turns_target = check_turns_output(csv_path, resolve_db_path(db), overwrite)
    with Store.open(db, readonly=True) as store:
        tables = export_tables(store, subject=subject, since=since, frames=frames,
                               joint=_joint_name(joint))
        paths = write_export(tables, csv_path, store.path, overwrite)
        turn_rows = None
        if turns:
            turn_rows = turns_table(store, store.sessions(subject=subject, joint=_joint_name(joint), since=since))
            write_csv(turn_rows, turns_target)
    sessions, frame_rows = tables
    n_sessions = sessions["session_id"].nunique()
    click.echo(f"wrote {paths[0]}: {len(sessions)} rows ({n_sessions} session"
               f"{'s' if n_sessions != 1 else ''} x side)")
    if frame_rows is not None:
        click.echo(f"wrote {paths[1]}: {len(frame_rows)} frames (per-frame angle series)")
    if turn_rows is not None:
        click.echo(f"wrote {turns_target}: {len(turn_rows)} turns (neck circles)")


@click.command()
@click.argument("recovery_file", type=click.Path(dir_okay=False, path_type=Path))
@_db_option
def recover(recovery_file, db):
    """Add a session kept in a recovery file (written when the database could not take a live
    session's records: locked, full or damaged) to its database, or to --db. Adding it twice
    adds nothing twice."""
    from romcam.storage.journal import read_recovery, replay
    from romcam.storage.store import Store

    header, records = read_recovery(recovery_file)
    with Store.open(db if db is not None else header["db"]) as store:
        sid = replay(store, records)
        detail = store.session(sid)
        where = store.path
    recovery_file.unlink()
    click.echo(f"session {sid} in {where}: {len(detail.trials)} trials and {len(detail.reps)} reps "
               f"stored ({detail.row.status_label}); removed {recovery_file}")
