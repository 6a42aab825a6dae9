"""A recorded visit in the app, without a browser or a model: the marks dragged on the timeline as
`romcam visit`'s --phases and --neutral, the upload's checks (name, size, first bytes), and the
routes' refusals (no token, too big, not a video, a video that does not decode), each leaving no
uploaded file behind."""

from __future__ import annotations

import tempfile
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from romcam.app.security import Access
from romcam.app.server import AppConfig, create_app
from romcam.app.visit_marks import (UploadRefused, check_size, check_video_bytes, marks_to_texts,
                                    safe_video_name)
from romcam.app.visits import visits_router
from romcam.errors import RomcamError
from romcam.session.phases import PhaseSpan, parse_phases, parse_range

MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00"
HEADERS = {"X-Romcam-Name": "visit.mp4", "X-Romcam-Joint": "neck_lateral_flexion", "X-Romcam-Side": "left"}


def test_marks_become_the_phases_romcam_visit_takes():
    texts = marks_to_texts({"before": [0, 10.6], "set": [10.6, 17.9], "after": [17.9, 23.1], "neutral": [0.5, 2.5]})
    assert texts.phases == "before=0:00-0:10.6,set=0:10.6-0:17.9,after=0:17.9-0:23.1"
    assert texts.neutral == "0:00.5-0:02.5"
    assert parse_phases(texts.phases) == [PhaseSpan("before", 0.0, 10.6), PhaseSpan("set", 10.6, 17.9),
                                          PhaseSpan("after", 17.9, 23.1)]
    assert parse_range(texts.neutral, "--neutral") == (0.5, 2.5)


def test_marks_are_taken_to_the_tenth_and_past_a_minute_as_clock_times():
    texts = marks_to_texts({"before": [0.04, 65.26], "after": [125.0, 3725.55], "set": None, "neutral": None})
    assert texts.phases == "before=0:00-1:05.3,after=2:05-1:02:05.6"   # no set: the CLI's 'set optional'
    assert texts.neutral is None                                      # romcam finds the stillest stretch
    assert [(s.start_s, s.end_s) for s in parse_phases(texts.phases)] == [(0.0, 65.3), (125.0, 3725.6)]


@pytest.mark.parametrize("marks, fragment", [
    ({}, "mark the phases first"),
    ({"before": [0, 10]}, "no after"),
    ({"after": [10, 20]}, "no before"),
    ({"before": [0, 10], "after": [8, 20]}, "starts before"),               # overlapping phases
    ({"before": [0, 10], "set": [12, 11], "after": [12, 20]}, "ends before it starts"),
    ({"before": [-1, 10], "after": [12, 20]}, "within the video"),
    ({"before": [0, 10], "after": [12, 20], "neutral": [3, 3]}, "ends before it starts"),
    ({"before": [0, 10], "after": [12, 20], "middle": [1, 2]}, "unknown marks"),
    ({"before": ["a", 10], "after": [12, 20]}, "not a start and an end"),
])
def test_bad_marks_are_one_line_errors(marks, fragment):
    with pytest.raises(RomcamError, match=fragment) as e:
        marks_to_texts(marks)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("name, safe", [
    ("visit.mp4", "visit.mp4"),
    ("C:\\Users\\clinic\\Knie links (2).MOV", "Knie_links_2.mov"),
    ("/home/x/../../a b.webm", "a_b.webm"),
    (".mkv", "visit.mkv"),
])
def test_an_uploaded_name_is_reduced_to_a_plain_video_file_name(name, safe):
    assert safe_video_name(name) == safe


@pytest.mark.parametrize("name", ["notes.txt", "visit", "", "../../etc/passwd", "clip.mp4.exe"])
def test_a_name_without_a_video_suffix_is_refused(name):
    with pytest.raises(UploadRefused, match="not a video file") as e:
        safe_video_name(name)
    assert e.value.status == 415


def test_the_first_bytes_must_be_those_of_the_container_named():
    check_video_bytes(MP4_HEAD, "a.mp4")
    check_video_bytes(MP4_HEAD, "a.mov")
    check_video_bytes(b"RIFF\x00\x10\x00\x00AVI LIST", "a.avi")
    check_video_bytes(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "a.webm")
    for head, name in ((b"hello, this is text", "a.mp4"), (MP4_HEAD, "a.avi"), (b"RIFF\x00\x00\x00\x00WAVEfmt ", "a.avi"),
                       (b"", "a.mkv")):
        with pytest.raises(UploadRefused, match="not a ") as e:
            check_video_bytes(head, name)
        assert e.value.status == 415


def test_size_limits():
    check_size(None, 10)
    check_size(10, 10)
    with pytest.raises(UploadRefused, match="over the app's limit of 2 MB") as e:
        check_size(2_000_001, 2_000_000)
    assert e.value.status == 413
    with pytest.raises(UploadRefused, match="empty") as e:
        check_size(0, 10)
    assert e.value.status == 400


