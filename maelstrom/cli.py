"""The `maelstrom` command: a click group whose subcommands each live in maelstrom/commands/.

Exit status follows Jepsen, for every subcommand and every misuse: 0 valid, 1 invalid,
2 unknown, 254 any usage or bench error (bare `maelstrom`, an unknown subcommand or option, a
missing path, ...), 130 on Ctrl-C. The group's main() enforces it (maelstrom.errors.JepsenExit).
"""

from __future__ import annotations

import click

from maelstrom.commands import COMMANDS
from maelstrom.errors import JepsenExit


class _Maelstrom(JepsenExit, click.Group):
    """The `maelstrom` group, with Jepsen's exit statuses."""


@click.group(cls=_Maelstrom, context_settings={"help_option_names": ["-h", "--help"]})
# The installed package's version (from its metadata, i.e. pyproject.toml), e.g. "maelstrom 0.1.0".
@click.version_option(package_name="ferrite-consensus-lab", prog_name="maelstrom",
                      message="%(prog)s %(version)s")
def main() -> None:
    """Ferrite's Maelstrom-compatible test bench."""


for _command in COMMANDS:
    main.add_command(_command)
