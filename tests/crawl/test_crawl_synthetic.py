"""Generated sites of other shapes (if_owner-only roles, User Permissions on a scope
DocType, Website users, Singles, child tables): the crawler still agrees with the engine."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from audit.config.loader import load_config
from audit.sim.fixtures import synthetic
from audit.sim.server import SimServer

from .conftest import mismatches, run


@pytest.mark.slow
@pytest.mark.parametrize(("n_doctypes", "n_users", "seed"), [(12, 9, 0), (16, 8, 3)])
def test_generated_site(tmp_path: Path, n_doctypes: int, n_users: int, seed: int) -> None:
    site = synthetic.build(n_doctypes, n_users, seed=seed)
    with SimServer(fixture=site, port=0) as sim:
        path = tmp_path / "bench.toml"
        path.write_text(synthetic.config_toml(sim.site), encoding="utf-8")
        env = {**os.environ, **synthetic.environment(sim.site, sim.url)}
        config = load_config(path, env=env, warn=lambda _m: None)
        config = replace(config, crawl=replace(config.crawl, rate_limit=5000.0))
        result = run(config, tmp_path / "out")
        assert result.data["run"]["discovery"] == "auditor"
        assert not mismatches(result, sim)
        assert sim.journal == []
        outcomes = {r["outcome"] for r in result.rows}
        assert {"allowed", "denied", "not_applicable"} <= outcomes
        assert not outcomes & {"error", "untestable"}
