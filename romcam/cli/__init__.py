"""The ``romcam`` command: one module per command group. ``main`` holds the click group and the
small ``joints`` / ``models`` commands; ``analyze`` (with the writer of frames.csv and
summary.json), ``bench``, ``session`` (session and demo, with ``demo``'s logic), ``visit`` (a
recorded visit), ``store`` (history and export), ``report``, ``calibrate``, ``db`` and ``config``
(romcam.toml as every command's defaults, and ``config show|path``) hold the rest. Commands parse, call and
print; they import any stage (mostly when the command runs, so ``romcam --help`` stays fast),
and no stage imports them.
"""

from romcam.cli.main import cli, main

__all__ = ["cli", "main"]
