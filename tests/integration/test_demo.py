"""`romcam demo`: the main job with no webcam and no model file, through the real pipeline after
the landmark stage (filters, reps, protocol, storage, report)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from romcam.report.write import default_out_path
from romcam.storage.store import Store
from system import require_pango
from test_report import Page, check_outcome_cells, check_self_contained, pdf_pages


def test_demo_runs_offline_without_models(tmp_path):
    require_pango()                                     # demo --pdf
    env = dict(os.environ, ROMCAM_MODEL_DIR="", ROMCAM_CACHE_DIR=str(tmp_path / "empty-cache"),
               ROMCAM_MODEL_BASE_URL="http://127.0.0.1:9", ROMCAM_DATA_DIR=str(tmp_path / "data"))
    env.pop("ROMCAM_MODEL_DIR")
    db = tmp_path / "demo.sqlite3"
    r = subprocess.run([sys.executable, "-m", "romcam", "demo", "--db", str(db), "--pdf"], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "SYNTHETIC" in out and "set rep 40/40 right" in out
    delta, mdc = map(float, re.search(r"improved by ([\d.]+) deg \(MDC ([\d.]+) deg\)", out).groups())
    assert delta == pytest.approx(5.0, abs=0.5) and 0 < mdc < delta
    assert not (tmp_path / "empty-cache" / "models").exists()     # no model was looked for

    with Store.open(db, readonly=True) as store:
        (row,) = store.sessions()
        detail = store.session(row.id)
    assert row.status == "complete" and detail.row.synthetic
    (outcome,) = detail.outcomes
    assert outcome.delta_deg == pytest.approx(delta, abs=0.05) and len(detail.reps) == 40

    report = tmp_path / default_out_path(session_id=row.id, db=db)
    assert f"report: {report.relative_to(tmp_path)}" in out
    assert f"report: {report.relative_to(tmp_path).with_suffix('.pdf')}" in out
    assert pdf_pages(report.with_suffix(".pdf")) >= 2                # all A4
    page = Page(report.read_text(encoding="utf-8"))
    check_self_contained(page)
    check_outcome_cells(page, outcome)
    assert float(page.cell("trend_deg_per_rep", side="right")["data-value"]) > 0.05   # the range grows
