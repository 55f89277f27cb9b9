import pytest
from django.utils import timezone

from contacts.services import contact_archive, contact_create
from customfields.services import custom_field_definition_create
from tags.services import tag_create


@pytest.fixture
def run_export(client_a, django_capture_on_commit_callbacks):
    """POST an export and let the (eager) worker write it; returns (response, status body)."""

    def run(body=None, *, client=None, **headers):
        client = client or client_a
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/v1/contacts/exports", body or {}, format="json", **headers)
        if response.status_code != 202:
            return response, None
        return response, client.get(response["Location"]).json()

    return run


@pytest.fixture
def download(client_a):
    """The export's file as text (the BOM kept)."""

    def get(export_id, *, client=None):
        response = (client or client_a).get(f"/v1/contacts/exports/{export_id}/file")
        assert response.status_code == 200, response.content
        return b"".join(response.streaming_content).decode()

    return get


@pytest.fixture
def people(tenant):
    """Three contacts of `tenant`, oldest first, with what an export writes: several
    identities of a channel, tags, values that look like formulas, an archived one."""
    plan = custom_field_definition_create(
        tenant=tenant, entity_type="contact", name="Plan", type="text", created_by="usr_t"
    )
    renewal = custom_field_definition_create(
        tenant=tenant, entity_type="contact", name="renewal", type="date", created_by="usr_t"
    )
    vip = tag_create(tenant=tenant, name="vip", created_by="usr_t")
    beta = tag_create(tenant=tenant, name="Beta", created_by="usr_t")
    ada = contact_create(
        tenant=tenant,
        created_by="usr_t",
        name="Ada Lovelace",
        identities=[
            {"channel": "whatsapp", "externalId": "+14155550100"},
            {"channel": "whatsapp", "externalId": "+14155550101"},
            {"channel": "email", "externalId": "ada@example.com"},
        ],
        tag_ids=[vip.pk, beta.pk],
        custom_fields={
            "cf_email": "ada@example.com",
            "cf_phone": "+14155550100",
            plan.public_id: "=HYPERLINK(1)",
            renewal.public_id: "2027-01-31",
        },
    )
    grace = contact_create(
        tenant=tenant,
        created_by="usr_t",
        name='-Grace, "Amazing" Hopper',
        identities=[{"channel": "messenger", "externalId": "@grace"}],
        custom_fields={plan.public_id: "+1 (415) pro"},
    )
    linus = contact_create(
        tenant=tenant,
        created_by="usr_t",
        name="Linus",
        identities=[{"channel": "sms", "externalId": "+442071234567"}],
    )
    contact_archive(tenant=tenant, contact_id=linus.pk)
    # createdAt order is the file's order; make it certain.
    now = timezone.now()
    for offset, contact in enumerate([ada, grace, linus]):
        type(contact).objects.filter(pk=contact.pk).update(
            created_at=now.replace(microsecond=0) - timezone.timedelta(minutes=10 - offset)
        )
        contact.refresh_from_db()
    return {
        "ada": ada,
        "grace": grace,
        "linus": linus,
        "plan": plan,
        "renewal": renewal,
        "vip": vip,
        "beta": beta,
    }
