"""Click options that several commands share. The defaults of the options a setting feeds come
from :data:`romcam.config.DEFAULTS` (and, per user or folder, from romcam.toml)."""

from __future__ import annotations

from pathlib import Path

import click

from romcam.config import DEFAULTS, MODEL_NAMES, limits

MODEL_CHOICES = click.Choice(list(MODEL_NAMES))
SIDE_CHOICES = click.Choice(["left", "right", "both", "auto"])


def model_options(fn):
    fn = click.option("--model", "model", type=MODEL_CHOICES, default=DEFAULTS.model, show_default=True,
                      help="Pose model: full (recommended, best feet), lite (fastest), heavy.")(fn)
    fn = click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                      help="Folder with the .task model bundles (else $ROMCAM_MODEL_DIR, else the "
                           "per-user cache, else downloaded).")(fn)
    return fn


def trials_option(fn):
    return click.option("--trials", type=click.IntRange(*limits("trials")), default=DEFAULTS.trials,
                        show_default=True, help="Maximal trials per side before and after the set.")(fn)


def camera_profile_option(fn):
    return click.option("--camera-profile", default=None,
                        help="Camera profile from `romcam calibrate camera` (a NAME or its .json file).")(fn)


def scale_target_option(when: str):
    """--scale-target; ``when`` says when the target must be in view."""
    return click.option("--scale-target", default=DEFAULTS.scale_target, show_default=True, metavar="TARGET",
                        help="Ankle: what gives the scale for the knee over toe in cm, upright beside the foot "
                             f"{when}: board, board:FILE.json, marker:ID:SIZE_MM (a DICT_4X4_50 marker) or none.")


class DatabaseParam(click.ParamType):
    """--db: the path of an SQLite file (a Path) or a PostgreSQL URL (kept as text: a Path would
    fold its ``//``)."""

    name = "PATH|URL"

    def convert(self, value, param, ctx):
        if isinstance(value, Path):
            return value
        from romcam.storage.engine import is_url

        return str(value) if is_url(str(value)) else Path(value)


DB_TYPE = DatabaseParam()
