"""Get contacts and count contacts: operations 1 and 3."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from contacts.selectors import contact_queryset, contact_search
from flownally_admin.api.pagination import KeysetOrdering
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory
from tests.problems import assert_problem, violations

pytestmark = pytest.mark.django_db


def _names(client, **params):
    response = client.get("/v1/contacts", params)
    assert response.status_code == 200, response.content
    return [c["name"] for c in response.json()["contacts"]]


def _all_pages(client, page_size, **params):
    names, token = [], None
    while True:
        query = {**params, "pageSize": page_size, **({"pageToken": token} if token else {})}
        body = client.get("/v1/contacts", query).json()
        names += [c["name"] for c in body["contacts"]]
        token = body.get("nextPageToken")
        if not token:
            return names


@pytest.fixture
def people(make_contact, tenant, vip, renewal):
    """Five contacts with one distinguishing trait each."""
    gold = TagFactory(tenant=tenant, name="Gold member")
    return {
        "ada": make_contact(
            name="Ada Lovelace",
            identities=[{"channel": "whatsapp", "externalId": "+14155550123"}],
            tagIds=[vip.pk],
            customFields={"cf_email": "ada@engine.io", renewal.public_id: "2027-01-01"},
        ),
        "bob": make_contact(
            name="Bob",
            identities=[{"channel": "sms", "externalId": "+442079460958"}],
            customFields={"cf_phone": "+33142685300"},
        ),
        "cyd": make_contact(
            name="Cyd",
            identities=[{"channel": "email", "externalId": "cyd@x.org"}],
            tagIds=[gold.pk],
        ),
        "dee": make_contact(
            name="Dee",
            identities=[{"channel": "messenger", "externalId": "4155550000"}],
            customFields={renewal.public_id: "2027-01-01"},
        ),
        "eve": make_contact(name="eve", tagIds=[vip.pk, gold.pk]),
    }


def test_default_list_is_newest_first(client_a, people):
    assert _names(client_a) == ["eve", "Dee", "Cyd", "Bob", "Ada Lovelace"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("lovelace", ["Ada Lovelace"]),  # name, any case
        ("ENGINE.IO", ["Ada Lovelace"]),  # cf_email
        ("+3314268", ["Bob"]),  # cf_phone
        ("(415) 555", ["Ada Lovelace"]),  # whatsapp identity, typed like a phone number
        ("2079460958", ["Bob"]),  # sms identity
        ("cyd@x.org", []),  # e-mail identities are not searched
        ("4155550000", []),  # nor messenger ids
        ("vip", ["eve", "Ada Lovelace"]),  # tag names
        ("member", ["eve", "Cyd"]),
        ("nobody", []),
        ("%", []),
        ("_", []),
    ],
)
@pytest.mark.parametrize(
    ("probe_rows", "probe_max_rows"),
    [(2000, 40_000), (2, 40_000), (2, 2)],
    ids=["probe", "probe-twice-or-index", "index"],
)
def test_search(client_a, people, search, expected, probe_rows, probe_max_rows, monkeypatch):
    """Every way a search is answered: along the list order (in a first window, or a
    second one sized by the first's matches), or by the trigram index."""
    monkeypatch.setattr("contacts.selectors.SEARCH_PROBE_ROWS", probe_rows)
    monkeypatch.setattr("contacts.selectors.SEARCH_PROBE_MAX_ROWS", probe_max_rows)
    assert _names(client_a, search=search) == expected
    assert _all_pages(client_a, 1, search=search) == expected


def test_custom_field_filters_are_exact_and_anded(client_a, people, renewal):
    key = f"customFields[{renewal.public_id}]"
    assert _names(client_a, **{key: "2027-01-01"}) == ["Dee", "Ada Lovelace"]
    assert _names(client_a, **{key: "2027-01-01", "customFields[cf_email]": "ada@engine.io"}) == [
        "Ada Lovelace"
    ]
    assert _names(client_a, **{"customFields[cf_email]": "ADA@engine.io"}) == []  # case-sensitive
    assert _names(client_a, **{key: "2027-1-1"}) == []


def test_custom_field_filter_on_unknown_or_property_field_is_422(client_a, tenant):
    prop = CustomFieldDefinitionFactory(tenant=tenant, entity_type="property")
    response = client_a.get(
        "/v1/contacts", {f"customFields[{prop.public_id}]": "x", "customFields[cf_nope]": "y"}
    )
    problem = assert_problem(response, 422, "validation_failed")
    assert sorted(violations(problem)) == sorted(
        [
            (f"customFields[{prop.public_id}]", "unknown_custom_field"),
            ("customFields[cf_nope]", "unknown_custom_field"),
        ]
    )


def test_tag_filter_is_or_in_both_spellings(client_a, people, vip, tenant):
    gold = tenant.tags.get(name="Gold member")
    assert _names(client_a, tagIds=vip.pk) == ["eve", "Ada Lovelace"]
    assert _names(client_a, tagIds=f"{vip.pk},{gold.pk}") == ["eve", "Cyd", "Ada Lovelace"]
    response = client_a.get(f"/v1/contacts?tagIds={vip.pk}&tagIds={gold.pk}")
    assert [c["name"] for c in response.json()["contacts"]] == ["eve", "Cyd", "Ada Lovelace"]
    assert _names(client_a, tagIds="tag_01HZZZZZZZZZZZZZZZZZZZZZZZ") == []


def test_channel_filter_is_or(client_a, people):
    assert _names(client_a, channels="whatsapp") == ["Ada Lovelace"]
    assert _names(client_a, channels="sms,email") == ["Cyd", "Bob"]
    response = client_a.get("/v1/contacts?channels=sms&channels=messenger")
    assert [c["name"] for c in response.json()["contacts"]] == ["Dee", "Bob"]


def test_filters_combine_with_and(client_a, people, vip):
    assert _names(client_a, tagIds=vip.pk, channels="whatsapp", search="ada") == ["Ada Lovelace"]
    assert _names(client_a, tagIds=vip.pk, channels="sms") == []


def test_archived_is_tri_state(client_a, people):
    client_a.post(f"/v1/contacts/{people['bob']['id']}/archive")
    assert _names(client_a) == ["eve", "Dee", "Cyd", "Ada Lovelace"]
    assert _names(client_a, archived="false") == ["eve", "Dee", "Cyd", "Ada Lovelace"]
    assert _names(client_a, archived="true") == ["Bob"]
    assert _names(client_a, archived="true", search="bob") == ["Bob"]


def test_created_window(client_a, tenant):
    now = timezone.now()
    for days in (3, 2, 1):
        Contact.objects.create(
            tenant=tenant, name=f"{days}d", created_at=now - timedelta(days=days)
        )
    after = (now - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    before = (now - timedelta(days=1)).isoformat()
    assert _names(client_a, createdAfter=after) == ["1d", "2d"]  # inclusive
    assert _names(client_a, createdBefore=before) == ["2d", "3d"]  # exclusive
    assert _names(client_a, createdAfter=after, createdBefore=before) == ["2d"]


def test_updated_window(client_a, tenant):
    now = timezone.now()
    for days in (3, 2, 1):
        Contact.objects.create(
            tenant=tenant, name=f"{days}d", updated_at=now - timedelta(days=days)
        )
    after = (now - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    before = (now - timedelta(days=1)).isoformat()
    assert _names(client_a, updatedAfter=after) == ["1d", "2d"]  # inclusive
    assert _names(client_a, updatedBefore=before) == ["2d", "3d"]  # exclusive
    assert _names(client_a, updatedAfter=after, updatedBefore=before) == ["2d"]


@pytest.mark.parametrize(
    "spelled",
    [
        "2026-01-01T10:00:00Z",
        "2026-01-01t10:00:00z",
        "2026-01-01T10:00:00.000000001Z",
        "2026-01-01T11:30:00+01:30",
        "2026-01-01T00:01:00-09:59",
        "2026-01-02T01:59:00+15:59",
    ],
)
def test_timestamps_are_rfc_3339_in_any_offset_postgresql_takes(client_a, tenant, spelled):
    ten = datetime(2026, 1, 1, 10, tzinfo=UTC)
    for name, minutes in [("before", -1), ("at", 0), ("after", 1)]:
        Contact.objects.create(
            tenant=tenant, name=name, created_at=ten + timedelta(minutes=minutes)
        )
    assert _names(client_a, createdAfter=spelled) == ["after", "at"]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2026-W01-1T00:00Z", "invalid"),  # an ISO 8601 week date, not RFC 3339
        ("20260101T000000Z", "invalid"),  # ISO 8601's basic format
        ("2026-01-01T00:00Z", "invalid"),  # no seconds
        ("2026-01-01 00:00:00Z", "invalid"),
        ("２０２６-01-01T00:00:00Z", "invalid"),  # full-width digits
        ("2026-01-01T00:00:60Z", "invalid"),
        ("2026-01-01T00:00:00+24:00", "invalid"),
        ("", "invalid"),
        ("2026-01-01T00:00:00+16:00", "out_of_range"),  # PostgreSQL refuses such offsets
        ("2026-01-01T00:00:00-23:59", "out_of_range"),
        ("0001-01-01T00:00:00+01:00", "out_of_range"),  # before year 1 in UTC
        ("9999-12-31T23:59:59-01:00", "out_of_range"),  # after year 9999 in UTC
    ],
)
@pytest.mark.parametrize("name", ["createdAfter", "createdBefore", "updatedAfter", "updatedBefore"])
def test_a_timestamp_that_is_not_strict_rfc_3339_or_out_of_range_is_422(
    client_a, name, value, code
):
    problem = assert_problem(client_a.get("/v1/contacts", {name: value}), 422, "validation_failed")
    assert violations(problem) == [(name, code)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"archived": "yes"}, [("archived", "invalid")]),
        ({"archived": ""}, [("archived", "invalid")]),
        ({"archived": "True"}, [("archived", "invalid")]),
        ({"channels": ""}, [("channels", "invalid_choice")]),
        ({"channels": "sms,"}, [("channels", "invalid_choice")]),
        ({"orderBy": ""}, [("orderBy", "invalid_choice")]),
        ({"channels": "whatsapp,fax"}, [("channels", "invalid_choice")]),
        ({"createdAfter": "2026-01-01"}, [("createdAfter", "invalid")]),
        ({"createdBefore": "2026-01-01T00:00:00"}, [("createdBefore", "invalid")]),
        ({"createdAfter": "soon"}, [("createdAfter", "invalid")]),
        ({"orderBy": "email"}, [("orderBy", "invalid_choice")]),
        ({"orderDirection": "up"}, [("orderDirection", "invalid_choice")]),
        ({"pageSize": "0"}, [("pageSize", "out_of_range")]),
        ({"pageSize": "many"}, [("pageSize", "invalid")]),
        ({"pageSize": ""}, [("pageSize", "invalid")]),
        ({"pageSize": "５"}, [("pageSize", "invalid")]),  # a full-width digit
        ({"pageSize": " 5"}, [("pageSize", "invalid")]),
        ({"pageSize": "+5"}, [("pageSize", "invalid")]),
        ({"pageSize": "-5"}, [("pageSize", "out_of_range")]),
        ({"pageSize": "-" + "9" * 5000}, [("pageSize", "out_of_range")]),
        ({"search": "s" * 201}, [("search", "too_long")]),
        ({"search": "  " + "s" * 200 + "  "}, []),  # trimmed first
    ],
)
def test_invalid_parameters_are_422(client_a, params, expected):
    response = client_a.get("/v1/contacts", params)
    if not expected:
        assert response.status_code == 200
        return
    problem = assert_problem(response, 422, "validation_failed")
    assert violations(problem) == expected


