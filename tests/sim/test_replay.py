"""Every recorded Frappe 15.55.1 transcript replays step by step against the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.sim.server import SimServer

from .replay import Replayer, load

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "transcripts"
FILES = sorted(TRANSCRIPTS.glob("*.json"))


def test_all_transcripts_are_present() -> None:
    assert len(FILES) == 50
    assert (TRANSCRIPTS / "README.md").exists()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_transcript_replays(path: Path) -> None:
    transcript = load(path)
    with SimServer(fixture="reference", port=0) as sim:
        results = Replayer(sim, transcript, path.stem).run()
    failures = [f"step {r.index}: {p}" for r in results for p in r.problems]
    assert not failures, "\n".join(failures)
