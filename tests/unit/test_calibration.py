"""Camera calibration against known truth (issue 5).

Every image here is rendered by :class:`romcam.calibration.SyntheticCamera` through a camera
matrix and lens distortion chosen below, so each number the code recovers is checked against
the number that was put in. Pictures for a human go to test-output/calibration/.
"""

from __future__ import annotations

import json
import re
import time
import zlib

import cv2
import numpy as np
import pytest

from romcam import calibration as cal
from romcam.cli import main as romcam_main
from romcam.errors import RomcamError
from romcam.measure.joints import get_joint
from romcam.capture.landmarks import POSE, FrameLandmarks

# A wide webcam at 1280x720: 70 deg horizontal field of view, principal point off centre,
# strong barrel distortion (k1 = -0.30) and a little decentring.
SIZE = (1280, 720)
K_TRUE = np.array([[910.0, 0.0, 652.0], [0.0, 905.0, 347.0], [0.0, 0.0, 1.0]])
DIST_TRUE = np.array([-0.30, 0.10, 0.0008, -0.0006, 0.0])
TEXTURE_PX_PER_MM = 8.0


# ------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def camera():
    return cal.SyntheticCamera(K_TRUE, DIST_TRUE, SIZE, supersample=2)


@pytest.fixture(scope="module")
def spec():
    return cal.BoardSpec()


@pytest.fixture(scope="module")
def board_page(spec):
    return cal.board_texture(spec, TEXTURE_PX_PER_MM)


@pytest.fixture(scope="module")
def pictures(output_dir):
    folder = output_dir / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def board_centre_on_page(spec) -> tuple[float, float]:
    ox, oy = spec.origin_mm()
    return ox + spec.width_mm / 2, oy + spec.height_mm / 2


def calibration_poses(camera, spec, n=16, seed=5):
    """Hand-held-like views: the board centre spread over the image (corners included, some
    views partly out of frame), 33-52 cm away, tilted up to 40 deg, turned up to 30 deg."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    targets = [(0.5, 0.5), (0.12, 0.15), (0.88, 0.15), (0.12, 0.85), (0.88, 0.85), (0.5, 0.12),
               (0.5, 0.88), (0.08, 0.5), (0.92, 0.5), (0.3, 0.3), (0.7, 0.7), (0.3, 0.7), (0.7, 0.3),
               (0.04, 0.06), (0.96, 0.94), (0.5, 0.5)]
    poses = []
    for fu, fv in targets[:n]:
        tilt = (rng.uniform(-40, 40), rng.uniform(-40, 40), rng.uniform(-30, 30))
        poses.append(camera.pose_for(board_centre_on_page(spec), (fu * (w - 1), fv * (h - 1)),
                                     rng.uniform(330, 520), tilt))
    return poses


@pytest.fixture(scope="module")
def board_views(camera, spec, board_page):
    """[(name, image, rvec, tvec)] of the board seen from calibration_poses."""
    rng = np.random.default_rng(11)
    out = []
    for i, (rvec, tvec) in enumerate(calibration_poses(camera, spec)):
        image = camera.render(board_page, TEXTURE_PX_PER_MM, rvec, tvec, noise=2.0, rng=rng)
        out.append((f"view{i:02d}.png", image, rvec, tvec))
    return out


@pytest.fixture(scope="module")
def calibrated(board_views, spec):
    return cal.calibrate_images([(name, image) for name, image, _, _ in board_views], spec)


@pytest.fixture(scope="module")
def recovered_profile(calibrated, spec):
    return cal.profile_from_calibration(calibrated, "recovered", spec)


@pytest.fixture
def cli(monkeypatch, tmp_path, capsys):
    """cli(*args) -> (exit code, stdout, stderr) of `romcam ...`, in an empty folder with its own config."""
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")          # keep stderr where capsys sees it
    monkeypatch.setenv("ROMCAM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)

    def run(*args):
        code = romcam_main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


# ------------------------------------------------------------------------------ printable board

def pdf_streams(data: bytes) -> list[bytes]:
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    return out


def test_board_pdf_is_exact_physical_size(tmp_path, spec):
    pdf, js = cal.write_board(spec, tmp_path / "board.pdf")
    data = pdf.read_bytes()
    media_box = [float(v) for v in re.search(rb"/MediaBox \[([^\]]*)\]", data).group(1).split()]
    assert media_box[2] == pytest.approx(297 / 25.4 * 72, abs=0.01)      # A4 landscape, in points
    assert media_box[3] == pytest.approx(210 / 25.4 * 72, abs=0.01)
    # the first filled path is the chessboard: its extent on the page must be the board's, in mm
    content = max(pdf_streams(data), key=len).decode("latin-1")
    first_path = content.split(" gs ", 1)[1].split("\nf\n", 1)[0]
    xy = np.array([[float(a), float(b)] for a, b in re.findall(r"([\d.]+) ([\d.]+) [ml]\n", first_path)])
    xy_mm = xy / cal.PT_PER_MM
    ox, oy = spec.origin_mm()
    assert xy_mm[:, 0].min() == pytest.approx(ox, abs=0.01)
    assert xy_mm[:, 0].max() - xy_mm[:, 0].min() == pytest.approx(7 * 30.0, abs=0.01)
    assert xy_mm[:, 1].max() - xy_mm[:, 1].min() == pytest.approx(5 * 30.0, abs=0.01)
    assert 210 - xy_mm[:, 1].max() == pytest.approx(oy, abs=0.01)         # PDF y is up
    params = json.loads(js.read_text())
    assert (params["squares_x"], params["squares_y"], params["square_mm"]) == (7, 5, 30.0)
    assert cal.load_board(js) == spec


def test_printed_board_is_the_board_opencv_detects(spec, board_page, pictures):
    """The layout drawn into the PDF, rasterised, against OpenCV's own image of the board."""
    ppm = TEXTURE_PX_PER_MM
    reference = spec.cv_board().generateImage((int(spec.width_mm * ppm), int(spec.height_mm * ppm)),
                                              marginSize=0, borderBits=1)
    ox, oy = spec.origin_mm()
    x0, y0 = int(round(ox * ppm)), int(round(oy * ppm))
    ours = board_page[y0:y0 + reference.shape[0], x0:x0 + reference.shape[1]]
    differ = np.abs(ours.astype(int) - reference.astype(int)) > 128
    assert differ.mean() < 0.005          # edge pixels only (OpenCV rounds marker sizes to pixels)
    view = cal.detect_board(board_page, spec)
    assert view.ok and len(view.ids) == spec.corner_count
    cv2.imwrite(str(pictures / "board_page.png"), cv2.resize(board_page, None, fx=0.4, fy=0.4,
                                                             interpolation=cv2.INTER_AREA))


