"""Exports in the admin: from the contacts list (its search and filters, or the selected
rows), the job page, the file, the list of exports and the home page's panel; who may.

The worker runs in-process (Celery eager, on commit), as in test_api.py.
"""

import csv
import io
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode

from contacts.admin.contacts import ContactAdmin
from contacts.admin.export import (
    TRANSLATED_PARAMETERS,
    UNTRANSLATABLE_PARAMETERS,
    VIEW_PARAMETERS,
)
from contacts.models import Contact
from contacts.services import contact_create, contact_delete
from events.models import Event
from exports.models import ContactExport
from exports.services import contact_export_create
from tests.factories.tenancy import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CONTACTS = "/admin/contacts/contact/"
EXPORT = "/admin/contacts/contact/export/"
EXPORTS = "/admin/exports/contactexport/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # export files land here


@pytest.fixture
def admin_user(tenant):
    return MembershipFactory(
        tenant=tenant, role="admin", user__first_name="Grace", user__last_name="Admin"
    ).user


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _job(export) -> str:
    return f"{EXPORTS}{quote(export.pk)}/change/"


def _shown(client, query: str) -> set[str]:
    """The ids of the contacts the changelist lists for `query` (every page)."""
    response = client.get(f"{CONTACTS}?{query}&all=")
    assert response.status_code == 200
    return {contact.pk for contact in response.context["cl"].result_list}


def _start(client, django_capture_on_commit_callbacks, query: str, **post) -> ContactExport:
    """The Export page for `query`, then "Start export"; returns the export it made."""
    page = client.get(f"{EXPORT}?{query}")
    assert page.status_code == 200
    assert page.context["reasons"] == []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{EXPORT}?{query}", post)
    export = ContactExport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _job(export)
    export.refresh_from_db()
    return export


def _rows(client, export) -> list[dict]:
    response = client.get(f"{EXPORTS}{quote(export.pk)}/file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="contacts-{export.created_at:%Y%m%d-%H%M%S}-{export.pk}.csv"'
    )
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


# --- the list's search and filters --------------------------------------------------------


def _queries(people, tenant):
    ada = people["ada"]
    return {
        "everything shown": ("", {"ada", "grace"}),
        "archived": ("state=archived", {"linus"}),
        "search by name": ("q=+lovelace+", {"ada"}),
        "search by phone": ("q=(415) 555-0100", {"ada"}),
        "search by tag name": ("q=beta", {"ada"}),
        "channel": ("channel=messenger", {"grace"}),
        "channel archived": ("channel=sms&state=archived", {"linus"}),
        "tag": (f"tag={people['vip'].pk}", {"ada"}),
        "created": (
            urlencode(
                {
                    "created_at__gte": str(ada.created_at + timedelta(seconds=30)),
                    "created_at__lt": str(timezone.now() + timedelta(days=1)),
                }
            ),
            {"grace"},
        ),
        "tenant, search, page, order": (f"tenant={tenant.pk}&q=grace&o=2&p=1", {"grace"}),
        "nothing matches": ("q=nobody-is-called-this", set()),
    }


@pytest.mark.parametrize(
    "case",
    [
        "everything shown",
        "archived",
        "search by name",
        "search by phone",
        "search by tag name",
        "channel",
        "channel archived",
        "tag",
        "created",
        "tenant, search, page, order",
        "nothing matches",
    ],
)
def test_an_export_of_the_list_holds_exactly_the_contacts_it_shows(
    staff_client, django_capture_on_commit_callbacks, people, tenant, admin_user, case
):
    query, expected = _queries(people, tenant)[case]
    shown = _shown(staff_client, query)
    assert shown == {people[name].pk for name in expected}

    export = _start(staff_client, django_capture_on_commit_callbacks, query)

    assert export.status == "completed"
    assert (export.tenant_id, export.source, export.created_by) == (
        tenant.pk,
        "admin",
        admin_user.pk,
    )
    assert export.contact_ids is None
    assert [row["id"] for row in _rows(staff_client, export)] == [
        contact.pk
        for contact in sorted(
            Contact.objects.filter(pk__in=shown), key=lambda c: (c.created_at, c.pk)
        )
    ]


