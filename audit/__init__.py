"""permaudit: audit what every API user of an ERPNext / Frappe site can really do."""

from __future__ import annotations

__version__ = "0.1.0"