@pytest.mark.slow
def test_write_board_keeps_a_different_existing_board(tmp_path, spec):
    cal.write_board(spec, tmp_path / "board.pdf")
    before = (tmp_path / "board.json").read_text()
    other = cal.BoardSpec(8, 5, 25.0, 18.0)
    with pytest.raises(RomcamError, match="different board"):
        cal.write_board(other, tmp_path / "board.pdf")
    assert (tmp_path / "board.json").read_text() == before
    cal.write_board(spec, tmp_path / "board.pdf")                  # the same board again: fine
    cal.write_board(other, tmp_path / "board.pdf", overwrite=True)
    assert cal.load_board(tmp_path / "board.json") == other


# ------------------------------------------------------------------------------ intrinsics

def test_renderer_puts_corners_where_the_camera_model_says(camera, spec, board_views, pictures):
    """Detected corners vs the true projection of the board's corners: checks the renderer."""
    ox, oy = spec.origin_mm()
    errors = []
    for name, image, rvec, tvec in board_views:
        view = cal.detect_board(image, spec, name)
        if not len(view.ids):
            continue
        truth = camera.project(spec.corner_points_mm()[view.ids] + (ox, oy), rvec, tvec)
        errors.append(np.linalg.norm(view.corners - truth, axis=1))
    errors = np.concatenate(errors)
    print(f"corner detection error: median {np.median(errors):.3f} px, max {errors.max():.3f} px")
    assert np.median(errors) < 0.15 and errors.max() < 0.6
    name, image, _, _ = board_views[4]
    view = cal.detect_board(image, spec, name)
    drawn = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    cv2.aruco.drawDetectedCornersCharuco(drawn, view.corners.reshape(-1, 1, 2).astype(np.float32),
                                         view.ids.reshape(-1, 1))
    cv2.imwrite(str(pictures / "rendered_view_corners.png"), drawn)
    mosaic = np.vstack([np.hstack([cv2.resize(v[1], (640, 360), interpolation=cv2.INTER_AREA) for v in row])
                        for row in (board_views[0:3], board_views[3:6], board_views[13:16])])
    cv2.imwrite(str(pictures / "rendered_views.png"), mosaic)


def test_calibration_recovers_the_known_camera(calibrated, board_views):
    k = calibrated.camera_matrix
    fx_err = k[0, 0] / K_TRUE[0, 0] - 1
    fy_err = k[1, 1] / K_TRUE[1, 1] - 1
    cx_err = k[0, 2] / K_TRUE[0, 2] - 1
    cy_err = k[1, 2] / K_TRUE[1, 2] - 1
    print(f"views {len(calibrated.views)}/{len(board_views)}, RMS {calibrated.rms_px:.3f} px; "
          f"fx {100 * fx_err:+.2f}%, fy {100 * fy_err:+.2f}%, cx {100 * cx_err:+.2f}%, cy {100 * cy_err:+.2f}%; "
          f"k1 {calibrated.dist_coeffs[0]:+.4f} (true {DIST_TRUE[0]}), k2 {calibrated.dist_coeffs[1]:+.4f}")
    assert abs(fx_err) < 0.01 and abs(fy_err) < 0.01
    assert abs(cx_err) < 0.02 and abs(cy_err) < 0.02
    assert 0.0 < calibrated.rms_px < 0.5
    assert len(calibrated.views) >= 12


