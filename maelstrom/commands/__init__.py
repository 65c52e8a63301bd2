"""Subcommands of the `maelstrom` CLI, one module each. Add a module, then list its command here."""

from __future__ import annotations

import importlib

import click

# module name -> click command attribute. A module missing here means its command is not built yet.
_MODULES = {
    "test": "test",
    "check": "check",
    "sweep": "sweep",
    "replay": "replay",
    "serve": "serve",
}

COMMANDS: list[click.Command] = []
for _module, _attr in _MODULES.items():
    try:
        COMMANDS.append(getattr(importlib.import_module(f"maelstrom.commands.{_module}"), _attr))
    except ModuleNotFoundError as exc:  # only while the skeleton is being filled in
        if exc.name != f"maelstrom.commands.{_module}":
            raise