def test_every_bad_filter_is_named_at_once(client_a):
    problem = assert_problem(
        client_a.get(
            "/v1/contacts",
            {"archived": "no", "channels": "fax", "createdAfter": "today", "orderBy": "email"},
        ),
        422,
        "validation_failed",
    )
    assert sorted(violations(problem)) == [
        ("archived", "invalid"),
        ("channels", "invalid_choice"),
        ("createdAfter", "invalid"),
        ("orderBy", "invalid_choice"),
    ]
    assert {e["field"]: e["message"] for e in problem["errors"]} == {
        "archived": "archived must be true or false.",
        "channels": "channels must be among: whatsapp, messenger, instagram, livechat, sms, email.",
        "createdAfter": "createdAfter must be an RFC 3339 timestamp with a time zone.",
        "orderBy": "orderBy must be one of: createdAt, updatedAt, name.",
    }


def test_a_long_page_size_is_served_as_the_maximum(client_a, tenant):
    Contact.objects.bulk_create(Contact(tenant=tenant, name=f"c{i:03d}") for i in range(201))
    for size in ["9" * 5000, "0" * 5000 + "7"]:
        body = client_a.get("/v1/contacts", {"pageSize": size}).json()
        assert len(body["contacts"]) == (200 if size.startswith("9") else 7)


