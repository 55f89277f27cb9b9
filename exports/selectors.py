"""Reads of exports, and the one query an export's file is written from."""

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.http import QueryDict
from django.utils import timezone

from contacts.filtersets import ContactFilterSet
from contacts.models import Channel, Contact
from contacts.selectors import contact_queryset
from flownally_admin.errors import NotFound
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant

from .columns import ExportColumn
from .models import ContactExport, ExportStatus


class ExportNotFound(NotFound):
    code = "export_not_found"
    default_detail = "No such export."


def contact_export_get(*, tenant: Tenant, export_id: str) -> ContactExport:
    export = None
    if is_valid_id(export_id, "exp"):
        export = ContactExport.objects.filter(tenant=tenant, pk=export_id).first()
    if export is None:
        raise ExportNotFound(f"No export with id '{export_id[:64]}'.")
    return export


def contact_export_list(*, tenant_ids: list[str] | None) -> QuerySet[ContactExport]:
    """The exports of these tenants (None: of every tenant), newest first, with their
    tenant."""
    exports = ContactExport.objects.all()
    if tenant_ids is not None:
        exports = exports.filter(tenant_id__in=tenant_ids)
    return exports.select_related("tenant").order_by("-created_at", "-id")


def contact_export_list_ready(*, tenant_ids: list[str] | None) -> QuerySet[ContactExport]:
    """The exports of these tenants whose file can be downloaded now (completed, not
    expired, not purged), newest first; the caller takes the first few."""
    return (
        contact_export_list(tenant_ids=tenant_ids)
        .filter(status=ExportStatus.COMPLETED, expires_at__gt=timezone.now())
        .exclude(file_path="")
    )


def contact_filter_parameters(filters: dict) -> QueryDict:
    """The export's filter members (JSON types, as checked by its serializer) as the query
    parameters of `GET /v1/contacts`, which `ContactFilterSet` reads."""
    parameters = QueryDict(mutable=True)
    for name, value in filters.items():
        if name == "customFields":
            for definition_id, text in value.items():
                parameters[f"customFields[{definition_id}]"] = text
        elif isinstance(value, list):
            parameters.setlist(name, value)
        elif isinstance(value, bool):
            parameters[name] = "true" if value else "false"
        else:
            parameters[name] = value
    return parameters


def contact_export_filterset(*, tenant: Tenant, filters: dict) -> ContactFilterSet:
    """The list's FilterSet over an export's filters; its `cleaned_data` raises
    ValidationFailed for a bad one, with the list's codes."""
    return ContactFilterSet(contact_filter_parameters(filters), tenant=tenant)


@dataclass(frozen=True)
class ExportQuery:
    """The SQL of an export's rows and what each selected value is. Rows come in
    `createdAt, id` order as tuples: one value per `kinds` entry."""

    sql: str
    params: tuple
    kinds: tuple[str, ...]  # of each value of a row: "id", "name", "field", "archived",
    # "createdAt", "updatedAt", "tags" (tag ids), "identities" (`<channel>:<external id>`s)
    count_sql: str  # how many rows there are, without computing their cells
    count_params: tuple


def contact_export_query(
    *, export: ContactExport, columns: list[ExportColumn], tenant: Tenant
) -> ExportQuery:
    """The query whose rows fill the export's `columns`, over the contacts it names:
    its filters through the list's FilterSet (search included), or its `contact_ids`."""
    if export.contact_ids is not None:
        contacts = contact_queryset(tenant=tenant).filter(pk__in=export.contact_ids)
    else:
        filterset = contact_export_filterset(tenant=tenant, filters=export.filters)
        contacts = filterset.qs
        if filterset.refinement is not None:
            contacts = contacts.filter(filterset.refinement.q())
    return _export_query(contacts.order_by("created_at", "id"), columns)


_VALUE_OF_KIND = {"id": "id", "name": "name", "archived": "archived"}
_TIMESTAMPS = {"createdAt": "created_at", "updatedAt": "updated_at"}


def _export_query(contacts: QuerySet[Contact], columns: list[ExportColumn]) -> ExportQuery:
    channels = tuple(dict.fromkeys(c.key for c in columns if c.kind == "identity"))
    annotations, names, kinds = {}, [], []
    for index, column in enumerate(columns):
        if column.kind == "field":
            alias = f"export_value_{index}"
            annotations[alias] = KT(f"custom_fields__{column.key}")
            names.append(alias)
            kinds.append("field")
        elif column.kind in _VALUE_OF_KIND:
            names.append(_VALUE_OF_KIND[column.kind])
            kinds.append(column.kind)
        elif column.kind in _TIMESTAMPS:
            names.append(_TIMESTAMPS[column.kind])
            kinds.append(column.kind)
        elif column.kind == "tags":
            tags_sql = _TAGS_SQL[connection.vendor]
            annotations["export_tags"] = RawSQL(tags_sql, [], output_field=TextField())  # noqa: S611
            names.append("export_tags")
            kinds.append("tags")
    if channels:
        sql = _identities_sql(connection.vendor, channels)
        annotations["export_identities"] = RawSQL(sql, [], output_field=TextField())  # noqa: S611
        names.append("export_identities")
        kinds.append("identities")
    sql, params = contacts.annotate(**annotations).values_list(*names).query.sql_with_params()
    count_sql, count_params = contacts.order_by().values("pk").query.sql_with_params()
    return ExportQuery(
        sql=sql,
        params=tuple(params),
        kinds=tuple(kinds),
        count_sql=f"SELECT COUNT(*) FROM ({count_sql}) AS export_rows",  # noqa: S608
        count_params=tuple(count_params),
    )


# The tag ids of a contact (a PostgreSQL text[], a JSON array on SQLite); their names come
# from the tenant's few tags, looked up once (joining tags_tag per contact doubled the
# cost of the query). Constant SQL.
_TAGS_SQL = {
    "postgresql": "SELECT ARRAY_AGG(ct.tag_id) FROM contacts_contacttag ct "
    "WHERE ct.contact_id = contacts_contact.id",
    "sqlite": "SELECT JSON_GROUP_ARRAY(ct.tag_id) FROM contacts_contacttag ct "
    "WHERE ct.contact_id = contacts_contact.id",
}


def _identities_sql(vendor: str, channels: tuple[str, ...]) -> str:
    """A contact's identities on `channels`, oldest first, each as `<channel>:<external
    id>` (a PostgreSQL text[], a JSON array on SQLite): one pass over its identities
    whatever the number of channels. `channels` are Channel values (constants), never a
    client's text."""
    wanted = ", ".join(f"'{Channel(channel).value}'" for channel in channels)
    return _IDENTITIES_SQL[vendor].format(channels=wanted)


_IDENTITIES_SQL = {
    "postgresql": "SELECT ARRAY_AGG(i.channel || ':' || i.external_id "
    "ORDER BY i.created_at, i.id) FROM contacts_identity i "
    "WHERE i.contact_id = contacts_contact.id AND i.active AND i.channel IN ({channels})",
    "sqlite": "SELECT JSON_GROUP_ARRAY(channel || ':' || external_id) FROM (SELECT channel, "
    "external_id FROM contacts_identity WHERE contact_id = contacts_contact.id AND active "
    "AND channel IN ({channels}) ORDER BY created_at, id)",
}
