"""romcam app's pages on a stored session, without a browser: the SYNTHETIC demo session added from
the home page, then home, result, subject page, report and exports (Starlette's test client)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from romcam.app.security import Access
from romcam.app.server import AppConfig, create_app
from romcam.storage.store import Store


@pytest.fixture
def app(tmp_path):
    access = Access()
    return TestClient(create_app(AppConfig(db=tmp_path / "app.sqlite3", access=access))), access


def _signed_in(client, access):
    assert client.get(f"/?token={access.token}", follow_redirects=False).status_code == 303


def test_the_demo_session_is_stored_and_shown(app, tmp_path):
    client, access = app
    _signed_in(client, access)
    r = client.post("/demo", follow_redirects=False)
    assert r.status_code == 303
    with Store.open(tmp_path / "app.sqlite3", readonly=True) as store:
        (row,) = store.sessions()
        subject_id = store.subject_id("DEMO", create=False)
    assert row.synthetic and row.status == "complete"
    home = client.get("/").text
    assert "DEMO" in home and f'href="/session/{row.id}"' in home
    result = client.get(f"/session/{row.id}").text
    assert "SYNTHETIC" in result and row.outcomes[0].verdict in result
    assert "history chart" in client.get(f"/subject/{subject_id}").text
    csv = client.get(f"/session/{row.id}/export.csv")
    assert csv.status_code == 200 and "DEMO" in csv.text
    fhir = client.get(f"/session/{row.id}/fhir.json")
    assert fhir.status_code == 200 and fhir.json()["resourceType"] == "Bundle"
    report = client.get(f"/session/{row.id}/report.html")
    assert report.status_code == 200 and "SYNTHETIC" in report.text
