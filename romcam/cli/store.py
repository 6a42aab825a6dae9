"""`romcam history` and `romcam export`: thin commands over :mod:`romcam.storage.store` and
:mod:`romcam.storage.export` (imported when a command runs, so `romcam --help` stays fast)."""

from __future__ import annotations

from pathlib import Path

import click

from romcam.cli.options import DB_TYPE

DB_HELP = ("Session database: an SQLite file, or a PostgreSQL server as postgresql://host/dbname "
           "(password in PGPASSWORD or ~/.pgpass, never in the URL) [default: $ROMCAM_DB, else db in "
           "romcam.toml, else romcam.sqlite3 in the per-user data folder].")


def _db_option(fn):
    return click.option("--db", "db", type=DB_TYPE, default=None, help=DB_HELP)(fn)


def say_waiting(store) -> None:
    """On stderr: sessions of this database still kept in recovery files (not in its tables)."""
    from romcam.storage.journal import waiting_note

    note = waiting_note(store)
    if note:
        click.echo(note, err=True)


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
        say_waiting(store)
    if not rows:
        click.echo(f"no sessions{' match' if subject or joint or since else ''} in {where}")
        return
    click.echo(history_table(rows))
    click.echo(f"{len(rows)} session{'s' if len(rows) != 1 else ''} in {where}")


@click.command()
@click.option("--csv", "csv_path", default=None, type=click.Path(path_type=Path),
              help="CSV file to write: one row per session and side.")
@click.option("--fhir", "fhir_path", default=None, type=click.Path(path_type=Path),
              help="FHIR R4 Bundle (JSON) to write: a Patient per subject, an Observation per "
                   "session and side.")
@click.option("--subject", default=None, help="Only this subject's sessions (subject code).")
@click.option("--since", default=None, help="Only sessions started on or after this date "
                                            "(YYYY-MM-DD, or YYYY-MM-DDTHH:MM).")
@click.option("--joint", "-j", default=None, help="Only this joint (name or alias).")
@click.option("--frames", is_flag=True, help="Also write the per-frame angle series to "
                                             "<stem>_frames.csv beside the CSV.")
@click.option("--turns", is_flag=True, help="Also write the neck circles of sets of circles, one row "
                                            "per turn, to <stem>_turns.csv beside the CSV.")
@click.option("--mot", is_flag=True, help="Also write each session's per-frame angles as an OpenSim motion "
                                          "file, <stem>_session-<id>.mot beside the CSV.")
@_db_option
@click.option("--overwrite", is_flag=True, help="Let the export replace existing files.")
def export(csv_path, fhir_path, subject, since, joint, frames, turns, mot, db, overwrite):
    """Write the sessions as CSV for a spreadsheet (UTF-8, comma separated, units in the
    column names) and/or as a FHIR R4 bundle for a health record (--fhir)."""
    from romcam.errors import RomcamError
    from romcam.storage.store import Store, resolve_db_path

    if csv_path is None and fhir_path is None:
        raise RomcamError("romcam export needs a file to write (give --csv FILE, --fhir FILE or both); "
                          "see `romcam export --help`")
    if csv_path is None and (frames or turns or mot):
        raise RomcamError("--frames, --turns and --mot write files beside the CSV (give --csv FILE too)")
    db_path = resolve_db_path(db)
    csv_targets, turns_target = [], None
    if csv_path is not None:
        from romcam.storage.export import check_export_outputs, check_turns_output

        csv_targets = check_export_outputs(csv_path, frames, db_path, overwrite)
        if turns:
            turns_target = check_turns_output(csv_path, db_path, overwrite)
    if fhir_path is not None:
        from romcam.storage.fhir import check_fhir_output

        others = csv_targets + ([turns_target] if turns_target else [])
        check_fhir_output(fhir_path, db_path, overwrite, others=others)
    with Store.open(db, readonly=True) as store:
        say_waiting(store)
        motions = _session_motions(store, csv_path, subject, since, joint, db_path, overwrite) if mot else []
        if csv_path is not None:
            _write_csv_export(store, csv_path, subject, since, joint, frames, turns_target, overwrite)
            _write_motions(motions)
        if fhir_path is not None:
            from romcam.storage.fhir import fhir_bundle, write_fhir

            bundle = fhir_bundle(store, subject=subject, joint=_joint_name(joint), since=since)
            write_fhir(bundle, fhir_path)
            kinds = [e["resource"]["resourceType"] for e in bundle.get("entry", [])]
            counts = ", ".join(_count(kinds.count(kind), kind.lower()) for kind in ("Patient", "Device"))
            click.echo(f"wrote {fhir_path}: FHIR R4 bundle, {_count(kinds.count('Observation'), 'observation')} "
                       f"(session x side), {counts}")


def _session_motions(store, csv_path, subject, since, joint, db_path, overwrite):
    """The .mot files of `romcam export --mot`: (path, motion) per session with frames, every
    path checked before anything is written."""
    from romcam.storage.export import check_mot_outputs, session_motion

    rows = store.sessions(subject=subject, joint=_joint_name(joint), since=since)
    motions = {row.id: session_motion(store, row) for row in rows}
    with_frames = [row for row in rows if len(motions[row.id].time)]
    if len(with_frames) < len(rows):
        ids = ", ".join(str(row.id) for row in rows if not len(motions[row.id].time))
        click.echo(f"no .mot for session {ids}: no per-frame angles stored", err=True)
    targets = check_mot_outputs(csv_path, with_frames, db_path, overwrite)
    return [(targets[row.id], motions[row.id]) for row in with_frames]


def _write_motions(motions) -> None:
    from romcam.storage.mot import frames_left_out, write_mot

    for path, motion in motions:
        write_mot(motion, path, "--csv")
        out = frames_left_out(motion)
        click.echo(f"wrote {path}: OpenSim motion, {len(motion.time) - out} frames"
                   + (f" ({out} not usable left out)" if out else ""))


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _write_csv_export(store, csv_path, subject, since, joint, frames, turns_target, overwrite):
    """The CSV part of `romcam export` (outputs checked before)."""
    from romcam.storage.export import export_tables, turns_table, write_csv, write_export

    tables = export_tables(store, subject=subject, since=since, frames=frames, joint=_joint_name(joint))
    paths = write_export(tables, csv_path, store.path, overwrite)
    turn_rows = None
    if turns_target is not None:
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
@click.option("--any-db", is_flag=True, help="Add the session to --db even though the file belongs to "
                                             "another database.")
@click.option("--new-subject", is_flag=True, help="The file's subject code differs only by case from a "
                                                  "known subject and is another person.")
def recover(recovery_file, db, any_db, new_subject):
    """Add a session kept in a recovery file (written when the database could not take a live
    session's records: locked, full or damaged) to the database the file lies beside, or to
    --db. The whole file is checked first; a file that is not valid is refused (exit 2) and
    nothing is stored. Adding it twice adds nothing twice."""
    from romcam.storage.journal import read_recovery, recovery_target, replay
    from romcam.storage.store import Store
    from romcam.text import printable

    recovery = read_recovery(recovery_file)
    target = recovery_target(recovery_file, recovery.header.db, db, any_db)
    with Store.open(target) as store:
        sid = replay(store, recovery, new_subject=new_subject)
        detail = store.session(sid)
        where = store.path
    recovery_file.unlink()
    click.echo(f"session {sid} in {where}: {len(detail.trials)} trials and {len(detail.reps)} reps "
               f"stored ({printable(detail.row.status_label)}); removed {recovery_file}")
