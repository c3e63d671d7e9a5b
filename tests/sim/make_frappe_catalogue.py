"""Build ``audit/sim/data/frappe15_doctypes.json`` from the recorded DocType reference.

Run from the repository root with the reference folder next to it::

    .venv/bin/python tests/sim/make_frappe_catalogue.py ../shared/frappe-reference/doctypes.json

Only the Frappe DocTypes are kept, with the few properties the simulator reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FLAGS = ("istable", "issingle", "is_submittable", "is_tree", "is_virtual", "track_changes")
FIELD_KEYS = ("fieldtype", "options", "reqd", "permlevel", "fetch_from",
              "ignore_user_permissions", "unique", "length")
RIGHTS = ("select", "read", "write", "create", "delete", "submit", "cancel", "amend",
          "print", "email", "report", "import", "export", "share")
OUT = Path(__file__).resolve().parents[2] / "audit" / "sim" / "data" / "frappe15_doctypes.json"


def compact_field(field: dict) -> list:
    """[fieldname, fieldtype, {only the non-empty extra keys}]."""
    extra = {k: field[k] for k in FIELD_KEYS[1:] if field.get(k)}
    row: list = [field["fieldname"], field["fieldtype"]]
    if extra:
        row.append(extra)
    return row


def compact_perm(perm: dict) -> list:
    """[role, permlevel, if_owner, "read write ..."]."""
    rights = " ".join(r for r in RIGHTS if perm.get(r))
    return [perm["role"], int(perm.get("permlevel") or 0), int(perm.get("if_owner") or 0), rights]


def compact_doctype(dt: dict) -> dict:
    out: dict = {"name": dt["name"], "module": dt["module"]}
    for flag in FLAGS:
        if dt.get(flag):
            out[flag] = 1
    if dt.get("autoname"):
        out["autoname"] = dt["autoname"]
    if dt.get("title_field"):
        out["title_field"] = dt["title_field"]
    out["fields"] = [compact_field(f) for f in dt["fields"]]
    out["permissions"] = [compact_perm(p) for p in dt["permissions"]]
    return out


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else Path("../shared/frappe-reference/doctypes.json")
    data = json.loads(source.read_text())
    doctypes = [compact_doctype(d) for d in data["doctypes"] if d.get("app") == "frappe"]
    doctypes.sort(key=lambda d: d["name"])
    payload = {"frappe": "15.55.1", "doctypes": doctypes}
    OUT.write_text(json.dumps(payload, separators=(",", ":")))
    sys.stderr.write(f"wrote {len(doctypes)} DocTypes to {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
