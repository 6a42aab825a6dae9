"""`romcam analyze --mot` on real clips (an ankle in side view, a neck side-bend from the front): frames.mot
read back equals frames.csv (times and angles of the usable frames), and OpenSim's own readers open it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import media
from motfiles import opensim_storage, opensim_table, read_mot
from videotools import read_frames, write_video


def _ankle_clip(tmp_path):
    frames, fps = read_frames(media("lunges_side.mp4"))
    for k in range(100, 106):
        frames[k] = np.full_like(frames[k], 235)      # nobody in view: frames that cannot be measured
    return write_video(tmp_path / "lunges.mp4", frames, fps), ["--joint", "ankle", "--side", "both",
                                                              "--scale-target", "none"]


def _neck_clip(tmp_path):
    frames, _ = read_frames(media("side_bend_rotation_front.mp4"), 50, 190, scale=0.5)   # the first side-bend
    return write_video(tmp_path / "bend.mp4", frames, 25.0), ["--joint", "neck-side-bend"]


@pytest.mark.parametrize("clip, columns", [
    (_ankle_clip, {"ankle_angle_l": "left_ankle_dorsiflexion_deg", "ankle_angle_r": "right_ankle_dorsiflexion_deg"}),
    (_neck_clip, {"neck_bending": "neck_lateral_flexion_deg"}),
], ids=["ankle", "neck"])
def test_analyze_mot_equals_frames_csv_and_opens_in_opensim(tmp_path, model_dir, clip, columns):
    video, args = clip(tmp_path)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "romcam", "analyze", str(video), *args, "--out", str(out),
                        "--no-progress", "--mot"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr

    frames = pd.read_csv(out / "frames.csv")
    usable = frames[list(columns.values())].notna().all(axis=1)
    n, left_out = int(usable.sum()), int((~usable).sum())
    assert n > 0.5 * len(frames)
    if "ankle_angle_l" in columns:
        assert not usable[100:106].any() and left_out >= 6           # the empty frames are not in the file
    said = f"wrote {out / 'frames.mot'}: OpenSim motion, {n} frames"
    assert said + (f" ({left_out} not usable left out)" if left_out else "") in r.stdout

    header, table = read_mot(out / "frames.mot")
    joint = "ankle_dorsiflexion" if "ankle_angle_l" in columns else "neck_lateral_flexion"
    assert header == [f"romcam analyze: {joint}", "version=1", f"nRows={n}", f"nColumns={1 + len(columns)}",
                      "inDegrees=yes", "endheader"]
    assert list(table.columns) == ["time", *columns]
    kept = frames[usable]
    assert table["time"].astype(float).tolist() == kept["t_s"].tolist()
    for mot_column, csv_column in columns.items():
        assert table[mot_column].astype(float).tolist() == kept[csv_column].tolist(), mot_column

    labels, times, values, meta = opensim_table(out / "frames.mot")        # OpenSim 4's table
    assert labels == list(columns) and meta["inDegrees"] == "yes"
    assert times.tolist() == kept["t_s"].tolist()
    assert values.tolist() == kept[list(columns.values())].to_numpy().tolist()
    s_labels, s_times, s_columns = opensim_storage(out / "frames.mot")     # the GUI's and tools' reader
    assert s_labels == ["time", *columns] and s_times.tolist() == kept["t_s"].tolist()
    for mot_column, csv_column in columns.items():
        assert s_columns[mot_column].tolist() == kept[csv_column].tolist()
