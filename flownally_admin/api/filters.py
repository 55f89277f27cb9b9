"""Query parameters as django-filter FilterSets, with the contract's violations.

A filter's name is its query parameter's name (`tagIds`, `createdAfter`), so a
FilterSet both documents the parameters (drf-spectacular reads it, see
`schema.FilterSetParameters`) and checks them: `ApiFilterSet.cleaned_data` is
the one place where a form error becomes a FieldViolation (contract §7).

The filters below are the shapes the contract's parameters take. Each states
its own OpenAPI schema, and each tells an omitted parameter (its default) from
one sent empty: `?archived=` is a value, and not a valid one.
"""

import re
from datetime import UTC, datetime, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django_filters import Filter, FilterSet

from flownally_admin.errors import FieldViolation, ValidationFailed

from .problems import violation_code


class ApiFilterSet(FilterSet):
    """A FilterSet whose invalid parameters raise ValidationFailed, one violation each."""

    @property
    def cleaned_data(self) -> dict:
        """Every parameter's value, normalised; raises ValidationFailed naming each bad one."""
        self.raise_if_invalid()
        return self.form.cleaned_data

    def get_form_class(self):
        """The form class, built once per FilterSet class: the filters' fields are the same
        for every request (where one depends on the request, the FilterSet sets that on the
        form's own copy of the field)."""
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            fields = {name: filter_.field for name, filter_ in cls.base_filters.items()}
            cls._form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
        return cls._form_class

    @property
    def form(self):
        if not hasattr(self, "_form"):
            # No label is ever shown: an empty suffix spares a translation per request.
            self._form = self.get_form_class()(self.data, prefix=self.form_prefix, label_suffix="")
        return self._form

    def raise_if_invalid(self) -> None:
        if not self.is_valid():
            raise ValidationFailed(self._violations())

    def filter_queryset(self, queryset):
        self.raise_if_invalid()  # never filter on half-checked parameters
        return super().filter_queryset(queryset)

    def fingerprint(self) -> dict:
        """The parameters as a page token binds them: equal filters give equal fingerprints,
        however they were spelled (list order, time zone)."""
        return {name: _canonical(value) for name, value in self.cleaned_data.items()}

    def applied_by_pagination(self, queryset, name, value):
        """The `method` of parameters that the keyset pagination applies (see the view)."""
        return queryset

    def _violations(self) -> list[FieldViolation]:
        found = []
        for name, errors in self.form.errors.as_data().items():
            for error in errors:
                params = {"parameter": name, **(error.params or {})}
                if "key" in params:  # about one key of a deepObject parameter
                    params["parameter"] = f"{name}[{params['key']}]"
                message = error.message % params
                found.append(
                    FieldViolation(params["parameter"], violation_code(error.code), message)
                )
        return found


def _shallow_copy(obj):
    """`copy.copy` for a plain object, without its generic (and slower) protocol."""
    clone = object.__new__(type(obj))
    clone.__dict__.update(obj.__dict__)
    return clone


def _canonical(value):
    if isinstance(value, list | tuple):  # a list parameter's values are ORed: a set
        return sorted(value)
    if isinstance(value, dict):
        return sorted(value.items())
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class ApiFilter(Filter):
    """A filter that describes its query parameter for OpenAPI: `schema` (its `choices`
    are the enum, its `default` the default), plus `style` and `explode` where OpenAPI's
    default serialization is not the parameter's."""

    schema: dict = {"type": "string"}
    style: str | None = None
    explode: bool | None = None

    def __deepcopy__(self, memo):
        """Each FilterSet copies its filters; these keep nothing mutable but `extra`, and
        copying them deeply cost more than validating the whole query."""
        clone = _shallow_copy(self)
        clone.__dict__.pop("_field", None)
        clone.extra = dict(self.extra)
        clone.method = self.method  # a FilterMethod of the clone, not of this filter
        return clone

    def parameter_schema(self) -> dict:
        schema = dict(self.schema)
        if self.extra.get("default") is not None:
            schema["default"] = self.extra["default"]
        return schema


class ParameterField(forms.Field):
    """A form field for one query parameter: None means omitted (→ `default`); any string
    sent, the empty one too, is checked by `parse`."""

    def __init__(self, *, default=None, **kwargs):
        self.default = default
        super().__init__(**kwargs)

    def to_python(self, value):
        return self.default if value is None else self.parse(value)

    def validate(self, value):
        """Nothing is required; `parse` does the checking."""

    def __deepcopy__(self, memo):
        # Each form copies its fields; these hold nothing that a shallow copy would share
        # with another form's copy, and copying them deeply was most of a form's cost.
        return _shallow_copy(self)

    def parse(self, value: str):
        raise NotImplementedError


# --- search -------------------------------------------------------------------------

SEARCH_MAX_LENGTH = 200


class _SearchField(ParameterField):
    def parse(self, value):
        term = value.strip()
        if len(term) > SEARCH_MAX_LENGTH:
            raise ValidationError(
                "%(parameter)s has at most %(limit)d characters.",
                code="too_long",
                params={"limit": SEARCH_MAX_LENGTH},
            )
        return term or None