# ------------------------------------------------------------------------------ undistortion

def straightness_px(points: np.ndarray) -> float:
    """Largest distance of the points from their best-fit straight line."""
    centred = points - points.mean(axis=0)
    normal = np.linalg.svd(centred)[2][1]
    return float(np.abs(centred @ normal).max())


def ideal_lines() -> list[np.ndarray]:
    """Straight lines of the ideal (pinhole) image, near the edges and across a corner."""
    t = np.linspace(0.0, 1.0, 60)[:, None]
    segments = [((60, 40), (1220, 40)), ((40, 60), (40, 660)), ((60, 690), (1220, 690)),
                ((900, 700), (1260, 420)), ((640, 60), (640, 660))]
    return [np.asarray(a, float) + t * (np.asarray(b, float) - np.asarray(a, float)) for a, b in segments]


def test_undistortion_makes_distorted_lines_straight_again(camera, recovered_profile):
    true_profile = camera.profile()
    before, after_true, after_recovered = [], [], []
    for line in ideal_lines():
        seen = cal.distort_points(line, K_TRUE, DIST_TRUE)
        before.append(straightness_px(seen))
        after_true.append(straightness_px(cal.undistort_points(seen, true_profile, *SIZE)))
        after_recovered.append(straightness_px(cal.undistort_points(seen, recovered_profile, *SIZE)))
    print("bow (px) before:", np.round(before, 2), "after, true lens:", np.round(after_true, 4),
          "after, calibrated lens:", np.round(after_recovered, 3))
    assert max(before[:4]) > 5.0                    # the distortion is real near the edges
    assert max(after_true) < 0.01
    assert max(after_recovered) < 0.5


def limb_points(knee, thigh_dir_deg, shank_dir_deg, length=170.0):
    """hip, knee, ankle with the thigh and shank leaving the knee at the given directions (y up)."""
    knee = np.asarray(knee, float)

    def towards(direction):
        a = np.radians(direction)
        return knee + length * np.array([np.cos(a), -np.sin(a)])

    return towards(thigh_dir_deg), knee, towards(shank_dir_deg)


def frame_with(points: dict[str, np.ndarray], width=SIZE[0], height=SIZE[1], face=None, face_matrix=None):
    pose = np.zeros((33, 5))
    pose[:, 3:] = 1.0
    for name, xy in points.items():
        pose[POSE[name], :2] = xy
    return FrameLandmarks(0, 0.0, width, height, pose, face, face_matrix)


def test_undistortion_fixes_a_limb_near_the_image_corner(recovered_profile):
    """A knee bent 40 deg in the bottom-right corner: the lens bends it; undistortion restores it."""
    knee_flexion = get_joint("knee_flexion")
    cases = [((1130, 590), 110.0, -110.0), ((1150, 170), 160.0, -100.0), ((150, 600), 70.0, -70.0)]
    before, after = [], []
    for knee, thigh, shank in cases:
        hip, knee_pt, ankle = limb_points(knee, thigh, shank)
        truth = knee_flexion.angle(frame_with({"left_hip": hip, "left_knee": knee_pt, "left_ankle": ankle}), "left")
        seen = {n: cal.distort_points(p, K_TRUE, DIST_TRUE)[0]
                for n, p in (("left_hip", hip), ("left_knee", knee_pt), ("left_ankle", ankle))}
        raw = frame_with(seen)
        fixed = cal.undistort_series([raw], recovered_profile, *SIZE)[0]
        before.append(knee_flexion.angle(raw, "left") - truth)
        after.append(knee_flexion.angle(fixed, "left") - truth)
    print(f"limb angle error before {np.round(before, 2)} deg, after {np.round(after, 3)} deg")
    assert max(abs(b) for b in before) > 2.0
    assert max(abs(a) for a in after) < 0.5


