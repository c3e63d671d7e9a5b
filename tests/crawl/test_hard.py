"""The hard shapes of real sites (audit.sim.fixtures.hard): several User Permissions at once,
many shares, documents older than any window, a WAF in front, crashing controllers.
The crawl agrees with the simulator's engine on every judged cell, and faults only ever
turn a verdict into ``error``."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from audit.config.loader import load_config
from audit.sim.fixtures import hard
from audit.sim.server import SimServer

from .conftest import Run, mismatches, run
from .faults import FaultyProxy, Rates, matching, not_from

DOCTYPES = ("Hard Company", "Hard Customer", "Hard Order", "Hard Memo", "Hard Upload",
            "Hard Queue")


@contextmanager
def hard_site(strict: bool = False,
              proxy: Callable[[SimServer], FaultyProxy] | None = None) -> Iterator[SimServer]:
    sim = SimServer(fixture=hard.build(strict=strict), port=0)
    if proxy is not None:
        sim.app = proxy(sim)  # type: ignore[assignment]
    with sim:
        yield sim


def crawl(sim: SimServer, outdir: Path, **request: Any) -> Run:
    path = outdir.parent / f"{outdir.name}.toml"
    path.write_text(hard.config_toml(DOCTYPES), encoding="utf-8")
    env = {**os.environ, **hard.environment(sim.site, sim.url)}
    return run(load_config(path, env=env, warn=lambda _m: None), outdir, **request)


def cells(result: Run) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["user"], r["doctype"], r["op"]): r for r in result.rows}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, SimServer]]:
    with hard_site() as sim:
        yield crawl(sim, tmp_path_factory.mktemp("hard") / "clean"), sim


def test_crawl_agrees_with_the_engine_on_the_hard_shapes(clean: tuple[Run, SimServer]) -> None:
    result, sim = clean
    assert not mismatches(result, sim)
    assert sim.journal == []
    rows = cells(result)
    # two User Permissions at once: only the oldest orders hold Company A *and* Customer X
    assert rows[("multi", "Hard Order", "write")]["outcome"] == "allowed"
    assert rows[("multi", "Hard Order", "submit")]["outcome"] == "allowed"
    # a write share on an old order, behind forty newer read-only shares
    assert rows[("sharer", "Hard Order", "write")]["outcome"] == "allowed"
    assert rows[("sharer", "Hard Order", "write")]["limits"] == "share"
    assert rows[("sharer2", "Hard Order", "write")]["outcome"] == "allowed"
    # the only memo its writer owns is older than 230 others
    assert rows[("memo", "Hard Memo", "write")]["outcome"] == "allowed"
    assert "if_owner" in rows[("memo", "Hard Memo", "write")]["limits"]
    # write on User Permission bypasses nothing in 15.55.1
    assert rows[("upwriter", "Hard Order", "write")]["outcome"] == "allowed"
    assert rows[("upwriter", "Hard Customer", "read")]["outcome"] == "denied"


def test_every_attempt_is_recorded(clean: tuple[Run, SimServer]) -> None:
    result, _sim = clean
    rows = cells(result)
    allowed = rows[("multi", "Hard Order", "write")]
    assert allowed["attempts"] and allowed["attempts"][-1]["http_status"] == 417
    assert allowed["attempts"][-1]["target"] == allowed["target"]
    denied = rows[("viewer", "Hard Order", "write")]
    assert denied["outcome"] == "denied"
    assert all(a["http_status"] == 403 for a in denied["attempts"])
    # the configured rules refuse every order: the first refusal stands, nothing more is sent
    assert len(denied["attempts"]) == 1


def test_strict_user_permissions_are_read_and_used_by_create(tmp_path: Path) -> None:
    with hard_site(strict=True) as sim:
        result = crawl(sim, tmp_path / "out")
        assert result.data["inventory"]["strict_user_permissions"] is True
        assert not mismatches(result, sim)
        row = cells(result)[("multi", "Hard Order", "create")]
        assert (row["outcome"], row["method"], row["http_status"]) == ("allowed", "rest", 417)


def test_a_failed_survey_of_own_documents_never_becomes_a_denial(tmp_path: Path) -> None:
    def proxy(sim: SimServer) -> FaultyProxy:
        memo = sim.secrets["<api_key:memo>"]
        auditor = sim.secrets["<api_key:auditor>"]
        own_list = matching(memo, "/api/resource/Hard Memo")
        owner_filter = matching(auditor, "/api/resource/Hard Memo", '"owner"')
        return FaultyProxy(sim.app, Rates(waf=1.0),
                           only=lambda env: own_list(env) or owner_filter(env))

    with hard_site(proxy=proxy) as sim:
        result = crawl(sim, tmp_path / "out")
        assert not mismatches(result, sim, verdicts_only=True)
        for op in ("read", "write", "delete"):
            row = cells(result)[("memo", "Hard Memo", op)]
            assert row["outcome"] == "error", row
            assert "own documents" in row["reason"]
        assert sim.app.seen["waf"] >= 2  # type: ignore[attr-defined]


def test_own_documents_are_found_when_the_users_own_list_fails(tmp_path: Path) -> None:
    def proxy(sim: SimServer) -> FaultyProxy:
        memo = sim.secrets["<api_key:memo>"]
        return FaultyProxy(sim.app, Rates(waf=1.0),
                           only=matching(memo, "/api/resource/Hard Memo"))

    with hard_site(proxy=proxy) as sim:
        result = crawl(sim, tmp_path / "out")
        assert not mismatches(result, sim, verdicts_only=True)
        row = cells(result)[("memo", "Hard Memo", "write")]
        assert row["outcome"] in ("allowed", "error"), row  # never a DocType-level "no"
        assert row["outcome"] == "allowed"


@pytest.mark.parametrize("seed", [3, 8])
def test_faults_only_turn_verdicts_into_errors(clean: tuple[Run, SimServer], tmp_path: Path,
                                               seed: int) -> None:
    """500s, dropped connections, timeouts, WAF 403s, fake 200s and empty bodies on the
    users' requests: cell by cell, a faulted verdict is the clean one or ``error``."""
    baseline = cells(clean[0])

    def proxy(sim: SimServer) -> FaultyProxy:
        return FaultyProxy(sim.app, Rates(waf=0.05, fake_ok=0.04, empty=0.04, timeout=0.01),
                           seed=seed, only=not_from(sim.secrets["<api_key:auditor>"]))

    with hard_site(proxy=proxy) as sim:
        sim.controls.seed(seed)
        sim.controls.error_rate = 0.05
        sim.controls.drop_rate = 0.03
        result = crawl(sim, tmp_path / "out")
        seen = sim.app.seen  # type: ignore[attr-defined]
        assert not mismatches(result, sim, verdicts_only=True)
    assert {"waf", "fake_ok", "empty", "timeout"} <= set(seen), seen
    changed = Counter()
    for key, row in cells(result).items():
        before = baseline[key]["outcome"]
        if row["outcome"] != before:
            assert row["outcome"] == "error", (key, before, row)
            assert row["reason"], row
            changed[before] += 1
    assert changed, "no fault reached a verdict"
    outcomes = Counter(r["outcome"] for r in result.rows)
    assert outcomes["allowed"] and outcomes["denied"]
