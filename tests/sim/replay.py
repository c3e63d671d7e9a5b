"""Replay one recorded Frappe 15.55.1 transcript against a SimServer.

Placeholders in requests are filled from ``sim.secrets`` and from values the live server
issued earlier in the same transcript (session ids, OAuth codes and tokens, CSRF tokens).
Each step's reply is compared with the recording: status, ``exc_type``, the set of top-level
keys (ignoring ``exc``), the decoded ``_server_messages`` texts, ``_error_message``, the login
``message``, the names of the cookies set, and the payloads themselves (``data``, ``message``,
``docs``, ``docinfo``) wherever the recording is deterministic: timestamps are masked, live
credentials are written back as their placeholders, and the few payloads that hold values
generated on the recorded server (``PAYLOAD_MASKS``) are compared with those values masked.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from audit.sim.server import SimServer

PLACEHOLDER = re.compile(r"<[^<>\s\"]+>")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?")
DROP_HEADERS = {"content-length", "connection", "accept-encoding"}
# Steps that follow a change made on the server outside HTTP, by (transcript, step index).
SERVER_ACTIONS: dict[tuple[str, int], str] = {
    ("auth-oauth-bearer-expired", 1): "expire_token",
    ("rate-limit-429", 1): "rate_limit_on",
    ("rate-limit-429", 2): "exhaust",
    ("rate-limit-429", 4): "rate_limit_off",
}


PAYLOAD_KEYS = ("data", "message", "docs", "docinfo")
HASH_NAME = re.compile(r"^[0-9a-z]{10}$")
# (transcript, step) -> keys (at any depth) whose recorded values are not deterministic or
# not modelled, each with its reason; ALL skips the step's payloads.
ALL = "*"
_USER_ACTIVITY = frozenset({
    "last_active", "last_login", "last_ip",  # set by the recorded users' own logins
    "login_after", "login_before",  # stored as 0 by desk edits on the recorded site
    "social_logins",  # a row named by a hash generated on the recorded site
})
PAYLOAD_MASKS: dict[tuple[str, int], frozenset[str]] = {
    # the legacy DocPerm ``match`` column, always null, is not modelled
    ("admin-introspection", 1): frozenset({"match"}),
    # linked_doctypes comes from a Python set (its order changes per process); idx is the
    # insertion order of the Custom DocPerm rows on the recorded site
    ("admin-introspection", 6): frozenset({"linked_doctypes", "idx"}),
    ("admin-introspection", 9): _USER_ACTIVITY,
    ("admin-introspection", 10): _USER_ACTIVITY,
    ("auth-website-user-apikey", 3): _USER_ACTIVITY,
    # DocType meta: the simulator leaves out zero-valued meta flags no client reads; the
    # fields and permission rows are compared through META_VIEW
    ("perm-other-endpoints", 0): frozenset({"docs"}),
    ("perm-other-endpoints", 1): frozenset({"docs"}),
    # Version and Activity Log rows are the recorded site's own history
    ("usage-evidence", 0): frozenset({ALL}),
    ("usage-evidence", 1): frozenset({ALL}),
    ("usage-evidence", 2): frozenset({ALL}),
}


@dataclass
class StepResult:
    index: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def mask(text: Any) -> Any:
    if isinstance(text, str):
        return TIMESTAMP.sub("<ts>", text)
    return text


class Replayer:
    def __init__(self, sim: SimServer, transcript: dict[str, Any], name: str) -> None:
        self.sim = sim
        self.transcript = transcript
        self.name = name
        self.bound: dict[str, str] = dict(sim.secrets)

    # ---- placeholders ------------------------------------------------------------------------
    def _base64(self, inner: str) -> str:
        parts = inner.split(":")
        if len(parts) == 4 and parts[0] == "api_key" and parts[2] == "api_secret":
            raw = f"{self.bound[f'<api_key:{parts[1]}>']}:{self.bound[f'<api_secret:{parts[3]}>']}"
        elif len(parts) == 2 and parts[0] == "api_key":
            raw = self.bound[f"<api_key:{parts[1]}>"]
        elif len(parts) == 3 and parts[1] == "password":
            raw = f"{parts[0]}:{self.bound['<password>']}"
        else:
            raise KeyError(inner)
        return base64.b64encode(raw.encode()).decode()

    def fill(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if not isinstance(value, str):
            return value

        def sub(match: re.Match[str]) -> str:
            token = match.group(0)
            if token.startswith("<base64(") and token.endswith(")>"):
                return self._base64(token[len("<base64("):-2])
            if token in self.bound:
                return self.bound[token]
            if token.startswith(("<sid:", "<oauth_code:", "<csrf_token:", "<bearer",
                                 "<refresh_token", "<api_", "<password")):
                raise KeyError(f"placeholder {token} is not bound yet")
            return token

        return PLACEHOLDER.sub(sub, value)

    def bind(self, template: str, live: str) -> None:
        """Learn the placeholders of ``template`` from the live text it describes."""
        names = PLACEHOLDER.findall(template)
        if not names:
            return
        pattern = ""
        last = 0
        for m in PLACEHOLDER.finditer(template):
            pattern += re.escape(template[last:m.start()]) + "(.+?)"
            last = m.end()
        pattern += re.escape(template[last:])
        found = re.fullmatch(pattern, live, flags=re.S) or re.search(pattern, live, flags=re.S)
        if found:
            for name, value in zip(names, found.groups(), strict=True):
                if not name.startswith("<base64("):
                    self.bound[name] = value

    # ---- one step ----------------------------------------------------------------------------
    def server_action(self, index: int) -> None:
        action = SERVER_ACTIONS.get((self.name, index))
        if action == "expire_token":
            self.sim.controls.expire_token(self.bound["<bearer:clerk>"])
        elif action == "rate_limit_on":
            self.sim.controls.set_rate_limit(0.3, 60)
        elif action == "exhaust":
            self.sim.controls.exhaust_rate_limit()
        elif action == "rate_limit_off":
            self.sim.controls.rate_limit_off()

    def send(self, req: dict[str, Any]) -> requests.Response:
        headers = {k: self.fill(v) for k, v in (req.get("headers") or {}).items()
                   if k.lower() not in DROP_HEADERS}
        body = req.get("body")
        kwargs: dict[str, Any] = {}
        if isinstance(body, dict | list):
            kwargs["data"] = json.dumps(self.fill(body))
        elif isinstance(body, str):
            kwargs["data"] = self.fill(body)
        query = {k: self.fill(v) for k, v in (req.get("query") or {}).items()}
        url = self.sim.url + self.fill(req["path"])
        return requests.request(req["method"], url, params=query, headers=headers,
                                allow_redirects=False, timeout=30, **kwargs)

    def learn(self, recorded: dict[str, Any], live: requests.Response) -> None:
        rec_headers = recorded.get("headers") or {}
        live_cookies = live.raw.headers.getlist("Set-Cookie") if live.raw else []
        for cookie in rec_headers.get("Set-Cookie") or []:
            name = cookie.split("=", 1)[0]
            template = cookie.split(";", 1)[0]
            match = next((c.split(";", 1)[0] for c in live_cookies
                          if c.split("=", 1)[0] == name and "Expires=" not in c.split(";")[0]),
                         None)
            if match is not None:
                self.bind(template, match)
        if "Location" in rec_headers and "Location" in live.headers:
            self.bind(rec_headers["Location"], live.headers["Location"])
        body = recorded.get("body")
        if isinstance(body, dict) and _is_json(live):
            live_body = live.json()
            for key, value in body.items():
                if isinstance(value, str) and key in live_body and isinstance(live_body[key], str):
                    self.bind(value, live_body[key])
        elif isinstance(body, str) and "csrf_token" in body:
            found = re.search(r'frappe\.csrf_token = "([^"]+)"', live.text)
            token = re.search(r"<csrf_token:[^>]+>", body)
            if found and token:
                self.bound[token.group(0)] = found.group(1)

    def run_step(self, index: int, step: dict[str, Any]) -> StepResult:
        self.server_action(index)
        live = self.send(step["request"])
        result = StepResult(index)
        compare(step, live, result)
        self.learn(step["response"], live)
        self.compare_payloads(index, step, live, result)
        return result

    def unbind(self, value: Any) -> Any:
        """Live credentials and issued tokens back to their placeholders, times masked."""
        if isinstance(value, dict):
            return {k: self.unbind(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.unbind(v) for v in value]
        if not isinstance(value, str):
            return value
        for placeholder, live in sorted(self.bound.items(), key=lambda kv: -len(kv[1])):
            if live and len(live) >= 6 and live in value:
                value = value.replace(live, placeholder)
        return mask(value)

    def compare_payloads(self, index: int, step: dict[str, Any], live: requests.Response,
                         result: StepResult) -> None:
        body = step["response"].get("body")
        if not isinstance(body, dict) or not _is_json(live) or result.problems:
            return
        got = live.json()
        if not isinstance(got, dict):
            return
        masks = PAYLOAD_MASKS.get((self.name, index), frozenset())
        if ALL in masks:
            return
        if "docs" in masks and "docs" in body and "docs" in got and \
                meta_view(body["docs"]) != meta_view(got["docs"]):
            result.problems.append("DocType meta differs: "
                                   + _first_difference(meta_view(body["docs"]),
                                                       meta_view(got["docs"])))
        for key in PAYLOAD_KEYS:
            if key not in body or key not in got or key in masks:
                continue
            want = _masked(self.unbind(body[key]), masks)
            have = _masked(self.unbind(got[key]), masks)
            if want != have:
                result.problems.append(f"{key} payload differs: {_first_difference(want, have)}")

    def run(self) -> list[StepResult]:
        return [self.run_step(i, s) for i, s in enumerate(self.transcript["steps"])]


META_KEYS = ("fieldname", "fieldtype", "options", "reqd", "permlevel", "fetch_from",
             "ignore_user_permissions")
RULE_KEYS = ("role", "permlevel", "if_owner", "read", "write", "create", "delete", "submit",
             "cancel", "select", "share")


def meta_view(docs: Any) -> Any:
    """What a client reads of ``getdoctype``: each DocType's fields and permission rows."""
    if not isinstance(docs, list):
        return docs
    return [{"name": d.get("name"),
             "fields": [[f.get(k) or 0 for k in META_KEYS] for f in d.get("fields") or []],
             "permissions": [[p.get(k) or 0 for k in RULE_KEYS]
                             for p in d.get("permissions") or []]}
            for d in docs if isinstance(d, dict)]


