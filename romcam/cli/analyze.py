"""`romcam analyze`: the command, and the writer of its results (frames.csv, summary.json and, with
--mot, frames.mot) and of the short summary it prints. The writer takes plain data (a table, a summary dict, the numbers
to describe); the analysis itself is :mod:`romcam.measure.analysis`, imported when the command
runs so that `romcam --help` stays fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from romcam.cli.options import SIDE_CHOICES, model_options
from romcam.errors import RomcamError
from romcam.files import atomic_write_text, check_folder, check_output, free_name, probe_folder

if TYPE_CHECKING:
    import pandas as pd


def write_analysis(table: pd.DataFrame, summary: dict, out_dir: Path,
                   extra: dict | None = None) -> tuple[Path, Path]:
    """frames.csv (``table``) and summary.json (``summary``, then ``extra``) in ``out_dir``;
    returns their paths."""
    frames_path = out_dir / "frames.csv"
    summary_path = out_dir / "summary.json"
    atomic_write_text(frames_path, table.to_csv(index=False, float_format="%.3f"))
    content = dict(summary)
    if extra:
        content.update(extra)
    atomic_write_text(summary_path, json.dumps(content, indent=2) + "\n")
    return frames_path, summary_path


OUTPUT_FILES = ("frames.csv", "summary.json")
MOT_FILE = "frames.mot"


def write_motion(table: pd.DataFrame, joint: str, out_dir: Path) -> tuple[Path, int, int]:
    """frames.mot in ``out_dir``: the angle columns of ``table`` (frames.csv) as an OpenSim motion;
    returns its path, the frames written and the frames left out (not usable)."""
    from romcam.storage.mot import analysis_motion, frames_left_out, write_mot

    motion = analysis_motion(table, joint, f"romcam analyze: {joint}")
    path = write_mot(motion, out_dir / MOT_FILE)
    out = frames_left_out(motion)
    return path, len(motion.time) - out, out


def prepare_out_dir(out_dir: Path | None, default: Path, video: str, overwrite: bool = False,
                    files: tuple[str, ...] = OUTPUT_FILES) -> Path:
    """Before the analysis: the folder to write into, and its ``files`` may be written. The
    default folder is made (a new name, -2, -3..., when it holds files romcam did not write);
    a given ``--out`` folder is made only when its parent exists, and that is said."""
    if out_dir is None:
        base = out_dir = default
        n = 1
        while any(free_name(out_dir / f) != out_dir / f for f in files):
            n += 1
            out_dir = base.with_name(f"{base.name}-{n}")
        check_folder(out_dir, "--out", create=True)
    elif not out_dir.exists():
        check_folder(out_dir.parent, "--out")
        probe_folder(out_dir.parent, "--out")
        check_folder(out_dir, "--out", create=True)
        click.echo(f"created the folder {out_dir}")
    elif not out_dir.is_dir():
        raise RomcamError(f"{out_dir} is a file, not a folder (give a folder with --out)")
    try:
        for name in files:
            check_output(out_dir / name, "--out", overwrite=overwrite, inputs=[video])
    except RomcamError:
        if not any(out_dir.iterdir()):
            out_dir.rmdir()              # no litter: a folder made for nothing goes again
        raise
    return out_dir


def describe(source_name: str, title: str, summary: dict,
             sides: dict[str, tuple[list[float], float | None]]) -> str:
    """A short human summary of an analysis: ``summary`` as :func:`write_analysis` takes it, and
    per side the rep peaks and the largest angle in degrees (unrounded)."""
    s = summary
    n = s["frames"]
    side_note = s["side_note"]
    lines = [f"{Path(source_name).name}: {title}" + (f" ({side_note})" if side_note else ""),
             f"{n} frames at {s['fps']:z.1f} fps, {s['valid_frames']} usable ({s['valid_frames'] / max(n, 1):.0%})"]
    for side, (rep_peaks, max_deg) in sides.items():
        peaks = ", ".join(f"{p:z.1f}" for p in rep_peaks)
        top = "n/a" if max_deg is None else f"{max_deg:z.1f} deg"
        lines.append(f"  {side:>5}: {len(rep_peaks)} reps" + (f" (peaks {peaks} deg)" if peaks else "")
                     + f", largest angle {top}")
        quality = s.get("set_quality", {}).get(side)
        if quality and quality["reps"]:
            grades = " ".join(r["grade"] for r in quality["reps"])
            lines.append(f"         against the clip's own range: {quality['summary']}; rep grades {grades}")
    if "vertical" in s:      # the ankle: where the vertical came from, heel flags, leg swaps
        lines.append(f"  {s['vertical']['note']}")
        lifted = [str(k + 1) for k, r in enumerate(s["reps"]) if r.get("heel_lifted")]
        if lifted:
            lines.append(f"  heel lifted at the peak of rep {', '.join(lifted)}")
        lines.append(f"  leg swaps repaired: {s['leg_swaps_repaired']}")
        cms = [r.get("knee_over_toe_cm") for r in s["reps"]]
        if any(c is not None for c in cms):
            lines.append("  knee over toe at the peaks: " + ", ".join(
                "n/a" if c is None else f"{c:+z.1f}" for c in cms) + " cm")
        lines.append(f"  {s['knee_over_toe']['note']}")
    if "neutral_given" in s:
        g = s["neutral_given"]
        measured = ", ".join(f"{v:z.1f}" for v in g["measured_deg"].values())
        lines.append(f"  neutral over {g['start_s']:z.1f}-{g['end_s']:z.1f} s (--neutral): {measured} deg as measured"
                     + ("; angles are relative to it" if g["angles_relative_to_it"] else "")
                     + f" (spread {g['spread_deg']:z.1f} deg)")
    lines += [f"  note: {w}" for w in s["warnings"]]
    return "\n".join(lines)


def _neutral_range(text: str | None, video: str, circle_set: bool) -> tuple[float, float] | None:
    """``--neutral START-END``, checked against the video's length before the long work."""
    if text is None:
        return None
    if circle_set:
        raise RomcamError("--neutral is not used for neck circles, whose neutral is the most upright still "
                          "second of the clip (leave out --neutral)")
    from romcam.capture.sources import open_source
    from romcam.session.phases import check_range_in_video, parse_range

    start, end = parse_range(text, "--neutral")
    with open_source(video) as probe:
        info = probe.info
    duration = info.frame_count / info.fps if info.frame_count and info.fps else None
    check_range_in_video(start, end, duration, "--neutral")
    return start, end