@pytest.fixture
def uploads(tmp_path, monkeypatch):
    """The app's visit routes with a 1 MB limit, uploads going to a folder of this test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    app = FastAPI()
    app.include_router(visits_router(AppConfig(db=tmp_path / "app.sqlite3"), max_upload_mb=1))
    return TestClient(app), folder


def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(uploads):
    client, folder = uploads
    r = client.post("/visit/upload", content=MP4_HEAD + bytes(1_100_000), headers=HEADERS)
    assert r.status_code == 413 and "over the app's limit of 1 MB" in r.json()["error"]
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name, body, status, fragment", [
    ("visit.txt", MP4_HEAD, 415, "not a video file"),
    ("visit.mp4", b"just some text, not a video at all", 415, "not a .mp4 video"),
    ("visit.mp4", b"", 400, "empty"),
])
def test_an_upload_that_is_not_a_video_is_refused_and_nothing_is_kept(uploads, name, body, status, fragment):
    client, folder = uploads
    r = client.post("/visit/upload", content=body, headers={**HEADERS, "X-Romcam-Name": name})
    assert r.status_code == status and fragment in r.json()["error"]
    assert list(folder.iterdir()) == []


def test_a_side_view_joint_needs_a_side(uploads):
    client, _ = uploads
    r = client.post("/visit/upload", content=MP4_HEAD, headers={**HEADERS, "X-Romcam-Joint": "ankle",
                                                                 "X-Romcam-Side": "both"})
    assert r.status_code == 400 and "\n" not in r.json()["error"]


def test_a_video_that_does_not_decode_fails_in_one_line_and_is_deleted(uploads):
    client, folder = uploads
    r = client.post("/visit/upload", content=MP4_HEAD + bytes(5000), headers=HEADERS)
    assert r.status_code == 200
    job = r.json()["job"]
    assert job not in r.json()["url"].replace(f"/visit/{job}", "")          # the URL names the job only
    for _ in range(100):
        status = client.get(f"/visit/{job}/status").json()
        if status["state"] == "failed":
            break
        time.sleep(0.1)
    assert status["state"] == "failed" and status["error"] and "\n" not in status["error"]
    assert list(folder.iterdir()) == []                                   # the upload is gone
    r = client.post(f"/visit/{job}/preview", json={"marks": {"before": [0, 1], "after": [1, 2]}})
    assert r.status_code == 400 and "not analysed" in r.json()["error"]
    assert client.get("/visit/no-such-job/status").status_code == 404


def test_an_upload_the_user_keeps_moves_to_the_data_folder(uploads, tmp_path, monkeypatch):
    client, folder = uploads
    monkeypatch.setenv("ROMCAM_DATA_DIR", str(tmp_path / "data"))
    r = client.post("/visit/upload", content=MP4_HEAD + bytes(5000), headers={**HEADERS, "X-Romcam-Keep": "1"})
    job = r.json()["job"]
    for _ in range(100):
        status = client.get(f"/visit/{job}/status").json()
        if status["state"] == "failed":
            break
        time.sleep(0.1)
    kept = list((tmp_path / "data" / "videos").iterdir())
    assert status["kept"] and len(kept) == 1 and kept[0].name.endswith("-visit.mp4")
    assert kept[0].read_bytes() == MP4_HEAD + bytes(5000)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("path", ["/visit", "/visit/abc", "/visit/abc/status", "/visit/abc/angles",
                                  "/static/visit.js"])
def test_the_visit_routes_need_the_token(tmp_path, path):
    client = TestClient(create_app(AppConfig(db=tmp_path / "app.sqlite3", access=Access())))
    assert client.get(path).status_code == 401
    assert client.post("/visit/upload", content=MP4_HEAD, headers=HEADERS).status_code == 401
    assert client.post("/visit/abc/store", json={}).status_code == 401


def test_a_dry_journal_keeps_the_records_and_leaves_out_a_discarded_trial():
    from romcam.session.visit_runner import DryJournal

    j = DryJournal()
    for n, at in ((1, "2026-03-14T10:30:05"), (2, "2026-03-14T10:30:09"), (2, "2026-03-14T10:30:15")):
        j.write("trial", phase="before", side="left", trial_no=n, peak_deg=40.0 + n, created_at=at)
        if at.endswith("09"):
            j.write("discard", phase="before", side="left", trial_no=2, created_at=at)
    j.write("rep", side="left", rep_no=1, peak_deg=50.0)
    assert [(r["trial_no"], r["created_at"][-2:]) for r in j.records("trial")] == [(1, "05"), (2, "15")]
    assert [r["rep_no"] for r in j.records("rep")] == [1] and j.records("rep")[0]["created_at"]
    assert j.flush() and j.close() is None
