"""The findings catalogue (DESIGN.md): rule ids, default severities, and the DocTypes behind them.

Plain constants, no pandas: the config loader validates ``[findings] severity`` against
:data:`RULES`, and every rule module reads its DocType lists from here.
"""

from __future__ import annotations

from audit.model import Severity

RULES: dict[str, Severity] = {
    "incident": Severity.CRITICAL,
    "auth-failed": Severity.HIGH,
    "disabled-user-key-works": Severity.CRITICAL,
    "privileged-role": Severity.HIGH,
    "escalation-path": Severity.CRITICAL,
    "secret-read": Severity.HIGH,
    "sensitive-access": Severity.MEDIUM,
    "beyond-need": Severity.MEDIUM,
    "need-denied": Severity.MEDIUM,
    "no-declared-need": Severity.LOW,
    "unused-grant": Severity.LOW,
    "sod-conflict": Severity.HIGH,
    "website-user-data": Severity.MEDIUM,
    "rule-mismatch": Severity.MEDIUM,
    "site-traceback": Severity.MEDIUM,
    "site-count-leak": Severity.LOW,
    "plain-http": Severity.HIGH,
    "no-ip-restriction": Severity.LOW,
    "password-login-privileged": Severity.MEDIUM,
    "cells-unjudged": Severity.MEDIUM,
}

PRIVILEGED_ROLES: frozenset[str] = frozenset({"System Manager", "Administrator"})
AUTOMATIC_ROLES: frozenset[str] = frozenset({"All", "Guest", "Desk User"})

# DocType -> (ops that open the path, the power it reaches). Write on User is handled
# apart (own record at permlevel 0 is normal, see ``access.user_escalation``).
ESCALATION: dict[str, tuple[frozenset[str], str]] = {
    "Has Role": (frozenset({"write", "create"}), "any role, System Manager included"),
    "Role": (frozenset({"write", "create"}), "redefine what a role may do (desk access, 2FA)"),
    "Role Profile": (frozenset({"write", "create"}),
                     "the roles of every user on that profile"),
    "DocPerm": (frozenset({"write", "create"}), "any right on any DocType"),
    "Custom DocPerm": (frozenset({"write", "create", "delete"}), "any right on any DocType"),
    "User Permission": (frozenset({"write", "create", "delete"}),
                        "lift its own User Permission limits"),
    "DocShare": (frozenset({"write", "create"}), "share any document with itself"),
    "Server Script": (frozenset({"write", "create"}), "run code as Administrator"),
    "Client Script": (frozenset({"write", "create"}), "run code in every desk user's browser"),
    "System Console": (frozenset({"read", "write"}), "run code as Administrator"),
    "Custom Field": (frozenset({"write", "create"}), "change what a DocType stores and checks"),
    "Property Setter": (frozenset({"write", "create"}),
                        "change field permlevels and DocType settings"),
    "Customize Form": (frozenset({"write"}), "change field permlevels and DocType settings"),
    "DocType": (frozenset({"write", "create"}), "rewrite any DocType's rules and fields"),
    "Report": (frozenset({"write", "create"}), "run a Script Report's code on the server"),
    "Print Format": (frozenset({"write", "create"}), "run Jinja on the server"),
    "Notification": (frozenset({"write", "create"}), "run Jinja on the server and send mail"),
    "Webhook": (frozenset({"write", "create"}), "send any document to any URL"),
    "Email Template": (frozenset({"write", "create"}), "run Jinja on the server"),
    "OAuth Client": (frozenset({"write", "create"}), "mint tokens for any user who consents"),
    "Social Login Key": (frozenset({"write", "create"}), "log in as users via a rogue provider"),
    "LDAP Settings": (frozenset({"write"}), "log in as users via a rogue directory"),
    "System Settings": (frozenset({"write"}), "change password, session and sharing policy"),
    "Scheduled Job Type": (frozenset({"write", "create"}), "schedule server methods"),
}

# DocTypes whose documents hold credentials or tokens.
SECRET_DOCTYPES: frozenset[str] = frozenset({
    "OAuth Bearer Token", "OAuth Authorization Code", "OAuth Client", "Email Account",
    "Social Login Key", "LDAP Settings", "Connected App", "Token Cache", "User Social Login",
    "Dropbox Settings", "S3 Backup Settings", "Google Settings", "Webhook",
})

# Security-relevant DocTypes short of an escalation path: who exists, what is logged, money.
SENSITIVE_DOCTYPES: frozenset[str] = frozenset({
    "User", "Module Profile", "User Type", "Access Log", "Activity Log", "Version",
    "Deleted Document", "Error Log", "Workflow", "Assignment Rule", "Auto Email Report",
    "Data Import", "Log Settings", "Session Default Settings", "OAuth Bearer Token",
    "Email Account", "Bank Account", "Account", "Company", "Payment Entry", "Journal Entry",
    "Mode of Payment", "Employee", "Salary Slip",
})

# DocTypes with a controller has_permission hook in Frappe core (SPEC.md §3.7).
HOOKED_DOCTYPES: frozenset[str] = frozenset({
    "Event", "ToDo", "Note", "User", "Dashboard Chart", "Number Card", "Kanban Board",
    "Contact", "Address", "Communication", "Workflow Action", "File", "Prepared Report",
    "Notification Settings",
})

# Cells every desk user has by design: its own User record (a DocShare Frappe makes).
OWN_RECORD_DOCTYPE = "User"

# Words searched for in what the site replied (every probe row's message and attempts).
TRACEBACK = "Traceback (most recent call last)"  # a server traceback: site-traceback
HOOK_WORDS = "controller permission check"  # a has_permission hook refused: rule-mismatch
COUNT_TARGET = "get_count"  # the attempt that asks frappe.client.get_count: site-count-leak
