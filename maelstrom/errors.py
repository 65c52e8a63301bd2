"""Maelstrom's error table, and the bench's own error type.

A node answers a failed request with `{"type": "error", "code": C, "text": ...}`. Whether the
operation may still have happened decides how the client records it: a *definite* error means
it never happened (`:fail`); an indefinite one (timeout, crash, and any code we do not know)
means it might have (`:info`). The table is Maelstrom's (src/maelstrom/client.clj and the
workload namespaces that add codes 20-30).
"""

from __future__ import annotations

import io
import os
import sys
import traceback
from dataclasses import dataclass

import click

__all__ = ["ErrorKind", "ERRORS", "error_kind", "BenchError", "JepsenExit", "EXIT_VALID",
           "EXIT_INVALID", "EXIT_UNKNOWN", "EXIT_ERROR", "EXIT_INTERRUPTED"]

# Jepsen's exit status convention.
EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
EXIT_ERROR = 254
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT (128 + 2)


@dataclass(frozen=True, slots=True)
class ErrorKind:
    """One row of the error table."""

    code: int
    name: str
    definite: bool


ERRORS: dict[int, ErrorKind] = {e.code: e for e in (
    ErrorKind(0, "timeout", False),
    ErrorKind(1, "node-not-found", True),
    ErrorKind(10, "not-supported", True),
    ErrorKind(11, "temporarily-unavailable", True),
    ErrorKind(12, "malformed-request", True),
    ErrorKind(13, "crash", False),
    ErrorKind(14, "abort", True),
    ErrorKind(20, "key-does-not-exist", True),
    ErrorKind(21, "key-already-exists", True),
    ErrorKind(22, "precondition-failed", True),
    ErrorKind(30, "txn-conflict", True),
)}

_UNKNOWN = ErrorKind(-1, "unknown", False)


def error_kind(code: object) -> ErrorKind:
    """The table row for `code`; unknown (or non-integer) codes are indefinite, named `unknown`."""
    if isinstance(code, bool) or not isinstance(code, int):
        return _UNKNOWN
    return ERRORS.get(code, _UNKNOWN)


class BenchError(click.ClickException):
    """The bench cannot run the test as asked (bad flags, missing binary, ...).

    Exits with EXIT_ERROR, never 1 or 2: those mean "invalid" and "unknown" to Jepsen's callers.
    """

    exit_code = EXIT_ERROR


class JepsenExit:
    """Mixin for a click command or group (the `maelstrom` group; a subcommand run on its own)
    that makes its exit status follow one rule: 0 valid, 1 invalid, 2 unknown (the command's own
    `sys.exit(verdict)`), EXIT_ERROR for anything else that goes wrong.

    click's standalone handling would exit 2 on a usage error (a bad option, an unknown
    subcommand, bare `maelstrom`), 1 on a ClickException, on Ctrl-C and on a closed stdout pipe,
    and 1 with a traceback on a bug: to Jepsen's callers these read as "unknown" and "invalid".
    Here: every ClickException (usage errors, BenchError) exits EXIT_ERROR after click's usual
    message; an uncaught exception prints its traceback and exits EXIT_ERROR; Ctrl-C exits
    EXIT_INTERRUPTED. A closed stdout (`maelstrom check h.edn | head -1`) changes nothing: the
    command runs on with its output discarded and exits with its verdict.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        _survive_closed_stdout()
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.Abort:  # click's form of KeyboardInterrupt
            click.echo("Aborted!", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception:  # a bench bug: never 1 ("invalid")
            traceback.print_exc()
            click.echo("Error: the bench failed (traceback above)", err=True)
            sys.exit(EXIT_ERROR)
        # Reached by --help, --version (click's Exit: its code) or a command that returned
        # without sys.exit (0).
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else EXIT_VALID)


class _DevNullOnBrokenPipe(io.FileIO):
    """stdout's raw file: when the reader has gone (EPIPE), point the descriptor at /dev/null
    and report the write as done, so that nothing above it ever sees BrokenPipeError (not the
    command, not click, not the interpreter's final flush)."""

    def write(self, data) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.fileno())
            finally:
                os.close(devnull)
            return memoryview(data).nbytes


def _survive_closed_stdout() -> None:
    """Give sys.stdout a raw layer that outlives a closed pipe; only when sys.stdout is still
    the process's own (not replaced by a test runner's capture, nor already wrapped)."""
    out = sys.stdout
    if out is None or out is not sys.__stdout__:
        return
    try:
        fd = out.fileno()
        out.flush()
    except (OSError, ValueError, AttributeError):
        return
    raw = _DevNullOnBrokenPipe(fd, "w", closefd=False)
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(raw), encoding=out.encoding,
                                  errors=out.errors, line_buffering=out.line_buffering)
