"""MkDocs hook: gives each romcam command without a ``short_help`` the one-line summary click
itself prints in ``romcam --help`` (its first sentence), so the reference's subcommand lists read
as whole sentences rather than the first line of a wrapped docstring."""

from __future__ import annotations

import click


def _commands(group: click.Group):
    for command in group.commands.values():
        yield command
        if isinstance(command, click.Group):
            yield from _commands(command)


def on_config(config):
    from romcam.cli.main import cli

    for command in _commands(cli):
        if command.short_help is None:
            command.short_help = command.get_short_help_str(limit=150)
    return config
