"""The `maelstrom` command: a click group whose subcommands each live in maelstrom/commands/.

Exit status follows Jepsen: 0 valid, 1 invalid, 2 unknown, anything else a bench error.
"""

from __future__ import annotations

import click

from maelstrom.commands import COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Ferrite's Maelstrom-compatible test bench."""


for _command in COMMANDS:
    main.add_command(_command)
