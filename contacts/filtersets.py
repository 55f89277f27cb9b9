"""The query parameters of `GET /v1/contacts` and `GET /v1/contacts/count` (contract §3
ops 1 and 3, §7, §8), as FilterSets: each filter checks one parameter and applies it,
through a selector where it is more than a lookup."""

from django.core.exceptions import ValidationError

from customfields.models import EntityType
from customfields.selectors import custom_field_definitions_cached
from flownally_admin.api.filters import (
    ApiFilterSet,
    DeepObjectField,
    DeepObjectFilter,
    EnumFilter,
    ListFilter,
    SearchFilter,
    TimestampFilter,
    TrueFalseFilter,
)
from flownally_admin.api.pagination import KeysetOrdering
from flownally_admin.ids import is_valid_id
from flownally_admin.tenancy.models import Tenant

from .models import Channel, Contact
from .selectors import (
    ContactSearch,
    contact_filter_by_channels,
    contact_filter_by_tags,
    contact_filter_by_values,
    contact_queryset,
    contact_search,
)

ORDER_FIELDS = {"createdAt": "created_at", "updatedAt": "updated_at", "name": "name_key"}


class _CustomFieldValuesField(DeepObjectField):
    types: dict[str, str] = {}  # {definition id: type}, set by ContactFilterSet.form

    def parse(self, values):
        unknown = [
            ValidationError(
                "%(parameter)s names no contact custom field.",
                code="unknown_custom_field",
                params={"key": definition_id},
            )
            for definition_id in values
            if definition_id not in self.types
        ]
        if unknown:
            raise ValidationError(unknown)
        return {key: (self.types[key], value) for key, value in values.items()}


class CustomFieldValuesFilter(DeepObjectFilter):
    """`customFields[<definitionId>]=<value>`: exact match on the stored value, AND across
    fields; the id must be one of the tenant's contact fields (not a property field)."""

    field_class = _CustomFieldValuesField

    def filter(self, qs, value):
        return contact_filter_by_values(qs, value) if value else qs


class TagIdsFilter(ListFilter):
    """Contacts with any of the tags. An id that cannot be a tag id matches nothing, and
    never reaches the database."""

    def filter(self, qs, value):
        if not value:
            return qs
        tag_ids = [tag_id for tag_id in value if is_valid_id(tag_id, "tag")]
        return contact_filter_by_tags(qs, tag_ids) if tag_ids else qs.none()


class ChannelsFilter(ListFilter):
    """Contacts with an active identity on any of the channels."""

    def filter(self, qs, value):
        return contact_filter_by_channels(qs, value) if value else qs


def _archived_filter():
    return TrueFalseFilter(
        default=False, help_text="Omitted or `false`: active contacts; `true`: archived ones."
    )


class ContactCountFilterSet(ApiFilterSet):
    """`GET /v1/contacts/count` reads `archived` only, by the list's rule; its value picks
    a bucket of counts rather than filtering rows (see `contact_count`)."""

    archived = _archived_filter()

    class Meta:
        model = Contact
        fields = []


class ContactFilterSet(ApiFilterSet):
    """Every filter of `GET /v1/contacts` (AND across filters), over the tenant's live
    contacts. `search`, `orderBy` and `orderDirection` are for the keyset pagination:
    see `ordering` and `refinement`."""

    search = SearchFilter(
        method="applied_by_pagination",
        help_text="Case-insensitive substring of the name, e-mail, phone, phone identities "
        "or tag names; 1–200 characters.",
    )
    archived = _archived_filter()
    customFields = CustomFieldValuesFilter(
        help_text="`customFields[<definitionId>]=<value>`: exact match on the stored "
        "(normalised) value; several are ANDed."
    )
    tagIds = TagIdsFilter(help_text="Tag ids, repeated or comma-separated (OR).")
    channels = ChannelsFilter(
        choices=Channel.values, help_text="Channels, repeated or comma-separated (OR)."
    )
    createdAfter = TimestampFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after (RFC 3339)."
    )
    createdBefore = TimestampFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before (RFC 3339)."
    )
    updatedAfter = TimestampFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Updated at or after (RFC 3339)."
    )
    updatedBefore = TimestampFilter(
        field_name="updated_at", lookup_expr="lt", help_text="Updated before (RFC 3339)."
    )
    orderBy = EnumFilter(
        method="applied_by_pagination",
        choices=tuple(ORDER_FIELDS),
        default="createdAt",
        help_text="Ties are broken by id, in the same direction.",
    )
    orderDirection = EnumFilter(
        method="applied_by_pagination",
        choices=("asc", "desc"),
        default="desc",
        help_text="Newest (or last by name) first by default.",
    )

    class Meta:
        model = Contact
        fields = []

    def __init__(self, data, *, tenant: Tenant):
        super().__init__(data, queryset=contact_queryset(tenant=tenant))
        self.tenant = tenant

    @property
    def form(self):
        if not hasattr(self, "_form"):
            # Which custom-field ids exist is the tenant's: told to this form's own field.
            definitions = custom_field_definitions_cached(
                tenant=self.tenant, entity_type=EntityType.CONTACT
            )
            super().form.fields["customFields"].types = {d.public_id: d.type for d in definitions}
        return super().form

    @property
    def ordering(self) -> KeysetOrdering:
        values = self.cleaned_data
        return KeysetOrdering(
            fields=(ORDER_FIELDS[values["orderBy"]], "id"),
            descending=values["orderDirection"] == "desc",
        )

    @property
    def refinement(self) -> ContactSearch | None:
        """The `search`, for the pagination to refine the filtered contacts with (it finds
        a page faster that way than as one more filter)."""
        term = self.cleaned_data["search"]
        return contact_search(tenant_ids=[self.tenant.pk], term=term) if term else None