def test_the_filters_are_the_api_members(
    staff_client, django_capture_on_commit_callbacks, people, tenant
):
    query = (
        f"q=ada&state=archived&channel=whatsapp&tag={people['vip'].pk}"
        "&created_at__gte=2026-05-01+00:00:00%2B02:00&created_at__lt=2026-06-01"
    )
    page = staff_client.get(f"{EXPORT}?{query}")
    assert page.context["contents"] == [
        "Archived contacts",
        "Matching the search “ada”",
        "With an identity on WhatsApp",
        "Tagged vip",
        "Created at or after April 30, 2026, 10 p.m.",
        "Created before June 1, 2026, midnight",
    ]
    assert page.context["tenant"] == tenant

    export = _start(staff_client, django_capture_on_commit_callbacks, query)

    assert export.filters == {
        "search": "ada",
        "archived": True,
        "channels": ["whatsapp"],
        "tagIds": [people["vip"].pk],
        "createdAfter": "2026-05-01T00:00:00+02:00",
        "createdBefore": "2026-06-01T00:00:00Z",
    }


@pytest.mark.parametrize(
    "query,reason",
    [
        ("state=all", "An export holds either active or archived contacts, not both"),
        ("state=deleted", "Deleted contacts are not exported."),
        ("duplicates_of_import=imp_x&state=all", "An export cannot keep to an import's"),
        ("name=Ada", "The filter 'name' cannot be exported."),
        ("created_at__gte=yesterday", "The “created” filter's date 'yesterday' is not a date."),
        ("created_at__lt=2026-02-30", "The “created” filter's date '2026-02-30' is not a date."),
    ],
)
def test_what_the_filters_cannot_say_is_refused_in_words(staff_client, people, query, reason):
    page = staff_client.get(f"{EXPORT}?{query}")
    assert page.status_code == 200
    assert any(line.startswith(reason) for line in page.context["reasons"])
    assert 'id="start-export"' not in page.content.decode()
    assert staff_client.post(f"{EXPORT}?{query}").status_code == 200
    assert ContactExport.objects.count() == 0


def test_every_parameter_of_the_list_is_translated_refused_or_only_for_show():
    """A list filter added to the contacts list is exported or refused on purpose, never
    dropped without a word."""
    parameters = set()
    for list_filter in ContactAdmin.list_filter:
        if isinstance(list_filter, str):
            parameters |= {f"{list_filter}__gte", f"{list_filter}__lt"}
        else:
            parameters.add(list_filter.parameter_name)
    parameters.add("q")
    assert parameters <= TRANSLATED_PARAMETERS | set(UNTRANSLATABLE_PARAMETERS)
    assert not VIEW_PARAMETERS & (TRANSLATED_PARAMETERS | set(UNTRANSLATABLE_PARAMETERS))


def test_a_filter_the_service_rejects_is_said_and_nothing_starts(staff_client, people):
    response = staff_client.post(f"{EXPORT}?channel=carrier-pigeon", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "The export was not started: channels must be among: whatsapp, messenger, "
        "instagram, livechat, sms, email."
    ]
    assert ContactExport.objects.count() == 0


def test_too_many_running_exports_is_said(staff_client, tenant, people, settings):
    settings.EXPORT_MAX_CONCURRENT = 1
    with mock.patch("exports.tasks.contact_export_run_task.delay"):
        contact_export_create(tenant=tenant, created_by="usr_t")
    response = staff_client.post(EXPORT, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "The export was not started: 1 exports of this workspace are still queued or "
        "running; start another when one has finished."
    ]
    assert ContactExport.objects.count() == 1


# --- several workspaces -----------------------------------------------------------------


def test_a_list_of_several_workspaces_asks_which_to_export(
    client, django_capture_on_commit_callbacks, tenant, other_tenant, admin_user, people
):
    MembershipFactory(tenant=other_tenant, user=admin_user, role="owner")
    theirs = contact_create(tenant=other_tenant, created_by="usr_seed", name="Other Ada")
    client.force_login(admin_user)

    page = client.get(f"{EXPORT}?q=ada")
    assert page.context["tenant"] is None
    assert set(page.context["tenant_choices"]) == {tenant, other_tenant}
    unchosen = client.post(f"{EXPORT}?q=ada", {"tenant": ""})
    assert unchosen.context["tenant_error"] == "Choose the workspace to export from."
    assert ContactExport.objects.count() == 0

    export = _start(client, django_capture_on_commit_callbacks, "q=ada", tenant=other_tenant.pk)

    assert export.tenant_id == other_tenant.pk
    assert [row["id"] for row in _rows(client, export)] == [theirs.pk]


