"""The contact imports admin: preview and start an import, watch its job page, list past ones.

The worker runs in-process (Celery eager, on commit), as in test_import_api.py.
"""

import csv
import io

import pytest
from django.contrib.admin.utils import quote
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from contacts.importing.columns import RECOGNISED_COLUMNS
from contacts.importing.services import contact_import_create
from contacts.importing.staging import STAGING_DIR, StagedUpload, contact_import_staged_get
from contacts.models import Contact, ContactImport
from contacts.services import contact_create
from tags.models import Tag
from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/contacts/contactimport/add/"
LIST_URL = "/admin/contacts/contactimport/"
MIXED = (
    "name,email,Renewal,colour\n"
    "Ada,ada@x.io,2027-01-31,red\n"
    "Bob,not-an-email,,blue\n"
    "Cyd,=cmd,,\n"
    ",,,\n"
    "Dee,dee@x.io,2027-02-28,\n"
    "Eve,,2027-02-30,\n"
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # staged and stored uploads land here
    settings.IMPORT_BATCH_ROWS = 2  # several batches even in small files


@pytest.fixture
def staff(tenant):
    return MembershipFactory(tenant=tenant, role="agent").user  # agents may run imports


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def other_staff_client(other_tenant):
    client = Client()
    client.force_login(MembershipFactory(tenant=other_tenant, role="admin").user)
    return client


@pytest.fixture
def renewal(tenant):
    return CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")


def _file(content, name="contacts.csv"):
    raw = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, raw, content_type="text/csv")


def _preview(client, tenant, content, name="contacts.csv", **fields):
    data = {"tenant": tenant.pk, "mode": "upsert", "file": _file(content, name), **fields}
    return client.post(ADD_URL, {**data, "_preview": "Preview columns"})


def _staged_token(response) -> str:
    return response.context["form"].data["staged"]


def _staged(response) -> StagedUpload:
    """The upload staged by the page, as its next step will read it."""
    return contact_import_staged_get(
        token=_staged_token(response), user_id=response.wsgi_request.user.pk
    )


@pytest.fixture
def run_import(staff_client, tenant, django_capture_on_commit_callbacks):
    """Preview a CSV, then start it and let the (eager) worker run it; returns the job."""

    def run(content, *, client=None, name="contacts.csv", **fields):
        client = client or staff_client
        fields.setdefault("tenant", tenant.pk)
        fields.setdefault("mode", "upsert")
        preview = client.post(
            ADD_URL, {**fields, "file": _file(content, name), "_preview": "Preview columns"}
        )
        assert preview.status_code == 200, preview.content
        assert preview.context["form"].errors == {}
        with django_capture_on_commit_callbacks(execute=True):
            started = client.post(
                ADD_URL, {**fields, "staged": _staged_token(preview), "_start": "Start import"}
            )
        assert started.status_code == 302, started.content
        return ContactImport.objects.get(), started

    return run


def _job_url(imp, suffix="change/"):
    return f"/admin/contacts/contactimport/{quote(imp.pk)}/{suffix}"


# --- starting an import ---------------------------------------------------------------------


def test_add_page_preselects_the_tenant_given_in_the_query(client, tenant, other_tenant):
    user = MembershipFactory(tenant=tenant, role="agent").user
    MembershipFactory(tenant=other_tenant, user=user, role="agent")
    client.force_login(user)
    response = client.get(ADD_URL, {"tenant": other_tenant.pk})
    assert response.status_code == 200
    assert response.context["form"]["tenant"].value() == other_tenant.pk
    page = response.content.decode()
    assert f'<option value="{other_tenant.pk}" selected>' in page
    assert 'name="_preview"' in page
    assert 'name="_start"' not in page  # the columns are shown before an import can start


def test_add_page_offers_only_the_users_tenants_and_their_tags(staff_client, tenant, other_tenant):
    TagFactory(tenant=tenant, name="ours")
    TagFactory(tenant=other_tenant, name="theirs")
    page = staff_client.get(ADD_URL).content.decode()
    assert tenant.pk in page
    assert other_tenant.pk not in page
    # Tags are offered by the contact form's autocomplete, which searches the user's tags.
    assert 'class="admin-autocomplete"' in page
    assert 'data-field-name="tags"' in page
    assert "theirs" not in page
    found = staff_client.get(
        "/admin/autocomplete/",
        {"app_label": "contacts", "model_name": "contact", "field_name": "tags", "term": ""},
    ).json()
    assert [result["text"] for result in found["results"]] == ["ours"]


