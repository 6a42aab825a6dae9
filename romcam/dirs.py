"""Per-user folders (cache for models, data for the database, config for camera profiles)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "romcam"


def cache_dir() -> Path:
    """Where downloaded model bundles are kept (``ROMCAM_CACHE_DIR`` overrides)."""
    return Path(os.environ.get("ROMCAM_CACHE_DIR") or platformdirs.user_cache_dir(APP))


def data_dir() -> Path:
    """Where the session database lives by default (``ROMCAM_DATA_DIR`` overrides)."""
    return Path(os.environ.get("ROMCAM_DATA_DIR") or platformdirs.user_data_dir(APP))


def config_dir() -> Path:
    """Where user camera profiles are saved (``ROMCAM_CONFIG_DIR`` overrides)."""
    return Path(os.environ.get("ROMCAM_CONFIG_DIR") or platformdirs.user_config_dir(APP))