def test_the_list_filtered_by_tenant_exports_that_one(
    client, tenant, other_tenant, admin_user, people
):
    MembershipFactory(tenant=other_tenant, user=admin_user, role="owner")
    client.force_login(admin_user)
    page = client.get(f"{EXPORT}?tenant={tenant.pk}")
    assert (page.context["tenant"], page.context["tenant_choices"]) == (tenant, [])


def test_only_the_workspaces_where_the_user_may_export_are_offered(
    client, tenant, other_tenant, people
):
    user = MembershipFactory(tenant=tenant, role="agent").user
    MembershipFactory(tenant=other_tenant, user=user, role="admin")
    client.force_login(user)
    assert client.get(EXPORT).context["tenant_choices"] == [other_tenant]
    refused = client.get(f"{EXPORT}?tenant={tenant.pk}")
    assert refused.context["reasons"] == [
        "You may not export this workspace's contacts: its owners and admins may."
    ]
    client.post(f"{EXPORT}?tenant={tenant.pk}")
    client.post(EXPORT, {"tenant": tenant.pk})
    assert ContactExport.objects.count() == 0


# --- the action --------------------------------------------------------------------------


def _act(client, ids, *, query="", select_across="0"):
    return client.post(
        f"{CONTACTS}?{query}",
        {
            "action": "export_selected",
            helpers.ACTION_CHECKBOX_NAME: ids,
            "select_across": select_across,
            "index": 0,
        },
    )


def test_the_selected_rows_are_exported_by_id(
    staff_client, django_capture_on_commit_callbacks, people
):
    ada, linus = people["ada"], people["linus"]  # an archived one too
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(staff_client, [linus.pk, ada.pk], query="state=all")
    export = ContactExport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _job(export)
    export.refresh_from_db()
    assert export.source == "admin"
    assert sorted(export.contact_ids) == sorted([ada.pk, linus.pk])
    assert export.status == "completed"
    assert [row["id"] for row in _rows(staff_client, export)] == [ada.pk, linus.pk]
    page = staff_client.get(_job(export))
    assert page.context["contents"] == ["2 selected contacts"]


def test_all_rows_across_pages_are_exported_by_the_filters(staff_client, people):
    response = _act(
        staff_client, [people["ada"].pk], query="q=ada&channel=whatsapp", select_across="1"
    )
    assert response.status_code == 302
    assert response["Location"] == f"{EXPORT}?q=ada&channel=whatsapp"
    assert ContactExport.objects.count() == 0


def test_selected_rows_of_several_workspaces_are_refused(
    client, tenant, other_tenant, admin_user, people
):
    MembershipFactory(tenant=other_tenant, user=admin_user, role="owner")
    theirs = contact_create(tenant=other_tenant, created_by="usr_seed", name="Other")
    client.force_login(admin_user)
    response = _act(client, [people["ada"].pk, theirs.pk])
    assert response.status_code == 302
    messages = [str(m) for m in client.get(CONTACTS).context["messages"]]
    assert messages == [
        "The selected contacts belong to 2 workspaces; an export holds one workspace's "
        "contacts. Filter the list by tenant, then select."
    ]
    assert ContactExport.objects.count() == 0


def test_deleted_rows_are_refused(staff_client, tenant, people):
    contact_delete(tenant=tenant, contact_id=people["grace"].pk)
    _act(staff_client, [people["grace"].pk, people["ada"].pk], query="state=deleted")
    messages = [str(m) for m in staff_client.get(CONTACTS).context["messages"]]
    assert messages == [
        "Deleted contacts are not exported: 1 of the selected is deleted. Restore them "
        "first, or leave them out."
    ]
    assert ContactExport.objects.count() == 0


# --- who may export -----------------------------------------------------------------------


