"""Shared test fixtures: where the shared models and media are, and cached real-landmark runs.

Models and media are read from ../shared (or $ROMCAM_MODEL_DIR / $ROMCAM_MEDIA_DIR). A missing
model or clip is a test *failure*, never a skip: CI must not pass without real inference.

Layout: ``tests/unit`` holds the fast tests (pure code, SQLite); every test outside it
(``tests/integration``: MediaPipe on media, subprocesses, Xvfb, PostgreSQL, LibreOffice, Chromium,
PDF tools), and every test run against PostgreSQL, is marked ``slow`` here; a few heavy tests in
tests/unit carry ``@pytest.mark.slow`` themselves.
``pytest -m "not slow"`` is the quick loop; CI runs everything. ``tests/tools`` holds the helpers
(importable by name: ``pythonpath`` in pyproject.toml).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MODEL_DIR = Path(os.environ.get("ROMCAM_MODEL_DIR") or SHARED / "models").resolve()
MEDIA_DIR = Path(os.environ.get("ROMCAM_MEDIA_DIR") or SHARED / "media").resolve()
OUTPUT_DIR = REPO / "test-output"

pytest_plugins = ["pytester"]              # tests/unit/test_system_tools.py runs pytest inside pytest

# The CLI and every romcam call in the tests find the models here.
os.environ["ROMCAM_MODEL_DIR"] = str(MODEL_DIR)


def media(name: str) -> Path:
    path = MEDIA_DIR / name
    if not path.is_file():
        pytest.fail(f"test media {path} is missing (expected ../shared/media beside the repo)")
    return path


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """The CLI run in-process: its stderr kept where pytest captures it (ROMCAM_VERBOSE), its cache,
    data and configuration folders in tmp_path, no ROMCAM_DB from the caller's environment."""
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")
    monkeypatch.setenv("ROMCAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ROMCAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROMCAM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("ROMCAM_DB", raising=False)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    for name in ("pose_landmarker_full.task", "pose_landmarker_lite.task", "face_landmarker.task"):
        if not (MODEL_DIR / name).is_file():
            pytest.fail(f"model {MODEL_DIR / name} is missing: set ROMCAM_MODEL_DIR to ../shared/models")
    return MODEL_DIR


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave pictures for a human to look at (gitignored)."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def landmarks_of(model_dir):
    """landmarks_of(path, face=False, model="full", mirrored=False) -> list[FrameLandmarks],
    computed once per test process with romcam's real pipeline."""
    from romcam.capture.pipeline import ModelChoice, extract_landmarks

    cache: dict = {}

    def get(path, face: bool = False, model: str = "full", mirrored: bool = False):
        key = (str(path), face, model, mirrored)
        if key not in cache:
            models = ModelChoice.resolve(model, face, model_dir)
            cache[key], _ = extract_landmarks(path, models, mirrored=mirrored, progress=False)
        return cache[key]

    return get


@pytest.hookimpl(tryfirst=True)          # before -m selects by the marks
def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` every test outside tests/unit and every test run against PostgreSQL."""
    unit = Path(__file__).parent / "unit"
    for item in items:
        on_postgresql = getattr(item, "callspec", None) and item.callspec.params.get("db_target") == "postgresql"
        if unit not in item.path.parents or on_postgresql or "pg_cluster" in item.fixturenames:
            item.add_marker(pytest.mark.slow)


# A skip (a missing system tool, or any other) is a failure under ROMCAM_REQUIRE_SYSTEM_TOOLS=1.
from system import pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402,F401

# A throwaway PostgreSQL server (one per test process) and the db_target fixture that runs a
# store test against SQLite and against PostgreSQL.
from pg_server import db_target, pg_cluster, pg_url  # noqa: E402,F401
