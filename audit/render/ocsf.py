"""findings.ocsf.json: every finding as an OCSF Detection Finding (class 2004), as Prowler
emits them for SIEMs, built and validated with py-ocsf-models."""

from __future__ import annotations

import json
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
from audit.results.files import private_text
from audit.results.record import RunResults

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


def detection_finding(results: RunResults, finding: Finding) -> dict[str, Any]:
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


def ocsf_findings(results: RunResults) -> list[dict[str, Any]]:
    """Every finding as a Detection Finding, through the run's redaction step."""
    learn_secret_names(results)
    return [redact.REDACTOR.json(detection_finding(results, f)) for f in results.findings]


def write_ocsf(results: RunResults, outdir: Path) -> Path:
    path = outdir / OCSF_FILE
    with private_text(path) as fh:
        fh.write(json.dumps(ocsf_findings(results), indent=1) + "\n")
    return path
