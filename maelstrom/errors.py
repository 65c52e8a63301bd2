"""Maelstrom's error table, and the bench's own error type.

A node answers a failed request with `{"type": "error", "code": C, "text": ...}`. Whether the
operation may still have happened decides how the client records it: a *definite* error means
it never happened (`:fail`); an indefinite one (timeout, crash, and any code we do not know)
means it might have (`:info`). The table is Maelstrom's (src/maelstrom/client.clj and the
workload namespaces that add codes 20-30).
"""

from __future__ import annotations

from dataclasses import dataclass

import click

__all__ = ["ErrorKind", "ERRORS", "error_kind", "BenchError", "EXIT_VALID", "EXIT_INVALID",
           "EXIT_UNKNOWN", "EXIT_ERROR"]

# Jepsen's exit status convention.
EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_UNKNOWN = 2
EXIT_ERROR = 254


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
