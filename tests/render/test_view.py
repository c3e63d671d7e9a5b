"""What the page is built from: hint groups, evidence anchors, absent analysis keys."""

from __future__ import annotations

from dataclasses import replace

from audit.model import Attempt, Operation, Outcome, ProbeMethod, ProbeResult
from audit.render.html import render_html
from audit.render.view import build_view
from tests.render import fixtures


def test_every_401_403_429_is_grouped_under_its_hint() -> None:
    results = fixtures.plain()
    bad = ProbeResult(user="alice", doctype="Zeta", op=Operation.READ, outcome=Outcome.ERROR,
                      attempts=(Attempt(target="Z-1", method=ProbeMethod.REST, http_status=401,
                                        exc_type="AuthenticationError"),))
    gone = replace(results.users[1], auth_failure="the API key or secret was refused -> "
                                                  "generate a new key pair")
    results = replace(results, probes=(*results.probes, bad),
                      users=(results.users[0], gone, *results.users[2:]))
    groups = {(g.status, g.exc_type): g for g in build_view(results).hints}
    statuses = {p.http_status for p in results.probes} | {
        a.http_status for p in results.probes for a in p.attempts}
    assert {s for s, _ in groups if s is not None} == statuses & {401, 403, 429}
    denied = groups[(403, "PermissionError")]
    assert denied.count == sum(1 for p in results.probes if p.http_status == 403)
    assert denied.hint is not None and denied.hint.cause == "no-role"
    assert groups[(429, "")].hint is not None and groups[(429, "")].hint.cause == "rate-limit"
    assert groups[(401, "AuthenticationError")].examples[0][:2] == ("alice", "Zeta")
    failed = groups[(None, "")]
    assert failed.users == ("bob",) and "refused" in failed.examples[0][4]
    assert denied.examples[0][3] == "DOC-0001"  # the document the reply was about
    page = render_html(results)
    assert "Could not authenticate" in page and "HTTP 429" in page


def test_evidence_anchors_name_matrix_cells_only() -> None:
    results = fixtures.plain()
    view = build_view(results)
    users = [u.name for u in results.users]
    doctypes = sorted({p.doctype for p in results.probes})
    for fv in view.findings:
        for cell in fv.cells:
            user, doctype, _ = cell.key.split("|")
            assert cell.anchor == f"c-{users.index(user)}-{doctypes.index(doctype)}"
        assert all(e.count("|") != 2 for e in fv.other_evidence)
        assert fv.other_evidence  # "role:..." is evidence too, shown as text


def test_a_record_without_analysis_renders() -> None:
    results = replace(fixtures.plain(), analysis={}, findings=())
    page = render_html(results)
    assert "No findings" in page and "Not computed." in page and "No baseline" in page
    sheet = build_view(results).sheets[0]
    assert sheet.unused is None and sheet.minimal_roles is None and sheet.changes is None
    assert sheet.sensitive  # computed from the cells when analysis did not say


def test_texts_cleaned_ahead_by_batch_are_cleaned_as_one_by_one() -> None:
    """prime() takes a batch as it is only when nothing in it would change: a secret, a
    secret name (whole or quoted), a control character anywhere among thousands of plain
    texts is still cleaned."""
    from audit.config.secrets import REGISTRY
    from audit.render.view import Cleaner, clean
    from audit.results.redact import REDACTOR

    secret, name = "s3cr3t-v4lue-0042", "tok3n-of-an-oauth-b34rer"
    REGISTRY.register(secret)
    REDACTOR.learn(name)
    plain = [f"finding {i}: User may write DocType {i % 97} (evidence u|D{i}|write)"
             for i in range(13_000)]
    hidden = [f"quotes {secret} here", name, f"names {name} in prose", "bell\x07rings",
              "line\u2028separator", "bidi \u202e override"]
    for where in (0, 1_999, 2_000):
        texts = [*plain]
        for k, text in enumerate(hidden):
            texts[(where + k * 2_003) % len(texts)] = text  # each in a batch of its own
        cl = Cleaner()
        cl.prime(texts)
        for text in texts:
            assert cl(text) == clean(text)
        assert all(secret not in cl(t) and name not in cl(t) for t in hidden)
