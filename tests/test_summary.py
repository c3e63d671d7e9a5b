"""The terminal summary counts each outcome once and names the sensitive allowed cells."""

from __future__ import annotations

from audit.model import Operation, Outcome, ProbeResult
from audit.render.terminal import render_summary


def _row(user: str, doctype: str, op: Operation, outcome: Outcome) -> ProbeResult:
    return ProbeResult(user=user, doctype=doctype, op=op, outcome=outcome)


def test_counts_and_sensitive_cells() -> None:
    rows = [
        _row("bot", "User", Operation.WRITE, Outcome.ALLOWED),
        _row("bot", "User", Operation.READ, Outcome.ALLOWED),
        _row("bot", "Customer", Operation.READ, Outcome.ALLOWED),
        _row("bot", "Customer", Operation.DELETE, Outcome.DENIED),
        _row("bot", "Note", Operation.CREATE, Outcome.ERROR),
        _row("bot", "Note", Operation.CANCEL, Outcome.NOT_APPLICABLE),
        _row("gone", "Customer", Operation.READ, Outcome.AUTH_FAILED),
        _row("gone", "Customer", Operation.WRITE, Outcome.UNTESTABLE),
    ]
    text = render_summary(rows, ["bot", "gone"])
    lines = text.splitlines()
    bot = next(line.split() for line in lines if line.startswith("bot "))
    gone = next(line.split() for line in lines if line.startswith("gone "))
    assert bot[1:] == ["3", "1", "1", "0", "0", "1"]
    assert gone[1:] == ["0", "0", "0", "1", "1", "0"]
    assert "bot: User(read,write)" in text
    assert "Customer(" not in text.split("matter:")[1]
