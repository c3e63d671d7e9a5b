"""The failing steps of the recorded Frappe 15.55.1 transcripts, with the cause each shows.

Placeholders are filled with made-up values of the right shape (a key pair, base64 of it,
an e-mail and password), so the header reads as it did on the recording.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "transcripts"
_PLACEHOLDER = re.compile(r"<[^<>\s\"]+>")
FAILING = (300, 301, 302, 303, 307, 308, 400, 401, 403, 429)

# (transcript, step) -> (the cause its notes describe, whether offline evidence alone is certain)
EXPECTED: dict[tuple[str, int], tuple[str, bool]] = {
    ("admin-introspection", 2): ("child-table", False),  # DocPerm without parent
    ("admin-introspection", 8): ("only-for-gate", False),  # Permission Manager as clerk
    ("admin-introspection", 20): ("no-role", False),  # clerk calling the inspector
    ("auth-basic-email-password", 0): ("basic-email-password", True),
    ("auth-basic-email-password", 1): ("basic-email-password", True),
    ("auth-basic-email-password", 3): ("basic-not-base64", True),
    ("auth-basic-email-password", 4): ("wrong-scheme", True),  # base64 of the key alone
    ("auth-disabled-user-apikey", 2): ("user-disabled", True),
    ("auth-garbage-sid", 0): ("session-expired", False),
    ("auth-garbage-sid", 1): ("session-expired", False),
    ("auth-login-unknown-user", 0): ("login-invalid-credentials", True),
    ("auth-login-wrong-password", 0): ("login-invalid-credentials", True),
    ("auth-logout-reuse", 3): ("session-expired", False),
    ("auth-logout-reuse", 4): ("session-expired", False),
    ("auth-nokey-login", 0): ("wrong-scheme", True),  # 'token :'
    ("auth-none-guest", 0): ("no-credential", False),
    ("auth-none-guest", 1): ("no-credential", False),
    ("auth-none-guest", 2): ("no-credential", False),
    ("auth-oauth-authorization-code-flow", 2): ("redirect-dropped-auth", True),
    ("auth-oauth-bearer-expired", 1): ("oauth-token-refused", True),
    ("auth-oauth-bearer-expired", 2): ("oauth-token-refused", True),
    ("auth-oauth-bearer-garbage", 0): ("oauth-token-refused", True),
    ("auth-oauth-bearer-garbage", 1): ("oauth-token-refused", True),
    ("auth-oauth-bearer-revoked", 3): ("oauth-token-refused", True),
    ("auth-token-malformed", 0): ("wrong-scheme", True),  # token KEY, no secret
    ("auth-token-malformed", 1): ("wrong-scheme", True),  # Bearer KEY:SECRET
    ("auth-token-malformed", 4): ("header-not-split", True),
    ("auth-token-malformed", 5): ("header-not-split", True),
    ("auth-token-malformed", 6): ("header-not-split", True),
    ("auth-token-malformed", 7): ("header-not-split", True),  # no scheme word
    ("auth-token-malformed", 8): ("wrong-scheme", True),  # three colon parts
    ("auth-token-malformed", 9): ("wrong-scheme", True),  # 'token ' with nothing
    ("auth-token-unknown-key", 0): ("unknown-key", False),
    ("auth-token-unknown-key", 1): ("unknown-key", False),
    ("auth-token-wrong-secret", 0): ("wrong-secret", False),
    ("auth-token-wrong-secret", 1): ("wrong-secret", False),
    ("auth-website-user-apikey", 1): ("website-user", False),
    ("csrf-after-desk-boot", 3): ("csrf-token", True),
    ("errors-shapes", 0): ("wrong-secret", False),
    ("errors-shapes", 1): ("basic-not-base64", True),
    ("errors-shapes", 2): ("no-role", False),
    ("errors-shapes", 3): ("no-role", False),
    ("errors-shapes", 11): ("only-for-gate", False),  # get_password, bare 403
    ("perm-getdoc", 3): ("no-role", False),
    ("perm-has-permission", 21): ("no-credential", False),
    ("perm-other-endpoints", 7): ("no-role", False),
    ("perm-other-endpoints", 8): ("no-role", False),  # validate_link without read/select
    ("perm-other-endpoints", 10): ("no-role", False),
    ("probe-create-memo", 2): ("no-role", False),
    ("probe-create-memo", 3): ("right-missing-on-doc", False),
    ("probe-create-payment-voucher", 2): ("right-missing-on-doc", False),
    ("probe-create-payment-voucher", 3): ("no-role", False),
    ("probe-create-payment-voucher", 5): ("no-role", False),
    ("probe-create-vendor", 2): ("right-missing-on-doc", False),
    ("probe-create-vendor", 3): ("no-role", False),
    ("probe-create-vendor", 5): ("no-role", False),
    ("probe-create-vendor", 7): ("no-role", False),
    ("probe-delete", 3): ("right-missing-on-doc", False),
    ("probe-delete", 5): ("right-missing-on-doc", False),
    ("probe-delete", 6): ("right-missing-on-doc", False),
    ("probe-delete", 9): ("if-owner", False),  # memo: Memo owned by auditor
    ("probe-submit-bad-amended-from", 1): ("right-missing-on-doc", False),
    ("probe-submit-bad-amended-from", 2): ("right-missing-on-doc", False),
    ("probe-submit-cancel", 0): ("right-missing-on-doc", False),
    ("probe-submit-cancel", 2): ("right-missing-on-doc", False),
    ("probe-submit-cancel", 4): ("right-missing-on-doc", False),
    ("probe-submit-cancel", 6): ("cancel-needs-write", False),
    ("probe-submit-cancel", 7): ("right-missing-on-doc", False),
    ("probe-write-stale-modified", 1): ("right-missing-on-doc", False),
    ("probe-write-stale-modified", 2): ("no-role", False),
    ("probe-write-stale-modified", 5): ("if-owner", False),  # memo: auditor's Memo
    ("probe-write-stale-modified", 7): ("right-missing-on-doc", False),
    ("probe-write-stale-modified", 10): ("user-permission", True),
    ("rate-limit-429", 2): ("rate-limit", True),
    ("rate-limit-429", 3): ("rate-limit", True),
    ("read-child-doctype", 0): ("child-table", False),
    ("read-child-doctype", 1): ("child-table", False),
    ("read-child-doctype", 2): ("child-table", False),
    ("read-doc-denied", 0): ("no-role", False),
    ("read-doc-denied", 1): ("user-permission", True),
    ("read-doc-denied", 3): ("if-owner", False),  # memo reads the auditor's Memo
    ("read-list-denied", 0): ("no-role", False),
    ("read-list-denied", 1): ("no-role", False),
    ("read-single-doctype", 0): ("no-role", False),
    ("read-single-doctype", 3): ("no-role", False),
    ("read-todo-controller-filter", 2): ("controller-hook", True),
    ("site-unknown-host", 0): ("wrong-site", True),
    ("site-unknown-host", 1): ("wrong-site", True),
    ("usage-evidence", 7): ("no-role", False),
    ("usage-evidence", 8): ("no-role", False),
}


@dataclass(frozen=True)
class Step:
    transcript: str
    index: int
    method: str
    url: str  # path and query
    headers: dict[str, str]
    status: int
    body_text: str
    response_headers: dict[str, str]
    note: str

    @property
    def label(self) -> str:
        return f"{self.transcript}#{self.index}"


def _fake(token: str) -> str:
    inner = token[1:-1]
    if inner.startswith("base64(") and inner.endswith(")"):
        parts = inner[7:-1].split(":")
        if len(parts) == 4:
            key, secret = ":".join(parts[:2]), ":".join(parts[2:])
            raw = f"{_fake(f'<{key}>')}:{_fake(f'<{secret}>')}"
        elif len(parts) == 3 and parts[1] == "password":
            raw = f"{parts[0]}:Pass-{parts[2]}-1!"
        else:
            raw = _fake("<" + inner[7:-1] + ">")
        return base64.b64encode(raw.encode()).decode()
    kind, _, who = inner.partition(":")
    kinds = {"api_key": "k3y", "api_secret": "s3cr3t", "bearer": "b3arer", "bearer2": "b3arer2",
             "sid": "s1d", "csrf_token": "csrf", "refresh_token": "refr", "password": "pw"}
    if kind in kinds:
        return f"{kinds[kind]}{re.sub(r'[^a-z0-9]', '', who)}0a1b2c"
    return token


def fill(text: str) -> str:
    return _PLACEHOLDER.sub(lambda m: _fake(m.group(0)), text)


def failing_steps() -> list[Step]:
    out: list[Step] = []
    for path in sorted(TRANSCRIPTS.glob("*.json")):
        data: dict[str, Any] = json.loads(path.read_text())
        for index, step in enumerate(data["steps"]):
            response = step["response"]
            status = response["status"]
            html_404 = status == 404 and isinstance(response["body"], str)
            if status not in FAILING and not html_404:
                continue
            request = step["request"]
            query = request.get("query") or {}
            url = request["path"] + ("?" + urlencode(query) if query else "")
            body = response["body"]
            text = body if isinstance(body, str) else json.dumps(body)
            headers = {k: fill(v) for k, v in (request.get("headers") or {}).items()
                       if isinstance(v, str)}
            rheaders = {k: v if isinstance(v, str) else "; ".join(v)
                        for k, v in (response.get("headers") or {}).items()}
            out.append(Step(path.stem, index, request["method"], url, headers, status, text,
                            rheaders, step.get("note") or ""))
    return out