def test_add_page_lists_the_importers_recognised_columns(staff_client):
    page = staff_client.get(ADD_URL).content.decode()
    listed = page[page.index('id="import-recognised-columns"') :]
    listed = listed[: listed.index("</div>")]
    for name, _ in RECOGNISED_COLUMNS:
        assert f"<code>{name}</code>" in listed
    assert (
        "one per channel\n    (<code>whatsapp</code>, <code>sms</code>, <code>email_identity</code>"
        in listed
    )


def test_preview_shows_recognised_and_ignored_columns(staff_client, tenant, renewal):
    response = _preview(
        staff_client,
        tenant,
        "Name,E-mail,phone,WhatsApp,email_identity,tags,renewal,colour,Notes\nAda,,,,,,,,\n",
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {}
    preview = response.context["preview"]
    assert [(c.header, c.meaning) for c in preview.columns] == [
        ("Name", "Name"),
        ("E-mail", "E-mail"),
        ("phone", "Phone"),
        ("WhatsApp", "Identity: WhatsApp"),
        ("email_identity", "Identity: E-mail"),
        ("tags", "Tags (names separated by ; or |)"),
        ("renewal", "Custom field: Renewal (date)"),
        ("colour", ""),
        ("Notes", ""),
    ]
    page = response.content.decode()
    assert "7 columns recognised, 2 ignored" in page
    assert '<span id="import-ignored-columns">colour, Notes</span>' in page
    assert '<td>colour</td>\n        <td class="ignored">Ignored (not imported)</td>' in page
    assert "<td>Custom field: Renewal (date)</td>" in page
    assert 'name="_start"' in page
    # Nothing starts on a preview; the upload waits in the staging folder.
    assert ContactImport.objects.count() == 0
    staged = _staged(response)
    assert staged.file_name == "contacts.csv"
    assert default_storage.exists(staged.path)
    assert staged.path.startswith(f"{STAGING_DIR}/{tenant.pk}/")


def test_starting_an_import_creates_the_job_and_redirects_to_its_page(
    staff_client, staff, tenant, django_capture_on_commit_callbacks
):
    vip = TagFactory(tenant=tenant, name="vip")
    preview = _preview(staff_client, tenant, "name\nAda\nBob\n", name="people.csv")
    staged = _staged(preview)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            ADD_URL,
            {
                "tenant": tenant.pk,
                "staged": _staged_token(preview),
                "mode": "create",
                "dry_run": "on",
                "tags": [vip.pk],
                "_start": "Start import",
            },
        )
    imp = ContactImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _job_url(imp)
    assert (imp.tenant_id, imp.created_by, imp.file_name) == (tenant.pk, staff.pk, "people.csv")
    assert (imp.mode, imp.dry_run, imp.tag_ids) == ("create", True, [vip.pk])
    assert (imp.status, imp.created_count, imp.total_rows) == ("completed", 2, 2)
    assert Contact.objects.count() == 0  # a dry run writes nothing
    assert not default_storage.exists(staged.path)  # the staged copy is gone
    assert default_storage.exists(imp.file_path)


def test_choosing_the_file_again_at_step_two_starts_with_it(
    staff_client, tenant, django_capture_on_commit_callbacks
):
    preview = _preview(staff_client, tenant, "name,colour\nAda,red\n")
    staged = _staged(preview)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            ADD_URL,
            {
                "tenant": tenant.pk,
                "mode": "upsert",
                "staged": _staged_token(preview),
                "file": _file("name,colour\nAda,red\nBob,blue\n", "again.csv"),
                "_start": "Start import",
            },
        )
    imp = ContactImport.objects.get()
    assert response.status_code == 302
    assert (imp.file_name, imp.status, imp.created_count) == ("again.csv", "completed", 2)
    assert not default_storage.exists(staged.path)