@click.command()
@click.argument("video")
@click.option("--joint", "-j", required=True, help="Joint to measure, e.g. neck-side-bend, ankle, knee; "
                                                  "neck-circles counts neck circles (turns).")
@click.option("--side", type=SIDE_CHOICES, default="auto", show_default=True,
              help="Person's side. auto: for the ankle the standing (loaded) leg, for other side-view "
                   "joints the limb nearer the camera, both otherwise.")
@click.option("--mirrored", is_flag=True, help="The video is mirrored (selfie view); it is flipped back first.")
@model_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: romcam-out/<video>_<joint>].")
@click.option("--workers", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Parts of the video analysed at once (one per CPU core).")
@click.option("--camera-profile", default=None, help="Camera profile (romcam calibrate camera) to undistort "
                                                     "with; its measured roll (calibrate level) is the ankle's vertical.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--overwrite", is_flag=True, help="Let the results replace existing files in --out.")
@click.option("--neutral", default=None, metavar="START-END",
              help="Where the person holds the neutral, e.g. 2:05-2:08 (seconds or m:ss): neck angles are "
                   "reported relative to it, limbs use it to find reps [default: the most common position].")
@click.option("--scale-target", default="board", show_default=True, metavar="TARGET",
              help="Ankle: what gives the scale for the knee over toe in cm, upright beside the foot in the "
                   "first 3 s: board, board:FILE.json, marker:ID:SIZE_MM (a DICT_4X4_50 marker) or none.")
@click.option("--mot", is_flag=True, help="Also write the per-frame angles as an OpenSim motion file, "
                                          "frames.mot, beside frames.csv.")
def analyze(video, joint, side, mirrored, model, model_dir, out_dir, workers, camera_profile, no_progress,
            overwrite, neutral, scale_target, mot):
    """Measure JOINT in VIDEO (a file or a folder of images): angles per frame and reps per side."""
    from romcam.measure.analysis import analyze_landmarks, frames_table, summary
    from romcam.measure.joints import get_joint
    from romcam.session.video import VideoOptions, check_video, measure_video

    from romcam.measure import circles

    circle_set = circles.is_circles(joint)
    j = circles.side_bend_joint() if circle_set else get_joint(joint)
    neutral_range = _neutral_range(neutral, video, circle_set)
    options = VideoOptions(model=model, model_dir=model_dir, mirrored=mirrored, camera_profile=camera_profile,
                           scale_target=scale_target, workers=workers, progress=not no_progress)
    checked = check_video(video, j, options)     # a wrong profile or target fails before the long work
    out_dir = prepare_out_dir(out_dir, Path("romcam-out") / f"{Path(video).stem}_"
                              f"{circles.JOINT_NAME if circle_set else j.name}", video, overwrite,
                              OUTPUT_FILES + ((MOT_FILE,) if mot else ()))
    measured = measure_video(video, j, options, checked)
    landmarks, info = measured.landmarks, measured.info
    extra = {"video": str(video), "mirrored": mirrored, "pose_model": model,
             "resolution": f"{info.width}x{info.height}", "camera_profile": camera_profile}
    if circle_set:
        c = circles.analyze_circles(landmarks)
        content = circles.summary(c)
        content["warnings"] += measured.warnings
        table = circles.frames_table(c)
        frames_path, summary_path = write_analysis(table, content, out_dir, extra)
        click.echo(circles.describe(str(video), c))
        click.echo(f"wrote {frames_path} and {summary_path}")
        if mot:
            _say_motion(write_motion(table, j.name, out_dir))
        return
    a = analyze_landmarks(j, landmarks, side, vertical=measured.vertical, neutral_range=neutral_range,
                          scale=measured.scale)
    content = summary(a)
    content["warnings"] += measured.warnings
    table = frames_table(a)
    frames_path, summary_path = write_analysis(table, content, out_dir, extra)
    per_side = {s: ([r.peak_deg for r in result.reps], result.max_deg) for s, result in a.sides.items()}
    click.echo(describe(str(video), a.joint.title, content, per_side))
    click.echo(f"wrote {frames_path} and {summary_path}")
    if mot:
        _say_motion(write_motion(table, j.name, out_dir))


def _say_motion(written: tuple[Path, int, int]) -> None:
    path, n, out = written
    click.echo(f"wrote {path}: OpenSim motion, {n} frames" + (f" ({out} not usable left out)" if out else ""))