class SearchFilter(ApiFilter):
    """`search`: a substring of 1–200 characters (trimmed); blank means no search."""

    field_class = _SearchField
    schema = {"type": "string", "maxLength": SEARCH_MAX_LENGTH}


# --- true / false ---------------------------------------------------------------------


class _BooleanField(ParameterField):
    def parse(self, value):
        if value not in ("true", "false"):
            raise ValidationError("%(parameter)s must be true or false.", code="invalid")
        return value == "true"


class TrueFalseFilter(ApiFilter):
    """`true` or `false`, spelled so; omitted means `default`."""

    field_class = _BooleanField
    schema = {"type": "boolean"}


# --- one of a few words -----------------------------------------------------------------


class _ChoiceField(ParameterField):
    def __init__(self, *, choices, **kwargs):
        self.choices = tuple(choices)
        super().__init__(**kwargs)

    def parse(self, value):
        if value not in self.choices:
            raise ValidationError(
                "%(parameter)s must be one of: %(choices)s.",
                code="invalid_choice",
                params={"choices": ", ".join(self.choices)},
            )
        return value


class EnumFilter(ApiFilter):
    """One of `choices`; omitted means `default`."""

    field_class = _ChoiceField


# --- lists ----------------------------------------------------------------------------


class _RepeatedWidget(forms.Widget):
    """Every value of a repeated parameter (`a=1&a=2`); None when it is absent."""

    def value_from_datadict(self, data, files, name):
        if name not in data:
            return None
        return data.getlist(name) if hasattr(data, "getlist") else [data[name]]


class _ListField(ParameterField):
    widget = _RepeatedWidget

    def __init__(self, *, choices=None, **kwargs):
        self.choices = tuple(choices) if choices is not None else None
        super().__init__(default=(), **kwargs)

    def parse(self, raws):
        values = [part.strip() for raw in raws for part in raw.split(",")]
        if self.choices is None:
            values = [value for value in values if value]
        elif any(value not in self.choices for value in values):
            raise ValidationError(
                "%(parameter)s must be among: %(choices)s.",
                code="invalid_choice",
                params={"choices": ", ".join(self.choices)},
            )
        return tuple(dict.fromkeys(values))  # without repeats, in order


class ListFilter(ApiFilter):
    """Repeatable (`a=x&a=y`) or comma-separated (`a=x,y`), order kept, duplicates dropped.

    With `choices`, every value must be one of them (so an empty `a=` is refused);
    without, blank values are skipped.
    """

    field_class = _ListField

    def parameter_schema(self):
        return {"type": "array", "items": dict(self.schema)}


# --- timestamps -----------------------------------------------------------------------

# RFC 3339 `date-time`: no week dates, no basic format, no missing zone; ASCII digits.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
# PostgreSQL's `timestamptz` input refuses a UTC offset of 16 hours or more.
_MAX_UTC_OFFSET = timedelta(hours=16)
# The same rule for OpenAPI: RFC 3339 (`format`), a year from 0001, an offset below 16 hours.
# Not stated: a moment of year 0001 or 9999 that falls outside them in UTC (the prose says it).
TIMESTAMP_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-[0-9]{2}-[0-9]{2}"
    r"[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-](?:0[0-9]|1[0-5]):[0-9]{2})$",
    "description": "RFC 3339 with its time zone; UTC offsets below 16 hours, years 0001 to "
    "9999 in UTC.",
}


class _TimestampField(ParameterField):
    def parse(self, value):
        try:
            if not _RFC3339.fullmatch(value):
                raise ValueError
            moment = datetime.fromisoformat(value.upper())
        except ValueError:
            raise ValidationError(
                "%(parameter)s must be an RFC 3339 timestamp with a time zone.", code="invalid"
            ) from None
        try:
            if abs(moment.utcoffset()) >= _MAX_UTC_OFFSET:
                raise OverflowError
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                "%(parameter)s is out of range (UTC offsets are below 16 hours, "
                "years 0001 to 9999 in UTC).",
                code="out_of_range",
            ) from None


class TimestampFilter(ApiFilter):
    """An RFC 3339 timestamp with its time zone (`2026-04-30T09:45:00Z`), as UTC."""

    field_class = _TimestampField
    schema = TIMESTAMP_SCHEMA


# --- deepObject -------------------------------------------------------------------------


class _DeepObjectWidget(forms.Widget):
    """The `name[key]=value` parameters as {key: value}; None when there are none."""

    def value_from_datadict(self, data, files, name):
        pattern = re.compile(re.escape(name) + r"\[(?P<key>[^\]]*)\]")
        found = {}
        for parameter in data:
            match = pattern.fullmatch(parameter)
            if match:
                found[match["key"]] = data.get(parameter)
        return found or None


class DeepObjectField(ParameterField):
    """{key: value}; a subclass's `parse` checks them, raising an error about one key with
    `params={"key": …}` (its violation is then on the parameter `name[key]`)."""

    widget = _DeepObjectWidget

    def parse(self, values):
        return values


class DeepObjectFilter(ApiFilter):
    """`name[key]=value` parameters (OpenAPI's deepObject style)."""

    field_class = DeepObjectField
    schema = {"type": "object", "additionalProperties": {"type": "string"}}
    style = "deepObject"
    explode = True
