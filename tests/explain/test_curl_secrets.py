"""A pasted curl command is masked in every output, whatever option or URL part carries it.

Each case is a real ``permaudit explain --curl-file`` run; the reply body echoes every
secret back (as a careless server would), so a value that was not registered shows.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from audit.explain.request import parse_curl
from audit.status import UsageError

URL = "https://erp.example.com/api/resource/ToDo"
TOKEN = "Zq8TokenValue123abc"
PASSWORD = "S3cretPass77"
PROXY = "Pr0xyPass99"


def _explain(tmp_path: Path, curl: str, echoed: tuple[str, ...], *,
             fmt: str = "text") -> Result:
    body = tmp_path / "reply.json"
    body.write_text(json.dumps({"exc_type": "AuthenticationError",
                                "message": "Invalid token " + " ".join(echoed)}))
    path = tmp_path / "curl.txt"
    path.write_text(curl + "\n")
    result = CliRunner().invoke(cli, ["explain", "--status", "401", "--body", str(body),
                                      "--curl-file", str(path), "--format", fmt])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CASES = {
    # curl command, secrets that must never show, texts the output must hold
    "oauth2-bearer": (f"curl --oauth2-bearer {TOKEN} {URL}", (TOKEN,),
                      ("Authorization: Bearer ***", f"request: GET {URL}")),
    "user": (f"curl -u api7key77:{PASSWORD} {URL}", (PASSWORD, "api7key77",
                                                      _b64(f"api7key77:{PASSWORD}")),
             ("Authorization: Basic ***", f"request: GET {URL}")),
    "proxy-user": (f"curl -U proxyuser:{PROXY} {URL}", (PROXY, "proxyuser:" + PROXY),
                   ("Authorization: (none)", f"request: GET {URL}")),
    "proxy-user-long": (f"curl --proxy-user proxyuser:{PROXY} {URL}", (PROXY,),
                        (f"request: GET {URL}",)),
    "userinfo": (f"curl https://admin:{PASSWORD}@erp.example.com/api/resource/ToDo",
                 (PASSWORD, "admin:" + PASSWORD, _b64(f"admin:{PASSWORD}")),
                 ("Authorization: Basic ***", f"request: GET {URL}")),
    "userinfo-encoded": ("curl 'https://admin:S3cret%40Pass77@erp.example.com/api/resource/ToDo'",
                         ("S3cret@Pass77", "S3cret%40Pass77"), (f"request: GET {URL}",)),
    "query": (f"curl '{URL}?doctype=ToDo&auth_token=Tok9XYZ123456&X-Signature=ab12cd&code=xyz"
              "&limit=20'", ("Tok9XYZ123456", "ab12cd"),
              ("auth_token=***", "X-Signature=***", "code=***", "limit=20")),
    "proxy-header": (f"curl -H 'Authorization: token k1k2k3k4k5:s1s2s3s4s5' --proxy-header "
                     f"'Proxy-Authorization: Basic {_b64('p:' + PROXY)}' {URL}",
                     (PROXY, _b64("p:" + PROXY)), (f"request: GET {URL}",)),
    "x-api-key": (f"curl -H 'X-API-Key: ApiKeyValue777' {URL}", ("ApiKeyValue777",),
                  (f"request: GET {URL}",)),
    "bundled-short-flags": (f"curl -sSLXPOST -u api7key77:{PASSWORD} {URL}", (PASSWORD,),
                            (f"request: POST {URL}",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_curl_credential_never_shows(case: str, fmt: str, tmp_path: Path) -> None:
    curl, secrets, shown = CASES[case]
    result = _explain(tmp_path, curl, secrets, fmt=fmt)
    assert result.exit_code == 0, result.output
    for secret in secrets:
        assert secret not in result.output, (secret, result.output)
    if fmt == "text":
        for text in shown:
            assert text in result.stdout, (text, result.stdout)
    else:
        json.loads(result.stdout)


@pytest.mark.parametrize("option", ["--frobnicate", "-Z9", "--unknown-thing"])
def test_an_unknown_curl_option_is_refused_in_one_line(option: str, tmp_path: Path) -> None:
    result = _explain(tmp_path, f"curl {option} {TOKEN} {URL}", ())
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and option.split("9")[0] in lines[0] and "curl.txt" in lines[0], lines
    assert "Traceback" not in result.stderr and TOKEN not in result.output


def test_curl_options_that_take_a_value_never_become_the_url() -> None:
    for option in ("--oauth2-bearer", "-U", "--proxy-user", "--user-agent", "--limit-rate",
                   "--aws-sigv4", "-E", "--pass", "--json", "--tlspassword"):
        sent = parse_curl(f"curl {option} somevalue9 {URL}", "f")
        assert sent.url == URL, option
    assert parse_curl(f"curl --oauth2-bearer {TOKEN} {URL}", "f").authorization == (
        f"Bearer {TOKEN}")
    assert parse_curl(f"curl --json '{{}}' {URL}", "f").method == "POST"
    with pytest.raises(UsageError, match="--oauth2-bearer has no value"):
        parse_curl("curl --oauth2-bearer", "f")


def test_a_header_file_request_line_is_cleaned_the_same_way() -> None:
    from audit.config.secrets import REGISTRY
    from audit.explain.request import parse_header_text

    sent = parse_header_text(f"GET https://admin:{PASSWORD}@erp.example.com/api/resource/ToDo"
                             "?session_id=abcdef99 HTTP/1.1\nAccept: application/json\n", "f")
    assert sent.url == f"{URL}?session_id=***"
    assert PASSWORD not in REGISTRY.mask(f"x {PASSWORD} abcdef99") and "abcdef99" not in (
        REGISTRY.mask("abcdef99"))
