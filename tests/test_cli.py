"""The `maelstrom` command itself: `--version`."""

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from click.testing import CliRunner

from maelstrom.cli import main

VERSION = version("ferrite-consensus-lab")


def test_version_prints_the_installed_package_version():
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0, r.output
    assert r.output == f"maelstrom {VERSION}\n"


def test_version_from_the_installed_script():
    script = Path(sys.executable).parent / "maelstrom"
    r = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"maelstrom {VERSION}\n"
