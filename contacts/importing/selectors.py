"""Reads of an upload before its import: its shape, and how each column will be read.

`contact_import_create` and the admin's preview read an upload's columns through
`contact_import_columns`, so what the preview shows is what the import does.
"""

from dataclasses import dataclass

from customfields.models import CustomFieldDefinition, EntityType
from customfields.selectors import custom_field_definition_list
from flownally_admin.errors import ApplicationError
from flownally_admin.tenancy.models import Tenant

from ..models import Channel
from .columns import ColumnMap, Kind, Target, map_columns
from .sniff import SNIFF_BYTES, InvalidCsv, UploadShape, inspect_upload

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


class InvalidCsvUpload(ApplicationError):
    code = "invalid_csv"


@dataclass(frozen=True)
class UploadColumns:
    shape: UploadShape
    columns: ColumnMap
    definitions: dict[str, CustomFieldDefinition]  # the tenant's contact fields, by id


def contact_import_columns(*, tenant: Tenant, upload) -> UploadColumns:
    """The upload's shape from its head, and what each header cell means for this tenant.

    Raises InvalidCsvUpload for a file that can never import. Leaves `upload` at its start.
    """
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    try:
        shape = inspect_upload(head)
        definitions = list(
            custom_field_definition_list(tenant=tenant, entity_type=EntityType.CONTACT)
        )
        columns = map_columns(shape.header, definitions)
    except InvalidCsv as exc:
        raise InvalidCsvUpload(exc.message) from None
    return UploadColumns(
        shape=shape,
        columns=columns,
        definitions={definition.public_id: definition for definition in definitions},
    )


@dataclass(frozen=True)
class ColumnPreview:
    header: str
    meaning: str  # "" when the column is ignored


@dataclass(frozen=True)
class ImportPreview:
    file_name: str
    size: int
    delimiter: str  # in words: "comma", "semicolon" or "tab"
    columns: list[ColumnPreview]

    @property
    def recognised(self) -> list[ColumnPreview]:
        return [column for column in self.columns if column.meaning]

    @property
    def ignored(self) -> list[ColumnPreview]:
        return [column for column in self.columns if not column.meaning]


def contact_import_preview(*, tenant: Tenant, upload) -> ImportPreview:
    """How each column of `upload` (a file with a `name` and a `size`) will be read for
    this tenant; raises InvalidCsvUpload as `contact_import_create` would."""
    read = contact_import_columns(tenant=tenant, upload=upload)
    columns = read.columns
    return ImportPreview(
        file_name=upload.name,
        size=upload.size,
        delimiter=DELIMITER_NAMES[read.shape.delimiter],
        columns=[
            ColumnPreview(header=cell, meaning=_meaning(target, read.definitions))
            for cell, target in zip(columns.header, columns.targets, strict=True)
        ],
    )


def _meaning(target: Target | None, definitions: dict[str, CustomFieldDefinition]) -> str:
    if target is None:
        return ""
    if target.kind is Kind.NAME:
        return "Name"
    if target.kind is Kind.TAGS:
        return "Tags (names separated by ; or |)"
    if target.kind is Kind.IDENTITY:
        return f"Identity: {Channel(target.key).label}"
    if target.key == "cf_email":
        return "E-mail"
    if target.key == "cf_phone":
        return "Phone"
    definition = definitions[target.key]  # map_columns targets only these definitions
    return f"Custom field: {definition.name} ({definition.type})"
