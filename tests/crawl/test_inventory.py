"""DocTypeInfo read from the meta: which fields a document's name is built from."""

from __future__ import annotations

import json

import pytest

from audit.crawl.inventory import DocTypeInfo, FieldInfo, Inventory

FIELDS = tuple(FieldInfo(fieldname=n, fieldtype="Data") for n in (
    "title", "api_token", "secret_key", "key_value", "customer", "naming_series"))


def _dt(autoname: str, fields: tuple[FieldInfo, ...] | None = FIELDS) -> DocTypeInfo:
    return DocTypeInfo(name="Thing", autoname=autoname, fields=fields)


@pytest.mark.parametrize(("autoname", "names"), [
    ("field:title", ("title",)),
    ("Field:title", ("title",)),  # Frappe compares the prefix in lower case
    ("FIELD: title ", ("title",)),
    (" field:title", ("title",)),
    ("format:{api_token}", ("api_token",)),
    ("Format:TOK-{secret_key}-{#####}", ("secret_key",)),
    ("format:{YYYY}-{MM}-{DD}-{YY}-{customer}-{####}", ("customer",)),
    ("format:{FY}/{WW}/{timestamp}/{title}/{customer}", ("title", "customer")),
    ("format:Log on {timestamp}", ()),
    ("format:AUT-AR-{#####}", ()),
    ("format:{ title }", ("title",)),
    ("TOK-.api_token.-.####", ("api_token",)),  # old style: a part that is a field
    ("TOK.YYYY.-.#####", ()),
    ("TOKEN-.####", ()),
    ("hash", ()), ("Prompt", ()), ("autoincrement", ()), ("", ()), ("naming_series:", ()),
])
def test_name_fields(autoname: str, names: tuple[str, ...]) -> None:
    assert _dt(autoname).name_fields() == names


def test_name_fields_of_a_naming_series_are_its_field_parts() -> None:
    series = FieldInfo(fieldname="naming_series", fieldtype="Select",
                       options="KEY-.secret_key.-.####\nKEY-.YYYY.-.####")
    dt = DocTypeInfo(name="Thing", autoname="naming_series:", fields=(*FIELDS[:-1], series))
    assert dt.name_fields() == ("secret_key",)


def test_name_fields_without_a_meta() -> None:
    assert _dt("format:{api_token}-{#####}", None).name_fields() == ("api_token",)
    assert _dt("field:api_token", None).name_fields() == ("api_token",)
    assert _dt("TOK-.api_token.-.####", None).name_fields() == ("api_token",)
    assert _dt("TOKEN.####", None).name_fields() == ()


@pytest.mark.parametrize(("autoname", "field"), [
    ("field:title", "title"), ("Field:title", "title"), ("format:{title}", ""), ("hash", ""),
])
def test_naming_field_is_the_field_of_field_naming(autoname: str, field: str) -> None:
    assert _dt(autoname).naming_field() == field


def test_an_inventory_written_before_reads_the_same() -> None:
    stored = {"source": "auditor", "doctypes": {"Vault": {
        "name": "Vault", "module": "Custom", "istable": False, "issingle": False,
        "is_submittable": False, "is_virtual": False, "custom": True,
        "autoname": "format:V-{key_value}",
        "fields": [{"fieldname": "key_value", "fieldtype": "Password", "options": "",
                    "reqd": False, "permlevel": 0, "fetch_from": "", "read_only": False,
                    "is_virtual": False, "ignore_user_permissions": False}]}}}
    inventory = Inventory.from_json(json.loads(json.dumps(stored)))
    assert inventory.doctypes["Vault"].name_fields() == ("key_value",)
    written = inventory.to_json()["doctypes"]["Vault"]
    # what a later version learned to keep reads as its empty default
    assert written.pop("title_field") == "" and written["fields"][0].pop("default") == ""
    assert written == stored["doctypes"]["Vault"]
