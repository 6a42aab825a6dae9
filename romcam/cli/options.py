"""Click options that several commands share."""

from __future__ import annotations

from pathlib import Path

import click

MODEL_CHOICES = click.Choice(["lite", "full", "heavy"])
SIDE_CHOICES = click.Choice(["left", "right", "both", "auto"])


def model_options(fn):
    fn = click.option("--model", "model", type=MODEL_CHOICES, default="full", show_default=True,
                      help="Pose model: full (recommended, best feet), lite (fastest), heavy.")(fn)
    fn = click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                      help="Folder with the .task model bundles (else $ROMCAM_MODEL_DIR, else the "
                           "per-user cache, else downloaded).")(fn)
    return fn


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