@pytest.mark.parametrize(
    ("order_by", "direction", "expected"),
    [
        ("name", "asc", ["Ada Lovelace", "Bob", "Cyd", "Dee", "eve"]),
        ("name", "desc", ["eve", "Dee", "Cyd", "Bob", "Ada Lovelace"]),
        ("createdAt", "asc", ["Ada Lovelace", "Bob", "Cyd", "Dee", "eve"]),
    ],
)
def test_ordering(client_a, people, order_by, direction, expected):
    assert _names(client_a, orderBy=order_by, orderDirection=direction) == expected


def test_ordering_by_updated_at(client_a, people):
    client_a.patch(f"/v1/contacts/{people['bob']['id']}", {"name": "Bob 2"}, format="json")
    assert _names(client_a, orderBy="updatedAt")[0] == "Bob 2"
    assert _names(client_a, orderBy="updatedAt", orderDirection="asc")[-1] == "Bob 2"


def test_ties_are_broken_by_id_in_the_same_direction(client_a, tenant):
    same_time = timezone.now()
    ids = sorted(
        Contact.objects.create(tenant=tenant, name="Twin", created_at=same_time).pk
        for _ in range(5)
    )
    for direction, expected in [("asc", ids), ("desc", ids[::-1])]:
        body = client_a.get("/v1/contacts", {"orderDirection": direction, "pageSize": 2}).json()
        seen, token = [c["id"] for c in body["contacts"]], body.get("nextPageToken")
        while token:
            body = client_a.get(
                "/v1/contacts", {"orderDirection": direction, "pageSize": 2, "pageToken": token}
            ).json()
            seen += [c["id"] for c in body["contacts"]]
            token = body.get("nextPageToken")
        assert seen == expected