def _masked(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _masked(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_masked(v, keys) for v in value]
    return value


def _first_difference(want: Any, have: Any, where: str = "") -> str:
    if isinstance(want, dict) and isinstance(have, dict):
        for key in sorted(set(want) | set(have)):
            if want.get(key, "<absent>") != have.get(key, "<absent>"):
                return _first_difference(want.get(key, "<absent>"), have.get(key, "<absent>"),
                                         f"{where}.{key}")
    if isinstance(want, list) and isinstance(have, list):
        if len(want) != len(have):
            return f"{where or '.'}: {len(have)} items != {len(want)} recorded"
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            if w != h:
                return _first_difference(w, h, f"{where}[{i}]")
    return f"{where or '.'}: {str(have)[:160]!r} != recorded {str(want)[:160]!r}"


def _is_json(reply: requests.Response) -> bool:
    return reply.headers.get("Content-Type", "").startswith("application/json")


def _messages(body: dict[str, Any]) -> list[str]:
    raw = body.get("_server_messages")
    if not raw:
        return []
    return [mask(json.loads(item).get("message")) for item in json.loads(raw)]


def _cookie_names(cookies: list[str]) -> list[str]:
    return [c.split("=", 1)[0] + ("(deleted)" if "Expires=" in c and
                                  c.split("=", 1)[1].startswith(";") else "")
            for c in cookies]


def compare(step: dict[str, Any], live: requests.Response, result: StepResult) -> None:
    expected = step["response"]
    problems = result.problems
    if live.status_code != expected["status"]:
        problems.append(f"status {live.status_code} != {expected['status']}: {live.text[:300]}")
        return
    body = expected.get("body")
    if isinstance(body, dict):
        if not _is_json(live):
            problems.append(f"expected JSON, got {live.headers.get('Content-Type')}")
            return
        got = live.json()
        _compare_json(step, body, got, problems)
    cookies = (expected.get("headers") or {}).get("Set-Cookie")
    live_cookies = live.raw.headers.getlist("Set-Cookie") if live.raw else []
    if cookies is not None and _cookie_names(cookies) != _cookie_names(live_cookies):
        problems.append(f"cookies {_cookie_names(live_cookies)} != {_cookie_names(cookies)}")
    request = step["request"]
    if request["path"] == "/api/method/login" and expected["status"] != 200 and live_cookies:
        problems.append("a failed login set cookies")


def _compare_json(step: dict[str, Any], body: dict[str, Any], got: dict[str, Any],
                  problems: list[str]) -> None:
    if body.get("exc_type") != got.get("exc_type"):
        problems.append(f"exc_type {got.get('exc_type')} != {body.get('exc_type')}")
    if set(body) - {"exc"} != set(got) - {"exc"}:
        problems.append(f"keys {sorted(set(got) - {'exc'})} != {sorted(set(body) - {'exc'})}")
    if _messages(body) != _messages(got):
        problems.append(f"_server_messages {_messages(got)} != {_messages(body)}")
    if mask(body.get("_error_message")) != mask(got.get("_error_message")):
        problems.append(f"_error_message {got.get('_error_message')!r} != "
                        f"{body.get('_error_message')!r}")
    path = step["request"]["path"]
    if path in ("/api/method/login", "/api/method/logout") and \
            body.get("message") != got.get("message"):
        problems.append(f"message {got.get('message')!r} != {body.get('message')!r}")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data
