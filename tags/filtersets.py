"""The query parameters of `GET /v1/tags` (contract §3 op 14) as a FilterSet."""

from flownally_admin.api.filters import ApiFilterSet, SearchFilter

from .models import Tag


class TagFilterSet(ApiFilterSet):
    search = SearchFilter(
        field_name="name",
        lookup_expr="icontains",
        help_text="Case-insensitive substring of the name; 1–200 characters.",
    )

    class Meta:
        model = Tag
        fields = []
