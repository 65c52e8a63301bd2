"""The `maelstrom` command: a click group whose subcommands each live in maelstrom/commands/.

Exit status follows Jepsen: 0 valid, 1 invalid, 2 unknown, anything else a bench error.
"""

from __future__ import annotations

import click

from maelstrom.commands import COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
# The installed package's version (from its metadata, i.e. pyproject.toml), e.g. "maelstrom 0.1.0".
@click.version_option(package_name="ferrite-consensus-lab", prog_name="maelstrom",
                      message="%(prog)s %(version)s")
def main() -> None:
    """Ferrite's Maelstrom-compatible test bench."""


for _command in COMMANDS:
    main.add_command(_command)
