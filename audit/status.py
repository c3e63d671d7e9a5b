"""Exit codes of every command, in one place."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # findings at or above --fail-on; diff: changed; check-auth: some users failed
    USAGE = 2  # usage or configuration error
    UNREACHABLE = 3  # site unreachable, or no user could authenticate
    INTERRUPTED = 130


class UsageError(Exception):
    """A command-line value that cannot work (one plain sentence; exit 2)."""