def test_page_size_default_50_max_200(client_a, tenant):
    Contact.objects.bulk_create(Contact(tenant=tenant, name=f"c{i:03d}") for i in range(201))
    assert len(client_a.get("/v1/contacts").json()["contacts"]) == 50
    body = client_a.get("/v1/contacts", {"pageSize": 1000}).json()
    assert len(body["contacts"]) == 200 and "nextPageToken" in body


@pytest.mark.parametrize("order_by", ["createdAt", "name", "updatedAt"])
def test_pages_are_stable_under_concurrent_inserts_and_deletes(client_a, make_contact, order_by):
    originals = [make_contact(name=f"m{i:02d}") for i in range(9)]
    first = client_a.get("/v1/contacts", {"pageSize": 4, "orderBy": order_by}).json()
    make_contact(name="new-1")
    client_a.delete(f"/v1/contacts/{originals[4]['id']}")
    make_contact(name="m035")
    seen, token = [c["name"] for c in first["contacts"]], first["nextPageToken"]
    while token:
        body = client_a.get(
            "/v1/contacts", {"pageSize": 4, "orderBy": order_by, "pageToken": token}
        ).json()
        seen += [c["name"] for c in body["contacts"]]
        token = body.get("nextPageToken")
    assert len(seen) == len(set(seen))
    survivors = {c["name"] for i, c in enumerate(originals) if i != 4}
    assert survivors <= set(seen)


