"""Frame sources: timestamps from the source, parts of a file, folders, mirroring, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import media
from romcam.errors import RomcamError
from romcam.capture.sources import ImageFolderSource, VideoFileSource, open_source


def test_video_timestamps_come_from_the_container():
    """lunges_side.mp4 has a variable frame rate: its second frame is 21.6 ms after the first."""
    cap = cv2.VideoCapture(str(media("lunges_side.mp4")))
    container = []
    while cap.read()[0]:
        container.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    with open_source(media("lunges_side.mp4")) as src:
        frames = list(src)
    t = np.array([f.t_s for f in frames])
    assert [f.index for f in frames] == list(range(len(container)))
    assert np.allclose(t, container)
    assert t[1] == pytest.approx(0.0216, abs=1e-3)        # not 1/fps
    assert np.all(np.diff(t) > 0)


def test_parts_of_a_video_match_the_whole():
    with open_source(media("squats_front.mp4")) as src:
        whole = list(src)
    with VideoFileSource(media("squats_front.mp4"), start=20, stop=30) as src:
        part = list(src)
    assert [f.index for f in part] == list(range(20, 30))
    for f in part:
        assert f.t_s == pytest.approx(whole[f.index].t_s)
        assert np.array_equal(f.image, whole[f.index].image)


def test_mirrored_source_is_flipped_back():
    with open_source(media("squats_front.mp4"), stop=1) as src:
        plain = next(iter(src)).image
    with open_source(media("squats_front.mp4"), mirrored=True, stop=1) as src:
        mirrored = next(iter(src)).image
    assert np.array_equal(mirrored, cv2.flip(plain, 1))


def test_image_folder(tmp_path):
    for k in range(3):
        cv2.imwrite(str(tmp_path / f"img_{k:02d}.png"), np.full((20, 30, 3), k * 50, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    with ImageFolderSource(tmp_path, fps=10) as src:
        frames = list(src)
    assert [f.t_s for f in frames] == pytest.approx([0.0, 0.1, 0.2])
    assert src.info.frame_count == 3 and src.info.width == 30


@pytest.mark.parametrize("make,message", [
    (lambda p: p / "missing.mp4", "does not exist"),
    (lambda p: (p / "notes.mp4").write_text("hello") and p / "notes.mp4", "not a video"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "holds no images"),
])
def test_bad_sources_say_what_is_wrong(tmp_path, make, message):
    with pytest.raises(RomcamError, match=message):
        open_source(make(tmp_path))


def test_webcam_that_does_not_open():
    with pytest.raises(RomcamError, match="webcam 7 did not open"):
        open_source("7")


def test_prefetched_decoding_keeps_order_and_raises_decoder_errors():
    """Frames decoded ahead on their own thread come out in order, a decoder error is raised in
    the consumer, and closing early stops the decoder thread."""
    import threading

    from romcam.capture.pipeline import prefetched

    assert list(prefetched(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise OSError("decoder failed")

    with pytest.raises(OSError, match="decoder failed"):
        list(prefetched(broken()))
    frames = prefetched(iter(range(10_000)), depth=2)
    next(frames)
    frames.close()
    assert not any(t.name == "romcam-decode" and t.is_alive() for t in threading.enumerate())


def test_an_existing_path_made_of_digits_is_that_path_not_a_webcam(tmp_path, monkeypatch):
    """A folder named ``2024`` was opened as webcam 2024; a video file named ``0`` as webcam 0."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "2024").mkdir()
    with pytest.raises(RomcamError, match=r"^folder 2024 holds no images") as e:
        open_source("2024")
    assert "\n" not in str(e.value) and "webcam" not in str(e.value)
    cv2.imwrite(str(tmp_path / "2024" / "img_00.png"), np.full((20, 30, 3), 90, np.uint8))
    with open_source("2024") as src:
        assert isinstance(src, ImageFolderSource) and src.info.frame_count == 1
    writer = cv2.VideoWriter("clip.avi", cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    for _ in range(3):
        writer.write(np.full((24, 32, 3), 90, np.uint8))
    writer.release()
    (tmp_path / "clip.avi").rename(tmp_path / "0")
    with open_source("0") as src:
        assert isinstance(src, VideoFileSource) and not src.info.live and src.info.frame_count == 3


def test_digits_name_a_webcam_only_when_no_such_path_exists(tmp_path, monkeypatch):
    from romcam.capture.sources import is_webcam

    monkeypatch.chdir(tmp_path)
    assert is_webcam("0") and is_webcam(2024) and not is_webcam("cam0")
    (tmp_path / "2024").mkdir()
    assert not is_webcam("2024") and not is_webcam(tmp_path / "2024")


def test_an_avi_whose_header_gives_no_frame_rate_says_so(tmp_path):
    """FFmpeg reads such a file at 25 fps; that guess was used without a word."""
    from romcam.capture.sources import avi_header_rate
    from videotools import write_video_fourcc, zero_rate_avi

    frames = [np.full((48, 64, 3), 8 * k, np.uint8) for k in range(30)]
    plain = write_video_fourcc(tmp_path / "plain.avi", frames, 10.0, "MJPG")
    zero = zero_rate_avi(tmp_path / "zero.avi", frames, 10.0)
    assert avi_header_rate(plain) == pytest.approx(10.0) and avi_header_rate(zero) == 0.0
    assert avi_header_rate(media("lunges_side.mp4")) is None
    with open_source(plain) as src:
        assert src.info.fps == pytest.approx(10.0) and src.info.warnings == ()
    with open_source(zero) as src:
        (line,) = src.info.warnings
        times = [f.t_s for f in src]
    assert src.info.fps == pytest.approx(25.0) and times[1] == pytest.approx(0.04)
    assert "\n" not in line and line.startswith("the video's header gives its frame rate as 0, so it is read "
                                                "at 25 frames per second, a guess")


def _variable_rate(tmp_path, n=120):
    """``n`` frames of a moving bar, 1/30 s and 1/10 s apart by turns, as a Matroska file."""
    from videotools import variable_rate_mkv

    frames = []
    for k in range(n):
        f = np.full((96, 128, 3), 40, np.uint8)
        cv2.rectangle(f, (k % 120, 20), (k % 120 + 6, 70), (220, 220, 220), -1)
        frames.append(f)
    times = np.cumsum([0.0] + [1 / 30 if k % 2 == 0 else 1 / 10 for k in range(n - 1)])
    return variable_rate_mkv(tmp_path / "vfr.mkv", frames, times), times


def test_a_variable_rate_mkv_that_reaches_its_end_did_not_end_early(tmp_path):
    """Its true timestamps are read; its header's frame count is an estimate (length x nominal
    rate, 238 for 120 frames): the count alone gave a false "the video file ended early"."""
    from romcam.session.video import ended_early

    path, times = _variable_rate(tmp_path)
    with open_source(path) as src:
        frames = list(src)
    info = src.info
    t = np.array([f.t_s for f in frames])
    assert len(frames) == 120 and np.allclose(t, times, atol=2e-3)
    assert info.frame_count > 1.9 * len(frames)                  # the estimate the warning compared with
    assert ended_early(len(frames), info.frame_count, t[-1], info.fps) is None
    # the same file cut at half its length still says so
    half = int(np.searchsorted(t, t[-1] / 2))
    assert "ended early: 60 of" in ended_early(half, info.frame_count, t[half - 1], info.fps)
