"""Server text is inert on a terminal: escapes, controls and bidi overrides never get there."""

from __future__ import annotations

import pytest

from audit import cli
from audit.config.secrets import REGISTRY

HOSTILE = "Customer\x1b]0;owned\x07\x1b[2J\x1b[1A\r\u202eevil\x9b31m\x00 done"


@pytest.mark.parametrize("writer", ["_echo", "_warn", "_err"])
def test_terminal_writers_strip_control_characters(writer: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    getattr(cli, writer)(f"line one {HOSTILE}\nline two\twith tab")
    out, err = capsys.readouterr()
    text = out + err
    assert "Customerevil31m done" in text  # the text stays, its controls go
    assert "\nline two\twith tab" in text
    for bad in ("\x1b", "\x07", "\r", "\u202e", "\x9b", "\x00"):
        assert bad not in text


def test_terminal_writers_mask_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    REGISTRY.register("inert-test-secret-1234")
    cli._warn("the server said inert-test-secret-1234")
    cli._echo("user inert-test-secret-1234")
    out, err = capsys.readouterr()
    assert "inert-test-secret-1234" not in out + err and "***" in out and "***" in err


def test_redacted_excepthook(capsys: pytest.CaptureFixture[str]) -> None:
    REGISTRY.register("hook-secret-5678abcd")
    try:
        raise RuntimeError("boom hook-secret-5678abcd \x1b[2J")
    except RuntimeError as exc:
        cli._redacted_excepthook(type(exc), exc, exc.__traceback__)
    err = capsys.readouterr().err
    assert "RuntimeError: boom ***" in err and "Traceback" in err and "\x1b" not in err


def test_the_renderers_colours_survive_and_nothing_else() -> None:
    """stdout keeps the severity colours (click drops them too when it is no terminal)."""
    from audit.results.redact import REDACTOR

    text = "\x1b[1;31mcritical\x1b[0m privileged-role \x1b[8mhidden\x1b[0m\x1b]0;t\x07"
    assert REDACTOR.terminal(text, colors=True) == (
        "\x1b[1;31mcritical\x1b[0m privileged-role hidden\x1b[0m")
    assert REDACTOR.terminal(text) == "critical privileged-role hidden"
