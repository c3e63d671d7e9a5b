"""One explanation, offline or live: a short verdict, the evidence, the fix; as text or JSON.

Both renderings pass through the secret registry, so a credential never shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from audit.config.secrets import REGISTRY
from audit.explain.catalogue import cause as catalogue_cause
from audit.explain.hints import Hint

__all__ = ["Explanation", "render_json", "render_text"]


@dataclass(frozen=True)
class Explanation:
    mode: str  # "offline" | "live"
    verdict: str  # one line
    hint: Hint | None  # the classified cause, None when nothing failed
    evidence: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()  # the smallest change(s) that would allow it, best first
    side_effects: tuple[str, ...] = ()  # findings a fix would itself raise
    subject: dict[str, str] = field(default_factory=dict)  # user, doctype, op, name
    inspector: tuple[str, ...] = ()  # Permission Inspector log lines
    notes: tuple[str, ...] = ()
    incident: bool = False  # a probe built to be refused was accepted: data changed

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "verdict": self.verdict,
                               "subject": dict(self.subject), "incident": self.incident}
        out["cause"] = self.hint.as_dict() if self.hint else None
        if self.hint:
            out["cause"]["possible"] = [
                {"cause": c, "title": catalogue_cause(c).title, "fix": catalogue_cause(c).fix}
                for c in self.hint.alternatives]
        out.update(evidence=list(self.evidence), fixes=list(self.fixes),
                   side_effects=list(self.side_effects), inspector=list(self.inspector),
                   notes=list(self.notes))
        return out


def render_json(explanation: Explanation) -> str:
    return REGISTRY.mask(json.dumps(explanation.as_dict(), indent=2, ensure_ascii=False))


def render_text(explanation: Explanation) -> str:
    """Verdict first, then the evidence, then the fix."""
    lines = [explanation.verdict]
    hint = explanation.hint
    if hint is not None:
        lines.append(f"cause: {hint.cause} - {hint.title}")
        if hint.alternatives:
            lines.append("also possible:")
            lines += [f"  {c} - {catalogue_cause(c).title}" for c in hint.alternatives]
            if hint.tell_apart:
                lines.append(f"what tells them apart: {hint.tell_apart}")
    if explanation.evidence:
        lines.append("evidence:")
        lines += [f"  {e}" for e in explanation.evidence]
    if explanation.inspector:
        lines.append("Permission Inspector:")
        lines += [f"  {e}" for e in explanation.inspector]
    fixes = explanation.fixes or ((hint.fix,) if hint else ())
    if fixes:
        lines.append("fix:" if len(fixes) == 1 else "fix (smallest first):")
        lines += [f"  {f}" for f in fixes]
    if explanation.side_effects:
        lines.append("the fix would itself be a finding:")
        lines += [f"  {s}" for s in explanation.side_effects]
    lines += [f"note: {n}" for n in explanation.notes]
    return REGISTRY.mask("\n".join(lines))
