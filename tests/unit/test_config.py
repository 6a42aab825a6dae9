"""romcam.toml and the settings' precedence (command line > environment > working folder > user
folder > default), `romcam config show|path`, bad files as one-line errors, and the `visit`
command's checks before any work (no model runs here: a real visit is in test_neck_real.py)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import cv2
import numpy as np
import pytest

from romcam.cli import cli, main
from romcam.config import DEFAULTS, KEYS, ConfigError, load_settings


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A user config folder and a working folder of their own; no ROMCAM_DB / ROMCAM_MODEL_DIR."""
    user, work = tmp_path / "user", tmp_path / "work"
    user.mkdir()
    work.mkdir()
    monkeypatch.setenv("ROMCAM_CONFIG_DIR", str(user))
    monkeypatch.setenv("ROMCAM_VERBOSE", "1")            # keep stderr where capsys sees it
    monkeypatch.delenv("ROMCAM_DB", raising=False)
    monkeypatch.delenv("ROMCAM_MODEL_DIR", raising=False)
    monkeypatch.chdir(work)
    return user, work


def _write(folder: Path, text: str) -> Path:
    path = folder / "romcam.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(capsys, *argv) -> tuple[int, str, list[str]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, [ln for ln in err.splitlines() if ln.strip()]


# ------------------------------------------------------------------------------- loading


def test_no_files_no_environment_gives_the_defaults(home):
    loaded = load_settings(environ={})
    assert loaded.settings == DEFAULTS
    assert {str(s) for s in loaded.sources.values()} == {"default"}
    assert [f.path for f in loaded.files] == [home[0] / "romcam.toml", home[1] / "romcam.toml"]


def test_working_folder_over_user_folder_over_default(home):
    user, work = home
    user_file = _write(user, 'db = "clinic.sqlite3"\ntrials = 5\nmodel = "heavy"\ncamera_profile = "room2"\n')
    work_file = _write(work, 'trials = 2\nmodel_dir = "../models"\nscale_target = "board:boards/a3.json"\n')
    loaded = load_settings(environ={})
    s = loaded.settings
    assert s.trials == 2 and str(loaded.sources["trials"]) == f"working-folder file ({work_file})"
    assert s.model == "heavy" and str(loaded.sources["model"]) == f"user file ({user_file})"
    assert s.db == str(user / "clinic.sqlite3")                   # relative paths: from the file's folder
    assert s.model_dir == str(work / ".." / "models")
    assert s.scale_target == f"board:{work / 'boards' / 'a3.json'}"
    assert s.camera_profile == "room2"                            # a profile NAME is kept as it is
    assert s.target_reps == 40 and str(loaded.sources["target_reps"]) == "default"


def test_environment_over_files_and_command_line_over_environment(home):
    user, work = home
    _write(user, 'db = "user.sqlite3"\nmodel_dir = "/models/user"\n')
    _write(work, 'db = "postgresql://romcam@clinic/romcam"\n')
    loaded = load_settings(environ={"ROMCAM_DB": "/env.sqlite3"})
    assert loaded.settings.db == "/env.sqlite3" and str(loaded.sources["db"]) == "environment (ROMCAM_DB)"
    assert loaded.settings.model_dir == "/models/user"
    assert "db" not in loaded.from_files() and loaded.from_files() == {"model_dir": "/models/user"}
    given = loaded.with_command_line({"db": "/cli.sqlite3", "trials": None})
    assert given.settings.db == "/cli.sqlite3" and str(given.sources["db"]) == "command line"
    assert str(given.sources["trials"]) == "default"


def test_the_same_folder_is_read_once(home):
    user, _ = home
    _write(user, "trials = 4\n")
    loaded = load_settings(cwd=user, environ={})
    assert len(loaded.files) == 1 and loaded.sources["trials"].kind == "user file"


@pytest.mark.parametrize("text,fragment", [
    ("trails = 5\n", "unknown key 'trails' (did you mean 'trials'?)"),
    ("colour = 'red'\n", "unknown key 'colour' (known keys: db, camera_profile"),
    ("[session]\ntrials = 5\n", "unknown table [session]"),
    ('trials = "5"\n', "trials must be a whole number, not a text ('5')"),
    ("trials = 2.5\n", "trials must be a whole number, not a number (2.5)"),
    ("trials = true\n", "trials must be a whole number, not true/false"),
    ("trials = 11\n", "trials = 11 is out of range (from 1 to 10)"),
    ("target_reps = 0\n", "target_reps = 0 is out of range (from 1 to 500)"),
    ("db = 3\n", "db must be a text in quotes, not a number (3)"),
    ('db = ""\n', "db is empty"),
    ('model = "best"\n', "model = 'best' is not one of lite, full, heavy"),
    ("trials = \n", "not a valid TOML file: Invalid value (at line 1, column 10)"),
    ('db = "a.sqlite3"\ndb = "b.sqlite3"\n', "not a valid TOML file"),
])
def test_a_bad_file_is_one_line_naming_the_file_and_the_key(text, fragment, home, capsys):
    user, _ = home
    path = _write(user, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={})
    assert str(caught.value).startswith(f"{path}: ") and fragment in str(caught.value)
    code, out, err = _run(capsys, "joints")                       # any command stops on it
    assert code == 2 and out == "" and err == [f"romcam: error: {caught.value}"]


