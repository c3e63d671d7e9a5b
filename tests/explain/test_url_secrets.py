"""``explain --url``: a password in the URL's userinfo and a token in its query are
registered and never shown, in text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import cli

PASSWORD = "Sup3rPassw0rd99"
TOKEN = "8f9b49bc423bfc43d1694928"


def _body(password: str) -> dict[str, str]:
    """A reply echoing the credentials back."""
    message = f"echo {password} {TOKEN}"
    return {"exc_type": "PermissionError", "exception": "frappe.exceptions.PermissionError",
            "_server_messages": json.dumps([json.dumps({"message": message})])}


@pytest.mark.parametrize(("url", "password"), [
    (f"https://u:{PASSWORD}@erp.example.com/api/resource/Customer?token={TOKEN}", PASSWORD),
    (f"https://u:{PASSWORD}/x@erp.example.com/api/resource/Customer?api_key={TOKEN}",
     f"{PASSWORD}/x"),
    (f"u:{PASSWORD}@erp.example.com/api/resource/Customer?sid={TOKEN}&x=1", PASSWORD),
])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_explain_url_never_shows_its_credentials(tmp_path: Path, url: str, password: str,
                                                 fmt: str) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(_body(password)), "utf-8")
    result = CliRunner().invoke(cli, ["explain", "--status", "403", "--body", str(body),
                                      "--url", url, "--format", fmt])
    assert result.exit_code in (0, 1), result.output + result.stderr
    shown = result.output + result.stderr
    assert "erp.example.com" in shown  # the URL is still shown
    for secret in (PASSWORD, TOKEN, PASSWORD[:8]):
        assert secret not in shown, (secret, shown)


def test_a_user_name_in_a_path_is_no_credential(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(_body(PASSWORD)), "utf-8")
    url = "https://erp.example.com:8000/api/resource/User/ann@example.com"
    result = CliRunner().invoke(cli, ["explain", "--status", "403", "--body", str(body),
                                      "--url", url])
    assert url in result.output
