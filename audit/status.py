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


def not_regular(path: object) -> str:
    """Why ``path`` must not be opened as a file the user named ("" when it may): a FIFO,
    a device or a socket would block the read or never end."""
    import os
    import stat

    try:
        mode = os.stat(str(path)).st_mode
    except OSError:
        return ""  # opening it says why
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return ""  # a folder: opening it says so
    return "not a regular file (a FIFO, a device or a socket)"