def test_an_agent_sees_no_export_and_cannot_start_one(client, tenant, people):
    agent = MembershipFactory(tenant=tenant, role="agent").user
    client.force_login(agent)
    listing = client.get(CONTACTS)
    assert 'id="export-contacts"' not in listing.content.decode()
    assert "export_selected" not in dict(listing.context["action_form"].fields["action"].choices)
    assert client.get(EXPORT).status_code == 403
    assert client.post(EXPORT).status_code == 403
    _act(client, [people["ada"].pk])
    assert ContactExport.objects.count() == 0
    assert client.get(EXPORTS).status_code == 403


def test_owners_and_admins_see_the_button_with_the_lists_query(client, tenant, people):
    owner = MembershipFactory(tenant=tenant, role="owner").user
    client.force_login(owner)
    listing = client.get(f"{CONTACTS}?q=ada&state=archived")
    assert f'href="{EXPORT}?q=ada&amp;state=archived" id="export-contacts"' in (
        listing.content.decode()
    )
    assert "export_selected" in dict(listing.context["action_form"].fields["action"].choices)


def test_a_superuser_may_export_any_workspace(
    client, django_capture_on_commit_callbacks, tenant, people
):
    client.force_login(UserFactory(is_superuser=True))
    export = _start(client, django_capture_on_commit_callbacks, f"tenant={tenant.pk}")
    assert export.tenant_id == tenant.pk


# --- the job page, the file ---------------------------------------------------------------


def _queued(tenant, **kwargs) -> ContactExport:
    with mock.patch("exports.tasks.contact_export_run_task.delay"):
        return contact_export_create(tenant=tenant, created_by="usr_t", source="admin", **kwargs)


def test_the_job_page_shows_the_progress_then_the_link(
    staff_client, django_capture_on_commit_callbacks, people, admin_user
):
    export = _start(staff_client, django_capture_on_commit_callbacks, "")
    page = staff_client.get(_job(export))
    assert page.status_code == 200
    html = page.content.decode()
    assert page.context["state"] == {
        "level": "success",
        "text": "The export has completed: 2 rows, ready to download.",
    }
    assert 'value="2" max="2"' in html
    assert f'href="{EXPORTS}{quote(export.pk)}/file/" id="export-download"' in html
    assert f'title="{admin_user.pk}">Grace Admin</span> (from the admin)' in html
    progress = staff_client.get(f"{EXPORTS}{quote(export.pk)}/progress/").json()
    assert (progress["status"], progress["totalRows"], progress["processedRows"]) == (
        "completed",
        2,
        2,
    )
    assert progress["state"] == page.context["state"]
    event = Event.objects.get(type="export.completed")
    assert (event.actor_id, event.source) == (admin_user.pk, "admin")


