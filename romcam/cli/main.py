"""The `romcam` command: parses, calls, prints; no logic of its own."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from romcam import __version__
from romcam.dirs import cache_dir
from romcam.errors import RomcamError

MODEL_CHOICES = click.Choice(["lite", "full", "heavy"])
SIDE_CHOICES = click.Choice(["left", "right", "both", "auto"])


def _quiet_native_logs() -> None:
    """MediaPipe/TFLite write INFO/WARNING lines straight to file descriptor 2. Send those to a log
    file and keep Python's own stderr (errors, progress bars) on the terminal."""
    if os.environ.get("ROMCAM_VERBOSE"):
        return
    try:
        log_dir = cache_dir()
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / "native.log", "wb")
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        sys.stderr = os.fdopen(saved, "w", buffering=1, encoding="utf-8", errors="replace")
    except OSError:
        pass  # a read-only home: keep the noise rather than fail


def model_options(fn):
    fn = click.option("--model", "model", type=MODEL_CHOICES, default="full", show_default=True,
                      help="Pose model: full (recommended, best feet), lite (fastest), heavy.")(fn)
    fn = click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                      help="Folder with the .task model bundles (else $ROMCAM_MODEL_DIR, else the "
                           "per-user cache, else downloaded).")(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="romcam")
def cli() -> None:
    """romcam: joint range of motion from an ordinary webcam."""


@cli.command()
@click.argument("video")
@click.option("--joint", "-j", required=True, help="Joint to measure, e.g. neck-side-bend, ankle, knee.")
@click.option("--side", type=SIDE_CHOICES, default="auto", show_default=True,
              help="Person's side. auto: the limb nearer the camera for side-view joints, both otherwise.")
@click.option("--mirrored", is_flag=True, help="The video is mirrored (selfie view); it is flipped back first.")
@model_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: romcam-out/<video>_<joint>].")
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Parts of the video analysed at once (one per CPU core).")
@click.option("--camera-profile", default=None, help="Camera profile (romcam calibrate camera) to undistort with.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def analyze(video, joint, side, mirrored, model, model_dir, out_dir, workers, camera_profile, no_progress):
    """Measure JOINT in VIDEO (a file or a folder of images): angles per frame and reps per side."""
    from romcam.measure.analysis import analyze_landmarks
    from romcam.measure.joints import get_joint
    from romcam.cli.analyze import describe, write_analysis
    from romcam.capture.pipeline import ModelChoice, extract_landmarks

    j = get_joint(joint)
    profile = None
    if camera_profile:  # checked before the long part, so a wrong profile fails at once
        from romcam.calibration import load_profile, scaled_camera_matrix
        from romcam.capture.sources import open_source
        profile = load_profile(camera_profile)
        with open_source(video) as probe:
            scaled_camera_matrix(profile, probe.info.width, probe.info.height)
    models = ModelChoice.resolve(model, j.needs_face, model_dir, progress=not no_progress)
    landmarks, info = extract_landmarks(video, models, mirrored=mirrored, workers=workers,
                                        progress=not no_progress)
    if profile is not None:
        from romcam.calibration import undistort_series
        landmarks = undistort_series(landmarks, profile, info.width, info.height)
    a = analyze_landmarks(j, landmarks, side)
    out_dir = out_dir or Path("romcam-out") / f"{Path(video).stem}_{j.name}"
    frames_path, summary_path = write_analysis(a, out_dir, {
        "video": str(video), "mirrored": mirrored, "pose_model": model,
        "resolution": f"{info.width}x{info.height}", "camera_profile": camera_profile,
    })
    click.echo(describe(a, str(video)))
    click.echo(f"wrote {frames_path} and {summary_path}")


@cli.command()
@click.argument("video")
@click.option("--joint", "-j", required=True, help="Joint to measure (decides whether the face model runs).")
@click.option("--side", type=SIDE_CHOICES, default="auto", show_default=True)
@click.option("--mirrored", is_flag=True)
@model_options
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option("--repeat", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Runs of each pipeline; the best is reported.")
@click.option("--live", is_flag=True, help="Instead: the live session loop on VIDEO replayed at real pace "
                                           "(frames shown/dropped, capture-to-display latency).")
@click.option("--window", is_flag=True, help="With --live: draw the live window too (needs a screen).")
def bench(video, joint, side, mirrored, model, model_dir, workers, repeat, live, window):
    """Frames/s of romcam's pipeline and of a plain one-thread baseline on VIDEO, as JSON."""
    from romcam.session.bench import run_bench, run_live_bench
    from romcam.measure.joints import get_joint
    from romcam.capture.pipeline import ModelChoice

    j = get_joint(joint)
    if live:
        sides = {"auto": "both", "left": "left", "right": "right", "both": "both"}
        click.echo(json.dumps(run_live_bench(video, j, model=model, model_dir=model_dir, window=window,
                                             side=sides[side]), indent=2))
        return
    models = ModelChoice.resolve(model, j.needs_face, model_dir)
    result = run_bench(video, j, models, side=side, mirrored=mirrored, workers=workers, repeat=repeat)
    click.echo(json.dumps(result, indent=2))


@cli.command()
def joints():
    """List the joints romcam measures, with their view and definition."""
    from romcam.measure.joints import JOINTS

    for j in JOINTS.values():
        click.echo(f"{j.name:<22} {j.view:<5} view  {j.description}")
        click.echo(f"{'':<22} aliases: {', '.join(j.aliases)}")


@cli.command()
@click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--model", "variants", multiple=True, type=MODEL_CHOICES, default=("full", "lite"),
              show_default=True)
def models(model_dir, variants):
    """Find (or download into the cache) and verify the model bundles; print their paths."""
    from romcam.capture.models import FACE_SPEC, pose_spec, resolve_model

    for spec in [pose_spec(v) for v in variants] + [FACE_SPEC]:
        click.echo(f"{spec.filename}: {resolve_model(spec, model_dir)}")


from romcam.cli.store import export, history  # noqa: E402
cli.add_command(history)
cli.add_command(export)

from romcam.cli.calibrate import calibrate  # noqa: E402
cli.add_command(calibrate)

from romcam.cli.report import report  # noqa: E402
cli.add_command(report)

from romcam.cli.session import demo, session  # noqa: E402
cli.add_command(session)
cli.add_command(demo)


def main(argv: list[str] | None = None) -> int:
    _quiet_native_logs()
    try:
        cli.main(args=argv, prog_name="romcam", standalone_mode=False)
    except RomcamError as exc:
        click.echo(f"romcam: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("romcam: interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("romcam: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
