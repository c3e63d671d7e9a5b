"""Where documents live: stored documents, system views and child rows.

Most DocTypes keep their documents in ``SiteData.documents``. The DocTypes that describe
the site itself (DocType, User, Role, DocShare, User Permission, ...) are *views* built from
the site's structures (see ``views.py``), so the permission engine and the REST API always
agree. Child-table rows are listed by walking their parents.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from audit.sim.journal import Action, Transaction
from audit.sim.model import DocTypeDef, Document, SiteData
from audit.sim.views import Views

TABLE_TYPES = ("Table", "Table MultiSelect")
STANDARD = ("name", "owner", "creation", "modified", "modified_by", "docstatus", "idx")
CHILD_STANDARD = ("parent", "parentfield", "parenttype")


class Store:
    def __init__(self, site: SiteData) -> None:
        self.site = site
        self.views = Views(site)
        self._parents: dict[str, list[tuple[str, str]]] | None = None
        self._parents_key = -1

    # ---- meta ------------------------------------------------------------------------------
    def meta(self, doctype: str) -> DocTypeDef | None:
        return self.site.doctypes.get(doctype)

    def child_parents(self, child: str) -> list[tuple[str, str]]:
        """(parent DocType, table fieldname) pairs whose Table field holds ``child`` rows."""
        key = len(self.site.doctypes)
        if self._parents is None or key != self._parents_key:
            index: dict[str, list[tuple[str, str]]] = {}
            for dt in self.site.doctypes.values():
                for f in dt.fields:
                    if f.fieldtype in TABLE_TYPES and f.options:
                        index.setdefault(f.options, []).append((dt.name, f.fieldname))
            self._parents, self._parents_key = index, key
        return self._parents.get(child, [])

    # ---- reads -----------------------------------------------------------------------------
    def get(self, doctype: str, name: str) -> Document | None:
        """The document, matched like MariaDB does (exact first, then case-insensitively)."""
        meta = self.meta(doctype)
        if meta is None:
            return None
        if meta.issingle:
            return self.single(doctype)
        if meta.istable:
            return self._child_row(doctype, name)
        if self.views.handles(doctype):
            return self.views.get(doctype, name)
        docs = self.site.documents.get(doctype, {})
        doc = docs.get(name)
        if doc is None and isinstance(name, str):
            lowered = name.lower()
            doc = next((d for n, d in docs.items() if str(n).lower() == lowered), None)
        return doc

    def single(self, doctype: str) -> Document:
        if self.views.handles(doctype):
            doc = self.views.get(doctype, doctype)
            if doc is not None:
                return doc
        docs = self.site.docs(doctype)
        if doctype not in docs:
            docs[doctype] = Document(doctype=doctype, name=doctype,
                                     modified=self.views.base_stamp(), modified_by="Administrator")
        return docs[doctype]

    def exists(self, doctype: str, name: str) -> bool:
        return self.get(doctype, name) is not None

    def all(self, doctype: str) -> list[Document]:
        """Every document (or child row) of ``doctype``."""
        meta = self.meta(doctype)
        if meta is None:
            return []
        if meta.istable:
            return list(self._child_rows(doctype))
        if self.views.handles(doctype):
            return self.views.all(doctype)
        return list(self.site.documents.get(doctype, {}).values())

    def _child_rows(self, child: str) -> Iterator[Document]:
        for parent_dt, fieldname in self.child_parents(child):
            for parent in self.all(parent_dt):
                for row in parent.values.get(fieldname) or []:
                    if isinstance(row, dict):
                        yield row_document(child, parent, fieldname, row)

    def _child_row(self, child: str, name: str) -> Document | None:
        return next((d for d in self._child_rows(child) if d.name == name), None)

    # ---- writes (inside a transaction) -----------------------------------------------------
    def insert(self, doc: Document, tx: Transaction) -> None:
        if self.views.handles(doc.doctype):
            self.views.insert(doc, tx)
        else:
            docs = self.site.docs(doc.doctype)
            docs[doc.name] = doc
            tx.on_rollback(lambda: docs.pop(doc.name, None))
        tx.log(Action.INSERT, doc.doctype, doc.name)

    def update(self, doc: Document, tx: Transaction) -> None:
        if self.views.handles(doc.doctype):
            self.views.update(doc, tx)
        else:
            docs = self.site.docs(doc.doctype)
            old = docs.get(doc.name)
            docs[doc.name] = doc
            tx.on_rollback(lambda: docs.__setitem__(doc.name, old) if old is not None
                           else docs.pop(doc.name, None))
        tx.log(Action.UPDATE, doc.doctype, doc.name)

    def delete(self, doc: Document, tx: Transaction) -> None:
        if self.views.handles(doc.doctype):
            self.views.delete(doc, tx)
        else:
            docs = self.site.docs(doc.doctype)
            old = docs.pop(doc.name, None)
            if old is not None:
                tx.on_rollback(lambda: docs.__setitem__(doc.name, old))
        tx.log(Action.DELETE, doc.doctype, doc.name)

    def record(self, doc: Document, tx: Transaction | None = None) -> None:
        """Store a bookkeeping row (Version, Deleted Document, Activity Log): not journaled."""
        docs = self.site.docs(doc.doctype)
        docs[doc.name] = doc
        if tx is not None:
            tx.on_rollback(lambda: docs.pop(doc.name, None))


def row_document(child: str, parent: Document, fieldname: str, row: dict[str, Any]) -> Document:
    """A child-table row as a Document (``values`` carry parent, parentfield, parenttype)."""
    values = {k: v for k, v in row.items() if k not in STANDARD and k != "doctype"}
    values.update(parent=parent.name, parentfield=fieldname, parenttype=parent.doctype)
    return Document(doctype=child, name=str(row.get("name", "")),
                    owner=row.get("owner") or parent.owner,
                    docstatus=int(row.get("docstatus", parent.docstatus) or 0),
                    creation=row.get("creation") or parent.creation,
                    modified=row.get("modified") or parent.modified,
                    modified_by=row.get("modified_by") or parent.modified_by,
                    idx=int(row.get("idx") or 0), values=values)


def clone(doc: Document) -> Document:
    return copy.deepcopy(doc)
