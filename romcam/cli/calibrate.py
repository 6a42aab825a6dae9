"""`romcam calibrate ...`: printable board and angle sheet, camera profile, camera level, angle check.

Thin commands: they parse, call :mod:`romcam.calibration`, and print. The live camera parts
only feed frames to the same functions that the image and video paths use, and draw a window.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import numpy as np

from romcam.errors import RomcamError

DEFAULT_BOARD_JSON = Path("calibration") / "board.json"
DEFAULT_SHEET_JSON = Path("calibration") / "angle_sheet.json"
WINDOW = "romcam calibrate"


# ------------------------------------------------------------------------------- helpers

def _given_or_default(path: Path | None, default_json: Path, load, default):
    """``load(path)`` if given, else ``load(default_json)`` if that file exists, else ``default()``."""
    if path is not None:
        return load(path)
    if default_json.is_file():
        return load(default_json)
    return default()


def _board_spec(board_path: Path | None):
    """The board to look for: --board, else ./calibration/board.json, else the default 7x5/30 mm."""
    from romcam.calibration import BoardSpec, load_board

    return _given_or_default(board_path, DEFAULT_BOARD_JSON, load_board, BoardSpec)


def _sheet(sheet_path: Path | None):
    from romcam.calibration import default_angle_sheet, load_angle_sheet

    return _given_or_default(sheet_path, DEFAULT_SHEET_JSON, load_angle_sheet, default_angle_sheet)


def _read_image(path: Path) -> np.ndarray:
    import cv2

    if not Path(path).is_file():
        raise RomcamError(f"image {path} does not exist")
    image = cv2.imread(str(path))
    if image is None:
        raise RomcamError(f"{path} is not an image OpenCV can read")
    return image


def _image_folder(folder: Path) -> list[tuple[str, Path]]:
    from romcam.capture.sources import IMAGE_SUFFIXES

    if not folder.is_dir():
        raise RomcamError(f"--images {folder} is not a folder")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise RomcamError(f"folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return [(p.name, p) for p in paths]


def _has_screen() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _show(image: np.ndarray) -> int:
    """Show a frame in the calibration window; the key pressed (lower case), or -1."""
    import cv2

    cv2.imshow(WINDOW, image)
    key = cv2.waitKey(1) & 0xFF
    return -1 if key == 0xFF else ord(chr(key).lower())


def _close_window() -> None:
    import cv2

    try:
        cv2.destroyWindow(WINDOW)
    except cv2.error:
        pass


def _frames(source: str, max_frames: int):
    """Frames of a webcam index, video file or image folder (at most ``max_frames``)."""
    from romcam.capture.sources import open_source

    with open_source(source) as src:
        for n, frame in enumerate(src):
            if n >= max_frames:
                return
            yield src.info, frame


def _one_source(source: str | None, image: Path | None) -> None:
    if (source is None) == (image is None):
        raise RomcamError("give exactly one of --source (webcam index, video or folder) and --image FILE")


def _signed(value: float) -> str:
    return f"{value:+z.1f}"


# ------------------------------------------------------------------------------- the group

@click.group(name="calibrate")
def calibrate() -> None:
    """Camera calibration: printable board, camera profile, camera level, angle check.

    \b
    1. romcam calibrate board            print calibration/board.pdf at 100 %
    2. romcam calibrate camera --images DIR --name NAME   (or --source 0, guided)
    3. romcam calibrate level --image wall.jpg --camera-profile NAME
    4. romcam calibrate verify --image sheet.jpg --camera-profile NAME
    then: romcam analyze VIDEO --joint ... --camera-profile NAME
    """


def _check_pair(out: Path, overwrite: bool, json_too: bool = True) -> None:
    """A printable target's PDF (and its JSON beside it) may be written (romcam.files); the
    default calibration/ folder is made. A board's JSON is checked by write_board itself (the
    same parameters may stay, other ones need --overwrite)."""
    from romcam.files import check_output

    default = out.parent == Path("calibration")
    check_output(out, "--out", overwrite=overwrite, create_folder=default)
    if json_too:
        check_output(out.with_suffix(".json"), "--out", overwrite=overwrite, probe=False)


@calibrate.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("calibration/board.pdf"),
              show_default=True, help="PDF to write; the board's parameters go beside it (.json).")
@click.option("--squares", default="7x5", show_default=True, help="Squares across x down.")
@click.option("--square-mm", type=click.FloatRange(5.0, 200.0), default=30.0, show_default=True,
              help="Side of one square when printed at 100%.")
@click.option("--marker-mm", type=click.FloatRange(2.0, 200.0), default=None,
              help="Side of one marker [default: 0.73 of a square, 22 mm for 30 mm squares].")
@click.option("--paper", type=click.Choice(["A4", "A3", "letter"]), default="A4", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing board that has other parameters.")
def board(out, squares, square_mm, marker_mm, paper, overwrite):
    """Write a printable ChArUco board PDF at exact physical size, with its parameters beside it."""
    from romcam.calibration import BoardSpec, parse_squares, write_board

    sx, sy = parse_squares(squares)
    marker = marker_mm if marker_mm is not None else round(square_mm * 22.0 / 30.0, 2)
    spec = BoardSpec(sx, sy, float(square_mm), float(marker), paper=paper)
    _check_pair(out, overwrite, json_too=False)
    pdf, js = write_board(spec, out, overwrite=overwrite)
    w, h = spec.page_size_mm()
    click.echo(f"wrote {pdf} ({paper} {'landscape' if w > h else 'portrait'}, board "
               f"{spec.width_mm:g} x {spec.height_mm:g} mm) and {js}")
    click.echo(f"print it at 100% (\"actual size\"), check that one square measures {spec.square_mm:g} mm, "
               "and tape it to something flat and stiff")


@calibrate.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("calibration/angle_sheet.pdf"), show_default=True)
@click.option("--angles", default="20,25", show_default=True,
              help="One or two test angles in degrees, comma separated.")
@click.option("--paper", type=click.Choice(["A4", "A3", "letter"]), default="A4", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing sheet.")
def sheet(out, angles, paper, overwrite):
    """Write the printable angle-check sheet (markers at known angles) and its JSON."""
    from romcam.calibration import default_angle_sheet, write_angle_sheet

    try:
        values = [float(a) for a in angles.split(",") if a.strip()]
    except ValueError:
        raise RomcamError(f"--angles must be numbers separated by commas, e.g. 20,25; got {angles!r}") from None
    _check_pair(out, overwrite)
    pdf, js = write_angle_sheet(default_angle_sheet(values, paper), out)
    click.echo(f"wrote {pdf} and {js}; print at 100%, then run `romcam calibrate verify`")


@calibrate.command()
@click.option("--source", default=None, help="Webcam index (guided live capture) or a video of the board.")
@click.option("--images", type=click.Path(path_type=Path), default=None, help="Folder of board photos.")
@click.option("--name", default="default", show_default=True, help="Profile name (for --camera-profile NAME).")
@click.option("--board", "board_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="board.json of the printed board [default: ./calibration/board.json, else 7x5 x 30 mm].")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the profile [default: the per-user config folder, .../romcam/cameras].")
@click.option("--overwrite", is_flag=True, help="Replace an existing profile of the same name.")
@click.option("--views", "target_views", type=click.IntRange(6, 60), default=15, show_default=True,
              help="Views to collect from a live camera or video.")
@click.option("--min-views", type=click.IntRange(3, 60), default=6, show_default=True,
              help="Fewer usable views than this: refuse (nothing saved).")
@click.option("--free-k3", is_flag=True, help="Also fit k3 (very wide lenses, with views in every corner).")
@click.option("--note", default="", help="Free text kept in the profile (which camera, which room...).")
def camera(source, images, name, board_path, out_dir, overwrite, target_views, min_views, free_k3, note):
    """Measure the camera's lens (intrinsics, distortion) and save a named camera profile."""
    from romcam.calibration import ViewCollector, calibrate_views, check_profile_name, profile_from_calibration, save_profile

    if (source is None) == (images is None):
        raise RomcamError("give exactly one of --source 0 (live, guided) and --images DIR")
    check_profile_name(name)
    spec = _board_spec(board_path)
    click.echo(f"board: {spec.squares_x}x{spec.squares_y} squares of {spec.square_mm:g} mm, {spec.dictionary}")
    if images is not None:
        collector = ViewCollector(spec, live=False)
        for label, path in _image_folder(images):
            collector.offer(_read_image(path), label)
        origin = str(images)
    else:
        collector = ViewCollector(spec, live=True, target_views=target_views)
        _collect_from_stream(source, collector, min_views)
        origin = f"source {source}"
    for view in collector.rejected:
        click.echo(f"  skipped {view.name}: {view.problem}")
    result = calibrate_views(collector.views, spec, min_views=min_views, fix_k3=not free_k3,
                             rejected=collector.rejected)
    _print_calibration(result)
    notes = f"{note.strip()}; " if note.strip() else ""
    profile = profile_from_calibration(result, name, spec, notes=f"{notes}{len(result.views)} views from {origin}")
    path = save_profile(profile, out_dir, overwrite=overwrite)
    click.echo(f"saved camera profile {name!r} to {path}")
    click.echo(f"use it with: romcam analyze VIDEO --joint ... --camera-profile {name}")


