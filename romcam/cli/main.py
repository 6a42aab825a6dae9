"""The `romcam` command group, its entry point and the small `joints` and `models` commands; the
other commands live in one module per command group beside this one. Parses, calls, prints; no
logic of its own."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from romcam import __version__
from romcam.cli.analyze import analyze
from romcam.cli.bench import bench
from romcam.cli.config import apply_settings
from romcam.cli.options import MODEL_CHOICES
from romcam.dirs import cache_dir
from romcam.errors import RomcamError
from romcam.text import one_line


def _quiet_native_logs() -> None:
    """MediaPipe/TFLite write INFO/WARNING lines straight to file descriptor 2. Send those to a log
    file and keep Python's own stderr (errors, progress bars) on the terminal."""
    if os.environ.get("ROMCAM_VERBOSE"):
        return
    try:
        log_dir = cache_dir()
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / "native.log", "wb")
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        sys.stderr = os.fdopen(saved, "w", buffering=1, encoding="utf-8", errors="replace")
    except OSError:
        pass  # a read-only home: keep the noise rather than fail


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="romcam")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """romcam: joint range of motion from an ordinary webcam.

    Settings used on every command (database, camera profile, model, trials...) can be set once in
    romcam.toml: see `romcam config --help`.
    """
    apply_settings(ctx)


@cli.command()
def joints():
    """List the joints romcam measures, with their view and definition."""
    from romcam.measure.joints import JOINTS

    for j in JOINTS.values():
        click.echo(f"{j.name:<22} {j.view:<5} view  {j.description}")
        click.echo(f"{'':<22} aliases: {', '.join(j.aliases)}")


@cli.command()
@click.option("--model-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--model", "variants", multiple=True, type=MODEL_CHOICES, default=("full", "lite"),
              show_default=True)
def models(model_dir, variants):
    """Find (or download into the cache) and verify the model bundles; print their paths."""
    from romcam.capture.models import FACE_SPEC, pose_spec, resolve_model

    for spec in [pose_spec(v) for v in variants] + [FACE_SPEC]:
        click.echo(f"{spec.filename}: {resolve_model(spec, model_dir)}")


from romcam.cli.calibrate import calibrate  # noqa: E402  (after the group: these import it lazily)
from romcam.cli.config import config  # noqa: E402
from romcam.cli.db import db  # noqa: E402
from romcam.cli.report import report  # noqa: E402
from romcam.cli.session import demo, session  # noqa: E402
from romcam.cli.visit import visit  # noqa: E402
from romcam.cli.app import app  # noqa: E402
from romcam.cli.store import export, history, recover  # noqa: E402

for command in (analyze, bench, history, export, recover, calibrate, report, session, visit, demo, db, config, app):
    cli.add_command(command)


def _usage_hint(exc: click.UsageError) -> str:
    """What to do after a usage error: the help of the command it came from."""
    path = exc.ctx.command_path if exc.ctx is not None else "romcam"
    return f"see `{path} --help`"


def error_line(exc: BaseException) -> str:
    """The one line every error is printed as: ``romcam: error: <what> (<what to do>)``, without
    control characters and with any very long value shortened (:func:`romcam.text.one_line`)."""
    if isinstance(exc, click.UsageError):
        return f"romcam: error: {one_line(exc.format_message())} ({_usage_hint(exc)})"
    if isinstance(exc, click.ClickException):
        return f"romcam: error: {one_line(exc.format_message())}"
    if isinstance(exc, RomcamError):
        return f"romcam: error: {one_line(exc)}"
    if isinstance(exc, OSError):
        where = f" {one_line(exc.filename)}" if exc.filename else ""
        return (f"romcam: error: cannot use{where}: {one_line(exc.strerror or exc)} (check the path, "
                f"its permissions and free space)")
    return (f"romcam: error: unexpected {type(exc).__name__}: {one_line(exc)} (this is a bug in "
            f"romcam: please report it; ROMCAM_DEBUG=1 shows the traceback)")


def main(argv: list[str] | None = None) -> int:
    _quiet_native_logs()
    try:
        code = cli.main(args=argv, prog_name="romcam", standalone_mode=False)
    except RomcamError as exc:
        click.echo(error_line(exc), err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("romcam: interrupted", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(error_line(exc), err=True)
        return exc.exit_code
    except Exception as exc:  # never a traceback: one line, unless asked for the traceback
        if os.environ.get("ROMCAM_DEBUG"):
            raise
        click.echo(error_line(exc), err=True)
        return 1
    return code if isinstance(code, int) else 0       # ctx.exit(n) in standalone_mode=False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
