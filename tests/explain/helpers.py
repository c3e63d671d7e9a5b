"""A config for one reference user (plus the auditor), and live explain against a SimServer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import requests

from audit.config.loader import load_config
from audit.explain.explanation import Explanation
from audit.explain.live import LiveRequest, explain_live
from audit.http.client import ClientOptions
from audit.sim.server import SimServer


def user_toml(who: str, auth: str = "token", *, key: str | None = None,
              secret: str | None = None) -> str:
    if auth == "password":
        return (f'[[users]]\nname = "{who}"\nauth = "password"\n'
                f'username = "{who}@example.com"\npassword = "${{PASSWORD}}"\n')
    if auth == "oauth":
        return f'[[users]]\nname = "{who}"\nauth = "oauth"\naccess_token = "${{BEARER}}"\n'
    return (f'[[users]]\nname = "{who}"\nauth = "{auth}"\n'
            f'api_key = "{key or "${KEY_" + who + "}"}"\n'
            f'api_secret = "{secret or "${SECRET_" + who + "}"}"\n')


def write_config(sim: SimServer, tmp: Path, users: str, *, auditor: bool = True,
                 host: str | None = None) -> Path:
    parts = [f'[site]\nurl = "{sim.url}"\nhost = "{host or sim.host}"\ntimeout = 10\n']
    if auditor:
        parts.append('[auditor]\napi_key = "${KEY_auditor}"\napi_secret = "${SECRET_auditor}"\n')
    parts.append(users)
    path = tmp / "audit.toml"
    path.write_text("\n".join(parts))
    return path


def env_of(sim: SimServer) -> dict[str, str]:
    env = {"PASSWORD": sim.secrets["<password>"], "BEARER": sim.secrets["<bearer:clerk>"]}
    for placeholder, value in sim.secrets.items():
        for kind in ("api_key", "api_secret"):
            if placeholder.startswith(f"<{kind}:"):
                who = placeholder[len(kind) + 2:-1]
                env[f"{'KEY' if kind == 'api_key' else 'SECRET'}_{who}"] = value
    return env


def live(sim: SimServer, tmp: Path, users: str, user: str, doctype: str, op: str,
         name: str | None = None, *, auditor: bool = True, host: str | None = None,
         retries: int = 3) -> Explanation:
    path = write_config(sim, tmp, users, auditor=auditor, host=host)
    config = load_config(path, env=env_of(sim), warn=lambda _m: None)
    options = replace(ClientOptions.from_config(config.site, ca_bundle=None, allow_insecure=False,
                                                pool_size=2), retries=retries, backoff=0.01)
    return explain_live(LiveRequest(config, user, doctype, op, name), options)


def raw_login(sim: SimServer, usr: str, pwd: str) -> requests.Response:
    return requests.post(f"{sim.url}/api/method/login", json={"usr": usr, "pwd": pwd},
                         headers={"Host": sim.host, "Accept": "application/json"}, timeout=10)


def named(explanation: Explanation) -> list[str]:
    hint = explanation.hint
    return [hint.cause, *hint.alternatives] if hint else []
