"""The settings from ``romcam.toml`` as every command's defaults, and `romcam config show|path`.

:func:`apply_settings` runs in the ``romcam`` group's callback: it loads the settings
(:mod:`romcam.config`) and fills the context's ``default_map``, so each option a setting feeds
(``--db``, ``--camera-profile``, ``--model``, ...) takes the configured value as its default on
every command that has it, whatever the parameter is called there.
"""

from __future__ import annotations

import click

from romcam.config import KEYS, ConfigError, LoadedSettings, load_settings

SETTINGS_KEY = "romcam.settings"
ERROR_KEY = "romcam.settings_error"

# (command path, option) pairs a setting does not feed ("*": no option): the demo's synthetic
# session is never stored in the configured database; `config show` tells the command line apart
NOT_FED = {("demo", "--db"), ("config show", "*")}


def apply_settings(ctx: click.Context) -> None:
    """Load the settings and make the values from files the defaults of every command below
    ``ctx``. A file that cannot be used stops every command with its one-line error, except
    ``romcam config`` (``config path`` still tells where the files are; ``config show`` says it)."""
    try:
        loaded = checked_db(load_settings())
    except ConfigError as exc:
        if ctx.invoked_subcommand != "config":
            raise
        ctx.meta[ERROR_KEY] = exc
        return
    ctx.meta[SETTINGS_KEY] = loaded
    ctx.default_map = default_map(ctx.command, loaded.from_files())


def checked_db(loaded: LoadedSettings) -> LoadedSettings:
    """``loaded``, after refusing a ``db`` URL that holds a password (wherever it came from: a
    file, the environment or the command line) with a line that shows it as ``***``."""
    value = loaded.settings.db
    if value and "://" in value:                  # a file path needs no database layer loaded
        from romcam.errors import RomcamError
        from romcam.storage.engine import clean_url, is_url

        if is_url(value):
            try:
                clean_url(value)
            except RomcamError as exc:
                raise ConfigError(f"{loaded.sources['db']}: {exc}") from None
    return loaded


def default_map(command: click.Command, values: dict[str, object], path: tuple[str, ...] = ()) -> dict:
    """click's ``default_map`` for ``command`` and its subcommands: each option that a setting in
    ``values`` feeds, by the option's parameter name."""
    by_option = {KEYS[key]["option"]: value for key, value in values.items()}
    out: dict = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.multiple:
            continue
        for opt in param.opts:
            where = " ".join(path)
            if opt in by_option and (where, opt) not in NOT_FED and (where, "*") not in NOT_FED:
                out[param.name] = by_option[opt]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            sub_map = default_map(sub, values, path + (name,))
            if sub_map:
                out[name] = sub_map
    return out


def _loaded(ctx: click.Context) -> LoadedSettings:
    error = ctx.find_root().meta.get(ERROR_KEY)
    if error is not None:
        raise error
    return ctx.find_root().meta.get(SETTINGS_KEY) or load_settings()


@click.group(name="config")
def config() -> None:
    """The settings set once in romcam.toml: where they are read from and what they are.

    \b
    Each setting is the first of:
      1. the command line,
      2. the environment (ROMCAM_DB, ROMCAM_MODEL_DIR),
      3. romcam.toml in the working folder,
      4. romcam.toml in the per-user config folder (ROMCAM_CONFIG_DIR moves it),
      5. the default.
    """


def _setting_options(fn):
    for key in reversed(list(KEYS)):
        meta = KEYS[key]
        kind = (click.IntRange(*meta["limits"]) if meta["limits"]
                else click.Choice(meta["choices"]) if meta["choices"] else str)
        fn = click.option(meta["option"], key, type=kind, default=None,
                          help=f"As if given to a command: {meta['help']}.")(fn)
    return fn


@config.command()
@_setting_options
@click.pass_context
def show(ctx, **given):
    """Print each setting's value and where it came from."""
    loaded = checked_db(_loaded(ctx).with_command_line(given))
    rows = [(key, _shown(key, getattr(loaded.settings, key)), str(loaded.sources[key])) for key in KEYS]
    width = [max(len(r[k]) for r in rows) for k in (0, 1)]
    for key, value, where in rows:
        click.echo(f"{key:<{width[0]}}  {value:<{width[1]}}  {where}")


def _shown(key: str, value) -> str:
    if value is not None:
        return str(value)
    if key == "db":
        from romcam.dirs import data_dir
        return f"(none: {data_dir() / 'romcam.sqlite3'})"
    if key == "model_dir":
        return "(none: the per-user cache, else downloaded)"
    return "(none)"


@config.command()
@click.pass_context
def path(ctx):
    """Print where romcam.toml is looked for (later files win), and whether it is there."""
    from romcam.config import config_files

    error = ctx.find_root().meta.get(ERROR_KEY)
    for f in config_files():
        state = "found" if f.exists else "not there"
        if error is not None and error.path == f.path:
            state = "found, NOT USABLE: see `romcam config show`"
        click.echo(f"{f.kind + ':':<21} {f.path} ({state})")
