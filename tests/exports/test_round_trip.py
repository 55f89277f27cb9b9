"""An export imports back (contract §10, "Round trip"): into an empty workspace it gives the
same contacts; into its own workspace it changes nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customfields.services import custom_field_definition_create
from events.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def import_file(django_capture_on_commit_callbacks):
    def run(client, content: str) -> dict:
        upload = SimpleUploadedFile("export.csv", content.encode(), content_type="text/csv")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/v1/contacts/import", {"file": upload}, format="multipart")
        assert response.status_code == 202, response.content
        return client.get(response["Location"]).json()

    return run


def _picture(client) -> list[dict]:
    """The workspace's live contacts as the API shows them, without what an import cannot
    carry over (ids, times, identity metadata)."""
    contacts = client.get("/v1/contacts", {"orderBy": "name", "orderDirection": "asc"}).json()
    return [
        {
            "name": c["name"],
            "identities": sorted((i["channel"], i["externalId"]) for i in c["identities"]),
            "tags": sorted(t["name"] for t in c["tags"]),
            "customFields": sorted((f["name"], f["value"]) for f in c["customFields"]),
        }
        for c in contacts["contacts"]
    ]


def test_an_export_imported_into_an_empty_workspace_gives_the_same_contacts(
    client_a, client_b, other_tenant, run_export, download, import_file, people
):
    for name, type_ in [("Plan", "text"), ("renewal", "date")]:
        custom_field_definition_create(
            tenant=other_tenant, entity_type="contact", name=name, type=type_, created_by="usr_t"
        )
    _, export = run_export()
    status = import_file(client_b, download(export["id"]))
    assert status["status"] == "completed", status
    assert (status["createdCount"], status["failedCount"]) == (2, 0)
    assert sorted(status["ignoredColumns"]) == ["archived", "createdAt", "id", "updatedAt"]
    assert _picture(client_b) == _picture(client_a)
    assert len(_picture(client_a)) == 2


def test_an_export_imported_back_into_its_workspace_changes_nothing(
    client_a, tenant, run_export, download, import_file, people
):
    _, export = run_export()
    before = {c["id"]: c for c in client_a.get("/v1/contacts").json()["contacts"]}
    last_event = Event.objects.filter(tenant=tenant).order_by("-sequence").first().sequence
    status = import_file(client_a, download(export["id"]))
    assert (status["createdCount"], status["updatedCount"], status["skippedCount"]) == (0, 0, 2)
    after = {c["id"]: c for c in client_a.get("/v1/contacts").json()["contacts"]}
    assert after == before
    new_events = Event.objects.filter(tenant=tenant, sequence__gt=last_event)
    assert list(new_events.values_list("type", flat=True)) == ["import.completed"]
