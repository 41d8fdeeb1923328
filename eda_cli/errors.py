"""Exit codes and the error types every layer of eda raises.

The exit codes are part of eda's public interface: scripts and CI jobs branch on them.
They are documented in the README and pinned by tests/test_exit_codes.py.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    #: A check found a problem: threshold exceeded, audit finding, saga compensated, nothing matched.
    FINDING = 1
    #: Usage error or invalid input.
    USAGE = 2
    #: AWS or environment error: credentials, access, not found, unreachable.
    AWS = 3
    #: Part of the work was done and part was not; what was not done is listed.
    PARTIAL = 4
    #: A gate had nothing to check (an audit of an empty scope, `dlq inspect --fail-above` without a DLQ);
    #: `--allow-empty` turns it into 0. (pytest uses 5 for "no tests collected" the same way.)
    EMPTY = 5
    #: A bug in eda itself (an unexpected exception); rerun with --debug for the traceback.
    INTERNAL = 70
    #: Interrupted (Ctrl-C), or a confirmation declined: nothing more was changed.
    INTERRUPTED = 130


class EdaError(Exception):
    """An error eda expects and can explain in one line, plus an optional hint."""

    exit_code: ExitCode = ExitCode.AWS

    def __init__(self, message: str, hint: str | None = None, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(EdaError):
    """Invalid input: a bad option value, a malformed file, a pattern that does not compile."""

    exit_code = ExitCode.USAGE


class AwsError(EdaError):
    """AWS or the environment said no: credentials, access, not found, unreachable, throttled."""

    exit_code = ExitCode.AWS


class ResourceNotFound(AwsError):
    """A named resource (queue, table, topic, state machine) does not exist where we looked."""
