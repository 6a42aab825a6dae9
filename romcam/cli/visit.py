"""`romcam visit`: a recorded visit (a video filmed without romcam's prompts, its phases given as
times) analysed and stored as a session; a thin command over
:func:`romcam.session.visit_runner.run_recorded_visit`."""

from __future__ import annotations

import click

from romcam.cli.options import DB_TYPE, camera_profile_option, model_options, scale_target_option, trials_option
from romcam.cli.session import session_side, set_option, side_option
from romcam.cli.store import DB_HELP


@click.command()
@click.argument("video")
@click.option("--phases", required=True, metavar="TEXT",
              help="The phases' times, e.g. \"before=0:35,set=35:160,after=160:190\" (seconds or m:ss; before "
                   "and after needed, set optional).")
@click.option("--joint", "-j", required=True, help="Joint, e.g. neck-side-bend, ankle.")
@side_option
@click.option("--subject", required=True, help="Subject code (a pseudonym such as P001, not a name).")
@click.option("--neutral", default=None, metavar="START-END",
              help="Where the person holds the neutral, e.g. 2:05-2:08 [default: the stillest 1.5 s of "
                   "looking ahead up to the end of 'before'].")
@click.option("--recorded-at", default=None, metavar="DATE",
              help="When the visit was filmed, e.g. 2026-03-14T10:30 [default: the video's creation time, "
                   "else the file's modification time less its duration].")
@trials_option
@set_option
@click.option("--db", type=DB_TYPE, default=None, help=DB_HELP)
@model_options
@camera_profile_option
@scale_target_option("in the first 3 s")
@click.option("--mirrored", is_flag=True, help="The video is mirrored (selfie view); it is flipped back first.")
@click.option("--no-frames", is_flag=True, help="Do not store the per-frame angle series.")
@click.option("--new-subject", is_flag=True, help="Create the subject even though a known code "
                                                  "differs from it only by case (another person).")
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Parts of the video analysed at once (one per CPU core).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def visit(ctx, video, phases, joint, side, subject, neutral, recorded_at, trials, set_kind, db, model, model_dir,
          camera_profile, scale_target, mirrored, no_frames, new_subject, workers, no_progress):
    """Analyse a recorded VIDEO of a visit, its phases given as times, and store it as a session:
    no prompts, no window, no still hold needed. Prints the change, as `romcam session` does."""
    from romcam.calibration.scale import parse_scale_target
    from romcam.measure.joints import get_joint
    from romcam.session.runner import SessionOptions

    j = get_joint(joint)
    parse_scale_target(scale_target)       # a wrong target fails before anything starts
    opts = SessionOptions(
        joint=j, side=session_side(j, side), subject=subject, source=video, trials=trials, db=db, window=False,
        mirrored=mirrored, model=model, model_dir=model_dir, camera_profile=camera_profile,
        save_frames=not no_frames, new_subject=new_subject, set_kind=set_kind, scale_target=scale_target)
    ctx.exit(record_visit(opts, phases, neutral, recorded_at, workers=workers, progress=not no_progress))


def record_visit(opts, phases: str, neutral: str | None, recorded_at: str | None, *, workers: int = 2,
                 progress: bool = True) -> int:
    """Run the recorded visit, print its result; the exit code (0 complete, else why not)."""
    from romcam.session.runner import describe_result
    from romcam.session.visit_runner import run_recorded_visit

    result = run_recorded_visit(opts, phases, neutral, recorded_at=recorded_at, workers=workers,
                                progress=progress, say=click.echo)
    click.echo(describe_result(result))
    return result.exit_code
