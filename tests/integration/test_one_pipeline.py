"""One analysis of a recorded video: ``romcam analyze --neutral A-B`` and a recorded visit
(``romcam visit VIDEO --phases ... --neutral A-B``) over the same real clip give the same neutral, the
same per-frame angles and the same reps (real MediaPipe, both through the command line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import media
from romcam.storage.store import Store

CLIP = "side_bend_rotation_front.mp4"      # three real side-bends to her left, each then a head turn
PHASES = "before=0:13,set=13:26,after=26:37.5"
NEUTRAL = "14.5-15.5"


def _run(*args):
    r = subprocess.run([sys.executable, "-m", "romcam", *map(str, args)], capture_output=True, text=True,
                       timeout=900, env=dict(os.environ))
    print(r.stdout)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def both(tmp_path_factory, model_dir):
    tmp = tmp_path_factory.mktemp("one")
    clip = media(CLIP)
    out = tmp / "analysis"
    _run("analyze", clip, "--joint", "neck-side-bend", "--neutral", NEUTRAL, "--out", out, "--no-progress")
    said = _run("visit", clip, "--joint", "neck-side-bend", "--subject", "X", "--phases", PHASES,
                "--neutral", NEUTRAL, "--trials", "1", "--db", tmp / "v.sqlite3", "--recorded-at", "2026-03-14T10:30")
    with Store.open(tmp / "v.sqlite3", readonly=True) as store:
        detail, frames = store.session(1), store.frames(1)
    return json.loads((out / "summary.json").read_text()), pd.read_csv(out / "frames.csv"), detail, frames, said


def test_the_same_neutral_and_per_frame_angles(both):
    summary, table, detail, frames, _ = both
    assert detail.neutral_deg == pytest.approx(summary["neutral_given"]["measured_deg"]["signed"], abs=0.005)
    table, frames = table.assign(t=table["t_s"].round(3)), frames.assign(t=frames["t_s"].round(3))
    merged = table.merge(frames, on="t", how="inner")
    assert len(merged) == len(frames) > 900          # every stored frame of the visit is one of analyze's
    assert (merged["valid_x"] == merged["valid_y"]).all()
    ok = merged["valid_x"]
    diff = np.abs(merged.loc[ok, "neck_lateral_flexion_raw_deg"] - merged.loc[ok, "angle_deg"])
    print(f"\n{ok.sum()} usable frames in both; largest per-frame difference {diff.max():.4f} deg")
    assert diff.max() <= 0.002                       # frames.csv keeps 3 decimals


def test_the_same_reps_and_head_turns(both):
    summary, _, detail, _, said = both
    analysed = sorted((r["peak_s"], r["peak_deg"]) for r in summary["reps"] if r["side"] == "left")
    trials = [t for t in detail.trials if not t.discarded] + list(detail.reps)
    visited = sorted((x.peak_s, x.peak_deg) for x in trials)
    print(f"analyze {np.round(analysed, 2).tolist()}\nvisit   {np.round(visited, 2).tolist()}")
    assert len(visited) == len(analysed) == 3
    assert np.max(np.abs(np.subtract([p for _, p in visited], [p for _, p in analysed]))) <= 0.1
    assert np.max(np.abs(np.subtract([s for s, _ in visited], [s for s, _ in analysed]))) <= 0.1
    assert summary["rep_count"].get("right", 0) == 0 and not any(x.side == "right" for x in trials)
    assert len(summary["head_turn_excursions"]) == said.count("a head turn, not counted")
