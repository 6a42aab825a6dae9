"""notebooks/progress.ipynb runs clean (nbclient, the venv's python3 kernel) on a CSV written by
romcam.storage.export from a database built here, and draws its figures."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from romcam.storage.export import export_csv
from romcam.measure.outcome import side_outcome
from romcam.storage.meta import SessionMeta
from romcam.storage.store import Store

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "progress.ipynb"
START = datetime(2026, 1, 12, 17, 0).astimezone()


def record(store, rng, subject, joint, side, day, before, after, n_reps=15, finish=True,
           synthetic=False):
    """One session with 3 + 3 trials per side around ``before``/``after`` and a set of reps."""
    sid = store.start_session(SessionMeta(subject, joint, side, synthetic=synthetic, target_reps=n_reps,
                              started_at=(START + timedelta(days=day)).isoformat()))
    outcomes = []
    for s in (["left", "right"] if side == "both" else [side]):
        b = [float(x) for x in rng.normal(before, 0.8, 3)]
        a = [float(x) for x in rng.normal(after, 0.8, 3)] if finish else []
        reps = [float(x) for x in np.linspace(before, after, n_reps) + rng.normal(0, 0.4, n_reps)]
        for k, p in enumerate(b, 1):
            store.add_trial(sid, "before", s, k, p)
        for k, p in enumerate(reps, 1):
            store.add_rep(sid, s, k, p)
        for k, p in enumerate(a, 1):
            store.add_trial(sid, "after", s, k, p)
        outcomes.append(side_outcome(s, b, a, reps))
    if finish:
        store.finish_session(sid, "complete", results=outcomes)
    return sid


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("notebook")
    rng = np.random.default_rng(11)
    with Store.open(folder / "romcam.sqlite3") as store:
        for k, (b, a) in enumerate([(20, 25), (22.5, 26), (24.5, 27.5)]):
            record(store, rng, "P01", "neck_lateral_flexion", "both", 7 * k, b, a)
        record(store, rng, "P01", "neck_lateral_flexion", "both", 21, 25.5, 28, finish=False)
        for k, (b, a) in enumerate([(33, 36), (35, 37)]):
            record(store, rng, "Zoë-02", "ankle_dorsiflexion", "left", 2 + 5 * k, b, a)
        record(store, rng, "DEMO", "knee_flexion", "right", 1, 110, 118, synthetic=True)
        (path,) = export_csv(store, folder / "export.csv")
    return path


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_runs_clean_and_draws(export, tmp_path, monkeypatch, output_dir):
    figures = output_dir / "notebook"
    monkeypatch.setenv("ROMCAM_EXPORT_CSV", str(export))
    monkeypatch.setenv("ROMCAM_FIGURE_DIR", str(figures))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for old in figures.glob("*.png") if figures.exists() else []:
        old.unlink()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr                          # no warnings either
    images = [o.data["image/png"] for o in outputs
              if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    # progress: P01 neck, Zoë-02 ankle, DEMO knee; delta vs MDC: the same three
    assert len(images) == 6
    assert all(base64.b64decode(img).startswith(b"\x89PNG") for img in images)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "7 sessions of 3 subjects" in text
    assert "3 progress figures" in text
    saved = sorted(p.name for p in figures.glob("*.png"))
    assert len(saved) == 6 and "progress_Zoë-02_ankle_dorsiflexion.png" in saved