def _collect_from_stream(source: str, collector, min_views: int) -> None:
    """Feed a webcam (with a guide window) or a video to ``collector`` until it has enough views."""
    from romcam.calibration import draw_collection_overlay
    from romcam.capture.sources import open_source

    with open_source(source) as src:
        show = src.info.live
        if show and not _has_screen():
            raise RomcamError("live calibration shows a guide window and needs a screen; photograph the "
                              "board instead and use --images DIR")
        if show:
            click.echo("move the board around the image, tilted different ways; hold still for each view. "
                       "Keys: c = calibrate now, q = quit")
        try:
            for frame in src:
                kept, message = collector.offer(frame.image, f"frame{frame.index:05d}")
                if kept:
                    click.echo(f"  {message} ({collector.guidance()})")
                if show:
                    key = _show(draw_collection_overlay(frame.image, collector, message))
                    if key in (ord("q"), 27):
                        raise RomcamError("calibration stopped before it finished; nothing was saved", exit_code=130)
                    if key == ord("c") and len(collector.views) >= min_views:
                        return
                if len(collector.views) >= collector.target_views:
                    return
        finally:
            if show:
                _close_window()


def _print_calibration(result) -> None:
    k, d, s = result.camera_matrix, result.dist_coeffs, result.std_px
    w, h = result.image_size
    click.echo(f"views used: {len(result.views)} at {w}x{h}"
               + "".join(f"; dropped {n} (error {e:.2f} px)" for n, e in result.dropped))
    click.echo(f"focal length: fx {k[0, 0]:z.1f} ± {s['fx']:z.1f} px, fy {k[1, 1]:z.1f} ± {s['fy']:z.1f} px "
               f"(horizontal field of view {result.hfov_deg:z.1f} deg)")
    click.echo(f"principal point: ({k[0, 2]:z.1f} ± {s['cx']:z.1f}, {k[1, 2]:z.1f} ± {s['cy']:z.1f}) px; "
               f"image centre ({(w - 1) / 2:z.1f}, {(h - 1) / 2:z.1f})")
    click.echo(f"distortion: k1 {d[0]:+.4f} k2 {d[1]:+.4f} p1 {d[2]:+.5f} p2 {d[3]:+.5f} k3 {d[4]:+.4f}")
    worst = max(result.per_view_rms_px, key=result.per_view_rms_px.get)
    click.echo(f"RMS reprojection error: {result.rms_px:.3f} px (worst view {worst}: "
               f"{result.per_view_rms_px[worst]:.3f} px)")
    click.echo(f"image coverage: {result.coverage:.0%} of an 8x6 grid held a board corner")
    if result.coverage < 0.6:
        click.echo("note: the board was not seen near every edge; distortion there is extrapolated. "
                   "Add views with the board near the corners of the image.")
    if result.rms_px > 1.0:
        click.echo("note: an RMS error over 1 px suggests blur, a board that is not flat, or a wrong board size")