def test_undistort_series_keeps_everything_but_image_coordinates(recovered_profile):
    rng = np.random.default_rng(3)
    pose = np.column_stack([rng.uniform(100, 1180, (33, 2)), rng.normal(0, 50, 33), rng.uniform(0, 1, (33, 2))])
    face = np.column_stack([rng.uniform(500, 700, (478, 2)), rng.normal(0, 20, 478)])
    matrix = np.eye(4)
    frames = [FrameLandmarks(i, i / 30, *SIZE, pose + i, face, matrix) for i in range(3)] + \
             [FrameLandmarks(3, 0.1, *SIZE, None, None, None)]
    out = cal.undistort_series(frames, recovered_profile, *SIZE)
    assert len(out) == 4 and out[3].pose is None
    for before, after in zip(frames[:3], out[:3]):
        assert after.index == before.index and after.t_s == before.t_s
        np.testing.assert_array_equal(after.pose[:, 2:], before.pose[:, 2:])
        np.testing.assert_array_equal(after.face[:, 2], before.face[:, 2])
        expected = cal.undistort_points(before.pose[:, :2], recovered_profile, *SIZE)
        np.testing.assert_allclose(after.pose[:, :2], expected, atol=1e-9)
        assert np.abs(after.pose[:, :2] - before.pose[:, :2]).max() > 1.0
        np.testing.assert_array_equal(after.face_matrix, matrix)        # no roll in the profile
    assert frames[0].pose[0, 0] == pose[0, 0]                           # inputs untouched


def test_resolution_is_rescaled_when_the_shape_matches_and_refused_when_not(camera):
    true_profile = camera.profile()
    ideal = np.array([[100.0, 80.0], [1200.0, 650.0], [640.0, 360.0]])
    seen_full = cal.distort_points(ideal, K_TRUE, DIST_TRUE)
    seen_half = (seen_full + 0.5) / 2 - 0.5                 # the same view at 640x360
    fixed_half = cal.undistort_points(seen_half, true_profile, 640, 360)
    np.testing.assert_allclose(fixed_half, (ideal + 0.5) / 2 - 0.5, atol=1e-6)
    with pytest.raises(RomcamError, match=r"1280x720 .* 640x480, a different shape"):
        cal.undistort_points(seen_half, true_profile, 640, 480)
    with pytest.raises(RomcamError, match="different shape"):
        cal.undistort_series([frame_with({}, 640, 480)], true_profile, 640, 480)


# ------------------------------------------------------------------------------ camera level

def wall_pose(camera, spec, roll_deg, pitch_deg, yaw_deg):
    """The board on a wall, its columns truly vertical; a camera pitched, with the board turned
    (yaw, about the board's own vertical axis) and the camera rolled about its optical axis.

    rotation = Rz(roll) Rx(pitch) Ry(yaw): Ry and Rx keep the vertical in the camera's y-z plane,
    and Rz(+a) in y-down camera axes turns the image clockwise as seen, so verticals lean
    clockwise by a: the profile convention's roll is -a.
    """
    rot = cal.rotation_xyz(0.0, 0.0, roll_deg) @ cal.rotation_xyz(pitch_deg, 0.0, 0.0) @ \
        cal.rotation_xyz(0.0, yaw_deg, 0.0)
    centre = np.array([*board_centre_on_page(spec), 0.0])
    ray = np.array([(640 - K_TRUE[0, 2]) / K_TRUE[0, 0], (380 - K_TRUE[1, 2]) / K_TRUE[1, 1], 1.0])
    tvec = 700.0 * ray - rot @ centre
    return cv2.Rodrigues(rot)[0].ravel(), tvec


def true_roll(rvec) -> float:
    """Direction of the world vertical in the image, less 90: projected through the camera."""
    rot = cv2.Rodrigues(np.asarray(rvec, float))[0]
    up = rot @ np.array([0.0, -1.0, 0.0])
    return float(np.degrees(np.arctan2(-K_TRUE[1, 1] * up[1], K_TRUE[0, 0] * up[0])) - 90.0)


@pytest.mark.parametrize("roll, pitch, yaw", [(4.0, 0.0, 0.0), (-6.5, 12.0, 25.0), (2.0, -10.0, -30.0)])
def test_camera_roll_is_measured_from_a_levelled_board(camera, spec, board_page, roll, pitch, yaw, pictures):
    rvec, tvec = wall_pose(camera, spec, roll, pitch, yaw)
    image = camera.render(board_page, TEXTURE_PX_PER_MM, rvec, tvec, noise=2.0)
    truth = true_roll(rvec)
    assert truth == pytest.approx(-roll, abs=0.05)          # the convention (fx != fy shifts it a little)
    measured = cal.roll_from_board(image, spec, camera.profile()).roll_deg
    without_profile = cal.roll_from_board(image, spec).roll_deg
    print(f"roll truth {truth:+.2f}, measured {measured:+.3f} (no profile: {without_profile:+.2f})")
    assert measured == pytest.approx(truth, abs=0.2)
    if roll == 4.0:
        cv2.imwrite(str(pictures / "level_board_rolled.png"), image)


