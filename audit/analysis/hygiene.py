"""Site hygiene from what the crawl already saw (no extra requests), and incidents.

plain-http (not for loopback), no-ip-restriction (only when restrict_ip is known to be
empty), site-traceback (a reply carried a server traceback), site-count-leak (a
``get_count`` attempt answered for a DocType whose read the user is denied), incident
(a safe probe that changed data: critical).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pandas as pd

from audit.analysis.common import finding
from audit.analysis.interface import AnalysisOptions, cell_key
from audit.analysis.matrix import cell_strings, per_user
from audit.model import Finding, Operation, Outcome
from audit.results.record import RunResults


def _loopback(host: str) -> bool:
    from audit.config.loader import is_loopback_host

    return is_loopback_host(host)


def site_findings(results: RunResults, options: AnalysisOptions, frame: pd.DataFrame
                  ) -> Iterator[Finding]:
    """plain-http, no-ip-restriction; site-traceback and site-count-leak from the flags of
    ``frame`` (``matrix.cells(results)``)."""
    url = urlsplit(results.run.site)
    host = url.hostname or ""
    if url.scheme == "http" and host and not _loopback(host):
        yield finding("plain-http", "", results.run.site, options,
                      detail=f"the site is audited over plain http ({results.run.site}): API "
                             "keys and session cookies cross the network readable",
                      evidence=[f"site:{results.run.site}"],
                      recommendation="serve the site over https and audit it through https")
    for user in results.users:
        if user.restrict_ip == "" and user.auth in ("token", "basic") and user.authenticated:
            yield finding("no-ip-restriction", user.name, "", options,
                          detail=f"{user.name} authenticates with an API key from any address "
                                 "(restrict_ip is empty)",
                          evidence=[f"user:{user.name}"],
                          recommendation=f"set restrict_ip on {user.frappe_user or user.name} "
                                         "to the integration's addresses")
    # the per-row flags were read from every message and attempt once, building the frame
    traced_rows = frame[frame["traced"]]
    traced = per_user(traced_rows, cell_strings(traced_rows))
    leaks = frame[frame["count_answered"] & (frame["op"] == Operation.READ.value)
                  & (frame["outcome"] == Outcome.DENIED.value)]
    counted = per_user(leaks, cell_strings(leaks))
    if traced:
        cells = sorted(c for v in traced.values() for c in v)
        yield finding("site-traceback", "", "", options,
                      detail=f"{len(cells)} API error(s) returned a server traceback",
                      evidence=cells,
                      recommendation="turn developer_mode off in site_config.json; tracebacks "
                                     "tell an attacker the code paths and versions")
    for name, cells in sorted(counted.items()):
        yield finding("site-count-leak", name, "", options,
                      detail=f"frappe.client.get_count answers {name} for {len(cells)} "
                             "DocType(s) it may not read",
                      evidence=sorted(cells),
                      recommendation="upgrade Frappe, or block frappe.client.get_count for "
                                     "API users at the proxy")


def incident_findings(results: RunResults, options: AnalysisOptions) -> Iterator[Finding]:
    for i, incident in enumerate(results.incidents):
        gone = {True: "removed again", False: "could not be removed",
                None: "not removed"}[incident.removed]
        yield finding("incident", incident.user,
                      f"{incident.doctype}|{incident.op}|{incident.document or i}", options,
                      doctype=incident.doctype, op=incident.op,
                      detail=f"a safe {incident.op} probe of {incident.user} on "
                             f"{incident.doctype} was accepted (HTTP {incident.http_status}) "
                             f"and changed data: {incident.document or 'document'} ({gone})"
                             + (f"; {incident.detail}" if incident.detail else ""),
                      evidence=[cell_key(incident.user, incident.doctype, incident.op)],
                      recommendation="check the document and its Version rows on the site; "
                                     "report the probe that was accepted")
