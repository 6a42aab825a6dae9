"""The known-3-D-head-pose renderer (tests/tools/head_render.py) itself: truth conventions, identity render,
and one rendered side-bend read back by MediaPipe's FaceLandmarker.

Models from $ROMCAM_MODEL_DIR and media from $ROMCAM_MEDIA_DIR (default ../shared/...); a missing
model or clip fails (conftest), never skips.
"""

from __future__ import annotations

import numpy as np
import pytest

import head_render as hr
from conftest import media


@pytest.fixture(scope="module")
def scene(model_dir):
    media(hr.SOURCES["man"][0])                       # a missing clip fails here, never skips
    return hr.source_renderer("man", model_dir)


def test_triangulation_read_from_the_model_bundle(model_dir):
    tris = hr.face_mesh_triangles(model_dir / "face_landmarker.task")
    assert tris.shape == (898, 3) and tris.min() == 0 and tris.max() == 467


def test_truth_values_and_signs():
    assert hr.lateral_flexion_truth(hr.head_rotation(20)) == pytest.approx(20.0)
    assert hr.lateral_flexion_truth(hr.head_rotation(-20)) == pytest.approx(-20.0)
    assert hr.lateral_flexion_truth(hr.head_rotation(0, 40)) == pytest.approx(0.0, abs=1e-9)
    assert hr.lateral_flexion_truth(hr.head_rotation(0, 0, 15)) == pytest.approx(0.0, abs=1e-9)
    coupled = hr.lateral_flexion_truth(hr.head_rotation(20, 30, 10))
    assert coupled == pytest.approx(np.degrees(np.arcsin(np.sin(np.radians(20)) * np.cos(np.radians(30)))))
    # + side-bend: head top to the image left (person's right), ear axis' image-right end up
    R = hr.head_rotation(20)
    assert (R @ [0, 1, 0])[0] < 0 and (R @ [1, 0, 0])[1] > 0
    # + turn: face (+z normal) towards the image left; + nod: face normal down (chin down)
    assert (hr.head_rotation(0, 30) @ [0, 0, 1])[0] < 0
    assert (hr.head_rotation(0, 0, 15) @ [0, 0, 1])[1] < 0
    assert hr.tilt_truth(hr.head_rotation(20)) == pytest.approx((20.0, 0.0), abs=1e-9)
    assert hr.tilt_truth(hr.head_rotation(0, 0, 15)) == pytest.approx((0.0, 15.0), abs=1e-9)


@pytest.mark.parametrize("phi", [0.0, 45.0, 90.0, 180.0, -90.0, -135.0])
def test_circle_rotation_tilts_towards_phi_without_turn(phi):
    R = hr.circle_rotation(phi, 25.0)
    got_phi, tilt = hr.tilt_direction(R)
    assert tilt == pytest.approx(25.0)
    assert (got_phi - phi + 180.0) % 360.0 - 180.0 == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(hr.circle_rotation(90.0, 25.0), hr.head_rotation(25.0))
    assert np.allclose(hr.circle_rotation(0.0, 25.0), hr.head_rotation(0.0, 0.0, 25.0))


def test_identity_render_is_the_original(scene):
    frame, renderer = scene
    diff = np.abs(renderer.render(np.eye(3)).astype(int) - frame.astype(int))
    assert diff.mean() < 0.05 and np.percentile(diff, 99.99) <= 4


def test_posed_mesh_moves_the_right_way(scene):
    _, renderer = scene
    neutral = renderer.posed_vertices(np.eye(3))
    top, nose = 10, 1
    bent = renderer.posed_vertices(hr.head_rotation(20))
    assert bent[top, 0] < neutral[top, 0] - 10             # head top towards the image left
    turned = renderer.posed_vertices(hr.head_rotation(0, 30))
    ears = lambda v: (v[234, 0] + v[454, 0]) / 2             # noqa: E731
    assert turned[nose, 0] - ears(turned) < neutral[nose, 0] - ears(neutral) - 5   # nose to image left
    nodded = renderer.posed_vertices(hr.head_rotation(0, 0, 15))
    eyes = lambda v: (v[33, 1] + v[263, 1]) / 2              # noqa: E731
    assert nodded[nose, 1] - eyes(nodded) > neutral[nose, 1] - eyes(neutral) + 3    # nose tip dips


def test_side_bend_20_is_read_back_by_face_landmarker(scene, model_dir, output_dir):
    _, renderer = scene
    with hr.Detector(model_dir, pose=False) as det:
        base = det.face(renderer.render(np.eye(3)))
        assert base is not None
        zero = hr.measured_lateral_flexion(base.matrix)
        for side_bend in (20.0, -20.0):
            face = det.face(renderer.render(hr.head_rotation(side_bend)))
            assert face is not None, f"face lost at side-bend {side_bend}"
            measured = hr.measured_lateral_flexion(face.matrix) - zero
            print(f"side-bend {side_bend:+.0f}: FaceLandmarker reads {measured:+.2f} deg")
            assert measured == pytest.approx(side_bend, abs=1.5)