def test_levelling_corrects_the_tibial_inclination(camera, spec, board_page):
    """A shin at 30 deg seen by a camera rolled 5 deg: 5 deg wrong until the measured roll is used."""
    rvec, tvec = wall_pose(camera, spec, 5.0, 0.0, 0.0)
    roll = cal.roll_from_board(camera.render(board_page, TEXTURE_PX_PER_MM, rvec, tvec), spec,
                               camera.profile()).roll_deg
    tibia = get_joint("tibial_inclination")
    ankle, knee = np.array([600.0, 600.0]), np.array([600.0 + 300 * np.sin(np.radians(30)), 600.0 - 300 * np.cos(np.radians(30))])
    heel, toe = np.array([560.0, 620.0]), np.array([760.0, 620.0])
    centre = np.array([(SIZE[0] - 1) / 2, (SIZE[1] - 1) / 2])
    seen = {n: (p - centre) @ cal.visual_rotation(true_roll(rvec)).T + centre            # what the camera shows
            for n, p in (("left_ankle", ankle), ("left_knee", knee), ("left_heel", heel), ("left_foot_index", toe))}
    level_profile = cal.CameraProfile("lvl", *SIZE, K_TRUE, np.zeros(5), 0.1, cal.now_iso(), roll_deg=roll)
    raw = frame_with(seen)
    fixed = cal.undistort_series([raw], level_profile, *SIZE)[0]
    print(f"tibial inclination truth 30, seen {tibia.angle(raw, 'left'):.2f}, levelled {tibia.angle(fixed, 'left'):.3f}")
    assert abs(tibia.angle(raw, "left") - 30.0) > 4.0
    assert tibia.angle(fixed, "left") == pytest.approx(30.0, abs=0.3)


