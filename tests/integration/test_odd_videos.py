"""Odd video files read right, through `romcam analyze` as a user runs it (issue 21): a
variable-frame-rate Matroska file with true timestamps, an AVI whose header gives its frame
rate as 0. Each failed on the code before the fix."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import media
from test_cli_analyze import romcam
from videotools import read_frames, variable_rate_mkv, zero_rate_avi


@pytest.fixture(scope="module")
def lunges_half():
    frames, _ = read_frames(media("lunges_side.mp4"), scale=0.5)
    return frames


def test_a_variable_rate_mkv_is_read_whole_once_in_order_and_not_called_short(tmp_path, lunges_half, model_dir):
    """The real lunges, their frames 1/30 s and 1/15 s apart by turns. Matroska keeps no frame
    count: readers estimate 286 (length x nominal 30 fps) for its 191 frames. Before, the second
    of the two chunks read in parallel began at the time frame 143 would have at 30 fps, the
    first read 143 frames (further in time): 221 frames analysed, 30 of them twice, time running
    backwards, and "the video file ended early: 221 of 286 frames"."""
    times = np.cumsum([0.0] + [1 / 30 if k % 2 == 0 else 1 / 15 for k in range(len(lunges_half) - 1)])
    path = variable_rate_mkv(tmp_path / "lunges_vfr.mkv", lunges_half, times)
    out = tmp_path / "out"
    r = romcam("analyze", path, "--joint", "knee", "--out", out, "--no-progress")
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    assert "ended early" not in r.stdout and "191 frames at 20.0 fps" in r.stdout
    frames = pd.read_csv(out / "frames.csv")
    assert len(frames) == len(lunges_half) == 191
    assert frames["frame"].tolist() == list(range(191))
    assert np.allclose(frames["t_s"], times, atol=2e-3)
    assert json.loads((out / "summary.json").read_text())["frames"] == 191


def test_an_avi_whose_header_gives_no_frame_rate_is_said(tmp_path, lunges_half, model_dir):
    """FFmpeg reads it at 25 fps; that guess was used without a word."""
    path = zero_rate_avi(tmp_path / "zero.avi", lunges_half[:60], 30.0)
    r = romcam("analyze", path, "--joint", "knee", "--out", tmp_path / "out", "--no-progress")
    assert r.returncode == 0, r.stderr
    notes = [ln for ln in r.stdout.splitlines() if "frame rate as 0" in ln]
    assert len(notes) == 1 and "read at 25 frames per second, a guess" in notes[0], r.stdout
