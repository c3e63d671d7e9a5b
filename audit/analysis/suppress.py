"""``--suppressions FILE``: accepted findings, each with a reason and an expiry date.

```toml
[[suppress]]
id = "beyond-need:0a1b2c3d4e"          # a finding id, or:
# rule = "no-ip-restriction"           # a rule (optionally with user = "bot")
reason = "accepted by the CISO until the migration"
expires = 2027-03-31                   # a TOML date; past it the entry stops suppressing
```
A suppressed finding leaves ``findings`` (it no longer decides the exit code) and its id is
listed under ``suppressed``; an expired entry suppresses nothing and is reported.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from audit.analysis.catalogue import RULES
from audit.analysis.interface import Suppression
from audit.model import Finding
from audit.status import UsageError, not_regular

KEYS = frozenset({"id", "rule", "user", "reason", "expires"})


def load_suppressions(path: Path) -> tuple[Suppression, ...]:
    source = str(path)
    odd = not_regular(path)
    if odd:
        raise UsageError(f"{source}: cannot be read ({odd})")
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise UsageError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML ({exc})") from None
    entries = data.get("suppress", [])
    if set(data) - {"suppress"} or not isinstance(entries, list):
        raise UsageError(f"{source}: expected only [[suppress]] entries")
    out = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, raw in enumerate(entries):
        key = f"suppress[{i}]"
        if not isinstance(raw, dict):
            raise UsageError(f"{source}: {key}: expected a table")
        unknown = set(raw) - KEYS
        if unknown:
            raise UsageError(f"{source}: {key}.{sorted(unknown)[0]}: unknown key (expected "
                             f"{', '.join(sorted(KEYS))})")
        for name in ("id", "rule", "user"):
            if name in raw and not isinstance(raw[name], str):
                raise UsageError(f"{source}: {key}.{name}: expected a string, got "
                                 f"{type(raw[name]).__name__}")
        ident, rule, user = (str(raw.get(k) or "") for k in ("id", "rule", "user"))
        if ident and rule:
            raise UsageError(f"{source}: {key}: give id or rule (and user), not both")
        if not ident and not rule:
            raise UsageError(f"{source}: {key}: needs id = \"<finding id>\" or rule = \"<rule>\"")
        if rule and rule not in RULES:
            raise UsageError(f"{source}: {key}.rule: unknown rule {rule!r}")
        reason = raw.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise UsageError(f"{source}: {key}.reason: every suppression needs a reason")
        expires = raw.get("expires")
        if expires is None:
            raise UsageError(f"{source}: {key}.expires: every suppression needs an expiry "
                             "date (e.g. expires = 2027-03-31): an accepted risk is reviewed")
        if not isinstance(expires, date) or hasattr(expires, "hour"):
            raise UsageError(f"{source}: {key}.expires: expected a TOML date such as "
                             f"2027-03-31, got {expires!r}")
        subject = (ident, rule, user)
        if subject in seen:
            raise UsageError(f"{source}: {key}: suppresses what suppress[{seen[subject]}] "
                             "does (give each once)")
        seen[subject] = i
        out.append(Suppression(reason=reason.strip(), expires=expires, id=ident, rule=rule,
                               user=user))
    return tuple(out)


def label(entry: Suppression) -> str:
    what = entry.id or (entry.rule + (f" for {entry.user}" if entry.user else ""))
    return f"{what} (expired {entry.expires}: {entry.reason})"


def matches(entry: Suppression, found: Finding) -> bool:
    if entry.id:
        return entry.id == found.id
    return entry.rule == found.rule and (not entry.user or entry.user == found.user)


def apply(findings: Iterable[Finding], entries: Iterable[Suppression], today: date
          ) -> tuple[list[Finding], list[str], list[str]]:
    """(findings kept, ids suppressed, expired entries as text)."""
    live = [e for e in entries if e.expires is None or e.expires >= today]
    expired = [label(e) for e in entries if e.expires is not None and e.expires < today]
    if not live:
        return list(findings), [], expired
    kept, hidden = [], []
    for found in findings:
        if any(matches(e, found) for e in live):
            hidden.append(found.id)
        else:
            kept.append(found)
    return kept, sorted(hidden), expired
