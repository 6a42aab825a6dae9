"""Settings set once instead of on every command: ``romcam.toml`` files, the environment, defaults.

A setting's value is the first of, in this order:

1. the command line (the option of the same name: ``--db``, ``--camera-profile``, ...);
2. the environment: ``ROMCAM_DB`` (``db``) and ``ROMCAM_MODEL_DIR`` (``model_dir``);
3. ``romcam.toml`` in the working folder;
4. ``romcam.toml`` in the per-user config folder (``ROMCAM_CONFIG_DIR`` moves it);
5. the default.

A file holds top-level keys only, e.g.::

    db = "postgresql://romcam@clinic-server/romcam"
    camera_profile = "room2"
    trials = 3

A relative path in a file (``db``, ``model_dir``, a ``camera_profile`` ending in ``.json`` or
holding a folder, the file of ``scale_target = "board:FILE.json"``) is taken from the file's own
folder. Loading reads files and the environment only; the CLI turns the result into its
commands' defaults (:mod:`romcam.cli.config`).
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from romcam.dirs import config_dir
from romcam.errors import RomcamError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_FILENAME = "romcam.toml"
MODEL_NAMES = ("lite", "full", "heavy")

DEFAULT = "default"
USER_FILE = "user file"
WORKING_FILE = "working-folder file"
ENVIRONMENT = "environment"
COMMAND_LINE = "command line"


def _key(option: str, help: str, *, env: str | None = None, path: bool = False,
         limits: tuple[int, int] | None = None, choices: tuple[str, ...] | None = None) -> dict:
    return {"option": option, "help": help, "env": env, "path": path, "limits": limits, "choices": choices}


@dataclass(frozen=True)
class Settings:
    """The settings a clinic or a home user sets once; each is the default of the command-line
    option named in its metadata, on every command that has that option."""

    db: str | None = field(default=None, metadata=_key(
        "--db", "session database: an SQLite file or a postgresql:// URL", env="ROMCAM_DB", path=True))
    camera_profile: str | None = field(default=None, metadata=_key(
        "--camera-profile", "camera profile NAME, or its .json file", path=True))
    model: str = field(default="full", metadata=_key(
        "--model", "pose model: lite, full or heavy", choices=MODEL_NAMES))
    model_dir: str | None = field(default=None, metadata=_key(
        "--model-dir", "folder with the .task model bundles", env="ROMCAM_MODEL_DIR", path=True))
    trials: int = field(default=3, metadata=_key(
        "--trials", "maximal trials per side before and after the set", limits=(1, 10)))
    target_reps: int = field(default=40, metadata=_key(
        "--target-reps", "reps per side in a live set", limits=(1, 500)))
    target_turns: int = field(default=40, metadata=_key(
        "--target-turns", "turns in a live set of neck circles", limits=(1, 500)))
    scale_target: str = field(default="board", metadata=_key(
        "--scale-target", "ankle scale target: board, board:FILE.json, marker:ID:SIZE_MM or none", path=True))


KEYS: dict[str, Mapping] = {f.name: f.metadata for f in fields(Settings)}
DEFAULTS = Settings()


def limits(key: str) -> tuple[int, int]:
    """The allowed range of an integer setting (the command-line option uses the same)."""
    return KEYS[key]["limits"]


class ConfigError(RomcamError):
    """A configuration file that cannot be used: the message names the file and the key."""

    def __init__(self, message: str, path: Path | None = None):
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class ConfigFile:
    """One place a ``romcam.toml`` is looked for."""

    kind: str          # USER_FILE or WORKING_FILE
    path: Path

    @property
    def exists(self) -> bool:
        return self.path.is_file()


@dataclass(frozen=True)
class Source:
    """Where a setting's value came from."""

    kind: str                  # DEFAULT, USER_FILE, WORKING_FILE, ENVIRONMENT or COMMAND_LINE
    where: str | None = None   # the file's path, or the environment variable

    def __str__(self) -> str:
        return f"{self.kind} ({self.where})" if self.where else self.kind

    @property
    def is_file(self) -> bool:
        return self.kind in (USER_FILE, WORKING_FILE)