@calibrate.command()
@click.option("--image", type=click.Path(path_type=Path), default=None, help="Photo of the board on the wall.")
@click.option("--source", default=None, help="Webcam index, video or folder: median over frames.")
@click.option("--camera-profile", "profile_name", default=None,
              help="Profile to undistort with, and to store the measured roll in.")
@click.option("--board", "board_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--vertical", default=None, metavar="X1,Y1,X2,Y2",
              help="Instead of the board: two pixel points on a known-vertical line in --image.")
@click.option("--save/--no-save", default=True, show_default=True,
              help="Store the roll in the camera profile (when one is given).")
@click.option("--frames", type=click.IntRange(1, 1000), default=30, show_default=True)
@click.option("--limit", type=click.FloatRange(0.1, 45.0), default=3.0, show_default=True,
              help="Tilt (deg) above which to warn.")
def level(image, source, profile_name, board_path, vertical, save, frames, limit):
    """Measure the camera's roll from the board hung square to a spirit level (or a vertical line)."""
    from romcam.calibration import load_profile, roll_from_vertical_line, store_roll, tilt_warning

    _one_source(source, image)
    profile = load_profile(profile_name) if profile_name else None
    if vertical is not None:
        if image is None:
            raise RomcamError("--vertical needs --image (the points are pixels of that image)")
        roll = roll_from_vertical_line(*_parse_line(vertical))
        click.echo(f"camera roll: {_signed(roll)} deg, from the vertical line {vertical}")
    else:
        spec = _board_spec(board_path)
        rolls = _rolls(image, source, spec, profile, frames)
        roll = float(np.median(rolls))
        spread = f" (median of {len(rolls)} frames, spread {np.ptp(rolls):.2f} deg)" if len(rolls) > 1 else ""
        click.echo(f"camera roll: {_signed(roll)} deg{spread}; "
                   f"{'undistorted with ' + repr(profile.name) if profile else 'no camera profile (not undistorted)'}")
    click.echo("meaning: verticals lean " + ("counter-clockwise" if roll > 0 else "clockwise")
               + f" in the image by {abs(roll):z.1f} deg (+ = counter-clockwise as seen)")
    warning = tilt_warning(roll, limit)
    if warning:
        click.echo(f"warning: {warning}")
    if profile is not None and save:
        path = store_roll(profile_name, roll)
        click.echo(f"stored roll {_signed(roll)} deg in {path}: angles against the vertical will be "
                   "corrected when this profile is used; measure again whenever the camera is moved")


