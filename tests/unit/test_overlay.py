"""The live overlay, drawn on a real frame with real landmarks and a protocol mid-set: the numbers
drawn are the numbers computed; a 1080p frame drawn at display size. The PNGs are left in
test-output/overlay/ to be looked at."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import media
from romcam.session.engine import SessionEngine
from romcam.measure.joints import get_joint
from romcam.session.overlay import FONT, draw_overlay, format_angle
from romcam.capture.pipeline import ModelChoice
from romcam.session.protocol import Phase, ProtocolConfig
from romcam.session.runner import overlay_state
from romcam.capture.synthetic import demo_segments, neck_landmarks, script_angles
from videotools import read_frames


@pytest.fixture(scope="module")
def mid_set_engine():
    """A protocol 23 reps into a 40-rep set (synthetic stream), mid-excursion."""
    t, angle, labels = script_angles(demo_segments("right", reps=40))
    engine = SessionEngine(ProtocolConfig(get_joint("neck-side-bend"), ("right",)))
    for lm in neck_landmarks(t, angle):
        engine.step(lm)
        p = engine.protocol
        if p.phase is Phase.SET and len(p.sides["right"].reps) == 23 and p.current_angle("right") > 12:
            return engine
    pytest.fail("the stream never reached rep 23")


def _text_mask(image, item):
    """Where `item` is written: its box, and the bright pixels of the text alone."""
    (w, h), base = cv2.getTextSize(item.text, FONT, item.scale, item.thickness)
    x, y = item.org
    box = (slice(max(0, y - h - 2), y + base + 2), slice(max(0, x - 2), x + w + 2))
    alone = np.zeros(image.shape[:2], np.uint8)
    cv2.putText(alone, item.text, item.org, FONT, item.scale, 255, item.thickness, cv2.LINE_AA)
    return box, alone[box] > 128


def _agreement(view, item, text=None):
    """IoU of the text pixels in the view with `text` (default: the item's own) rendered alone."""
    box, want = _text_mask(view, item if text is None else type(item)(text, item.org, item.scale, item.thickness))
    got = cv2.cvtColor(view, cv2.COLOR_BGR2GRAY)[box] > 128
    return (got & want).sum() / max((got | want).sum(), 1)


def test_overlay_draws_the_computed_numbers(mid_set_engine, model_dir, output_dir):
    frames, _ = read_frames(media("neck_rotation_front.mp4"), 80, 81, scale=0.5)
    with ModelChoice.resolve("full", True, model_dir).detector() as det:
        lm = det.detect(0, 0.0, frames[0])
    state = overlay_state(mid_set_engine, status="30 fps, 0 dropped")
    view, drawn = draw_overlay(frames[0], lm, state, mirror=True)
    folder = output_dir / "overlay"
    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "live_overlay.png"), view)

    p = mid_set_engine.protocol
    texts = {d.text: d for d in drawn}
    assert p.progress == "23/40" and "23/40" in texts
    assert format_angle(p.current_angle("right")) in texts
    assert f"last peak {format_angle(p.last_peak().peak_deg)} deg" in texts
    assert p.prompt in texts
    # the pixels say the same: each number re-rendered alone matches what is in the picture,
    # and a neighbouring wrong number does not
    for text, wrong in (("23/40", "24/40"), (format_angle(p.current_angle("right")), "88.8")):
        item = texts[text]
        right = _agreement(view, item)
        assert right > 0.9 and _agreement(view, item, wrong) < right - 0.1
    assert view.shape == frames[0].shape and not np.array_equal(view, cv2.flip(frames[0], 1))


def test_overlay_mirrors_the_picture_not_the_text(mid_set_engine):
    frame = np.zeros((360, 640, 3), np.uint8)
    frame[:, :100] = 255                         # a bright band on the image's left
    state = overlay_state(mid_set_engine)
    plain, _ = draw_overlay(frame, None, state, mirror=False)
    mirrored, drawn = draw_overlay(frame, None, state, mirror=True)
    assert plain[200, 50].mean() > 200 and mirrored[200, 590].mean() > 200
    assert _agreement(mirrored, next(d for d in drawn if d.text == "23/40")) > 0.9


def test_live_view_of_a_1080p_frame_is_drawn_at_display_size(mid_set_engine, model_dir, output_dir):
    """The window draws a 1080p frame at 1280x720 with its landmarks scaled along: the same
    picture as drawing at 1080p and scaling the result down (and not the picture the unscaled
    landmarks would give)."""
    from romcam.session.display import DISPLAY_WIDTH, View, draw_view, fit_to_display

    frames, _ = read_frames(media("neck_rotation_front.mp4"), 80, 81, scale=1.0)
    frame = frames[0]
    with ModelChoice.resolve("full", True, model_dir).detector() as det:
        lm = det.detect(0, 0.0, frame)
    state = overlay_state(mid_set_engine, status="30 fps, 0 dropped")
    shown = draw_view(View(frame, lm, state, mirror=True))
    (output_dir / "overlay").mkdir(exist_ok=True)
    cv2.imwrite(str(output_dir / "overlay" / "live_view_1280.png"), shown)
    size = (DISPLAY_WIDTH, round(frame.shape[0] * DISPLAY_WIDTH / frame.shape[1]))
    assert shown.shape[:2] == (size[1], size[0]) == (720, 1280)

    small, _ = fit_to_display(frame, None)
    plain = cv2.flip(small, 1)

    # the texts and strips, drawn alone, are left out: the skeleton and the arc are compared
    grey = np.full_like(small, 128)
    panel = cv2.dilate((draw_overlay(grey, None, state, mirror=True)[0] != 128).any(axis=2).astype(np.uint8),
                       np.ones((9, 9), np.uint8))

    def drawn(view):         # the pixels the skeleton and the arc changed
        return (np.abs(view.astype(int) - plain.astype(int)).max(axis=2) > 60) & (panel == 0)

    reference = drawn(cv2.resize(draw_overlay(frame, lm, state, mirror=True)[0], size, interpolation=cv2.INTER_AREA))
    unscaled = drawn(draw_overlay(small, lm, state, mirror=True)[0])   # 1080p landmarks on the small picture

    def iou(mask):
        return (mask & reference).sum() / (mask | reference).sum()

    print(f"skeleton and arc pixels vs the 1080p drawing scaled down: IoU {iou(drawn(shown)):.2f} (unscaled landmarks "
          f"{iou(unscaled):.2f})")
    assert iou(drawn(shown)) > 0.6 and iou(drawn(shown)) > iou(unscaled) + 0.3
