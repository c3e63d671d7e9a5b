"""The rows a run holds a million of are slotted: no per-row ``__dict__`` (about 110 MiB
less at 1,000,000 rows, and faster column reads), and still frozen, picklable, comparable."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from audit.model import Attempt, Finding, Operation, Outcome, ProbeMethod, ProbeResult, Severity

ATTEMPT = Attempt(target="SINV-0001", method=ProbeMethod.REST, http_status=403,
                  exc_type="PermissionError", message="Insufficient Permission")
ROWS = (
    ATTEMPT,
    ProbeResult(user="clerk", doctype="Sales Invoice", op=Operation.READ,
                outcome=Outcome.DENIED, method=ProbeMethod.REST, http_status=403,
                target="SINV-0001", limits=("share",), latency_ms=12.5, attempts=(ATTEMPT,)),
    Finding(id="f1", severity=Severity.HIGH, rule="secret-read", user="bot",
            doctype="OAuth Client", op="read", evidence=("bot|OAuth Client|read",)),
)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: type(r).__name__)
def test_rows_have_no_instance_dict(row: object) -> None:
    assert not hasattr(row, "__dict__")
    assert "__slots__" in type(row).__dict__


@pytest.mark.parametrize("row", ROWS, ids=lambda r: type(r).__name__)
def test_slotted_rows_stay_frozen_and_round_trip(row: object) -> None:
    field = dataclasses.fields(row)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(row, field, "changed")
    assert pickle.loads(pickle.dumps(row)) == row
    assert copy.deepcopy(row) == row
    assert hash(row) == hash(copy.copy(row))
    changed = dataclasses.replace(row, **{field: "other"})  # type: ignore[type-var]
    assert getattr(changed, field) == "other" and changed != row
