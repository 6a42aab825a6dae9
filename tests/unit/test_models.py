"""Model bundles: found by setting, downloaded from a (local) server into the cache, verified."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pytest

from romcam.errors import RomcamError
from romcam.capture.models import FACE_SPEC, pose_spec, resolve_model, verify_bundle


class _Handler(http.server.SimpleHTTPRequestHandler):
    mode = "ok"   # ok | html | truncated

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.mode == "ok":
            return super().do_GET()
        if self.mode == "html":
            body = b"<!DOCTYPE html><html><body>Error 403 (Forbidden)</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        path = Path(self.translate_path(self.path))
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 3])  # then the connection drops
        self.close_connection = True
        return None


@pytest.fixture
def model_server(tmp_path, model_dir, monkeypatch):
    """An HTTP server on 127.0.0.1 laid out like MediaPipe's model storage, serving ../shared/models."""
    root = tmp_path / "www"
    for spec in (pose_spec("lite"), pose_spec("full"), FACE_SPEC):
        dest = root / spec.url_path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model_dir / spec.filename, dest)

    def handler(*args, **kwargs):
        return _Handler(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.delenv("ROMCAM_MODEL_DIR", raising=False)
    monkeypatch.setenv("ROMCAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ROMCAM_MODEL_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield tmp_path / "cache" / "models"
    server.shutdown()
    _Handler.mode = "ok"


def test_download_into_cache_then_reuse(model_server, model_dir):
    path = resolve_model(pose_spec("lite"), progress=False)
    assert path == model_server / "pose_landmarker_lite.task"
    assert path.read_bytes() == (model_dir / "pose_landmarker_lite.task").read_bytes()
    _Handler.mode = "html"               # the server breaks; the cached copy is used
    assert resolve_model(pose_spec("lite"), progress=False) == path


@pytest.mark.slow
def test_downloaded_model_runs_in_mediapipe(model_server):
    from romcam.capture.landmarks import LandmarkDetector

    with LandmarkDetector(resolve_model(pose_spec("lite"), progress=False)) as det:
        assert det is not None


def test_html_error_page_is_refused_and_not_cached(model_server):
    _Handler.mode = "html"
    with pytest.raises(RomcamError, match="not usable: .*web page"):
        resolve_model(FACE_SPEC, progress=False)
    assert not model_server.exists() or not any(model_server.iterdir())


def test_truncated_download_is_refused_and_not_cached(model_server):
    _Handler.mode = "truncated"
    with pytest.raises(RomcamError, match="cut short|could not download"):
        resolve_model(pose_spec("full"), progress=False)
    assert not (model_server / "pose_landmarker_full.task").exists()
    assert not model_server.exists() or not any(model_server.glob("*.part"))


def test_unreachable_server_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("ROMCAM_MODEL_DIR", raising=False)
    monkeypatch.setenv("ROMCAM_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("ROMCAM_MODEL_BASE_URL", "http://127.0.0.1:9")  # discard port: refused
    with pytest.raises(RomcamError, match="--model-dir"):
        resolve_model(pose_spec("lite"), progress=False)


def test_model_dir_setting_wins(model_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("ROMCAM_MODEL_DIR", str(tmp_path))   # empty folder from the environment
    assert resolve_model(pose_spec("full"), model_dir) == model_dir / "pose_landmarker_full.task"
    with pytest.raises(RomcamError, match="not in .*ROMCAM_MODEL_DIR"):
        resolve_model(pose_spec("full"))


@pytest.mark.parametrize("damage", ["html", "truncated", "wrong_bundle", "empty"])
def test_corrupt_local_model_is_detected(damage, model_dir, tmp_path):
    path = tmp_path / "pose_landmarker_full.task"
    good = (model_dir / "pose_landmarker_full.task").read_bytes()
    path.write_bytes({
        "html": b"<html><head><title>404</title></head></html>",
        "truncated": good[: len(good) // 2],
        "wrong_bundle": (model_dir / "face_landmarker.task").read_bytes(),
        "empty": b"",
    }[damage])
    with pytest.raises(RomcamError) as err:
        resolve_model(pose_spec("full"), tmp_path)
    assert str(path) in str(err.value)


def test_rebuilt_shared_bundles_verify(model_dir):
    for spec in (pose_spec("lite"), pose_spec("full"), FACE_SPEC):
        verify_bundle(model_dir / spec.filename, spec)
