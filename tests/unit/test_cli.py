"""`romcam --help` and every command's and subcommand's `--help` through the real entry point.
(`romcam demo` itself runs end to end in test_demo.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from romcam.cli import cli, main

COMMANDS = {"analyze", "app", "bench", "calibrate", "calibrate board", "calibrate camera", "calibrate level",
            "calibrate sheet", "calibrate verify", "config", "config path", "config show", "db", "db copy",
            "db upgrade", "db version", "demo", "export", "history", "joints", "models",
            "recover", "report", "session", "visit"}


def command_paths(cmd: click.Command, path: tuple[str, ...] = ()):
    if path:
        yield path
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            yield from command_paths(cmd.commands[name], path + (name,))


def test_the_command_tree_is_whole():
    assert {" ".join(p) for p in command_paths(cli)} == COMMANDS


@pytest.mark.parametrize("path", [()] + sorted(command_paths(cli)), ids=lambda p: " ".join(p) or "romcam")
def test_help_exits_0(path, monkeypatch, capsys):
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")          # keep stderr where capsys sees it
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Usage: romcam {' '.join(path)}".rstrip())
    if path:
        assert cli.get_command(click.Context(cli), path[0]) is not None


@pytest.mark.parametrize("argv", [[sys.executable, "-m", "romcam"],
                                  [str(Path(sys.executable).parent / "romcam")]],
                         ids=["python -m romcam", "console script"])
def test_entry_points_show_help(argv, tmp_path):
    if not Path(argv[0]).exists():
        pytest.skip(f"{argv[0]} is not installed")
    env = dict(os.environ, ROMCAM_CACHE_DIR=str(tmp_path))
    r = subprocess.run([*argv, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Usage: romcam") and "analyze" in r.stdout
