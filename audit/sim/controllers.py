"""Controller behaviours of real DocTypes that a safe probe must survive (SPEC.md §5.3);
``DocTypeDef.controller_failure`` models the ones that crash.

A DocType opts in through ``DocTypeDef.controller``:

* ``sets_read_only``: ``before_insert`` fills every read-only field (``Document Share Key``
  sets its ``key``), so a probe value put there is replaced before validation.
* ``sends_mail``: ``before_insert`` sends a mail at once (``site.outbox``): a rollback of the
  failed insert does not take it back.
* ``coerces_values``: ``before_insert`` turns list values into text, so even the list probe
  is stored (an app hook the tool cannot foresee: an incident).
* ``returns_existing``: ``insert()`` is overridden to answer with the DocType's first stored
  document instead of inserting ("get or create"): a 200 naming a document the probe did
  not make.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.sim.model import DocTypeDef, Document
from audit.sim.util import random_name

if TYPE_CHECKING:
    from audit.sim.context import Ctx


def before_anything(ctx: Ctx, meta: DocTypeDef) -> Document | None:
    """Runs first in ``insert``; a document returned is the reply, and nothing is inserted."""
    if meta.controller == "returns_existing":
        return next(iter(ctx.store.all(meta.name)), None)


    return None


def before_insert(ctx: Ctx, meta: DocTypeDef, doc: Document) -> None:
    if meta.controller == "sends_mail":
        ctx.site.outbox.append(f"{ctx.user}: a new {meta.name} is being created")
    if meta.controller == "coerces_values":
        for key, value in list(doc.values.items()):
            if isinstance(value, list) and (f := meta.field(key)) and f.fieldtype != "Table":
                doc.values[key] = ", ".join(str(v) for v in value)
    if meta.controller == "sets_read_only":
        for f in meta.fields:
            if f.read_only:
                doc.values[f.fieldname] = random_name(20)