@dataclass(frozen=True)
class LoadedSettings:
    """The merged settings, where each value came from, and the files looked at."""

    settings: Settings
    sources: dict[str, Source]
    files: tuple[ConfigFile, ...]

    def from_files(self) -> dict[str, object]:
        """The values a file set (and nothing later overrode): what the commands' defaults become."""
        return {k: getattr(self.settings, k) for k in KEYS if self.sources[k].is_file}

    def with_command_line(self, given: Mapping[str, object]) -> LoadedSettings:
        """These settings with the values given on a command line (None: not given) on top."""
        given = {k: v for k, v in given.items() if v is not None}
        _check_values(given, COMMAND_LINE)
        return LoadedSettings(replace(self.settings, **given),
                              {**self.sources, **{k: Source(COMMAND_LINE) for k in given}}, self.files)


def config_files(cwd: Path | None = None) -> tuple[ConfigFile, ...]:
    """Where ``romcam.toml`` is looked for, in the order read (the later wins): the per-user
    config folder, then the working folder (once, when both are the same folder)."""
    user = ConfigFile(USER_FILE, config_dir() / CONFIG_FILENAME)
    working = ConfigFile(WORKING_FILE, Path(cwd or Path.cwd()) / CONFIG_FILENAME)
    if working.path.resolve() == user.path.resolve():
        return (user,)
    return user, working


def load_settings(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> LoadedSettings:
    """Defaults, then the user file, the working-folder file and the environment, each over the
    one before (see the module docstring). A file that cannot be used raises :class:`ConfigError`."""
    environ = os.environ if environ is None else environ
    files = config_files(cwd)
    values: dict[str, object] = {}
    sources = {k: Source(DEFAULT) for k in KEYS}
    for config in files:
        if config.exists:
            read = read_config_file(config.path)
            values.update(read)
            sources.update({k: Source(config.kind, str(config.path)) for k in read})
    for key, meta in KEYS.items():
        if meta["env"] and environ.get(meta["env"]):
            values[key] = environ[meta["env"]]
            sources[key] = Source(ENVIRONMENT, meta["env"])
    return LoadedSettings(replace(DEFAULTS, **values), sources, files)


def read_config_file(path: Path) -> dict[str, object]:
    """The settings one ``romcam.toml`` sets, checked, with relative paths taken from its folder."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not a valid TOML file: {exc}", path) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}", path) from None
    for key, value in data.items():
        if key not in KEYS and isinstance(value, dict):
            raise ConfigError(f"{path}: unknown table [{key}] (the settings are top-level keys, before any "
                              f"[table]; known keys: {', '.join(KEYS)})", path)
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(KEYS)}"
            raise ConfigError(f"{path}: unknown key {key!r} ({hint})", path)
    _check_values(data, str(path), path)
    return {k: _from_folder(k, v, path.parent) for k, v in data.items()}


def _check_values(values: Mapping[str, object], where: str, path: Path | None = None) -> None:
    for key, value in values.items():
        meta = KEYS[key]
        wanted = int if meta["limits"] else str
        if type(value) is not wanted:
            kind = "a whole number" if wanted is int else "a text in quotes"
            raise ConfigError(f"{where}: {key} must be {kind}, not {_toml_kind(value)} ({value!r})", path)
        if wanted is str and not value.strip():
            raise ConfigError(f"{where}: {key} is empty (leave the key out for the default)", path)
        if meta["limits"] and not meta["limits"][0] <= value <= meta["limits"][1]:
            low, high = meta["limits"]
            raise ConfigError(f"{where}: {key} = {value} is out of range (from {low} to {high})", path)
        if meta["choices"] and value not in meta["choices"]:
            raise ConfigError(f"{where}: {key} = {value!r} is not one of {', '.join(meta['choices'])}", path)


def _toml_kind(value: object) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "a text", dict: "a table",
             list: "a list"}
    return next((name for t, name in names.items() if type(value) is t), type(value).__name__)


def _from_folder(key: str, value, folder: Path):
    """A path the file gives, taken from the file's folder when relative (URLs and names kept)."""
    if not KEYS[key]["path"]:
        return value
    if key == "db" and "://" in value:
        return value
    if key == "scale_target":
        kind, sep, rest = value.partition(":")
        if kind.strip().lower() == "board" and sep and rest:
            return f"board:{_resolve(rest, folder)}"
        return value
    if key == "camera_profile" and not (value.lower().endswith(".json") or "/" in value or "\\" in value):
        return value                                   # a profile NAME
    return _resolve(value, folder)


def _resolve(text: str, folder: Path) -> str:
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else folder / path)
