"""Live explain on the reference site: the four cases of the issue, and the CLI around it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import cli
from audit.explain.explanation import render_json, render_text
from audit.sim.server import SimServer
from tests.explain.helpers import env_of, live, user_toml, write_config


@pytest.fixture(scope="module")
def ref() -> Iterator[SimServer]:
    """One reference site for the cases that change nothing."""
    with SimServer(fixture="reference") as sim:
        yield sim


def test_clerk_delete_vendor_names_the_right_and_the_granting_roles(ref: SimServer,
                                                                   tmp_path: Path) -> None:
    got = live(ref, tmp_path, user_toml("clerk"), "clerk", "Vendor", "delete")
    assert got.hint is not None and got.hint.cause == "no-role" and got.hint.certain
    assert "grants delete on Vendor" in got.verdict
    assert "roles that grant it: Vendor Manager, System Manager" in got.verdict
    assert "roles granting delete on Vendor: Vendor Manager, System Manager" in got.evidence
    assert got.fixes[:2] == ("add role Vendor Manager to clerk@example.com",
                             "add role System Manager to clerk@example.com")
    assert any("privileged-role" in s and "System Manager" in s for s in got.side_effects)
    assert not any("Vendor Manager to" in s for s in got.side_effects)  # no finding for it
    assert got.inspector and got.inspector[-1] == "Ouput of has_permission: False"


def test_restricted_read_outside_user_permission(ref: SimServer, tmp_path: Path) -> None:
    got = live(ref, tmp_path, user_toml("restricted"), "restricted", "Vendor", "read",
               "Globex Ltd")
    assert got.hint is not None and got.hint.cause == "user-permission"
    assert "User Permission Vendor=Acme Corp" in got.verdict and "Globex Ltd" in got.verdict
    assert got.fixes[0] == "add a User Permission Vendor=Globex Ltd for restricted@example.com"
    assert any("remove the User Permission Vendor=Acme Corp" in f for f in got.fixes)
    assert "Not allowed for Vendor: Globex Ltd" in got.inspector


def test_memo_write_on_another_users_memo_names_if_owner(ref: SimServer, tmp_path: Path) -> None:
    got = live(ref, tmp_path, user_toml("memo"), "memo", "Memo", "write", "dtjfe7c79i")
    assert got.hint is not None and got.hint.cause == "if-owner"
    assert "Memo Owner grants write on Memo only on documents memo@example.com created" in (
        got.verdict)
    assert "created by auditor@example.com" in got.verdict
    assert got.fixes[0] == "share Memo dtjfe7c79i with memo@example.com (write)"
    assert any("without 'Only if Creator'" in f for f in got.fixes)


def test_memo_write_on_own_memo_is_allowed(ref: SimServer, tmp_path: Path) -> None:
    got = live(ref, tmp_path, user_toml("memo"), "memo", "Memo", "write", "igcq72cqcc")
    assert got.hint is None and got.verdict.startswith("memo CAN write Memo (on igcq72cqcc)")


def test_wrong_secret_names_the_secret(ref: SimServer, tmp_path: Path) -> None:
    users = user_toml("manager", secret="wrongsecret123")
    got = live(ref, tmp_path, users, "manager", "Vendor", "read")
    assert got.hint is not None and (got.hint.cause, got.hint.alternatives) == ("wrong-secret", ())
    assert any("the api_key belongs to manager@example.com: the api_secret does not match" in e
               for e in got.evidence)
    blind = live(ref, tmp_path, users, "manager", "Vendor", "read", auditor=False)
    assert blind.hint is not None and blind.hint.alternatives == ("unknown-key",)
    assert "wrongsecret123" not in render_text(got) + render_json(got)


def test_unknown_key(ref: SimServer, tmp_path: Path) -> None:
    got = live(ref, tmp_path, user_toml("ghost", key="nosuchkey0000", secret="nosuchsecret00"),
               "ghost", "Vendor", "read")
    assert got.hint is not None and got.hint.cause == "unknown-key"
    assert "no User of this site holds this api_key" in got.evidence


def test_cli_live_text_and_json(ref: SimServer, tmp_path: Path) -> None:
    path = write_config(ref, tmp_path, user_toml("clerk"))
    args = ["explain", "-c", str(path), "--user", "clerk", "--doctype", "Vendor", "--op",
            "delete"]
    runner = CliRunner()
    text = runner.invoke(cli, args, env=env_of(ref))
    assert text.exit_code == 0, text.output
    assert text.stdout.splitlines()[0].startswith("clerk cannot delete Vendor")
    as_json = runner.invoke(cli, [*args, "--format", "json"], env=env_of(ref))
    out = json.loads(as_json.stdout)
    assert out["cause"]["cause"] == "no-role" and out["subject"]["op"] == "delete"
    for secret in env_of(ref).values():
        assert secret not in text.output + as_json.output
    bad = runner.invoke(cli, ["explain", "-c", str(path), "--user", "clerk", "--doctype",
                              "NoSuchDocType", "--op", "read"], env=env_of(ref))
    assert bad.exit_code == 2 and "NoSuchDocType" in bad.stderr and "Traceback" not in bad.stderr


def test_docstatus_blocks_a_right_the_user_has(ref: SimServer, tmp_path: Path) -> None:
    """manager may delete Payment Vouchers, but 9lpd33hdpe is submitted."""
    got = live(ref, tmp_path, user_toml("manager"), "manager", "Payment Voucher", "delete",
               "9lpd33hdpe")
    assert got.hint is not None and got.hint.cause == "docstatus"
    assert "has the delete right" in got.verdict and "cancel it first" in got.verdict
    again = live(ref, tmp_path, user_toml("manager"), "manager", "Payment Voucher", "submit",
                 "9lpd33hdpe")
    assert again.hint is not None and again.hint.cause == "docstatus"
    assert "only a draft can be submitted" in again.verdict
