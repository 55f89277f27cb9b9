import pytest

from tests.factories.customfields import CustomFieldDefinitionFactory
from tests.factories.tags import TagFactory


@pytest.fixture
def create(client_a):
    """POST /v1/contacts; returns the response."""

    def post(body, client=None, **headers):
        return (client or client_a).post("/v1/contacts", body, format="json", **headers)

    return post


@pytest.fixture
def make_contact(create):
    """Create a contact through the API; returns its JSON."""

    def make(client=None, **body):
        response = create(body or {"name": "Someone"}, client=client)
        assert response.status_code == 201, response.content
        return response.json()

    return make


@pytest.fixture
def renewal(tenant):
    return CustomFieldDefinitionFactory(tenant=tenant, name="Renewal", type="date")


@pytest.fixture
def vip(tenant):
    return TagFactory(tenant=tenant, name="VIP")
