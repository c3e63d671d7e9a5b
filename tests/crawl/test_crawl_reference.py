"""The crawler on the recorded reference site: its verdicts are the ones the real
Frappe 15.55.1 gave in the ``probe-*`` / ``read-*`` transcripts, cell by cell."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from audit.config.loader import load_config
from audit.sim.server import SimServer

from .conftest import Run, mismatches, run

TOKEN_USERS = ("clerk", "manager", "memo", "readonly", "restricted", "disabled", "website")
DOCTYPES = ("Vendor", "Payment Voucher", "Memo", "ToDo", "Note", "System Settings", "DocPerm")


def _config_text() -> str:
    lines = [
        '[site]', 'url = "${REF_URL}"', 'host = "audit.localhost"',
        '[crawl]', 'concurrency = 6', 'rate_limit = 2000',
        f'doctypes = [{", ".join(repr(d).replace(chr(39), chr(34)) for d in DOCTYPES)}]',
        '[auditor]', 'auth = "token"', 'api_key = "${REF_KEY_auditor}"',
        'api_secret = "${REF_SECRET_auditor}"',
    ]
    for user in TOKEN_USERS:
        lines += ['[[users]]', f'name = "{user}"', 'auth = "token"',
                  f'api_key = "${{REF_KEY_{user}}}"', f'api_secret = "${{REF_SECRET_{user}}}"']
    lines += ['[[users]]', 'name = "nokey"', 'auth = "password"',
              'username = "nokey@example.com"', 'password = "${REF_PASSWORD}"']
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, SimServer]]:
    tmp = tmp_path_factory.mktemp("reference")
    with SimServer(fixture="reference", port=0) as sim:
        env = {**os.environ, "REF_URL": sim.url, "REF_PASSWORD": sim.secrets["<password>"]}
        for user in (*TOKEN_USERS, "auditor"):
            env[f"REF_KEY_{user}"] = sim.secrets[f"<api_key:{user}>"]
            env[f"REF_SECRET_{user}"] = sim.secrets[f"<api_secret:{user}>"]
        path = tmp / "audit.toml"
        path.write_text(_config_text(), encoding="utf-8")
        config = load_config(path, env=env, warn=lambda _m: None)
        yield run(config, tmp / "out"), sim


def _cell(result: Run, user: str, doctype: str, op: str) -> dict:
    return next(r for r in result.rows
                if (r["user"], r["doctype"], r["op"]) == (user, doctype, op))


def test_every_cell_agrees_with_the_engine(reference_run: tuple[Run, SimServer]) -> None:
    result, sim = reference_run
    assert not mismatches(result, sim)
    assert sim.journal == []


# (user, doctype, op) -> (outcome, method, status, exc_type) as the real server showed
RECORDED = {
    # probe-write-stale-modified.json
    ("clerk", "Vendor", "write"): ("allowed", "rest", 417, "TimestampMismatchError"),
    ("readonly", "Vendor", "write"): ("denied", "rest", 403, "PermissionError"),
    ("memo", "Vendor", "write"): ("denied", "rest", 403, "PermissionError"),
    ("manager", "Payment Voucher", "write"): ("allowed", "rest", 417, "TimestampMismatchError"),
    ("clerk", "Payment Voucher", "write"): ("denied", "rest", 403, "PermissionError"),
    # probe-create-*.json
    ("memo", "Memo", "create"): ("allowed", "rest", 417, "ValidationError"),
    ("clerk", "Memo", "create"): ("denied", "rest", 403, "PermissionError"),
    ("readonly", "Payment Voucher", "create"): ("denied", "rest", 403, "PermissionError"),
    # probe-delete.json: only the submitted voucher is a safe DELETE target
    ("manager", "Payment Voucher", "delete"): ("allowed", "rest", 417, "ValidationError"),
    ("clerk", "Payment Voucher", "delete"): ("denied", "rest", 403, "PermissionError"),
    # probe-submit-bad-amended-from.json
    ("manager", "Payment Voucher", "submit"): ("allowed", "rest", 417, "LinkValidationError"),
    ("readonly", "Payment Voucher", "submit"): ("denied", "rest", 403, "PermissionError"),
    # read-doc-*.json, auth-disabled-user-apikey.json, auth-website-user-apikey.json
    ("readonly", "Payment Voucher", "read"): ("allowed", "rest", 200, ""),
    ("disabled", "Vendor", "read"): ("allowed", "rest", 200, ""),
    # perm-has-permission.json: cancel has no safe REST probe, it is asked
    ("manager", "Payment Voucher", "cancel"): ("allowed", "ask", 200, ""),
}


@pytest.mark.parametrize("cell", sorted(RECORDED))
def test_recorded_cells(reference_run: tuple[Run, SimServer], cell: tuple[str, str, str]) -> None:
    result, _sim = reference_run
    row = _cell(result, *cell)
    outcome, method, status, exc_type = RECORDED[cell]
    assert (row["outcome"], row["method"], row["http_status"], row["exc_type"]) == (
        outcome, method, status, exc_type), row


def test_limits_name_the_reason(reference_run: tuple[Run, SimServer]) -> None:
    result, _sim = reference_run
    assert "user_permission:Vendor=Acme Corp" in _cell(result, "restricted", "Vendor",
                                                       "read")["limits"]
    memo_write = _cell(result, "memo", "Memo", "write")
    assert memo_write["outcome"] == "allowed" and "if_owner" in memo_write["limits"]
    assert _cell(result, "website", "Vendor", "read")["outcome"] == "denied"
    for op in ("read", "write", "create", "delete", "submit", "cancel"):
        assert _cell(result, "clerk", "DocPerm", op)["outcome"] == "not_applicable"
    assert _cell(result, "clerk", "System Settings", "create")["outcome"] == "not_applicable"
    assert result.data["users"]["nokey"]["frappe_user"] == "nokey@example.com"
    assert result.data["users"]["disabled"]["enabled"] is False