def test_page_token_is_bound_to_filters_and_ordering(client_a, make_contact):
    for i in range(3):
        make_contact(name=f"c{i}")
    token = client_a.get("/v1/contacts", {"pageSize": 1, "search": "c"}).json()["nextPageToken"]
    assert (
        client_a.get("/v1/contacts", {"pageSize": 1, "search": "c", "pageToken": token}).status_code
        == 200
    )
    for other in [
        {"search": "c1"},
        {"search": "c", "orderBy": "name"},
        {"search": "c", "orderDirection": "asc"},
        {"search": "c", "archived": "true"},
    ]:
        assert_problem(
            client_a.get("/v1/contacts", {**other, "pageToken": token}), 400, "invalid_page_token"
        )
    assert_problem(
        client_a.get("/v1/contacts", {"search": "c", "pageToken": token[:-3] + "abc"}),
        400,
        "invalid_page_token",
    )


def test_page_token_is_bound_to_the_updated_window_however_it_is_spelled(client_a, make_contact):
    for i in range(3):
        make_contact(name=f"c{i}")
    after = "2020-01-01T00:00:00Z"
    token = client_a.get("/v1/contacts", {"pageSize": 1, "updatedAfter": after}).json()[
        "nextPageToken"
    ]
    for same in [after, "2020-01-01T01:00:00+01:00", "2020-01-01t00:00:00.000z"]:
        response = client_a.get(
            "/v1/contacts", {"pageSize": 1, "updatedAfter": same, "pageToken": token}
        )
        assert response.status_code == 200, response.content
    for other in [
        {},
        {"updatedAfter": "2020-01-01T00:00:01Z"},
        {"updatedAfter": after, "updatedBefore": "2030-01-01T00:00:00Z"},
        {"createdAfter": after},
    ]:
        assert_problem(
            client_a.get("/v1/contacts", {**other, "pageToken": token}), 400, "invalid_page_token"
        )


def test_page_token_is_bound_to_list_filters_in_any_order(client_a, make_contact, vip, tenant):
    gold = TagFactory(tenant=tenant, name="Gold")
    for i in range(3):
        make_contact(
            name=f"c{i}",
            tagIds=[vip.pk],
            identities=[{"channel": "sms", "externalId": f"+1415555010{i}"}],
        )
    query = {"pageSize": 1, "tagIds": f"{vip.pk},{gold.pk}", "channels": "sms,email"}
    token = client_a.get("/v1/contacts", query).json()["nextPageToken"]
    same = f"pageSize=1&tagIds={gold.pk}&tagIds={vip.pk}&channels=email&channels=sms"
    assert client_a.get(f"/v1/contacts?{same}&pageToken={token}").status_code == 200
    assert_problem(
        client_a.get("/v1/contacts", {**query, "channels": "sms", "pageToken": token}),
        400,
        "invalid_page_token",
    )


def test_list_runs_a_fixed_number_of_queries(client_a, tenant, vip, renewal):
    def queries_for_page(page_size):
        with CaptureQueriesContext(connection) as captured:
            response = client_a.get("/v1/contacts", {"pageSize": page_size, "search": "vip"})
        assert response.status_code == 200
        return len(captured)

    for i in range(30):
        contact = Contact.objects.create(
            tenant=tenant, name=f"vip {i}", custom_fields={renewal.public_id: "2026-01-01"}
        )
        contact.identities.create(tenant=tenant, channel="sms", external_id=f"+1415555{i:04d}")
        contact.tag_links.create(tenant=tenant, tag=vip)
    queries_for_page(1)  # the key's first use records lastUsedAt and reads the definitions
    # key, tags matching the search, probe window, its tag links, page (with its
    # identities and tags)
    assert queries_for_page(2) == queries_for_page(30) == 5


# --- count --------------------------------------------------------------------------


def test_count_reads_only_archived(client_a, people):
    client_a.post(f"/v1/contacts/{people['bob']['id']}/archive")
    client_a.delete(f"/v1/contacts/{people['cyd']['id']}")
    assert client_a.get("/v1/contacts/count").json() == {"count": 3}
    assert client_a.get(
        "/v1/contacts/count", {"archived": "false", "search": "bob", "tagIds": "x"}
    ).json() == {"count": 3}
    assert client_a.get("/v1/contacts/count", {"archived": "true"}).json() == {"count": 1}
    for bad in ["1", "", "TRUE"]:
        problem = assert_problem(
            client_a.get("/v1/contacts/count", {"archived": bad}), 422, "validation_failed"
        )
        assert violations(problem) == [("archived", "invalid")]


