"""Regenerate ``audit/data/standard_doctypes.json`` from the Frappe 15 + ERPNext reference.

The package ships only names and flags of the standard DocTypes (used for discovery when
no auditor account is configured)::

    python tests/fixtures_tools/make_standard_doctypes.py [path/to/doctypes.json]

The default source is ``../shared/frappe-reference/doctypes.json`` next to the repository.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "frappe-reference" / "doctypes.json"
TARGET = ROOT / "audit" / "data" / "standard_doctypes.json"
FLAGS = ("istable", "issingle", "is_submittable")


def entries(reference: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for dt in reference["doctypes"]:
        entry: dict[str, Any] = {"name": dt["name"], "app": dt["app"], "module": dt["module"]}
        entry.update({flag: int(bool(dt.get(flag))) for flag in FLAGS})
        entry["autoname"] = dt.get("autoname") or ""
        out.append(entry)
    return sorted(out, key=lambda e: e["name"])


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    data = entries(json.loads(source.read_text(encoding="utf-8")))
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n",
                      encoding="utf-8")
    sys.stderr.write(f"wrote {len(data)} DocTypes to {TARGET}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