def test_a_file_not_ready_is_said_on_the_job_page(staff_client, tenant, people):
    export = _queued(tenant)
    page = staff_client.get(_job(export))
    assert page.context["state"]["text"] == (
        "The export is queued: it starts when a worker is free."
    )
    assert 'id="export-download"' not in page.content.decode()
    assert staff_client.get(f"{EXPORTS}{quote(export.pk)}/progress/").json()["status"] == "queued"
    response = staff_client.get(f"{EXPORTS}{quote(export.pk)}/file/", follow=True)
    assert response.redirect_chain == [(_job(export), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "The export is queued; its file is not ready."
    ]


def test_an_expired_file_is_said_on_the_job_page(
    staff_client, django_capture_on_commit_callbacks, people
):
    export = _start(staff_client, django_capture_on_commit_callbacks, "")
    ContactExport.objects.filter(pk=export.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    page = staff_client.get(_job(export))
    assert page.context["state"] == {
        "level": "warning",
        "text": "The export of 2 rows has expired and its file was deleted; start a new "
        "export from the contacts list.",
    }
    assert 'id="export-download"' not in page.content.decode()
    response = staff_client.get(f"{EXPORTS}{quote(export.pk)}/file/", follow=True)
    assert response.redirect_chain == [(_job(export), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "The export's file has expired and was deleted."
    ]


def test_a_failed_export_shows_why(staff_client, tenant):
    export = _queued(tenant)
    ContactExport.objects.filter(pk=export.pk).update(
        status="failed",
        failure_code="worker_lost",
        failure_message="The export was interrupted too many times.",
    )
    page = staff_client.get(_job(export))
    assert page.context["state"] == {
        "level": "error",
        "text": "The export failed: The export was interrupted too many times.",
    }
    assert "No file: the export failed." in page.content.decode()


def test_another_workspaces_export_is_not_found(
    client, django_capture_on_commit_callbacks, staff_client, other_tenant, people
):
    export = _start(staff_client, django_capture_on_commit_callbacks, "")
    outsider = _login(MembershipFactory(tenant=other_tenant, role="admin").user)
    for suffix in ("change/", "progress/", "file/"):
        assert outsider.get(f"{EXPORTS}{quote(export.pk)}/{suffix}").status_code == 404
    listing = outsider.get(EXPORTS)
    assert list(listing.context["cl"].result_list) == []
    assert export.pk not in listing.content.decode()
    assert staff_client.get(f"{EXPORTS}not-an-id/change/").status_code == 404


def test_an_agent_may_not_open_an_export(client, tenant):
    export = _queued(tenant)
    agent = _login(MembershipFactory(tenant=tenant, role="agent").user)
    for suffix in ("change/", "progress/", "file/"):
        assert agent.get(f"{EXPORTS}{quote(export.pk)}/{suffix}").status_code == 403


def test_the_job_page_is_only_read(staff_client, tenant):
    export = _queued(tenant)
    assert staff_client.post(_job(export)).status_code == 405
    assert staff_client.get(f"{EXPORTS}add/").status_code == 403
    assert staff_client.post(f"{EXPORTS}{quote(export.pk)}/delete/").status_code == 403


# --- the list of exports, the home page ---------------------------------------------------


def test_the_list_shows_who_when_rows_status_and_expiry(
    staff_client, django_capture_on_commit_callbacks, tenant, admin_user, people
):
    export = _start(staff_client, django_capture_on_commit_callbacks, "")
    running = _queued(tenant)
    ContactExport.objects.filter(pk=running.pk).update(
        status="running", total_rows=10, processed_rows=4, created_by="svc_gone"
    )
    listing = staff_client.get(EXPORTS)
    html = listing.content.decode()
    rows = {row.pk: row for row in listing.context["cl"].result_list}
    assert set(rows) == {export.pk, running.pk}
    admin = listing.context["cl"].model_admin
    assert admin.rows(rows[export.pk]) == 2
    assert admin.rows(rows[running.pk]) == "4 / 10"
    assert f'<span title="{admin_user.pk}">Grace Admin</span>' in html
    assert '<span title="svc_gone">svc_gone</span>' in html
    assert f'href="{EXPORTS}{quote(export.pk)}/file/">Download</a>' in html
    expires = date_format(timezone.localtime(export.expires_at), "SHORT_DATETIME_FORMAT")
    assert admin.expiry(rows[export.pk]) == expires
    ContactExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())
    export.refresh_from_db()
    assert admin.expiry(export).startswith("expired ")
    assert admin.file(export) == ""


def test_the_home_page_lists_the_exports_ready_to_download(
    client, django_capture_on_commit_callbacks, staff_client, tenant, other_tenant, people
):
    ready = _start(staff_client, django_capture_on_commit_callbacks, "")
    expired = _queued(tenant)
    ContactExport.objects.filter(pk=expired.pk).update(
        status="completed",
        file_path="exports/x.csv",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    _queued(tenant)  # not finished
    theirs = _queued(other_tenant)
    ContactExport.objects.filter(pk=theirs.pk).update(
        status="completed", file_path="exports/y.csv", expires_at=timezone.now() + timedelta(1)
    )

    html = staff_client.get("/admin/").content.decode()
    panel = html[html.index('id="home-exports-ready"') :]
    panel = panel[: panel.index("</div>")]
    assert panel.count("<tr>") == 1
    assert f'href="{EXPORTS}{quote(ready.pk)}/change/"' in panel
    assert f'href="{EXPORTS}{quote(ready.pk)}/file/">Download</a>' in panel
    assert "2 rows" in panel

    agent = _login(MembershipFactory(tenant=tenant, role="agent").user)
    assert 'id="home-exports-ready"' not in agent.get("/admin/").content.decode()
    quiet = _login(MembershipFactory(tenant=other_tenant, role="owner").user)
    theirs_html = quiet.get("/admin/").content.decode()
    assert f"{EXPORTS}{quote(theirs.pk)}/file/" in theirs_html
    assert ready.pk not in theirs_html
