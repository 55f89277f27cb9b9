"""Keyset (cursor) pagination with opaque, signed page tokens.

A token carries the sort key of the last row served and a fingerprint of the
filters and ordering it was issued for. It is signed with SECRET_KEY, so a
tampered token, or one replayed with other filters, is refused with
`invalid_page_token`. Pages are `WHERE (sort…, id) after (last…)`, never
OFFSET, so rows inserted or deleted between pages cause no duplicates or gaps
among the rows that existed when the first page was read.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Protocol

from django.core import signing
from django.db.models import Q, QuerySet

from flownally_admin.errors import ApplicationError, ValidationFailed

_SALT = "flownally.api.page-token"
_INTEGER = re.compile(r"(-?)0*([0-9]+)")


class InvalidPageToken(ApplicationError):
    code = "invalid_page_token"
    default_detail = "The page token is not valid, or was issued for other filters or ordering."


@dataclass(frozen=True)
class KeysetOrdering:
    """Columns (or annotations) that give a total order; the last must be unique (the id)."""

    fields: tuple[str, ...]
    descending: bool = False

    def order_by(self) -> list[str]:
        sign = "-" if self.descending else ""
        return [f"{sign}{name}" for name in self.fields]

    def after(self, values: list) -> Q:
        """Rows strictly after `values` in this ordering (a lexicographic row comparison)."""
        op = "lt" if self.descending else "gt"
        clauses = []
        for position, name in enumerate(self.fields):
            equal = {prior: values[i] for i, prior in enumerate(self.fields[:position])}
            clauses.append(Q(**equal, **{f"{name}__{op}": values[position]}))
        return reduce(or_, clauses)

    def through(self, values: list) -> Q:
        """Rows up to `values` on the first column (ties included): a prefix of this
        ordering that its index can stop scanning at."""
        op = "gte" if self.descending else "lte"
        return Q(**{f"{self.fields[0]}__{op}": values[0]})


class Refinement(Protocol):
    """A filter that can be applied in two ways (see `paginate`)."""

    def q(self) -> Q:
        """The filter as SQL, for any page."""

    def probe(self, ordered: QuerySet, ordering: KeysetOrdering, needed: int) -> list | None:
        """The pks of the first `needed` matching rows of `ordered` (sorted by `ordering`),
        if they can be found cheaply among its first rows; None when that does not settle
        it."""


@dataclass(frozen=True)
class Page:
    items: list
    next_page_token: str | None


def parse_page_size(raw: str | None, *, default: int, maximum: int) -> int:
    """`pageSize`: an integer ≥ 1 in ASCII digits (`int()` would also take `５`, ` 5` and
    `+5`); values above the maximum are served as the maximum. Omitted: the default."""
    if raw is None:
        return default
    match = _INTEGER.fullmatch(raw)
    if match is None:
        raise ValidationFailed.single("pageSize", "invalid", "pageSize must be an integer.")
    sign, digits = match.groups()
    # Any long number is above the maximum (and int() refuses thousands of digits).
    size = int(digits) if len(digits) <= len(str(maximum)) else maximum + 1
    if sign:
        size = -size
    if size < 1:
        raise ValidationFailed.single("pageSize", "out_of_range", "pageSize must be at least 1.")
    return min(size, maximum)


def fingerprint(scope: dict) -> str:
    """A short digest of everything a token is bound to (tenant, resource, filters, order)."""
    canonical = json.dumps(scope, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def paginate(
    queryset: QuerySet,
    *,
    ordering: KeysetOrdering,
    page_size: int,
    page_token: str | None,
    bound_to: dict,
    refine: Refinement | None = None,
) -> Page:
    """One page of `queryset` in `ordering`, and the token for the next one (or None).

    `refine` is a further filter that the database may serve badly for this
    ordering (a substring search that matches half the rows: its index finds
    them all before the first page can be sorted). Its probe looks along the
    ordering first and only falls back to the SQL filter when that is not enough.
    """
    bound = fingerprint(bound_to)
    queryset = queryset.order_by(*ordering.order_by())
    if page_token:
        queryset = queryset.filter(ordering.after(_decode(page_token, bound, ordering)))
    if refine is not None:
        found = refine.probe(queryset, ordering, page_size + 1)
        queryset = queryset.filter(refine.q() if found is None else Q(pk__in=found))
    rows = list(queryset[: page_size + 1])
    if len(rows) <= page_size:
        return Page(rows, None)
    rows = rows[:page_size]
    last = rows[-1]
    values = [_plain(getattr(last, name)) for name in ordering.fields]
    token = signing.dumps({"k": values, "f": bound}, salt=_SALT, compress=True)
    return Page(rows, token)


def _decode(token: str, expected: str, ordering: KeysetOrdering) -> list:
    try:
        payload = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, ValueError):
        raise InvalidPageToken() from None
    if not isinstance(payload, dict) or payload.get("f") != expected:
        raise InvalidPageToken()
    values = payload.get("k")
    if not isinstance(values, list) or len(values) != len(ordering.fields):
        raise InvalidPageToken()
    return values


def _plain(value):
    """Sort-key values travel as JSON; datetimes as ISO strings, which lookups parse back."""
    return value.isoformat() if hasattr(value, "isoformat") else value
