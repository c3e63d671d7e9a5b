"""The wheel built from the repository carries everything: installed into a fresh venv
(not editable, outside the source tree), it serves the simulator and audits the demo.

Offline: the wheel is built without build isolation (setuptools and wheel come from the
test extra) and installed with ``--no-index --no-deps``; the fresh venv then sees the
dependencies of the test environment through a ``.pth`` line added *after* the install.
What this proves is that the wheel itself carries the package, its data and templates;
resolving the dependencies from an index is pip's business, not the wheel's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # both tests, so that they share the module's wheel
# what a build writes or a developer keeps beside the sources; never part of a checkout
NOT_SOURCES = {".venv", ".git", "build", "dist", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def _ignored(folder: str, names: list[str]) -> set[str]:
    skip = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
    if Path(folder) == ROOT:
        skip |= NOT_SOURCES & set(names)
    elif Path(folder) == ROOT / "reports":  # runs kept there: only its README is a source
        skip |= {n for n in names if (Path(folder) / n).is_dir()}
    return skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of a copy of the source tree (tests/ and reports/ included, so the wheel is
    seen to leave them out): setuptools' build/ and egg-info of the working tree are neither
    read (no stale module of an earlier build) nor written (two workers building at once)."""
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("source") / "permaudit"
    shutil.copytree(ROOT, source, ignore=_ignored, symlinks=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "-w", str(out), str(source)],
                   check=True, capture_output=True, text=True, timeout=600)
    wheels = list(out.glob("permaudit-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("audit/cli.py", "audit/data/demo.toml", "audit/data/standard_doctypes.json",
                     "audit/sim/data/frappe15_doctypes.json", "audit/templates/__init__.py",
                     "audit/templates/report.html.j2", "audit/templates/report.css",
                     "audit/templates/report.js"):
        assert required in names, required
    assert not any(n.startswith(("tests/", "reports/")) for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "permaudit = audit.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet",
                    "--no-index", "--no-deps", str(wheel)], check=True, capture_output=True,
                   text=True, timeout=900)
    # only now: the test environment's dependencies (a plain path line: its editable
    # install of this project is not activated, the wheel's copy comes first on sys.path)
    mine = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(mine, "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    where = subprocess.run([str(py), "-c", "import audit; print(audit.__file__)"], check=True,
                           capture_output=True, text=True, cwd=tmp_path).stdout.strip()
    assert where.startswith(str(env_dir)), where
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
    page = (work / "out" / "report.html").read_text("utf-8")  # rendered from shipped templates
    assert "Content-Security-Policy" in page and 'id="matrix-data"' in page
    assert "allowed" in done.stdout
