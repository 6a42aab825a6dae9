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
from romcam.cli.options import MODEL_CHOICES
from romcam.dirs import cache_dir
from romcam.errors import RomcamError


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
def cli() -> None:
    """romcam: joint range of motion from an ordinary webcam."""


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
from romcam.cli.report import report  # noqa: E402
from romcam.cli.session import demo, session  # noqa: E402
from romcam.cli.store import export, history  # noqa: E402

for command in (analyze, bench, history, export, calibrate, report, session, demo):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    _quiet_native_logs()
    try:
        cli.main(args=argv, prog_name="romcam", standalone_mode=False)
    except RomcamError as exc:
        click.echo(f"romcam: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("romcam: interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("romcam: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