def _parse_line(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    try:
        x1, y1, x2, y2 = (float(v) for v in text.split(","))
    except ValueError:
        raise RomcamError(f"--vertical must be four numbers X1,Y1,X2,Y2 (pixels), got {text!r}") from None
    return (x1, y1), (x2, y2)


def _per_frame(image, source, frames: int, measure) -> list:
    """``[measure(image, name)]`` for --image, else ``measure`` over the first ``frames`` frames of
    --source where it succeeds (at most 4x as many tried)."""
    if image is not None:
        return [measure(_read_image(image), str(image))]
    results, last_error = [], None
    for _info, frame in _frames(source, frames * 4):
        try:
            results.append(measure(frame.image, f"frame {frame.index}"))
        except RomcamError as exc:
            last_error = exc
        if len(results) >= frames:
            break
    if not results:
        raise last_error or RomcamError(f"no frames from {source}")
    return results


def _rolls(image, source, spec, profile, frames) -> list[float]:
    from romcam.calibration import roll_from_board

    return [m.roll_deg for m in _per_frame(image, source, frames,
                                           lambda img, name: roll_from_board(img, spec, profile, name=name))]


@calibrate.command()
@click.option("--image", type=click.Path(path_type=Path), default=None, help="Photo of the printed angle sheet.")
@click.option("--source", default=None, help="Webcam index, video or folder: median over frames.")
@click.option("--sheet", "sheet_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="angle_sheet.json [default: ./calibration/angle_sheet.json, else 20 and 25 deg].")
@click.option("--camera-profile", "profile_name", default=None, help="Profile to undistort with.")
@click.option("--tolerance", type=click.FloatRange(0.05, 10.0), default=1.0, show_default=True,
              help="Largest acceptable error, degrees.")
@click.option("--frames", type=click.IntRange(1, 1000), default=15, show_default=True)
def verify(image, source, sheet_path, profile_name, tolerance, frames):
    """Check the whole chain: measure printed markers at known angles (calibration/angle_sheet.pdf)."""
    from romcam.calibration import load_profile

    _one_source(source, image)
    sheet = _sheet(sheet_path)
    profile = load_profile(profile_name) if profile_name else None
    results = _sheet_measurements(image, source, sheet, profile, frames)
    click.echo(f"angle sheet: {results[0].references_seen} corner markers seen; "
               + (f"undistorted with {profile.name!r}" if profile else "no camera profile (not undistorted)")
               + (f"; median of {len(results)} frames" if len(results) > 1 else ""))
    worst = 0.0
    for i, first in enumerate(results[0].markers):
        measured = float(np.median([r.markers[i].measured_deg for r in results]))
        in_image = float(np.median([r.markers[i].image_deg for r in results]))
        error = measured - first.printed_deg
        worst = max(worst, abs(error))
        click.echo(f"  marker {first.id}: printed {first.printed_deg:z.1f} deg, measured {measured:.2f} deg "
                   f"(error {error:+.2f}); as the image shows it, before perspective correction: {in_image:z.1f} deg")
    pair = results[0].pair()
    if pair is not None:
        measured = float(np.median([r.pair()[1] for r in results]))
        click.echo(f"  angle between the two markers: printed {pair[0]:z.1f} deg, measured {measured:.2f} deg "
                   f"(error {measured - pair[0]:+.2f})")
        worst = max(worst, abs(measured - pair[0]))
    if worst > tolerance:
        raise RomcamError(f"angle check failed: an error of {worst:.2f} deg exceeds {tolerance:g} deg; check the "
                          "print scale (100 mm bars), that the sheet is flat, and the camera profile", exit_code=1)
    click.echo(f"angle check passed: every error within {tolerance:g} deg (largest {worst:.2f} deg)")


def _sheet_measurements(image, source, sheet, profile, frames):
    from romcam.calibration import measure_angle_sheet

    return _per_frame(image, source, frames,
                      lambda img, name: measure_angle_sheet(img, sheet, profile, name=name))


__all__ = ["calibrate"]
