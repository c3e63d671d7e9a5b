"""The pipeline's record: what identifies a run, and what it says about each user."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from audit.config.loader import AuditConfig, load_config
from audit.model import Operation
from audit.pipeline import config_digest, site_id
from audit.sim.server import SimServer

from .conftest import DEMO_TOML, demo_config, run

# every ${VAR} of the demo config, with a dummy value (no site is contacted here)
ENV = {name: "x" for name in re.findall(r"\$\{(\w+)\}", DEMO_TOML.read_text("utf-8"))}
ENV["PERMAUDIT_DEMO_URL"] = "http://127.0.0.1:8000"


def _config(env: dict[str, str] | None = None) -> AuditConfig:
    return load_config(DEMO_TOML, env={**ENV, **(env or {})}, warn=lambda _m: None)


def test_digest_ignores_secrets_and_pacing_but_not_what_is_audited() -> None:
    base = _config()
    digest = config_digest(base)
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    assert config_digest(_config({"DEMO_BOT_API_SECRET": "another"})) == digest
    assert config_digest(replace(base, crawl=replace(base.crawl, concurrency=1,
                                                     rate_limit=1.0))) == digest
    bot = replace(base.users[0], expect={"Customer": frozenset({Operation.READ})})
    assert config_digest(replace(base, users=(bot, *base.users[1:]))) != digest
    assert config_digest(replace(base, users=base.users[1:])) != digest
    assert config_digest(replace(base, crawl=replace(base.crawl, exclude=("ToDo",)))) != digest
    secretless = replace(base.users[0], api_secret=None)
    assert config_digest(replace(base, users=(secretless, *base.users[1:]))) != digest


def test_site_id_normalises_the_url_and_keeps_the_host_header() -> None:
    site = _config().site
    same = replace(site, url=site.url + "/")
    assert site_id(same) == site_id(site)
    assert site_id(replace(site, url="http://127.0.0.1:8001")) != site_id(site)
    assert site_id(replace(site, host="other.localhost")) != site_id(site)
    assert site_id(replace(site, url="https://ERP.example.com")) == \
        site_id(replace(site, url="https://erp.example.com:443"))


def test_record_carries_identity_and_user_facts(demo_sim: SimServer, tmp_path: Path) -> None:
    config = demo_config(demo_sim, doctypes=("Customer",))
    result = run(config, tmp_path / "out")
    info = result.data["run"]
    assert info["config_digest"] == config_digest(config)
    assert info["site_id"] == site_id(config.site)
    users = result.data["users"]
    assert all(u["restrict_ip"] == "" for n, u in users.items()
               if not u["auth_failure"] and n != "lean")
    assert users["lean"]["restrict_ip"] == "127.0.0.1, 10.20."  # the demo's clean user
    assert users["clerk"]["last_login"]  # the password user's own login of this run


def test_without_an_auditor_the_user_facts_are_unknown(demo_sim: SimServer,
                                                      tmp_path: Path) -> None:
    config = replace(demo_config(demo_sim, doctypes=("Customer",)), auditor=None)
    users = run(config, tmp_path / "out").data["users"]
    assert all(u["restrict_ip"] is None and u["last_login"] is None for u in users.values())
