"""The generated benchmark site is consistent at any size and its config matches it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import audit.config.loader as config_mod
import audit.sim.permissions as permissions
from audit.sim.fixtures import synthetic
from audit.sim.fixtures.kit import problems
from audit.sim.model import SiteData

VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@pytest.fixture(scope="module")
def site() -> SiteData:
    return synthetic.build(30, 24)


def bench(site: SiteData) -> list[str]:
    return [name for name, dt in site.doctypes.items() if dt.module == "Bench"]


@pytest.mark.parametrize(("n_doctypes", "n_users", "per"),
                         [(1, 0, 1), (2, 1, 1), (5, 3, 2), (30, 24, 3), (120, 40, 4)])
def test_the_site_has_no_inconsistency(n_doctypes: int, n_users: int, per: int) -> None:
    site = synthetic.build(n_doctypes, n_users, per)
    assert problems(site) == []
    assert len(bench(site)) == n_doctypes
    assert site.name == "bench.localhost"
    members = [u for u in site.users if u.endswith("@bench.example")]
    assert len(members) == n_users + 1  # + the auditor
    for name in bench(site):
        dt = site.doctypes[name]
        docs = site.documents.get(name, {})
        if dt.istable:
            assert not docs
        elif dt.issingle:
            assert list(docs) == [name]
        else:
            assert len(docs) == per


def test_the_mix_of_doctypes(site: SiteData) -> None:
    kinds = [site.doctypes[n] for n in bench(site)]
    assert sum(dt.issingle for dt in kinds) == 1
    assert sum(dt.istable for dt in kinds) >= 5
    assert sum(dt.is_submittable for dt in kinds) >= 5
    assert [dt.name for dt in kinds if dt.autoname == "autoincrement"] == ["Bench 0002"]
    parents = {f.options for dt in kinds for f in dt.fields if f.fieldtype == "Table"}
    assert parents == {dt.name for dt in kinds if dt.istable}


def test_submittable_doctypes_have_every_state_and_amended_from(site: SiteData) -> None:
    for name in bench(site):
        dt = site.doctypes[name]
        if not dt.is_submittable:
            continue
        field = dt.field("amended_from")
        assert field is not None and field.options == name
        assert {d.docstatus for d in site.docs(name).values()} == {0, 1, 2}


def test_users_cover_if_owner_user_permission_and_website_cases(site: SiteData) -> None:
    auditor = site.users[synthetic.AUDITOR]
    assert auditor.roles == ["System Manager"] and auditor.api_key
    users = [u for n, u in site.users.items() if n.startswith("user")]
    assert any(u.user_type == "Website User" for u in users)
    assert {up.user for up in site.user_permissions} and all(
        up.allow == "Bench 0001" for up in site.user_permissions)
    owner_only = [u for u in users if u.roles and all(
        r.if_owner for dt in bench(site) for r in site.effective_rules(dt) if r.role in u.roles)]
    assert owner_only
    owners = {d.owner for name in bench(site) for d in site.documents.get(name, {}).values()}
    assert any(u.name in owners for u in owner_only)
    assert len({tuple(u.roles) for u in users}) > 5


def test_same_seed_same_site_other_seed_other_rules() -> None:
    a, b, c = synthetic.build(20, 10), synthetic.build(20, 10), synthetic.build(20, 10, seed=7)

    def shape(site: SiteData) -> list[object]:
        return [(n, [(r.role, r.if_owner, sorted(r.rights)) for r in dt.permissions],
                 sorted(site.documents.get(n, {}))) for n, dt in site.doctypes.items()]

    assert shape(a) == shape(b)
    assert shape(a) != shape(c)
    assert a.secrets.keys() == b.secrets.keys() and a.secrets != b.secrets


def test_config_and_environment_match(site: SiteData, tmp_path: Path) -> None:
    text = synthetic.config_toml(site)
    config = tomllib.loads(text)
    env = synthetic.environment(site, "http://127.0.0.1:9000")
    assert set(VAR.findall(text)) == set(env)
    assert config["site"] == {"url": "${PERMAUDIT_BENCH_URL}", "host": "bench.localhost"}
    assert len(config["users"]) == len(site.users) - 3  # not Administrator, Guest, auditor
    for user in config["users"]:
        assert VAR.fullmatch(user["api_key"]) and VAR.fullmatch(user["api_secret"])
        for doctype in user.get("expect", {}):
            assert doctype in site.doctypes
    assert not any(value in text for value in site.secrets.values())
    path = tmp_path / "bench.toml"
    path.write_text(text, encoding="utf-8")
    loaded = config_mod.load_config(path, env=env, warn=lambda _m: None)
    assert len(loaded.users) == len(config["users"]) and loaded.auditor is not None


def test_the_auditor_reads_everything_in_the_engine(site: SiteData) -> None:
    engine = permissions.PermissionEngine(site)
    for name in bench(site):
        dt = site.doctypes[name]
        if dt.istable:
            continue
        doc = next(iter(site.docs(name).values()))
        assert engine.has_permission(synthetic.AUDITOR, name, "read", doc), name


def test_rejects_an_empty_site() -> None:
    with pytest.raises(ValueError):
        synthetic.build(0, 3)
