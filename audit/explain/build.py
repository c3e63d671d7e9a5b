"""An explanation built from a refused cell: from its reply alone, or from the rules."""

from __future__ import annotations

from audit.crawl.inventory import DocTypeInfo, TargetDoc
from audit.explain.catalogue import cause as catalogue_cause
from audit.explain.explanation import Explanation
from audit.explain.hints import Hint
from audit.explain.why import Diagnosis
from audit.model import Operation

__all__ = ["from_reply", "from_rules"]


def from_reply(mode: str, who: str, op: Operation, dt: DocTypeInfo, hint: Hint | None,
               evidence: list[str], notes: list[str], subject: dict[str, str],
               inspector: tuple[str, ...]) -> Explanation:
    """A refusal explained by the reply alone (the configured rules are not known)."""
    verdict = f"{who} cannot {op.value} {dt.name}"
    if hint is not None:
        verdict += f": {hint.title} ({hint.cause})"
    return Explanation(mode, verdict, hint, tuple(evidence) + (hint.evidence if hint else ()),
                       (hint.fix,) if hint else (), subject=subject, inspector=inspector,
                       notes=tuple(notes))


def from_rules(mode: str, who: str, op: Operation, dt: DocTypeInfo, target: TargetDoc | None,
               diagnosis: Diagnosis, reply_hint: Hint | None, evidence: list[str],
               notes: list[str], subject: dict[str, str],
               inspector: tuple[str, ...]) -> Explanation:
    """A refusal explained by the configured rules: the blockers first, then the fixes."""
    roles = ", ".join(r for r in diagnosis.user_roles) or "none"
    evidence.append(f"roles of {subject.get('frappe_user')}: {roles}")
    for right, granting in diagnosis.granting_roles.items():
        owner = diagnosis.owner_roles.get(right, ())
        line = f"roles granting {right} on {dt.name}: {', '.join(granting) or 'none'}"
        if owner:
            line += f"; only on own documents (if_owner): {', '.join(owner)}"
        evidence.append(line)
    evidence += [f"blocked by: {b.detail}" for b in diagnosis.blockers]
    notes += list(diagnosis.notes)
    fixes = tuple(f.change for f in diagnosis.fixes)
    effects = tuple(f"{f.change}: {e}" for f in diagnosis.fixes for e in f.side_effects)
    doc = f"{dt.name} {target.name}" if target else dt.name
    if diagnosis.blockers and "name" not in subject and diagnosis.blockers[0].cause in (
            "no-role", "website-user", "select-only"):
        doc = dt.name  # refused on every document: the probe's target says nothing
    if diagnosis.blockers:
        first = diagnosis.blockers[0]
        entry = catalogue_cause(first.cause)
        others = tuple(dict.fromkeys(b.cause for b in diagnosis.blockers[1:]
                                     if b.cause != first.cause))
        hint = Hint(first.cause, entry.title, entry.fix, tuple(evidence), others,
                    "each is needed: fix all of them" if others else "")
        verdict = f"{who} cannot {op.value} {doc}: {first.detail}"
        return Explanation(mode, verdict, hint, tuple(evidence), fixes, effects, subject,
                           inspector, tuple(notes))
    notes.append("rule-mismatch: the configured rules allow this, the site refuses it; the "
                 "reply names the likely cause (a hook, a script, docstatus)")
    verdict = f"{who} cannot {op.value} {doc} although the rules allow it"
    if reply_hint is not None:
        verdict += f": {reply_hint.title} ({reply_hint.cause})"
    return Explanation(mode, verdict, reply_hint, tuple(evidence),
                       (reply_hint.fix,) if reply_hint else (), (), subject, inspector,
                       tuple(notes))
