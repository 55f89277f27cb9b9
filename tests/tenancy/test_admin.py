"""Service accounts and API keys in the admin: owners and admins only, each user's tenants only,
the token shown once, keys revoked rather than edited or deleted."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote
from django.contrib.sessions.models import Session
from rest_framework.test import APIClient

from flownally_admin.tenancy.models import ApiKey, ServiceAccount, hash_token
from flownally_admin.tenancy.scopes import ALL_SCOPES
from flownally_admin.tenancy.services import api_key_create
from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory, ServiceAccountFactory

pytestmark = pytest.mark.django_db

KEYS_URL = "/admin/tenancy/apikey/"
ACCOUNTS_URL = "/admin/tenancy/serviceaccount/"
TOKEN_RE = re.compile(r"fln_live_[A-Za-z0-9_-]{43}")


def _login(client, tenant, role):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return client


@pytest.fixture
def owner_client(client, tenant):
    return _login(client, tenant, "owner")


def _create_key(client, account, **data):
    return client.post(
        f"{KEYS_URL}add/",
        {"service_account": account.pk, "role": "admin", "scopes": list(ALL_SCOPES), **data},
    )


def _api(token):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def test_created_key_shows_its_token_once_and_stores_only_the_hash(owner_client, tenant):
    account = ServiceAccountFactory(tenant=tenant, name="crm-sync")

    response = _create_key(owner_client, account)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/tenancy/apikey/created.html"
    (token,) = TOKEN_RE.findall(response.content.decode())
    key = ApiKey.objects.get()
    assert (key.tenant_id, key.service_account_id, key.role) == (tenant.pk, account.pk, "admin")
    assert key.scopes == list(ALL_SCOPES)
    assert key.token_hash == hash_token(token)
    assert token.startswith(key.token_prefix)
    stored = str(ApiKey.objects.filter(pk=key.pk).values().get())
    assert token not in stored
    assert all(token not in str(session.get_decoded()) for session in Session.objects.all())
    assert all(token not in str(entry.__dict__) for entry in LogEntry.objects.all())
    assert LogEntry.objects.get().object_id == key.pk

    assert _api(token).get("/v1/tags").status_code == 200

    change_page = owner_client.get(f"{KEYS_URL}{key.pk}/change/")
    assert change_page.status_code == 200
    assert key.token_prefix in change_page.content.decode()
    assert token not in change_page.content.decode()


def test_add_form_offers_all_scopes_checked_and_takes_a_subset_and_expiry(owner_client, tenant):
    account = ServiceAccountFactory(tenant=tenant)
    page = owner_client.get(f"{KEYS_URL}add/").content.decode()
    for scope in ALL_SCOPES:
        assert re.search(rf'type="checkbox" name="scopes" value="{scope}"[^>]* checked', page)
    assert "_addanother" not in page
    assert "_continue" not in page

    response = _create_key(
        owner_client,
        account,
        role="agent",
        scopes=["tag:list"],
        expires_at_0="2099-01-31",
        expires_at_1="12:00:00",
    )

    assert response.status_code == 200
    key = ApiKey.objects.get()
    assert (key.role, key.scopes) == ("agent", ["tag:list"])
    assert key.expires_at.isoformat() == "2099-01-31T12:00:00+00:00"


def test_a_key_needs_at_least_one_scope(owner_client, tenant):
    response = _create_key(owner_client, ServiceAccountFactory(tenant=tenant), scopes=[])
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"scopes": ["This field is required."]}
    assert not ApiKey.objects.exists()


def test_keys_are_read_only_after_creation(owner_client, tenant, make_key):
    key, _ = make_key(tenant=tenant, role="agent")
    page = owner_client.get(f"{KEYS_URL}{key.pk}/change/").content.decode()
    assert 'name="role"' not in page
    assert 'name="_save"' not in page

    response = owner_client.post(f"{KEYS_URL}{key.pk}/change/", {"role": "owner"})

    assert response.status_code == 403
    key.refresh_from_db()
    assert key.role == "agent"


def test_keys_cannot_be_deleted(owner_client, tenant, make_key):
    key, _ = make_key(tenant=tenant)
    assert owner_client.get(f"{KEYS_URL}{key.pk}/delete/").status_code == 403
    assert owner_client.post(f"{KEYS_URL}{key.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = owner_client.get(KEYS_URL)
    assert "delete_selected" not in listing.content.decode()
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_revoke_action_confirms_then_revokes_and_reports_how_many(owner_client, tenant, make_key):
    key, token = make_key(tenant=tenant)
    _, other_token = make_key(tenant=tenant)
    already, _ = make_key(tenant=tenant)
    already.revoked_at = already.created_at
    already.save()
    selected = {"action": "revoke_selected", "_selected_action": [key.pk, already.pk]}

    confirmation = owner_client.post(KEYS_URL, selected)

    assert confirmation.status_code == 200
    assert "Revoke 2 API keys?" in confirmation.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None

    response = owner_client.post(KEYS_URL, {**selected, "post": "yes"}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Revoked 1 API key. 1 was already revoked."
    ]
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert LogEntry.objects.get(object_id=key.pk).get_change_message() == "Changed Revoked at."
    assert _api(token).get("/v1/tags").status_code == 401
    assert _api(other_token).get("/v1/tags").status_code == 200


def test_revoke_button_on_the_key_page(owner_client, tenant, make_key):
    key, token = make_key(tenant=tenant)
    revoke_url = f"{KEYS_URL}{quote(key.pk)}/revoke/"
    assert (
        f'href="{revoke_url}"' in owner_client.get(f"{KEYS_URL}{key.pk}/change/").content.decode()
    )
    assert "Revoke 1 API key?" in owner_client.get(revoke_url).content.decode()

    response = owner_client.post(revoke_url)

    assert response.status_code == 302
    assert response.url == f"{KEYS_URL}{quote(key.pk)}/change/"
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert _api(token).get("/v1/tags").status_code == 401
    page = owner_client.get(f"{KEYS_URL}{key.pk}/change/").content.decode()
    assert f'href="{revoke_url}"' not in page
    assert "revoked" in page


def test_changelist_shows_status_and_filters_by_revoked(owner_client, tenant, make_key, yesterday):
    active, _ = make_key(tenant=tenant)
    expired, _ = make_key(tenant=tenant, expires_at=yesterday)
    revoked, _ = make_key(tenant=tenant)
    revoked.revoked_at = yesterday
    revoked.save()

    listing = owner_client.get(KEYS_URL)
    statuses = {
        key.pk: listing.context["cl"].model_admin.status(key) for key in [active, expired, revoked]
    }
    assert statuses == {active.pk: "active", expired.pk: "expired", revoked.pk: "revoked"}

    def listed(query):
        return {key.pk for key in owner_client.get(KEYS_URL + query).context["cl"].result_list}

    assert listed("?revoked=yes") == {revoked.pk}
    assert listed("?revoked=no") == {active.pk, expired.pk}


def test_agents_do_not_see_service_accounts_or_keys(client, tenant, make_key):
    key, _ = make_key(tenant=tenant)
    _login(client, tenant, "agent")

    index = client.get("/admin/").content.decode()

    assert "/admin/tags/tag/" in index  # agents do reach the admin
    assert KEYS_URL not in index
    assert ACCOUNTS_URL not in index
    assert client.get(KEYS_URL).status_code == 403
    assert client.get(ACCOUNTS_URL).status_code == 403
    assert client.get(f"{KEYS_URL}{key.pk}/change/").status_code == 403
    assert client.get(f"{KEYS_URL}{key.pk}/revoke/").status_code == 403
    assert client.post(f"{KEYS_URL}{key.pk}/revoke/").status_code == 403
    assert _create_key(client, key.service_account).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    assert ApiKey.objects.count() == 1


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(KEYS_URL)
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_a_user_sees_only_keys_and_accounts_of_tenants_they_administer(
    client, tenant, other_tenant, make_key
):
    """Admin of `tenant`, agent of `other_tenant`: the second is as foreign as any other."""
    membership = MembershipFactory(tenant=tenant, role="admin")
    MembershipFactory(user=membership.user, tenant=other_tenant, role="agent")
    client.force_login(membership.user)
    ours, _ = make_key(tenant=tenant)
    theirs, _ = make_key(tenant=other_tenant)
    ours.service_account.name, theirs.service_account.name = "our-robot", "their-robot"
    ours.service_account.save()
    theirs.service_account.save()

    keys = client.get(KEYS_URL)
    assert list(keys.context["cl"].result_list) == [ours]
    assert theirs.token_prefix not in keys.content.decode()
    assert "their-robot" not in keys.content.decode()
    assert other_tenant.pk not in keys.content.decode()  # nor in the tenant filter
    accounts = client.get(ACCOUNTS_URL)
    assert list(accounts.context["cl"].result_list) == [ours.service_account]
    assert "their-robot" not in accounts.content.decode()
    assert client.get(f"{KEYS_URL}{theirs.pk}/change/").status_code == 302
    assert client.get(f"{ACCOUNTS_URL}{theirs.service_account.pk}/change/").status_code == 302
    assert client.post(f"{KEYS_URL}{theirs.pk}/revoke/").status_code == 302
    client.post(
        KEYS_URL, {"action": "revoke_selected", "_selected_action": [theirs.pk], "post": "yes"}
    )
    theirs.refresh_from_db()
    assert theirs.revoked_at is None

    add_page = client.get(f"{KEYS_URL}add/").content.decode()
    assert "our-robot" in add_page
    assert "their-robot" not in add_page
    response = _create_key(client, theirs.service_account)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "service_account": [
            "Select a valid choice. That choice is not one of the available choices."
        ]
    }
    assert ApiKey.objects.filter(tenant=other_tenant).count() == 1


def test_service_account_is_created_through_the_service(owner_client, tenant, other_tenant):
    response = owner_client.post(
        f"{ACCOUNTS_URL}add/", {"tenant": tenant.pk, "name": " crm-sync ", **_no_keys()}
    )
    assert response.status_code == 302
    account = ServiceAccount.objects.get()
    assert (account.tenant_id, account.name) == (tenant.pk, "crm-sync")

    duplicate = owner_client.post(
        f"{ACCOUNTS_URL}add/", {"tenant": tenant.pk, "name": "crm-sync", **_no_keys()}
    )
    assert duplicate.context["adminform"].form.errors == {
        "name": ["A service account named 'crm-sync' already exists."]
    }
    too_long = owner_client.post(
        f"{ACCOUNTS_URL}add/", {"tenant": tenant.pk, "name": "x" * 101, **_no_keys()}
    )
    assert too_long.context["adminform"].form.errors == {
        "name": ["A service account name has at most 100 characters."]
    }
    foreign = owner_client.post(
        f"{ACCOUNTS_URL}add/", {"tenant": other_tenant.pk, "name": "sneaky", **_no_keys()}
    )
    assert foreign.status_code == 200
    assert "tenant" in foreign.context["adminform"].form.errors
    assert ServiceAccount.objects.count() == 1


def test_service_account_rename_keeps_the_tenant(owner_client, tenant, other_tenant):
    account = ServiceAccountFactory(tenant=tenant, name="old")
    ServiceAccountFactory(tenant=tenant, name="taken")
    url = f"{ACCOUNTS_URL}{account.pk}/change/"

    clash = owner_client.post(url, {"name": "taken", **_no_keys()})
    assert clash.context["adminform"].form.errors == {
        "name": ["A service account named 'taken' already exists."]
    }
    response = owner_client.post(url, {"name": "new", "tenant": other_tenant.pk, **_no_keys()})

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.tenant_id) == ("new", tenant.pk)


def test_service_accounts_list_active_keys_and_show_them_without_tokens(
    owner_client, tenant, yesterday
):
    account = ServiceAccountFactory(tenant=tenant)
    keys = [api_key_create(service_account=account) for _ in range(4)]
    (expired, _), (revoked, _) = keys[2], keys[3]
    expired.expires_at = yesterday
    expired.save()
    revoked.revoked_at = yesterday
    revoked.save()

    listing = owner_client.get(ACCOUNTS_URL)
    (row,) = listing.context["cl"].result_list
    assert row.active_keys == 2
    assert "delete_selected" not in listing.content.decode()

    page = owner_client.get(f"{ACCOUNTS_URL}{account.pk}/change/").content.decode()
    for key, token in keys:
        assert key.token_prefix in page
        assert token not in page
    assert f"{KEYS_URL}add/?service_account={account.pk}" in page
    assert owner_client.get(f"{ACCOUNTS_URL}{account.pk}/delete/").status_code == 403


def _no_keys():
    """The management form of the read-only keys inline, which every account form posts."""
    return {"api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0"}


CHANGELISTS = [
    "/admin/contacts/contact/",
    "/admin/contacts/contactimport/",
    "/admin/tags/tag/",
    "/admin/customfields/customfielddefinition/",
    "/admin/tenancy/serviceaccount/",
    "/admin/tenancy/apikey/",
]


@pytest.mark.postgres
@pytest.mark.parametrize("url", CHANGELISTS)
def test_no_filter_value_of_a_tenant_scoped_list_reaches_postgresql_with_a_nul(owner_client, url):
    """PostgreSQL refuses to compare text with a NUL (a DataError, which was a 500)."""
    filters = owner_client.get(url).context["cl"].filter_specs
    parameters = {name for spec in filters for name in spec.expected_parameters()}
    assert "tenant" in parameters
    for name in sorted(parameters | {"q"}):
        for value in ["\x00", "tn_\x00", "2026-01-01\x00"]:
            response = owner_client.get(url, {name: value})
            assert (response.status_code, response["Location"]) == (302, f"{url}?"), name


@pytest.mark.postgres
def test_a_nul_in_an_autocomplete_search_matches_nothing(owner_client, tenant):
    TagFactory(tenant=tenant, name="VIP")
    query = {"app_label": "contacts", "model_name": "contact", "field_name": "tags"}
    response = owner_client.get("/admin/autocomplete/", {**query, "term": "V\x00"})
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert owner_client.get("/admin/autocomplete/", {**query, "term": "V"}).json()["results"]
