"""`romcam session` and `romcam demo`: thin commands over :mod:`romcam.session.runner` and :mod:`romcam.cli.demo`."""

from __future__ import annotations

from pathlib import Path

import click

from romcam.cli.options import (DB_TYPE, MODEL_CHOICES, camera_profile_option, scale_target_option,
                                trials_option)
from romcam.cli.store import DB_HELP
from romcam.config import DEFAULTS, limits

VISIT_NOTE = "note: a recorded visit is now `romcam visit VIDEO --phases ...`; running this one as that"


def session_side(joint, side: str | None) -> str:
    """The side a session measures: ``--side`` checked against the joint's view (front-view
    joints default to both; a side-view joint needs the leg or arm named)."""
    from romcam.errors import RomcamError

    if side in (None, "auto") and joint.view == "front":
        return "both"
    if side is None:
        raise RomcamError(f"{joint.title} is measured from the side, one leg or arm at a time: "
                          "give --side left or --side right")
    if side == "auto":
        # analyze picks the standing leg from the whole exercise; a session must know the leg
        # before its first trial, when the person has only stood still (setup, neutral), and
        # standing still does not tell the legs apart
        raise RomcamError(f"--side auto is not possible in a session for {joint.title.lower()}: the leg can only "
                          "be told from the exercise itself, after the trials it must measure; name the leg "
                          "being tested with --side left or --side right")
    if side == "both" and joint.view == "side":
        raise RomcamError(f"{joint.title} is measured from the side, one leg or arm at a time: --side both is "
                          "not possible; give --side left or --side right")
    return side


def side_option(fn):
    return click.option("--side", type=click.Choice(["left", "right", "both", "auto"]), default=None,
                        help="Person's side [default: both for front-view joints; side-view joints need left or "
                             "right: the person names the leg].")(fn)


def set_option(fn):
    return click.option("--set", "set_kind", type=click.Choice(["reps", "circles"]), default="reps",
                        show_default=True,
                        help="What the set is: reps of the joint's movement, or neck circles (with --joint "
                             "neck-side-bend: turns counted, each turn's right and left side-bend extremes).")(fn)


@click.command()
@click.option("--joint", "-j", required=True, help="Joint, e.g. neck-side-bend, ankle.")
@side_option
@click.option("--subject", required=True, help="Subject code (a pseudonym such as P001, not a name).")
@click.option("--source", default="0", show_default=True,
              help="Webcam index, or a video file played as a camera (a recorded visit: `romcam visit`).")
@click.option("--target-reps", type=click.IntRange(*limits("target_reps")), default=DEFAULTS.target_reps,
              show_default=True, help="Reps per side in the set.")
@trials_option
@click.option("--db", type=DB_TYPE, default=None, help=DB_HELP)
@click.option("--no-window", is_flag=True, help="No live window (headless; progress is printed).")
@click.option("--realtime", is_flag=True, help="Play a video file like a camera, at its real pace "
                                               "(frames are dropped when the analysis cannot keep up).")
@click.option("--mirrored", is_flag=True, help="The source is mirrored (selfie view); it is flipped back first.")
@click.option("--model", type=MODEL_CHOICES, default=DEFAULTS.model, show_default=True)
@click.option("--model-dir", type=click.Path(file_okay=False), default=None,
              help="Folder with the .task models [default: $ROMCAM_MODEL_DIR, cache, download].")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the analysed frames as a video (nothing is recorded otherwise).")
@camera_profile_option
@click.option("--no-frames", is_flag=True, help="Do not store the per-frame angle series.")
@set_option
@click.option("--target-turns", type=click.IntRange(*limits("target_turns")), default=DEFAULTS.target_turns,
              show_default=True, help="Turns (both directions together) in a set of circles.")
@click.option("--quiet", is_flag=True, help="No tick per counted turn or per rep that reached the edge of the range, and no sound at the target.")
@click.option("--overwrite", is_flag=True, help="Let --record replace an existing file.")
@click.option("--new-subject", is_flag=True, help="Create the subject even though a known code "
                                                  "differs from it only by case (another person).")
@scale_target_option("during setup")
# a recorded visit given to `session` (kept working; `romcam visit` is the command for it)
@click.option("--phases", default=None, hidden=True)
@click.option("--neutral", default=None, hidden=True)
@click.option("--recorded-at", default=None, hidden=True)
@click.pass_context
def session(ctx, joint, side, subject, source, target_reps, trials, db, no_window, realtime, mirrored, model,
            model_dir, record, camera_profile, no_frames, overwrite, new_subject, set_kind, target_turns, quiet,
            scale_target, phases, neutral, recorded_at):
    """Measure before, count a set live, measure after; save everything and print the change.
    A video filmed without romcam's prompts is analysed with `romcam visit`."""
    from romcam.errors import RomcamError
    from romcam.measure.joints import get_joint
    from romcam.session.runner import SessionOptions, describe_result, run_session

    if phases is not None:
        click.echo(VISIT_NOTE)
    j = get_joint(joint)
    side = session_side(j, side)
    from romcam.calibration.scale import parse_scale_target
    parse_scale_target(scale_target)       # a wrong target fails before anything starts
    opts = SessionOptions(
        joint=j, side=side, subject=subject, source=source, target_reps=target_reps, trials=trials, db=db,
        window=not no_window and phases is None, realtime=realtime, mirrored=mirrored, model=model,
        model_dir=model_dir, record=record, camera_profile=camera_profile, save_frames=not no_frames,
        overwrite=overwrite, new_subject=new_subject, set_kind=set_kind, target_turns=target_turns, quiet=quiet,
        scale_target=scale_target)
    if phases is not None:
        from romcam.cli.visit import record_visit

        ctx.exit(record_visit(opts, phases, neutral, recorded_at))
    if neutral is not None:
        raise RomcamError("--neutral goes with --phases (a recorded visit: `romcam visit VIDEO --phases ... "
                          "--neutral ...`); a live session measures the neutral from a still hold")
    if recorded_at is not None:
        raise RomcamError("--recorded-at goes with --phases (a recorded visit: `romcam visit`); a live session "
                          "is dated now")
    result = run_session(opts, say=click.echo)
    click.echo(describe_result(result))
    ctx.exit(result.exit_code)      # interrupted, or ended before the protocol did: not 0


@click.command()
@click.option("--db", type=DB_TYPE, default=None,
              help="Database to store the demo session in [default: a new temporary one].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Report file [default: romcam-reports/session-<id>-<hash>.html].")
@click.option("--side", type=click.Choice(["left", "right"]), default="right", show_default=True)
@click.option("--reps", type=click.IntRange(5, 200), default=40, show_default=True)
@click.option("--pdf", is_flag=True, help="Also write the report as PDF.")
@click.option("--set", "set_kind", type=click.Choice(["reps", "circles"]), default="reps", show_default=True,
              help="reps: side-bend reps on --side; circles: 40 neck circles growing 20 -> 25 deg, "
                   "both sides measured before and after.")
@click.option("--overwrite", is_flag=True, help="Let --out replace an existing file.")
def demo(db, out, side, reps, pdf, overwrite, set_kind):
    """A full neck side-bend session from a SYNTHETIC landmark stream (no webcam or model needed)."""
    from romcam.cli.demo import run_circles_demo, run_demo

    if set_kind == "circles":
        _, paths = run_circles_demo(db=db, out=out, pdf=pdf, say=click.echo, overwrite=overwrite)
    else:
        _, paths = run_demo(db=db, out=out, side=side, reps=reps, pdf=pdf, say=click.echo,
                            overwrite=overwrite)
    for path in paths:
        click.echo(f"report: {path}")