def test_a_file_with_other_columns_at_step_two_is_previewed_not_started(staff_client, tenant):
    preview = _preview(staff_client, tenant, "name\nAda\n")
    response = staff_client.post(
        ADD_URL,
        {
            "tenant": tenant.pk,
            "mode": "upsert",
            "staged": _staged_token(preview),
            "file": _file("name,whatsapp\nAda,+14155550123\n", "other.csv"),
            "_start": "Start import",
        },
    )
    assert response.status_code == 200
    assert ContactImport.objects.count() == 0
    assert [c.meaning for c in response.context["preview"].columns] == [
        "Name",
        "Identity: WhatsApp",
    ]
    assert _staged(response).file_name == "other.csv"
    assert not default_storage.exists(_staged(preview).path)
    assert "check them, then start" in response.content.decode()


def test_too_many_unfinished_imports_is_a_form_error(staff_client, staff, tenant, settings):
    settings.IMPORT_MAX_CONCURRENT = 1
    contact_import_create(tenant=tenant, created_by=staff.pk, upload=_file("name\nAda\n"))
    preview = _preview(staff_client, tenant, "name\nBob\n")
    response = staff_client.post(
        ADD_URL,
        {"tenant": tenant.pk, "mode": "upsert", "staged": _staged_token(preview), "_start": "x"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "1 imports of this workspace are still queued or running; start another when one has "
        "finished."
    ]
    assert ContactImport.objects.count() == 1
    assert default_storage.exists(_staged(response).path)  # start it when the other is done


def test_imported_contacts_get_the_chosen_tags(run_import, tenant):
    vip = TagFactory(tenant=tenant, name="vip")
    imp, _ = run_import("name\nAda\n", tags=[vip.pk])
    assert imp.status == "completed"
    ada = Contact.objects.get(tenant=tenant)
    assert [t.name for t in ada.tags.all()] == ["vip"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The file is empty."),
        ("name,email,Name\nAda,,\n", "The header names the same column twice"),
        ("email,e-mail\n", "The header names the same column twice"),
        (b"\x00\x01\x02binary", "NUL bytes"),
    ],
)
def test_an_invalid_upload_is_a_form_error_and_creates_no_job(
    staff_client, tenant, content, message
):
    response = _preview(staff_client, tenant, content)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["file"])
    assert message in response.content.decode()
    assert response.context["preview"] is None
    assert ContactImport.objects.count() == 0
    assert not default_storage.exists(f"{STAGING_DIR}/{tenant.pk}")  # nothing was kept


