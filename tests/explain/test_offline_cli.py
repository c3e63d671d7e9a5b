"""``permaudit explain --status --body``: every failing transcript step, curl, stdin, masking."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from audit.explain.request import parse_curl, parse_header_text
from audit.status import UsageError
from tests.explain.transcripts import EXPECTED, Step, failing_steps

STEPS = failing_steps()
SECRET = "s3cretvalue77"
KEY = "k3yvalue1234"


def invoke(args: list[str], stdin: str | None = None) -> Result:
    """Run the CLI; any exception other than SystemExit is a crash and fails the test."""
    result = CliRunner().invoke(cli, args, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _header_file(step: Step, path: Path) -> Path:
    lines = [f"{step.method} {step.url} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in step.headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.label)
def test_offline_explain_names_the_transcript_cause(step: Step, tmp_path: Path) -> None:
    expected, certain = EXPECTED[(step.transcript, step.index)]
    body = tmp_path / "reply.json"
    body.write_text(step.body_text)
    headers = _header_file(step, tmp_path / "request.txt")
    result = invoke(["explain", "--status", str(step.status), "--body", str(body),
                     "--header-file", str(headers), "--format", "json"])
    assert result.exit_code == 0, result.output + result.stderr
    out = json.loads(result.stdout)  # only JSON on stdout
    named = [out["cause"]["cause"], *(p["cause"] for p in out["cause"]["possible"])]
    if certain:
        assert named == [expected], out
    else:
        assert expected in named and out["cause"]["tell_apart"], out
    for value in step.headers.values():  # no credential of the request shows
        for part in value.replace(":", " ").replace("=", " ").split():
            if len(part) >= 12 and part.isalnum():
                assert part not in result.stdout, part


def test_text_output_verdict_first_then_evidence_then_fix(tmp_path: Path) -> None:
    body = tmp_path / "reply.json"
    body.write_text(json.dumps({"exc_type": "AuthenticationError",
                                "exception": "frappe.exceptions.AuthenticationError"}))
    curl = tmp_path / "cmd.sh"
    curl.write_text(f"curl -s \\\n  -H 'Authorization: Bearer {KEY}:{SECRET}' \\\n"
                    "  -H 'Accept: application/json' https://erp.example.com/api/resource/Vendor\n")
    result = invoke(["explain", "--status", "401", "--body", str(body), "--curl-file", str(curl)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("the Authorization header has the wrong scheme word")
    assert lines[1] == "cause: wrong-scheme - " + lines[0].split(" (wrong-scheme)")[0]
    assert lines.index("evidence:") < lines.index("fix:")
    assert "Authorization: Bearer ***:***" in result.stdout
    assert "GET https://erp.example.com/api/resource/Vendor" in result.stdout
    assert SECRET not in result.output and KEY not in result.output


def test_secret_in_the_url_is_masked(tmp_path: Path) -> None:
    body = tmp_path / "reply.json"
    body.write_text(json.dumps({"exc_type": "PermissionError", "session_expired": 1}))
    curl = tmp_path / "cmd.sh"
    curl.write_text("curl 'https://erp/api/resource/Vendor?sid=0123456789abcdefsid'\n")
    result = invoke(["explain", "--status", "403", "--body", str(body), "--curl-file", str(curl)])
    assert result.exit_code == 0 and "0123456789abcdefsid" not in result.stdout
    assert "sid=***" in result.stdout


def test_echoed_secret_in_the_body_is_masked(tmp_path: Path) -> None:
    """A server message echoing the credential is masked too (raw and base64)."""
    basic = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    body = tmp_path / "reply.json"
    body.write_text(json.dumps({"exc_type": "PermissionError", "_server_messages": json.dumps(
        [json.dumps({"message": f"bad token {SECRET} / {basic}"})])}))
    result = invoke(["explain", "--status", "403", "--body", str(body), "--header-file", "-",
                     "--format", "json"], stdin=f"Authorization: Basic {basic}\n")
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout and basic not in result.stdout and KEY not in result.stdout
    assert "***" in result.stdout


def test_body_from_stdin_and_no_request(tmp_path: Path) -> None:
    result = invoke(["explain", "--status", "401", "--body", "-", "--format", "json"],
                    stdin=json.dumps({"exc_type": "AuthenticationError"}))
    out = json.loads(result.stdout)
    assert out["cause"]["cause"] == "wrong-secret"
    assert {"unknown-key", "oauth-token-refused", "basic-email-password"} <= {
        p["cause"] for p in out["cause"]["possible"]}
    assert any("--header-file" in n for n in out["notes"])


def test_not_a_refusal(tmp_path: Path) -> None:
    body = tmp_path / "reply.json"
    body.write_text(json.dumps({"data": {"name": "x"}}))
    result = invoke(["explain", "--status", "200", "--body", str(body)])
    assert result.exit_code == 0 and "no authentication or permission refusal" in result.stdout


BAD = {
    "status only": (["--status", "403"], "--status and --body"),
    "missing body file": (["--status", "403", "--body", "{tmp}/nope.json"], "nope.json"),
    "bad json": (["--status", "403", "--body", "{tmp}/bad.json"], "not valid JSON"),
    "bad status": (["--status", "42", "--body", "{tmp}/ok.json"], "--status 42"),
    "both request files": (["--status", "403", "--body", "{tmp}/ok.json", "--header-file",
                            "{tmp}/h.txt", "--curl-file", "{tmp}/h.txt"], "not both"),
    "two stdins": (["--status", "403", "--body", "-", "--header-file", "-"], "stdin"),
    "not curl": (["--status", "403", "--body", "{tmp}/ok.json", "--curl-file", "{tmp}/h.txt"],
                 "starting with 'curl'"),
    "nothing": ([], "-c, --user, --doctype and --op"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2(case: str, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "ok.json").write_text("{}")
    (tmp_path / "h.txt").write_text(f"Authorization: token {KEY}:{SECRET}\n")
    args, needle = BAD[case]
    result = invoke(["explain", *(a.format(tmp=tmp_path) for a in args)], stdin="")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert "Traceback" not in result.stderr and SECRET not in result.output


def test_parse_curl_variants() -> None:
    sent = parse_curl("curl -X PUT 'https://x/api/resource/Vendor/Acme%20Corp' "
                      f"--header='Authorization: token {KEY}:{SECRET}' -b 'sid=abcdef123456; a=b' "
                      "--data-raw '{}'", "cmd")
    assert (sent.method, sent.url, sent.cookie_session) == (
        "PUT", "https://x/api/resource/Vendor/Acme%20Corp", True)
    assert sent.authorization == f"token {KEY}:{SECRET}"
    posted = parse_curl(f"curl https://x/api/method/login -d 'usr=a' -u {KEY}:{SECRET}", "cmd")
    assert posted.method == "POST" and (posted.authorization or "").startswith("Basic ")
    guest = parse_curl("curl https://x/ -b 'sid=Guest'", "cmd")
    assert not guest.cookie_session and guest.authorization is None
    with pytest.raises(UsageError, match="has no value"):
        parse_curl("curl https://x -H", "cmd")
    with pytest.raises(UsageError, match="does not parse"):
        parse_curl("curl 'unterminated", "cmd")


def test_parse_header_text_forms() -> None:
    assert parse_header_text(f"token {KEY}:{SECRET}\n", "f").authorization == (
        f"token {KEY}:{SECRET}")
    full = parse_header_text(f"POST /api/resource/Vendor HTTP/1.1\nHost: erp\n"
                             f"Authorization: token {KEY}:{SECRET}\nCookie: sid=zz99zz99\n", "f")
    assert (full.method, full.url, full.host, full.cookie_session) == (
        "POST", "/api/resource/Vendor", "erp", True)
    with pytest.raises(UsageError, match="line 2"):
        parse_header_text("Authorization: token a:b\nthis is not a header\n", "f")
