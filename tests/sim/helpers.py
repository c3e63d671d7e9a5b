"""A tiny HTTP client for the simulator tests: one ``requests.Session`` per identity."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

from audit.sim.server import SimServer


class Client:
    """Sends requests to a running SimServer as a given identity."""

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim

    def headers(self, user: str | None = None, *, scheme: str = "token",
                extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": self.sim.host, "Accept": "application/json"}
        if user is not None:
            key = self.sim.secrets[f"<api_key:{user}>"]
            secret = self.sim.secrets[f"<api_secret:{user}>"]
            if scheme == "basic":
                token = base64.b64encode(f"{key}:{secret}".encode()).decode()
                headers["Authorization"] = f"Basic {token}"
            else:
                headers["Authorization"] = f"token {key}:{secret}"
        headers.update(extra or {})
        return headers

    def request(self, method: str, path: str, user: str | None = None, *,
                session: requests.Session | None = None, json_body: Any = None,
                params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                data: Any = None) -> requests.Response:
        sender = session or requests
        return sender.request(method, self.sim.url + path, params=params, json=json_body,
                              data=data, headers=self.headers(user, extra=headers),
                              allow_redirects=False, timeout=30)

    def get(self, path: str, user: str | None = None, **kw: Any) -> requests.Response:
        return self.request("GET", path, user, **kw)

    def post(self, path: str, user: str | None = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, user, **kw)

    def put(self, path: str, user: str | None = None, **kw: Any) -> requests.Response:
        return self.request("PUT", path, user, **kw)

    def delete(self, path: str, user: str | None = None, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, user, **kw)

    def login(self, user: str, password: str | None = None) -> requests.Session:
        session = requests.Session()
        email = user if "@" in user else f"{user}@example.com"
        reply = session.post(self.sim.url + "/api/method/login",
                             json={"usr": email, "pwd": password or self.sim.secrets["<password>"]},
                             headers={"Host": self.sim.host, "Accept": "application/json"},
                             timeout=30)
        assert reply.status_code == 200, reply.text
        return session


def messages(reply: requests.Response) -> list[str]:
    """The decoded ``_server_messages[].message`` texts of a reply."""
    body = reply.json()
    raw = body.get("_server_messages")
    if not raw:
        return []
    return [json.loads(item).get("message") for item in json.loads(raw)]
