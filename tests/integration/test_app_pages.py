"""romcam app's pages on a stored session, without a browser: the SYNTHETIC demo session added from
the home page, then home, result, subject page, report and exports (Starlette's test client), on
an SQLite file and on a PostgreSQL server (the clinic's shared store)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from fastapi.testclient import TestClient

from romcam.app.security import Access
from romcam.app.server import AppConfig, create_app
from history import record_history
from romcam.storage.store import Store


@pytest.fixture
def app(db_target):
    access = Access()
    return TestClient(create_app(AppConfig(db=db_target, access=access))), access


def _signed_in(client, access):
    assert client.get(f"/?token={access.token}", follow_redirects=False).status_code == 303


def test_the_demo_session_is_stored_and_shown(app, db_target):
    client, access = app
    _signed_in(client, access)
    r = client.post("/demo", follow_redirects=False)
    assert r.status_code == 303
    with Store.open(db_target, readonly=True) as store:
        (row,) = store.sessions()
        subject_id = store.subject_id("DEMO", create=False)
    assert row.synthetic and row.status == "complete"
    home = client.get("/").text
    assert "DEMO" in home and f'href="/session/{row.id}"' in home
    result = client.get(f"/session/{row.id}").text
    assert "SYNTHETIC" in result and row.outcomes[0].verdict in result
    quality = row.outcomes[0].set_quality()          # the demo's set, judged against the edge
    assert quality and "set grade" in quality and quality in result
    assert "history chart" in client.get(f"/subject/{subject_id}").text
    csv = client.get(f"/session/{row.id}/export.csv")
    assert csv.status_code == 200 and "DEMO" in csv.text
    fhir = client.get(f"/session/{row.id}/fhir.json")
    assert fhir.status_code == 200 and fhir.json()["resourceType"] == "Bundle"
    report = client.get(f"/session/{row.id}/report.html")
    assert report.status_code == 200 and "SYNTHETIC" in report.text

    # the same store as the CLI: `romcam history` lists the app's session
    h = subprocess.run([sys.executable, "-m", "romcam", "history", "--db", str(db_target)], capture_output=True,
                       text=True, timeout=120)
    assert h.returncode == 0 and "DEMO" in h.stdout


def _svg_band_rows(svg: bytes, gid: str) -> list[float]:
    """The y coordinates (SVG points, down) of the path drawn in the group ``gid``."""
    import re
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    (group,) = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("id") == gid]
    d = next(group.iter("{http://www.w3.org/2000/svg}path")).get("d")
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return numbers[1::2]


def test_the_subject_page_draws_each_session_s_mdc95_band_around_its_before(tmp_path):
    """The subject page's history chart: per session and side, a band from before - MDC95 to
    before + MDC95 as stored (the session verdict's rule: an after outside it is a real change);
    in the figure's data and in the SVG the page serves."""
    import base64
    import re

    from romcam.report import plots
    from romcam.report.subject_page import subject_report

    db = tmp_path / "h.sqlite3"
    with Store.open(db) as store:
        ids = record_history(store)
        subject_id = store.subject_id("P7", create=False)
        rows = store.sessions(subject="P7")
        (item,) = [f for s in subject_report(store, "P7").sections for f in s.figures]
    bands = {(r.id, o.side): (o.before_deg - o.mdc95_deg, o.before_deg + o.mdc95_deg, o.after_deg)
             for r in rows for o in r.outcomes}
    assert len(bands) == 6 and [r.id for r in rows] == ids
    # the verdicts the band must agree with: left improved beyond it, right within it
    assert all(not lo <= after <= hi for (_, side), (lo, hi, after) in bands.items() if side == "left")
    assert all(lo <= after <= hi for (_, side), (lo, hi, after) in bands.items() if side == "right")

    fig = item.make()
    drawn = {a.get_gid(): a for ax in fig.axes for a in ax.collections if a.get_gid()}
    assert set(drawn) == {plots.mdc_band_gid(sid, side) for sid, side in bands}
    for (sid, side), (lo, hi, _) in bands.items():
        ys = drawn[plots.mdc_band_gid(sid, side)].get_paths()[0].vertices[:, 1]
        assert abs(ys.min() - lo) < 1e-9 and abs(ys.max() - hi) < 1e-9, (sid, side)
    plots.close(fig)

    access = Access()
    client = TestClient(create_app(AppConfig(db=db, access=access)))
    _signed_in(client, access)
    page = client.get(f"/subject/{subject_id}").text
    assert "MDC95" in page
    (uri,) = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    svg = base64.b64decode(uri)
    # each band's top and bottom in the served SVG lie on one straight map from degrees to points
    # (the axis), at before -+ MDC95 (the right side's panel shares the left's y axis)
    degrees, points = [], []
    for (sid, side), (lo, hi, _) in bands.items():
        ys = _svg_band_rows(svg, plots.mdc_band_gid(sid, side))
        degrees += [lo, hi]
        points += [max(ys), min(ys)]
    slope, offset = np.polyfit(degrees, points, 1)
    assert slope < 0 and np.max(np.abs(np.polyval([slope, offset], degrees) - points)) < 0.05
