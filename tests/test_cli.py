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


# -- the exit-status rule itself (maelstrom.errors.JepsenExit), on a group of its own ----------

import click
import pytest

from maelstrom.errors import BenchError, JepsenExit


class _Group(JepsenExit, click.Group):
    pass


@click.group(cls=_Group)
def group():
    pass


@group.command()
@click.argument("code", type=int)
def verdict(code):
    sys.exit(code)


@group.command()
def returns():
    click.echo("done")


@group.command()
def interrupted():
    raise KeyboardInterrupt


@group.command()
def bug():
    raise ZeroDivisionError("a bench bug")


@group.command()
def bench_error():
    raise BenchError("cannot run that")


@group.command()
def click_error():
    raise click.ClickException("plain click error")  # click's own exit code is 1


@pytest.mark.parametrize("args, code, stderr", [
    (["verdict", "0"], 0, ""),
    (["verdict", "1"], 1, ""),
    (["verdict", "2"], 2, ""),
    (["returns"], 0, ""),
    (["--help"], 0, ""),
    ([], 254, "Usage:"),
    (["nosuch"], 254, "No such command"),
    (["verdict"], 254, "Missing argument"),
    (["verdict", "x"], 254, "is not a valid integer"),
    (["bench-error"], 254, "Error: cannot run that"),
    (["click-error"], 254, "Error: plain click error"),
    (["bug"], 254, "ZeroDivisionError: a bench bug"),
    (["interrupted"], 130, "Aborted!"),
])
def test_jepsen_exit_statuses(args, code, stderr):
    r = CliRunner().invoke(group, args)
    assert r.exit_code == code, (r.output, r.exception)
    assert stderr in r.stderr


def test_a_bench_bug_shows_its_traceback():
    r = CliRunner().invoke(group, ["bug"])
    assert "Traceback (most recent call last)" in r.stderr
    assert r.stderr.rstrip().endswith("Error: the bench failed (traceback above)")


def test_without_standalone_mode_click_errors_propagate():
    with pytest.raises(click.UsageError):
        group.main(["nosuch"], standalone_mode=False)
    assert group.main(["returns"], standalone_mode=False) is None