def test_starting_without_a_file_asks_for_one(staff_client, tenant):
    response = staff_client.post(ADD_URL, {"tenant": tenant.pk, "mode": "upsert", "_start": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": ["Choose a CSV file."]}
    assert ContactImport.objects.count() == 0


def test_a_forged_or_foreign_staged_token_is_refused(staff_client, tenant, other_tenant):
    forged = StagedUpload("imports/1.csv", "x.csv", 1, tenant.pk, "usr_someone").token()
    for token in ["not-a-token", forged]:
        response = staff_client.post(
            ADD_URL, {"tenant": tenant.pk, "mode": "upsert", "staged": token, "_start": "x"}
        )
        assert response.status_code == 200
        assert response.context["form"].errors == {
            "file": ["The previewed file has expired: choose it again."]
        }
    assert ContactImport.objects.count() == 0


def test_changing_the_tenant_after_the_preview_previews_again(client, tenant, other_tenant):
    user = MembershipFactory(tenant=tenant, role="agent").user
    MembershipFactory(tenant=other_tenant, user=user, role="agent")
    client.force_login(user)
    CustomFieldDefinitionFactory(tenant=other_tenant, name="Renewal", type="date")
    preview = _preview(client, tenant, "name,Renewal\nAda,2027-01-01\n")
    assert [c.meaning for c in preview.context["preview"].columns] == ["Name", ""]
    again = client.post(
        ADD_URL,
        {
            "tenant": other_tenant.pk,
            "mode": "upsert",
            "staged": _staged_token(preview),
            "_start": "Start import",
        },
    )
    assert again.status_code == 200  # shown again for the other tenant, not started
    assert [c.meaning for c in again.context["preview"].columns] == [
        "Name",
        "Custom field: Renewal (date)",
    ]
    assert _staged(again).tenant_id == other_tenant.pk
    assert ContactImport.objects.count() == 0


def test_a_tag_of_a_tenant_the_user_is_not_in_is_refused(staff_client, tenant, other_tenant):
    theirs = TagFactory(tenant=other_tenant, name="theirs")
    response = _preview(staff_client, tenant, "name\nAda\n", tags=[theirs.pk])
    assert response.status_code == 200
    assert "Select a valid choice" in response.context["form"].errors["tags"][0]
    assert ContactImport.objects.count() == 0


def test_a_tag_of_another_of_the_users_tenants_is_refused(
    client, tenant, other_tenant, django_capture_on_commit_callbacks
):
    user = MembershipFactory(tenant=tenant, role="agent").user
    MembershipFactory(tenant=other_tenant, user=user, role="agent")
    client.force_login(user)
    theirs = TagFactory(tenant=other_tenant, name="theirs")
    preview = _preview(client, tenant, "name\nAda\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADD_URL,
            {
                "tenant": tenant.pk,
                "mode": "upsert",
                "staged": _staged_token(preview),
                "tags": [theirs.pk],
                "_start": "Start import",
            },
        )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "tags": [f"Not tags of {tenant}: theirs."],
    }
    assert ContactImport.objects.count() == 0
    # The previewed file is still there: fixing the tags is enough to start.
    assert default_storage.exists(_staged(response).path)


# --- the job page -------------------------------------------------------------------------


@pytest.fixture
def finished_import(run_import, tenant, renewal):
    contact_create(
        tenant=tenant, created_by="usr_test", name="Old Dee", custom_fields={"cf_email": "dee@x.io"}
    )
    imp, _ = run_import(MIXED)
    return imp


def test_job_page_shows_the_counts_and_the_first_errors(staff_client, staff, finished_import):
    response = staff_client.get(_job_url(finished_import))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<strong id="import-status">completed</strong>' in page
    assert '<progress id="import-progress" value="6" max="6">' in page
    assert '<td id="count-created">1</td>' in page
    assert '<td id="count-updated">1</td>' in page
    assert '<td id="count-skipped">1</td>' in page
    assert '<td id="count-failed">3</td>' in page
    assert (
        f'<dd id="import-started-by"><span title="{staff.pk}">{staff.username}</span></dd>' in page
    )
    assert (
        '<li id="import-state" class="success">The import of contacts.csv has completed: '
        "1 created, 1 updated, 1 skipped, 3 failed.</li>" in page
    )
    assert "has started" not in page
    assert [(e["row"], e["column"], e["code"], e["value"]) for e in response.context["errors"]] == [
        (2, "email", "invalid_email", "not-an-email"),
        (3, "email", "invalid_email", "=cmd"),
        (4, "", "empty_row", ""),
        (6, "Renewal", "invalid_date", "2027-02-30"),
    ]
    assert "<td>(whole row)</td><td><code>empty_row</code></td>" in page
    assert "<td>=cmd</td>" in page
    assert f'href="{_job_url(finished_import, "errors.csv")}"' in page
    assert "4 errors." in page
    # Read-only: no form to save, and a POST does nothing.
    assert 'name="_save"' not in page
    assert staff_client.post(_job_url(finished_import), {"status": "queued"}).status_code == 405


def test_job_page_caps_the_error_table(run_import, staff_client):
    imp, _ = run_import("email\n" + "bad\n" * 105)
    response = staff_client.get(_job_url(imp))
    assert len(response.context["errors"]) == 100
    assert "The first 100 of 105 errors." in response.content.decode()


def test_job_page_of_a_queued_import_polls_for_progress(staff_client, staff, tenant):
    imp = contact_import_create(  # its task is queued on commit, which never comes here
        tenant=tenant, created_by=staff.pk, upload=_file("name\nAda\n")
    )
    response = staff_client.get(_job_url(imp))
    page = response.content.decode()
    assert '<strong id="import-status">queued</strong>' in page
    assert '<progress id="import-progress" value="0" max="1">' in page
    assert f'data-progress-url="{_job_url(imp, "progress/")}"' in page
    assert "flownally/job_progress.js" in page
    assert staff_client.get(_job_url(imp, "progress/")).json()["status"] == "queued"
    state = "The import of contacts.csv is queued: it starts when a worker is free."
    assert f'<li id="import-state" class="info">{state}</li>' in page
    assert staff_client.get(_job_url(imp, "progress/")).json()["state"] == {
        "level": "info",
        "text": state,
    }


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        (
            {"status": "running", "processed_rows": 40, "total_rows": 100},
            {"level": "info", "text": "The import of x.csv is running: 40 of 100 rows processed."},
        ),
        (
            {"status": "running", "processed_rows": 0, "total_rows": None},
            {"level": "info", "text": "The import of x.csv is running: 0 of ? rows processed."},
        ),
        (
            {"status": "failed", "failure_code": "invalid_csv", "failure_message": "Bad quote."},
            {"level": "error", "text": "The import of x.csv failed: Bad quote."},
        ),
        (
            {"status": "completed", "dry_run": True, "created_count": 2, "failed_count": 1},
            {
                "level": "success",
                "text": "The dry run of x.csv has completed, writing nothing: 2 created, "
                "0 updated, 0 skipped, 1 failed (had it been an import).",
            },
        ),
    ],
)
def test_the_job_page_message_says_the_jobs_state(staff_client, staff, tenant, fields, state):
    imp = contact_import_create(
        tenant=tenant, created_by=staff.pk, upload=_file("name\nA\n", "x.csv")
    )
    ContactImport.objects.filter(pk=imp.pk).update(**fields)
    page = staff_client.get(_job_url(imp)).content.decode()
    assert f'<li id="import-state" class="{state["level"]}">{state["text"]}</li>' in page
    assert staff_client.get(_job_url(imp, "progress/")).json()["state"] == state