@pytest.mark.parametrize(
    "query", ["tagIds=%00", "channels=sms%00", "customFields%5Bcf_email%5D=a%00", "search=x%00"]
)
def test_nul_in_any_parameter_is_422_not_a_500(client_a, query):
    name = query.split("=")[0].replace("%5B", "[").replace("%5D", "]")
    problem = assert_problem(client_a.get(f"/v1/contacts?{query}"), 422, "validation_failed")
    assert violations(problem) == [(name, "invalid")]


def test_identities_come_oldest_first_and_tags_by_name_ignoring_case(
    client_a, make_contact, tenant
):
    tags = [TagFactory(tenant=tenant, name=n) for n in ["beta", "Alpha", "gamma"]]
    contact = make_contact(
        name="Ada",
        identities=[
            {"channel": "sms", "externalId": "+14155550100"},
            {"channel": "email", "externalId": "ada@x.org"},
            {"channel": "instagram", "externalId": "ada.l"},
        ],
        tagIds=[t.pk for t in tags],
    )
    Contact.objects.get(pk=contact["id"]).identities.filter(channel="email").update(
        created_at=timezone.now() - timedelta(days=1)
    )
    for body in (
        client_a.get(f"/v1/contacts/{contact['id']}").json(),
        client_a.get("/v1/contacts").json()["contacts"][0],
    ):
        assert [i["channel"] for i in body["identities"]] == ["email", "sms", "instagram"]
        assert [t["name"] for t in body["tags"]] == ["Alpha", "beta", "gamma"]
        assert body["identities"][0]["metadata"] == {}


def test_an_e_mail_search_matches_the_whole_address_not_just_its_local_part(client_a, make_contact):
    make_contact(name="At engine", customFields={"cf_email": "ada.l@engine.io"})
    make_contact(name="Elsewhere", customFields={"cf_email": "ada.l@other.org"})
    make_contact(name="Short", customFields={"cf_email": "al@engine.io"})
    assert _names(client_a, search="ada.l@engine.io") == ["At engine"]
    assert _names(client_a, search="ADA.L@") == ["Elsewhere", "At engine"]
    assert _names(client_a, search="l@engine.io") == ["Short", "At engine"]
    assert _names(client_a, search="@engine.io") == ["Short", "At engine"]


def test_the_probe_looks_again_as_far_as_the_first_window_s_matches_say(tenant, monkeypatch):
    monkeypatch.setattr("contacts.selectors.SEARCH_PROBE_ROWS", 4)
    start = timezone.now() - timedelta(days=1)
    names = {29: "Zeta 29", 20: "Zeta 20", 15: "Zeta 15"}
    for n in range(30):
        Contact.objects.create(
            tenant=tenant,
            name=names.get(n, f"Other {n}"),
            search_text=names.get(n, f"other {n}").lower(),
            created_at=start + timedelta(minutes=n),
        )
    ordering = KeysetOrdering(fields=("created_at", "id"), descending=True)
    newest_first = contact_queryset(tenant=tenant).filter(archived=False)
    newest_first = newest_first.order_by(*ordering.order_by())
    search = contact_search(tenant_ids=[tenant.pk], term="zeta")

    # 1 match in the first 4 rows: 3 need about 12, and half again: 18 rows, all 3 there.
    found = search.probe(newest_first, ordering, 3)
    assert [Contact.objects.get(pk=pk).name for pk in found] == ["Zeta 29", "Zeta 20", "Zeta 15"]
    monkeypatch.setattr("contacts.selectors.SEARCH_PROBE_MAX_ROWS", 17)
    assert search.probe(newest_first, ordering, 3) is None  # the trigram index's turn
    assert (
        contact_search(tenant_ids=[tenant.pk], term="nowhere").probe(newest_first, ordering, 3)
        is None
    )
