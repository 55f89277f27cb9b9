"""How an upload's columns will be read (contacts/importing/selectors.py)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.importing.columns import RECOGNISED_COLUMNS, Kind, Target
from contacts.importing.selectors import (
    ColumnPreview,
    InvalidCsvUpload,
    contact_import_columns,
    contact_import_preview,
)
from tests.factories.customfields import CustomFieldDefinitionFactory

pytestmark = pytest.mark.django_db


def _upload(content: str, name="people.csv"):
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def test_preview_says_how_each_kind_of_column_is_read(tenant):
    plan = CustomFieldDefinitionFactory(tenant=tenant, name="Plan", type="text")
    renewal = CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")
    header = [
        "Name",
        "E-mail",
        "phone",
        "WhatsApp",
        "SMS",
        "Email Identity",
        "messenger",
        "instagram",
        "live_chat",
        "Tags",
        "plan",
        renewal.public_id,
        "colour",
    ]
    upload = _upload(",".join(header) + "\n")
    preview = contact_import_preview(tenant=tenant, upload=upload)
    assert (preview.file_name, preview.size, preview.delimiter) == (
        "people.csv",
        upload.size,
        "comma",
    )
    assert preview.columns == [
        ColumnPreview("Name", "Name"),
        ColumnPreview("E-mail", "E-mail"),
        ColumnPreview("phone", "Phone"),
        ColumnPreview("WhatsApp", "Identity: WhatsApp"),
        ColumnPreview("SMS", "Identity: SMS"),
        ColumnPreview("Email Identity", "Identity: E-mail"),
        ColumnPreview("messenger", "Identity: Messenger"),
        ColumnPreview("instagram", "Identity: Instagram"),
        ColumnPreview("live_chat", "Identity: Live chat"),
        ColumnPreview("Tags", "Tags (names separated by ; or |)"),
        ColumnPreview("plan", f"Custom field: {plan.name} (text)"),
        ColumnPreview(renewal.public_id, "Custom field: Renewal (date)"),
        ColumnPreview("colour", ""),
    ]
    assert [c.header for c in preview.ignored] == ["colour"]
    assert len(preview.recognised) == 12


@pytest.mark.parametrize(("separator", "words"), [(";", "semicolon"), ("\t", "tab")])
def test_preview_names_the_delimiter(tenant, separator, words):
    preview = contact_import_preview(tenant=tenant, upload=_upload(f"name{separator}email\n"))
    assert preview.delimiter == words


def test_preview_reads_custom_fields_of_the_tenant_only(tenant, other_tenant):
    CustomFieldDefinitionFactory(tenant=other_tenant, name="Renewal", type="date")
    preview = contact_import_preview(tenant=tenant, upload=_upload("name,Renewal\n"))
    assert [c.meaning for c in preview.columns] == ["Name", ""]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The file is empty."),
        ("email,e-mail\n", "The header names the same column twice"),
    ],
)
def test_preview_refuses_what_the_import_would_refuse(tenant, content, message):
    with pytest.raises(InvalidCsvUpload) as caught:
        contact_import_preview(tenant=tenant, upload=_upload(content))
    assert message in caught.value.detail


def test_a_field_named_like_another_column_is_refused(tenant):
    plan_id = CustomFieldDefinitionFactory(tenant=tenant, name="Plan", type="text").public_id
    with pytest.raises(InvalidCsvUpload) as caught:
        contact_import_columns(tenant=tenant, upload=_upload(f"Plan,{plan_id}\n"))
    assert caught.value.detail == f"Columns 'Plan' and '{plan_id}' both set the same thing."


def test_columns_leave_the_upload_at_its_start(tenant):
    upload = _upload("name,whatsapp\nAda,+14155550123\n")
    read = contact_import_columns(tenant=tenant, upload=upload)
    assert upload.tell() == 0
    assert read.shape.header == ["name", "whatsapp"]
    assert read.columns.targets == (Target(Kind.NAME), Target(Kind.IDENTITY, "whatsapp"))


def test_every_recognised_column_is_read_by_its_documented_name(tenant):
    names = [name for name, _ in RECOGNISED_COLUMNS]
    read = contact_import_columns(tenant=tenant, upload=_upload(",".join(names) + "\n"))
    assert list(read.columns.targets) == [target for _, target in RECOGNISED_COLUMNS]