def test_config_path_still_works_with_a_bad_file_and_config_show_says_what_is_wrong(home, capsys):
    user, work = home
    path = _write(work, "trails = 5\n")
    code, out, _ = _run(capsys, "config", "path")
    assert code == 0 and out.splitlines() == [
        f"user file:            {user / 'romcam.toml'} (not there)",
        f"working-folder file:  {path} (found, NOT USABLE: see `romcam config show`)"]
    code, out, err = _run(capsys, "config", "show")
    assert code == 2 and err == [f"romcam: error: {path}: unknown key 'trails' (did you mean 'trials'?)"]


# ------------------------------------------------------------------------------- config show


def test_config_show_prints_every_setting_with_where_it_came_from(home, capsys, monkeypatch):
    user, work = home
    user_file = _write(user, 'camera_profile = "room2"\ntrials = 5\n')
    work_file = _write(work, "trials = 2\ntarget_turns = 30\n")
    monkeypatch.setenv("ROMCAM_MODEL_DIR", "/models")
    code, out, err = _run(capsys, "config", "show", "--model", "lite")
    assert code == 0 and err == []
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in out.splitlines()}
    assert list(rows) == list(KEYS)
    assert rows["camera_profile"] == ["room2", f"user file ({user_file})"]
    assert rows["trials"] == ["2", f"working-folder file ({work_file})"]
    assert rows["target_turns"] == ["30", f"working-folder file ({work_file})"]
    assert rows["model_dir"] == ["/models", "environment (ROMCAM_MODEL_DIR)"]
    assert rows["model"] == ["lite", "command line"]
    assert rows["target_reps"] == ["40", "default"] and rows["scale_target"] == ["board", "default"]
    assert rows["db"][0] == "(none:" and rows["db"][1].endswith("romcam.sqlite3)  default")


def test_config_show_checks_command_line_values_as_commands_do(home, capsys):
    code, _, err = _run(capsys, "config", "show", "--trials", "40")
    assert code == 2 and "40 is not in the range 1<=x<=10" in err[0]


# ------------------------------------------------------------------------------- commands' defaults


def _db_upgrade(capsys, *argv) -> str:
    code, out, err = _run(capsys, "db", "upgrade", *argv)
    assert code == 0, err
    return out.split(":")[0]


def test_every_command_takes_the_database_from_the_settings_with_the_usual_precedence(home, capsys,
                                                                                      monkeypatch):
    user, work = home
    _write(user, 'db = "user.sqlite3"\n')
    assert _db_upgrade(capsys) == str(user / "user.sqlite3")
    _write(work, 'db = "work.sqlite3"\n')
    assert _db_upgrade(capsys) == str(work / "work.sqlite3")
    monkeypatch.setenv("ROMCAM_DB", str(work / "env.sqlite3"))
    assert _db_upgrade(capsys) == str(work / "env.sqlite3")
    assert _db_upgrade(capsys, "--db", str(work / "cli.sqlite3")) == str(work / "cli.sqlite3")
    code, out, err = _run(capsys, "history")                       # and the other commands with --db
    assert code == 0 and err == [] and (work / "env.sqlite3").exists()


def _help(capsys, command: str) -> str:
    code, out, _ = _run(capsys, command, "--help")
    assert code == 0
    return " ".join(out.split())


def test_settings_become_the_shown_defaults_of_every_command_that_has_the_option(home, capsys):
    user, work = home
    _write(user, "trials = 7\ntarget_reps = 12\n")
    _write(work, 'model = "lite"\ncamera_profile = "room2"\n')
    for command in ("session", "visit"):
        out = _help(capsys, command)
        assert "[default: 7; 1<=x<=10]" in out and "[default: lite]" in out
    assert "[default: 12; 1<=x<=500]" in _help(capsys, "session")
    assert "[default: lite]" in _help(capsys, "analyze")


def test_default_map_feeds_each_option_by_its_parameter_name():
    from romcam.cli.config import default_map

    mapping = default_map(cli, {"camera_profile": "room2", "model": "lite"})
    assert mapping["analyze"] == {"camera_profile": "room2", "model": "lite"}
    assert mapping["calibrate"]["level"] == {"profile_name": "room2"}     # named profile_name there
    assert mapping["calibrate"]["verify"] == {"profile_name": "room2"}
    assert "models" not in mapping                                     # --model many times there