def test_the_job_page_says_which_tags_were_added_chosen_and_from_the_file(
    run_import, staff_client, tenant
):
    vip = TagFactory(tenant=tenant, name="VIP")
    TagFactory(tenant=tenant, name="Beta")
    imp, _ = run_import("name,tags\nAda,beta;Gamma\nBob,gamma|Delta\n,\n", tags=[vip.pk])
    assert imp.file_tag_names == ["beta", "Gamma", "Delta"]
    page = staff_client.get(_job_url(imp)).content.decode()
    assert (
        '<dd id="import-tags" data-refresh-on-finish>VIP (to every contact); beta, Gamma, Delta '
        "(from the file&#x27;s tags column)</dd>" in page
    )
    bob = Contact.objects.get(tenant=tenant, name="Bob")
    assert sorted(t.name for t in bob.tags.all()) == ["Delta", "Gamma", "VIP"]


def test_the_job_page_keeps_a_file_of_many_tags_short(run_import, staff_client, tenant):
    names = [f"t{n:02}" for n in range(30)]
    imp, _ = run_import("name,tags\n" + "".join(f"P{n},{name}\n" for n, name in enumerate(names)))
    assert imp.file_tag_names == names[:21]
    page = staff_client.get(_job_url(imp)).content.decode()
    assert f"{', '.join(names[:20])} and more (from the file&#x27;s tags column)" in page


def test_a_dry_run_says_no_tag_was_added(run_import, staff_client, tenant):
    imp, _ = run_import("name,tags\nAda,Gamma\n", dry_run="on")
    assert imp.file_tag_names == ["Gamma"]
    page = staff_client.get(_job_url(imp)).content.decode()
    assert (
        "none, as a dry run writes nothing; an import would add Gamma (from the file&#x27;s "
        "tags column)" in page
    )
    assert not Tag.objects.filter(tenant=tenant).exists()


