"""romcam app's pages on a stored session, without a browser: the SYNTHETIC demo session added from
the home page, then home, result, subject page, report and exports (Starlette's test client), on
an SQLite file and on a PostgreSQL server (the clinic's shared store)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from romcam.app.security import Access
from romcam.app.server import AppConfig, create_app
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