def test_the_demo_never_takes_the_configured_database(home):
    from romcam.cli.config import default_map

    mapping = default_map(cli, {"db": "/clinic.sqlite3", "trials": 4})
    assert "demo" not in mapping and "config" not in mapping
    assert mapping["db"]["copy"] == {"source": "/clinic.sqlite3"}     # --db is the source there
    assert mapping["session"] == {"db": "/clinic.sqlite3", "trials": 4}


def _options(command: click.Command, path=()):
    for param in command.params:
        if isinstance(param, click.Option):
            yield path, param
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _options(sub, path + (name,))


def test_every_option_a_setting_feeds_has_the_settings_default():
    by_option = {meta["option"]: key for key, meta in KEYS.items()}
    fed = 0
    for path, param in _options(cli):
        key = next((by_option[o] for o in param.opts if o in by_option), None)
        if key is None or param.multiple or path[:1] in (("config",), ("demo",)):
            continue
        fed += 1
        assert param.default == getattr(DEFAULTS, key), (" ".join(path), param.opts)
    assert fed >= 20


# ------------------------------------------------------------------------------- visit


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> Path:
    """Two seconds of a grey disc (no person): enough for the checks before the model runs."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    for k in range(50):
        frame = np.full((120, 160, 3), 40 + k, np.uint8)
        cv2.circle(frame, (80, 60), 20, (200, 200, 200), -1)
        writer.write(frame)
    writer.release()
    return path


VISIT = ("--joint", "neck-side-bend", "--subject", "P1")


@pytest.mark.parametrize("args,fragment", [
    (("--phases", "before=0:1"), "no after phase"),
    (("--phases", "before=0:1,after=1:10"), "goes past the end of the video at 0:02"),
    (("--phases", "before=0:1,after=1:2", "--neutral", "5-6"), "starts after the end of the video"),
    (("--phases", "before=0:1,after=1:2", "--recorded-at", "last week"), "--recorded-at expects a date-time"),
    (("--phases", "before=0:1,after=1:2", "--recorded-at", "0001-01-01"), "out of range: give the date the "
                                                                          "visit was filmed, from 1900-01-01"),
    (("--phases", "before=0:1,after=1:2", "--scale-target", "ruler"), "--scale-target 'ruler' is not understood"),
])
def test_visit_errors_are_one_line_before_any_work(args, fragment, tiny_video, home, capsys):
    _, work = home
    db = work / "v.sqlite3"
    code, out, err = _run(capsys, "visit", str(tiny_video), *VISIT, *args, "--db", str(db))
    assert code == 2 and len(err) == 1 and err[0].startswith("romcam: error:") and fragment in err[0], err
    assert not db.exists()
    # the old form does the same, after one line saying what the command is now
    code, out, err2 = _run(capsys, "session", *VISIT, "--source", str(tiny_video), *args, "--db", str(db))
    assert code == 2 and err2 == err and out.splitlines() == [
        "note: a recorded visit is now `romcam visit VIDEO --phases ...`; running this one as that"]


def test_a_visit_whose_file_is_dated_in_the_future_asks_for_its_date(tiny_video, home, capsys, tmp_path):
    """No --recorded-at, no creation time in the container, the file's modification time in
    2099: one line asking for --recorded-at, before any work, nothing stored (it was stored as
    filmed in 2099)."""
    import os
    import shutil
    from datetime import datetime

    video = shutil.copy(tiny_video, tmp_path / "from_the_future.avi")
    future = datetime(2099, 1, 1, 10, 0).timestamp()
    os.utime(video, (future, future))
    db = home[1] / "v.sqlite3"
    code, out, err = _run(capsys, "visit", str(video), *VISIT, "--phases", "before=0:1,after=1:2", "--db", str(db))
    assert code == 2 and len(err) == 1 and "modification time (2099-01-01" in err[0], err
    assert "is in the future" in err[0] and "--recorded-at" in err[0]
    assert not db.exists()


def test_visit_needs_its_phases_and_a_side_for_a_side_view_joint(tiny_video, home, capsys):
    code, _, err = _run(capsys, "visit", str(tiny_video), *VISIT)
    assert code == 2 and "Missing option '--phases'" in err[0]
    code, _, err = _run(capsys, "visit", str(tiny_video), "--joint", "ankle", "--subject", "P1",
                        "--phases", "before=0:1,after=1:2")
    assert code == 2 and "give --side left or --side right" in err[0]


def test_session_help_keeps_the_live_options_and_visit_help_the_recorded_ones(capsys):
    def options(command):
        return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", _help(capsys, command)))

    session_help, visit_help = options("session"), options("visit")
    assert {"--realtime", "--record", "--no-window", "--target-reps", "--target-turns", "--quiet",
            "--source", "--overwrite"} <= session_help - visit_help
    assert {"--phases", "--neutral", "--recorded-at", "--workers", "--no-progress"} <= visit_help - session_help
    assert {"--trials", "--db", "--camera-profile", "--model", "--model-dir", "--scale-target", "--subject",
            "--joint", "--side", "--set", "--mirrored", "--no-frames", "--new-subject"} <= session_help & visit_help