def test_progress_json_returns_the_exact_counts(staff_client, finished_import):
    response = staff_client.get(_job_url(finished_import, "progress/"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response.json() == {
        "state": {
            "level": "success",
            "text": "The import of contacts.csv has completed: "
            "1 created, 1 updated, 1 skipped, 3 failed.",
        },
        "status": "completed",
        "totalRows": 6,
        "processedRows": 6,
        "createdCount": 1,
        "updatedCount": 1,
        "skippedCount": 1,
        "failedCount": 3,
        "possibleDuplicates": 0,
        "failure": None,
    }


def test_a_failed_import_shows_its_failure(run_import, staff_client, settings):
    settings.IMPORT_MAX_ROWS = 2
    imp, _ = run_import("name\na\nb\nc\n")
    progress = staff_client.get(_job_url(imp, "progress/")).json()
    assert progress["status"] == "failed"
    assert progress["failure"]["code"] == "too_many_rows"
    page = staff_client.get(_job_url(imp)).content.decode()
    assert '<strong id="import-status">failed</strong>' in page
    assert '<code id="import-failure-code">too_many_rows</code>' in page
    assert progress["failure"]["message"] in page


def test_errors_csv_has_a_bom_and_neutralises_formulas(staff_client, finished_import):
    response = staff_client.get(_job_url(finished_import, "errors.csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="{finished_import.pk}-errors.csv"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8")[1:])))
    assert rows[0] == ["row", "column", "code", "message", "value"]
    assert [(r[0], r[1], r[2], r[4]) for r in rows[1:]] == [
        ("2", "email", "invalid_email", "not-an-email"),
        ("3", "email", "invalid_email", "'=cmd"),
        ("4", "", "empty_row", ""),
        ("6", "Renewal", "invalid_date", "2027-02-30"),
    ]


# --- the list -------------------------------------------------------------------------------


def test_list_shows_the_tenants_imports_newest_first(run_import, staff_client, staff, tenant):
    first, _ = run_import("name\nAda\n", name="first.csv")
    ContactImport.objects.filter(pk=first.pk).update(created_at=first.created_at.replace(year=2020))
    contact_import_create(tenant=tenant, created_by=staff.pk, upload=_file("name\n", "second.csv"))
    response = staff_client.get(LIST_URL)
    assert response.status_code == 200
    assert [i.file_name for i in response.context["cl"].result_list] == ["second.csv", "first.csv"]
    page = response.content.decode()
    assert (
        f'<td class="field-created_by_name"><span title="{staff.pk}">{staff.username}</span>'
        in page
    )
    assert "1 / 1" in page  # processed / total rows of the first
    assert ADD_URL in page
    assert "Import contacts" in page
    assert 'name="action"' not in page  # no actions, so no bulk delete
    completed = staff_client.get(LIST_URL, {"status": "completed"}).content.decode()
    assert "first.csv" in completed
    assert "second.csv" not in completed


def test_import_button_keeps_the_tenant_filter(staff_client, tenant):
    page = staff_client.get(LIST_URL, {"tenant": tenant.pk}).content.decode()
    assert f'href="{ADD_URL}?tenant={tenant.pk}"' in page


def test_imports_cannot_be_deleted_from_the_admin(staff_client, finished_import):
    response = staff_client.post(_job_url(finished_import, "delete/"), {"post": "yes"})
    assert response.status_code == 403
    assert ContactImport.objects.filter(pk=finished_import.pk).exists()


# --- isolation ------------------------------------------------------------------------------


def test_staff_of_another_tenant_never_see_the_import(other_staff_client, finished_import):
    listing = other_staff_client.get(LIST_URL)
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == []
    assert "contacts.csv" not in listing.content.decode()
    assert finished_import.pk not in listing.content.decode()
    job = other_staff_client.get(_job_url(finished_import))
    assert job.status_code == 302  # the admin's "does not exist" redirect
    assert job["Location"] == "/admin/"
    assert other_staff_client.get(_job_url(finished_import, "progress/")).status_code == 404
    assert other_staff_client.get(_job_url(finished_import, "errors.csv")).status_code == 404


def test_staff_of_another_tenant_cannot_start_an_import_there(other_staff_client, tenant):
    response = _preview(other_staff_client, tenant, "name\nAda\n")
    assert response.status_code == 200
    assert "Select a valid choice" in response.context["form"].errors["tenant"][0]
    assert ContactImport.objects.count() == 0


def test_anonymous_users_are_sent_to_the_login(finished_import):
    for suffix in ("change/", "progress/", "errors.csv"):
        response = Client().get(_job_url(finished_import, suffix))
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
