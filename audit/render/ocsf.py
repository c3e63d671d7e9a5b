"""findings.ocsf.json: every finding as an OCSF Detection Finding (class 2004), as Prowler
emits them for SIEMs, built and validated with py-ocsf-models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from py_ocsf_models.events.findings.activity_id import ActivityID  # type: ignore[import-untyped]
from py_ocsf_models.events.findings.detection_finding import (  # type: ignore[import-untyped]
    DetectionFinding,
)
from py_ocsf_models.events.findings.detection_finding_type_id import (  # type: ignore[import-untyped]
    DetectionFindingTypeID,
)
from py_ocsf_models.events.findings.severity_id import SeverityID  # type: ignore[import-untyped]
from py_ocsf_models.events.findings.status_id import StatusID  # type: ignore[import-untyped]
from py_ocsf_models.objects.finding_info import FindingInformation  # type: ignore[import-untyped]
from py_ocsf_models.objects.metadata import Metadata  # type: ignore[import-untyped]
from py_ocsf_models.objects.product import Product  # type: ignore[import-untyped]
from py_ocsf_models.objects.remediation import Remediation  # type: ignore[import-untyped]
from py_ocsf_models.objects.resource_details import (  # type: ignore[import-untyped]
    ResourceDetails,
)

from audit import __version__
from audit.model import Finding, Severity
from audit.render.view import WHY, learn_secret_names
from audit.results import redact
from audit.results.files import gc_paused, write_json_lines
from audit.results.record import RunResults, UserRecord

OCSF_FILE = "findings.ocsf.json"
_SEVERITY: dict[Severity, Any] = {
    Severity.INFO: SeverityID.Informational, Severity.LOW: SeverityID.Low,
    Severity.MEDIUM: SeverityID.Medium, Severity.HIGH: SeverityID.High,
    Severity.CRITICAL: SeverityID.Critical,
}


def _millis(stamp: str) -> int:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _resources(results: RunResults, finding: Finding) -> list[Any]:
    site = results.run.host or results.run.site
    out = []
    if finding.user:
        record = results.user(finding.user)
        out.append(ResourceDetails(
            type="Frappe User", name=finding.user, uid=f"{site}/user/{finding.user}",
            data={"frappe_user": record.frappe_user if record else None,
                  "roles": list(record.roles) if record else []}))
    if finding.doctype:
        out.append(ResourceDetails(type="Frappe DocType", name=finding.doctype,
                                   uid=f"{site}/doctype/{finding.doctype}",
                                   data={"op": finding.op} if finding.op else None))
    if not out:
        out.append(ResourceDetails(type="Frappe Site", name=site, uid=site))
    return out


def detection_finding(results: RunResults, finding: Finding,
                      when: int | None = None) -> dict[str, Any]:
    """One finding as the library builds, validates and dumps it (``when``: the event's
    time in ms, else the run's end)."""
    if when is None:
        when = _millis(results.run.finished or results.run.started)
    event = DetectionFinding(
        activity_id=ActivityID.Create, activity_name="Create",
        type_uid=DetectionFindingTypeID.Create, type_name="Detection Finding: Create",
        severity_id=_SEVERITY[finding.severity], severity=finding.severity.value.capitalize(),
        status_id=StatusID.New, status="New", status_code="FAIL",
        status_detail=finding.detail, message=finding.detail, time=when,
        time_dt=datetime.fromtimestamp(when / 1000, UTC),
        metadata=Metadata(event_code=finding.rule, uid=finding.id,
                          product=Product(name="permaudit", vendor_name="permaudit",
                                          version=results.run.tool_version or __version__)),
        finding_info=FindingInformation(uid=finding.id, title=f"{finding.rule}: {finding.detail}"
                                        [:250], desc=WHY.get(finding.rule) or finding.detail,
                                        types=[finding.rule], created_time=when),
        resources=_resources(results, finding),
        remediation=Remediation(desc=finding.recommendation or "see the report"),
        unmapped={"evidence": list(finding.evidence), "mode": results.run.mode,
                  "site": results.run.site},
    )
    dumped: dict[str, Any] = event.model_dump(mode="json", exclude_none=True)
    return dumped


class _Builder:
    """Detection Findings as plain dicts, the shape py-ocsf-models dumps.

    Building 50,000 pydantic models takes seconds; the dicts take milliseconds. So the
    library builds and validates the first finding of every shape (rule, and which of
    user, user record, DocType and op it has) and the fast dict must equal its dump;
    a shape where it does not is built by the library for every finding of it.
    """

    def __init__(self, results: RunResults, text: Callable[[str], str]) -> None:
        self.results = results
        self.text = text
        self.users = {u.name: u for u in results.users}
        self.site = results.run.host or results.run.site
        self.when = _millis(results.run.finished or results.run.started)  # one time for all
        self._base: dict[str, Any] | None = None  # the run's constant parts, redacted
        self._shapes: dict[tuple[object, ...], bool] = {}  # shape -> fast path holds

    def event(self, finding: Finding) -> dict[str, Any]:
        record = self.users.get(finding.user) if finding.user else None
        shape = (finding.rule, bool(finding.user), record is not None, bool(finding.doctype),
                 bool(finding.op))
        fast = self._shapes.get(shape)
        if fast is None:
            reference = detection_finding(self.results, finding, self.when)
            if self._base is None:
                self._base = redact.apply_text(reference, self.text)
            fast = self._shapes[shape] = self._fast(finding, record, str) == reference
        if not fast:
            event = detection_finding(self.results, finding, self.when)
            slow: dict[str, Any] = redact.apply_text(event, self.text)
            return slow
        return self._fast(finding, record, self.text)

    def _fast(self, finding: Finding, record: UserRecord | None,
              text: Callable[[str], str]) -> dict[str, Any]:
        base = self._base
        assert base is not None
        detail, rule, uid = text(finding.detail), text(finding.rule), text(finding.id)
        meta = base["metadata"]
        resources: list[dict[str, Any]] = []
        site = self.site
        if finding.user:
            resources.append({
                "data": {"frappe_user": text(record.frappe_user)
                         if record and record.frappe_user is not None else None,
                         "roles": [text(r) for r in record.roles] if record else []},
                "name": text(finding.user), "type": "Frappe User",
                "uid": text(f"{site}/user/{finding.user}")})
        if finding.doctype:
            resource: dict[str, Any] = {"name": text(finding.doctype), "type": "Frappe DocType",
                        "uid": text(f"{site}/doctype/{finding.doctype}")}
            if finding.op:
                resource = {"data": {"op": text(finding.op)}, **resource}
            resources.append(resource)
        if not resources:
            resources.append({"name": text(site), "type": "Frappe Site", "uid": text(site)})
        return {
            "message": detail,
            "metadata": {"event_code": rule, "uid": uid, "product": meta["product"],
                         "version": meta["version"]},
            "severity_id": _SEVERITY[finding.severity].value,
            "severity": text(finding.severity.value.capitalize()),
            "status": base["status"], "status_code": base["status_code"],
            "status_detail": detail, "status_id": base["status_id"],
            "unmapped": {"evidence": [text(e) for e in finding.evidence],
                         "mode": text(self.results.run.mode), "site": text(self.results.run.site)},
            "activity_name": base["activity_name"], "activity_id": base["activity_id"],
            "finding_info": {"created_time": base["finding_info"]["created_time"],
                             "desc": text(WHY.get(finding.rule) or finding.detail),
                             "title": text(f"{finding.rule}: {finding.detail}"[:250]),
                             "types": [rule], "uid": uid},
            "resources": resources,
            "category_name": base["category_name"], "category_uid": base["category_uid"],
            "class_name": base["class_name"], "class_uid": base["class_uid"],
            "remediation": {"desc": text(finding.recommendation or "see the report")},
            "time": base["time"], "time_dt": base["time_dt"],
            "type_uid": base["type_uid"], "type_name": base["type_name"],
        }


def ocsf_findings(results: RunResults) -> list[dict[str, Any]]:
    """Every finding as a Detection Finding, through the run's redaction step."""
    learn_secret_names(results)
    redact.REDACTOR.learn_rows([f.as_json() for f in results.findings])
    site = results.run.host or results.run.site
    redact.REDACTOR.prime(text for f in results.findings for text in (  # by batch, ahead
        f.detail, f.rule, f.id, f.user, f.doctype, f.recommendation, *f.evidence,
        f"{f.rule}: {f.detail}"[:250], f"{site}/user/{f.user}", f"{site}/doctype/{f.doctype}"))
    builder = _Builder(results, redact.REDACTOR.frozen())
    return [builder.event(f) for f in results.findings]


def write_ocsf(results: RunResults, outdir: Path) -> Path:
    """findings.ocsf.json: one JSON array, a Detection Finding per line."""
    path = outdir / OCSF_FILE
    with gc_paused():
        write_json_lines(path, ocsf_findings(results))
    return path
