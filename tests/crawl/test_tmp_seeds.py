import json
from pathlib import Path
import pytest
from audit.sim.server import SimServer
from .conftest import demo_config, mismatches, run

@pytest.mark.parametrize("seed", range(1, 9))
def test_seed(demo_sim: SimServer, tmp_path: Path, seed: int) -> None:
    config = demo_config(demo_sim, doctypes=("Note", "ToDo", "Customer"))
    demo_sim.controls.seed(seed)
    demo_sim.controls.error_rate = 0.25
    result = run(config, tmp_path / "out")
    bad = mismatches(result, demo_sim, verdicts_only=True)
    if bad:
        for r in result.rows:
            key = f" {r['user']} " 
            if any(r["user"] in m and r["doctype"] in m and r["op"] in m for m in bad):
                print(json.dumps({k: r[k] for k in ("user","doctype","op","outcome","method","target","limits","reason","attempts")}, indent=1))
    inv = result.data["inventory"]
    print("NOTES", inv.get("notes"), inv.get("unread"))
    print("PARTNER", result.data["users"]["partner"], list(inv["users"]))
    print("CUSTOMER", {k: v for k, v in inv["doctypes"]["Customer"].items() if k != "fields"}, inv["doctypes"]["Customer"].get("fields") is None)
    assert not bad
