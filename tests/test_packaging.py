"""The wheel built from the repository carries everything: installed into a fresh venv
(not editable, outside the source tree), it serves the simulator and audits the demo."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True, timeout=600)
    wheels = list(out.glob("permaudit-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("audit/cli.py", "audit/data/demo.toml", "audit/data/standard_doctypes.json",
                     "audit/sim/data/frappe15_doctypes.json", "audit/templates/__init__.py"):
        assert required in names, required
    assert not any(n.startswith(("tests/", "reports/")) for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "permaudit = audit.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   capture_output=True, text=True, timeout=900)
    exe = env_dir / "bin" / "permaudit"
    # run from an empty folder: nothing may come from the source tree
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run([str(exe), "demo", "-o", "out", "--quiet"], cwd=work,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    data = json.loads((work / "out" / "results.json").read_text("utf-8"))
    assert data["probes"] and data["run"]["complete"] is True
    assert (work / "out" / "probes.csv").stat().st_size > 0
    assert "allowed" in done.stdout
