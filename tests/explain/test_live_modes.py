"""Live explain honours the config's crawl mode, and guards its probes as the crawl does.

The hazard site (audit.sim.fixtures.hazards) over real loopback HTTP; the oracle is the
simulator's request log, its journal of committed changes and its OAuth token table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import cli
from audit.config.loader import AuditConfig, load_config
from audit.explain.explanation import Explanation, render_text
from audit.explain.live import LiveRequest, explain_live
from audit.http.client import ClientOptions
from audit.sim.fixtures import hazards
from audit.sim.server import SimServer
from tests.explain.helpers import env_of, user_toml, write_config
from tests.safety.conftest import changes


@pytest.fixture
def sim() -> Iterator[SimServer]:
    with SimServer(fixture=hazards.build(), port=0) as server:
        yield server


def _config(sim: SimServer, tmp_path: Path, mode: str, users: tuple[str, ...]) -> AuditConfig:
    path = tmp_path / "audit.toml"
    path.write_text(hazards.config_toml(mode, users), encoding="utf-8")
    return load_config(path, env=hazards.environment(sim.site, sim.url), warn=lambda _m: None)


def _explain(config: AuditConfig, user: str, doctype: str, op: str,
             warned: list[str] | None = None) -> Explanation:
    options = replace(ClientOptions.from_config(config.site, ca_bundle=None,
                                                allow_insecure=False, pool_size=2),
                      backoff=0.01)
    return explain_live(LiveRequest(config, user, doctype, op), options,
                        warn=(warned if warned is not None else []).append)


def _not_get(sim: SimServer) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in sim.controls.requests if r.method != "GET"]


@pytest.mark.parametrize(("doctype", "op"), [
    ("Hazard Note", "create"), ("Hazard Invoice", "write"), ("Hazard Invoice", "delete"),
    ("Hazard Invoice", "submit"), ("Hazard Coerce", "create")])
def test_passive_explain_sends_only_get_requests(sim: SimServer, tmp_path: Path,
                                                 doctype: str, op: str) -> None:
    config = _config(sim, tmp_path, "passive", ("hazard",))
    got = _explain(config, "hazard", doctype, op)
    assert _not_get(sim) == []
    assert changes(sim) == []
    assert any(e.startswith("probe (ask) as hazard") for e in got.evidence), got.evidence
    assert any("passive mode asks" in e for e in got.evidence), got.evidence


OAUTH_USER = ('[[users]]\nname = "clerk-oauth"\nauth = "oauth"\naccess_token = "${BEARER}"\n'
              'refresh_token = "${REFRESH}"\nclient_id = "see26bk3pc"\n')


@pytest.mark.parametrize("mode", ["passive", "safe"])
def test_only_passive_explain_leaves_an_expired_oauth_token_unrefreshed(tmp_path: Path,
                                                                      mode: str) -> None:
    with SimServer(fixture="reference") as ref:
        path = write_config(ref, tmp_path, f'[crawl]\nmode = "{mode}"\n' + OAUTH_USER)
        env = {**env_of(ref), "REFRESH": ref.secrets["<refresh_token:clerk>"]}
        config = load_config(path, env=env, warn=lambda _m: None)
        ref.controls.expire_token(ref.secrets["<bearer:clerk>"])
        before = len(ref.site.oauth_tokens)
        got = _explain(config, "clerk-oauth", "Vendor", "read")
        refreshes = [p for m, p, _s in _not_get(ref) if p.endswith("oauth2.get_token")]
        if mode == "safe":
            assert got.verdict.startswith("clerk-oauth CAN read Vendor"), got.verdict
            assert len(refreshes) == 1 and len(ref.site.oauth_tokens) == before + 1
            return
        assert _not_get(ref) == [] and len(ref.site.oauth_tokens) == before
        assert got.verdict.startswith("clerk-oauth could not authenticate"), got.verdict
        assert any(e.startswith("the token expired at") for e in got.evidence), got.evidence
        assert "passive mode never refreshes a token" in render_text(got)


def test_an_accepted_explain_probe_is_an_incident(sim: SimServer, tmp_path: Path) -> None:
    """Hazard Coerce accepts the create probe: stopped, said loudly, its document removed."""
    config = _config(sim, tmp_path, "safe", ("hazard",))
    warned: list[str] = []
    got = _explain(config, "hazard", "Hazard Coerce", "create", warned)
    [line] = [w for w in warned if w.startswith("INCIDENT")]
    assert "Hazard Coerce" in line and "changed data" in line
    assert got.verdict.startswith("INCIDENT"), got.verdict
    assert "CAN create" not in got.verdict
    made = [c.split(" by ")[0] for c in changes(sim)]
    assert len(made) == 2 and made[0].startswith("insert Hazard Coerce ")
    assert made[1] == made[0].replace("insert", "delete")  # proved ours and removed
    assert list(sim.site.docs("Hazard Coerce")) == ["HC-1"]


def test_cli_explain_says_an_incident_on_stderr(sim: SimServer, tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(hazards.config_toml("safe", ("hazard",)), encoding="utf-8")
    result = CliRunner().invoke(cli, ["explain", "-c", str(path), "--user", "hazard",
                                      "--doctype", "Hazard Coerce", "--op", "create"],
                                env=hazards.environment(sim.site, sim.url))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "INCIDENT" in result.stderr
    assert result.stdout.startswith("INCIDENT")
    assert result.exit_code == 1  # a critical finding: a scheduled script must see it


def test_cli_explain_json_marks_an_incident_and_a_plain_cell_not(sim: SimServer,
                                                                 tmp_path: Path) -> None:
    import json

    path = tmp_path / "audit.toml"
    path.write_text(hazards.config_toml("safe", ("hazard",)), encoding="utf-8")
    env = hazards.environment(sim.site, sim.url)
    said = {}
    for doctype in ("Hazard Coerce", "Hazard Note"):
        result = CliRunner().invoke(cli, ["explain", "-c", str(path), "--user", "hazard",
                                          "--doctype", doctype, "--op", "create",
                                          "--format", "json"], env=env)
        said[doctype] = (result.exit_code, json.loads(result.stdout)["incident"])
    assert said == {"Hazard Coerce": (1, True), "Hazard Note": (0, False)}


def test_passive_explain_does_not_ask_the_permission_inspector(tmp_path: Path) -> None:
    """The Inspector's debug call is a POST to run_doc_method: safe asks it, passive not."""
    with SimServer(fixture="reference") as ref:
        for mode in ("safe", "passive"):
            ref.controls.requests.clear()
            path = write_config(ref, tmp_path, f'[crawl]\nmode = "{mode}"\n' + user_toml("clerk"))
            config = load_config(path, env=env_of(ref), warn=lambda _m: None)
            got = _explain(config, "clerk", "Vendor", "delete")
            assert got.hint is not None and got.hint.cause == "no-role"
            posts = [p for m, p, _s in _not_get(ref)]
            if mode == "safe":
                assert got.inspector and "/api/method/run_doc_method" in posts
                continue
            assert posts == [] and got.inspector == ()
            assert any("Permission Inspector" in n and "not asked in passive mode" in n
                       for n in got.notes), got.notes
            assert "not asked in passive mode" in render_text(got)