def test_levelling_leaves_trunk_relative_angles_alone():
    """Rolling points and the face matrix together: head roll minus trunk roll does not change."""
    from romcam.measure import angles, head

    a = np.radians(12.0)
    matrix = np.eye(4)
    matrix[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    lm = frame_with({"left_shoulder": (800.0, 400.0), "right_shoulder": (500.0, 420.0)}, face_matrix=matrix)
    profile = cal.CameraProfile("lvl", *SIZE, K_TRUE, np.zeros(5), 0.1, cal.now_iso(), roll_deg=7.0)
    out = cal.undistort_series([lm], profile, *SIZE)[0]

    def relative(f):
        trunk = angles.direction_deg(f.point("right_shoulder"), f.point("left_shoulder"))
        return float(head.image_roll_deg(f.face_matrix) - trunk)

    assert relative(out) == pytest.approx(relative(lm), abs=1e-9)
    assert float(head.image_roll_deg(out.face_matrix)) == pytest.approx(12.0 - 7.0, abs=1e-9)


def test_roll_from_a_vertical_line_and_the_tilt_warning():
    assert cal.roll_from_vertical_line((100, 500), (100, 100)) == pytest.approx(0.0)
    leaning = cal.roll_from_vertical_line((100, 500), (100 - 400 * np.tan(np.radians(4)), 100))
    assert leaning == pytest.approx(4.0, abs=1e-9)               # top to the left: counter-clockwise
    assert cal.roll_from_vertical_line((100, 100), (100 - 400 * np.tan(np.radians(4)), 500)) == pytest.approx(-4.0)
    assert cal.tilt_warning(2.9) is None and cal.tilt_warning(None) is None
    assert "4.2 deg" in cal.tilt_warning(-4.2) and "clockwise" in cal.tilt_warning(-4.2)
    profile = cal.CameraProfile("p", *SIZE, K_TRUE, np.zeros(5), 0.1, cal.now_iso(), roll_deg=5.0)
    assert "counter-clockwise" in cal.tilt_warning(profile)


# ------------------------------------------------------------------------------ angle sheet

@pytest.fixture(scope="module")
def sheet():
    return cal.default_angle_sheet((20.0, 25.0))


@pytest.fixture(scope="module")
def sheet_page(sheet):
    return cal.rasterize_page(cal.sheet_layout(sheet), TEXTURE_PX_PER_MM)


SHEET_POSES = [  # (image point of the sheet centre, distance mm, tilt about x, y, z in degrees)
    ((640, 360), 520, (0, 0, 0)),
    ((600, 380), 560, (0, 0, 30)),
    ((700, 340), 560, (0, 0, -45)),
    ((640, 360), 600, (35, 0, 10)),
    ((620, 370), 600, (-20, 40, -15)),
    ((380, 300), 620, (25, -30, 70)),
]


@pytest.mark.slow
def test_angle_sheet_is_measured_within_half_a_degree(camera, sheet, sheet_page, recovered_profile, pictures):
    errors, perspective = [], []
    for i, (point, distance, tilt) in enumerate(SHEET_POSES):
        rvec, tvec = camera.pose_for(np.array(sheet.size_mm) / 2, point, distance, tilt)
        image = camera.render(sheet_page, TEXTURE_PX_PER_MM, rvec, tvec, noise=2.0,
                              rng=np.random.default_rng(i))
        result = cal.measure_angle_sheet(image, sheet, recovered_profile)
        for marker in result.markers:
            errors.append(marker.error_deg)
            perspective.append(marker.image_deg - marker.printed_deg)
        printed, measured = result.pair()
        errors.append(measured - printed)
        if i in (3, 5):
            cv2.imwrite(str(pictures / f"angle_sheet_view{i}.png"), image)
    print(f"angle sheet errors (deg): {np.round(errors, 3)}; unrectified image angles off by up to "
          f"{np.abs(perspective).max():.1f} deg")
    assert np.abs(errors).max() < 0.5
    assert np.abs(perspective).max() > 2.0          # the poses do add perspective worth removing


def test_angle_sheet_pdf_and_json(tmp_path, sheet, pictures):
    pdf, js = cal.write_angle_sheet(sheet, tmp_path / "angle_sheet.pdf")
    box = [float(v) for v in re.search(rb"/MediaBox \[([^\]]*)\]", pdf.read_bytes()).group(1).split()]
    assert box[2:] == pytest.approx([210 / 25.4 * 72, 297 / 25.4 * 72], abs=0.01)
    loaded = cal.load_angle_sheet(js)
    assert loaded == sheet
    assert [m.angle_deg for m in loaded.by_role("test")] == [20.0, 25.0]
    cal.page_figure(cal.sheet_layout(sheet)).savefig(pictures / "angle_sheet_preview.png", dpi=50)


def test_angle_sheet_with_a_hidden_marker_says_what_is_missing(camera, sheet, sheet_page):
    page = sheet_page.copy()
    m = sheet.by_role("test")[1]
    x, y = (np.array(m.center_mm) * TEXTURE_PX_PER_MM).astype(int)
    page[y - 200:y + 200, x - 200:x + 200] = 255
    rvec, tvec = camera.pose_for(np.array(sheet.size_mm) / 2, (640, 360), 520)
    with pytest.raises(RomcamError, match=f"test marker\\(s\\) {m.id}"):
        cal.measure_angle_sheet(camera.render(page, TEXTURE_PX_PER_MM, rvec, tvec), sheet)


# ------------------------------------------------------------------------------ bad input

def test_too_few_views_is_refused_with_the_reasons(board_views, spec):
    images = [(name, image) for name, image, _, _ in board_views[:3]]
    images.append(("blank.png", np.full((720, 1280), 128, np.uint8)))
    with pytest.raises(RomcamError, match=r"only 3 usable view\(s\).*need at least 6.*1 board not found"):
        cal.calibrate_images(images, spec)


def test_blurred_and_partial_boards_are_rejected(camera, spec, board_page):
    rvec, tvec = camera.pose_for(board_centre_on_page(spec), (640, 360), 260, (10, -15, 5))
    close = camera.render(board_page, TEXTURE_PX_PER_MM, rvec, tvec)
    sharp = cal.detect_board(close, spec, "sharp")
    blurred = cal.detect_board(cv2.GaussianBlur(close, (0, 0), 4.0), spec, "blurred")
    print(f"edge blur: sharp {sharp.blur_px:.2f} px, after a 4 px Gaussian {blurred.blur_px:.2f} px")
    assert sharp.ok and sharp.blur_px < 1.2
    assert not blurred.ok and blurred.problem.startswith("blurred")
    cut = int(np.sort(sharp.corners[:, 0])[4] + 15)          # just past the first column of corners
    partial = cal.detect_board(close[:, :cut], spec, "partial")
    print(f"cut at x={cut}: {partial.problem}")
    assert not partial.ok and "partly visible" in partial.problem, partial.problem
    nothing = cal.detect_board(cv2.GaussianBlur(close, (0, 0), 25.0), spec, "smeared")
    assert nothing.problem.startswith("board not found")


def test_blur_estimate_follows_the_blur_applied(camera, spec, board_page):
    rvec, tvec = camera.pose_for(board_centre_on_page(spec), (640, 360), 300, (20, 10, 0))
    image = camera.render(board_page, TEXTURE_PX_PER_MM, rvec, tvec)
    corners = cal.detect_board(image, spec).corners
    base = cal.edge_blur_px(image, corners)
    for sigma in (1.0, 2.0, 3.0):
        estimate = cal.edge_blur_px(cv2.GaussianBlur(image, (0, 0), sigma), corners)
        assert estimate == pytest.approx(np.hypot(base, sigma), rel=0.2), (sigma, estimate)


def test_a_file_that_is_not_a_profile_is_refused(tmp_path):
    (tmp_path / "other.json").write_text(json.dumps({"squares_x": 7}))
    (tmp_path / "broken.json").write_text("{not json")
    damaged = cal.CameraProfile("x", *SIZE, K_TRUE, DIST_TRUE, 0.1, cal.now_iso()).to_dict()
    damaged["camera_matrix"] = [[1, 2], [3, 4]]
    (tmp_path / "damaged.json").write_text(json.dumps(damaged))
    with pytest.raises(RomcamError, match="is not a romcam camera profile"):
        cal.load_profile(tmp_path / "other.json")
    with pytest.raises(RomcamError, match="not valid JSON"):
        cal.load_profile(tmp_path / "broken.json")
    with pytest.raises(RomcamError, match="damaged camera profile.*3x3"):
        cal.load_profile(tmp_path / "damaged.json")
    with pytest.raises(RomcamError, match="does not exist"):
        cal.load_profile(tmp_path / "missing.json")


# ------------------------------------------------------------------------------ profiles

def test_profile_round_trip_lookup_and_no_silent_overwrite(tmp_path, monkeypatch, recovered_profile):
    monkeypatch.setenv("ROMCAM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    profile = cal.CameraProfile(**{**recovered_profile.__dict__, "name": "desk", "roll_deg": 1.25})
    path = cal.save_profile(profile)
    assert path == tmp_path / "config" / "cameras" / "desk.json"
    loaded = cal.load_profile("desk")
    assert loaded.to_dict() == profile.to_dict()
    np.testing.assert_allclose(loaded.camera_matrix, profile.camera_matrix, atol=1e-6)
    np.testing.assert_allclose(loaded.dist_coeffs, profile.dist_coeffs, atol=1e-8)
    assert loaded.roll_deg == 1.25 and loaded.width == 1280 and loaded.created == profile.created
    assert cal.load_profile(path).to_dict() == profile.to_dict()
    cal.save_profile(loaded)                                   # the same profile again: allowed
    other = cal.CameraProfile(**{**profile.__dict__, "rms_px": 0.9})
    with pytest.raises(RomcamError, match="already exists.*--overwrite"):
        cal.save_profile(other)
    assert cal.load_profile("desk").rms_px == pytest.approx(profile.rms_px, abs=1e-4)
    cal.save_profile(other, overwrite=True)
    assert cal.load_profile("desk").rms_px == 0.9
    # a name not in the user folder is looked up in ./calibration/profiles
    cal.save_profile(cal.CameraProfile(**{**profile.__dict__, "name": "shared"}), tmp_path / "calibration" / "profiles")
    assert cal.load_profile("shared").name == "shared"
    with pytest.raises(RomcamError, match="no camera profile named 'nope'.*known: desk, shared"):
        cal.load_profile("nope")
    with pytest.raises(RomcamError, match="not allowed"):
        cal.save_profile(cal.CameraProfile(**{**profile.__dict__, "name": "../evil"}))


def test_repository_profiles_and_targets_are_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "calibration"
    assert cal.load_board(root / "board.json") == cal.BoardSpec()
    assert [m.angle_deg for m in cal.load_angle_sheet(root / "angle_sheet.json").by_role("test")] == [20.0, 25.0]
    profiles = sorted((root / "profiles").glob("*.json"))
    assert profiles, "calibration/profiles should hold the synthetic example"
    for path in profiles:
        profile = cal.load_profile(path)
        assert profile.name == path.stem


# ------------------------------------------------------------------------------ the commands

@pytest.mark.slow
def test_cli_board_camera_level_verify(cli, tmp_path, board_views, camera, spec, board_page, sheet, sheet_page):
    code, out, err = cli("calibrate", "board")
    assert code == 0 and (tmp_path / "calibration" / "board.pdf").is_file(), err
    folder = tmp_path / "views"
    folder.mkdir()
    for name, image, _, _ in board_views:
        cv2.imwrite(str(folder / name), image)
    start = time.perf_counter()
    code, out, err = cli("calibrate", "camera", "--images", folder, "--name", "synthetic")
    print(out, f"({time.perf_counter() - start:.1f} s)")
    assert code == 0, err
    assert "RMS reprojection error" in out and "saved camera profile 'synthetic'" in out
    profile = cal.load_profile("synthetic")
    assert profile.camera_matrix[0, 0] == pytest.approx(K_TRUE[0, 0], rel=0.01)
    # the same name again, a different fit: refused, the profile kept
    code, out, err = cli("calibrate", "camera", "--images", folder, "--name", "synthetic", "--free-k3")
    assert code == 2 and "already exists" in err and "Traceback" not in err
    assert cal.load_profile("synthetic").created == profile.created

    rvec, tvec = wall_pose(camera, spec, 3.5, 5.0, 10.0)
    cv2.imwrite(str(tmp_path / "wall.png"), camera.render(board_page, TEXTURE_PX_PER_MM, rvec, tvec))
    code, out, err = cli("calibrate", "level", "--image", tmp_path / "wall.png", "--camera-profile", "synthetic")
    assert code == 0, err
    assert "warning: camera tilted" in out
    assert cal.load_profile("synthetic").roll_deg == pytest.approx(true_roll(rvec), abs=0.2)

    rvec, tvec = camera.pose_for(np.array(sheet.size_mm) / 2, (640, 360), 560, (20, -25, 12))
    cv2.imwrite(str(tmp_path / "sheet.png"), camera.render(sheet_page, TEXTURE_PX_PER_MM, rvec, tvec, noise=2))
    code, out, err = cli("calibrate", "verify", "--image", tmp_path / "sheet.png", "--camera-profile", "synthetic")
    print(out)
    assert code == 0 and "angle check passed" in out, err
    code, out, err = cli("calibrate", "verify", "--image", tmp_path / "sheet.png", "--tolerance", "0.05")
    assert code in (0, 1)             # 0.05 deg is below what a photo can promise; either way no traceback
    assert "Traceback" not in err


def test_cli_bad_input_gives_one_clear_line_and_writes_nothing(cli, tmp_path, board_views):
    folder = tmp_path / "few"
    folder.mkdir()
    for name, image, _, _ in board_views[:2]:
        cv2.imwrite(str(folder / name), image)
    (folder / "blurred.png").write_bytes(cv2.imencode(".png", cv2.GaussianBlur(board_views[0][1], (0, 0), 6))[1])
    code, out, err = cli("calibrate", "camera", "--images", folder, "--name", "x")
    assert code == 2 and err.startswith("romcam: error: only 2 usable view(s)"), err
    assert not (tmp_path / "config").exists()
    (tmp_path / "not_profile.json").write_text('{"hello": 1}')
    code, out, err = cli("calibrate", "verify", "--image", tmp_path / "nothing.png",
                         "--camera-profile", tmp_path / "not_profile.json")
    assert code == 2 and "is not a romcam camera profile" in err
    code, out, err = cli("calibrate", "camera", "--images", folder, "--source", "0")
    assert code == 2 and "exactly one of" in err
    code, out, err = cli("calibrate", "camera", "--images", tmp_path / "missing")
    assert code == 2 and "is not a folder" in err
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((480, 640), 128, np.uint8))
    code, out, err = cli("calibrate", "level", "--image", tmp_path / "grey.png")
    assert code == 2 and "board not found" in err
    code, out, err = cli("calibrate", "verify", "--image", tmp_path / "grey.png")
    assert code == 2 and "corner markers are visible" in err


# ------------------------------------------------------------------------------ live collection

def test_live_collector_keeps_still_and_new_views_only(camera, spec, board_page, pictures):
    """A stream as a webcam gives it: a view counts once the board is held still, and only once."""
    centre = board_centre_on_page(spec)
    pose_a = camera.pose_for(centre, (500, 300), 420, (25, 0, 0))
    pose_b = camera.pose_for(centre, (900, 450), 420, (0, -30, 10))
    a = camera.render(board_page, TEXTURE_PX_PER_MM, *pose_a)
    b = camera.render(board_page, TEXTURE_PX_PER_MM, *pose_b)
    collector = cal.ViewCollector(spec, live=True, target_views=4)
    steps = [collector.offer(image, f"f{i}") for i, image in enumerate([a, a, a, b, b])]
    kept = [k for k, _ in steps]
    assert kept == [False, True, False, False, True], steps
    assert "hold the board still" in steps[0][1] and "already have a view" in steps[2][1]
    assert "hold the board still" in steps[3][1]
    assert collector.coverage().sum() > 2
    assert collector.guidance().startswith("2/4 views")
    overlay = cal.draw_collection_overlay(b, collector, steps[-1][1])
    assert overlay.shape == (*b.shape, 3)
    cv2.imwrite(str(pictures / "live_overlay.png"), overlay)


@pytest.mark.slow
def test_cli_camera_from_a_video_of_the_board(cli, tmp_path, camera, spec, board_page):
    """`--source VIDEO` runs the live collection path (no window): each pose is held for 3 frames."""
    path = tmp_path / "board.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, SIZE)
    for rvec, tvec in calibration_poses(camera, spec, n=10, seed=8):
        frame = cv2.cvtColor(camera.render(board_page, TEXTURE_PX_PER_MM, rvec, tvec), cv2.COLOR_GRAY2BGR)
        for _ in range(3):
            writer.write(frame)
    writer.release()
    code, out, err = cli("calibrate", "camera", "--source", path, "--name", "from-video", "--views", "8")
    assert code == 0, err
    assert out.count(" kept (") == 8
    profile = cal.load_profile("from-video")
    assert profile.views == 8
    assert profile.camera_matrix[0, 0] == pytest.approx(K_TRUE[0, 0], rel=0.02)
