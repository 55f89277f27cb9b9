import pytest

from .receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def local_delivery(settings):
    """Deliveries to the test receiver on 127.0.0.1 over plain HTTP."""
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    return settings


@pytest.fixture
def hooked(client_a, receiver, local_delivery, django_capture_on_commit_callbacks):
    """Changes through client_a, delivered as their transactions commit (on_commit runs)."""

    def subscribe(**body):
        response = client_a.post("/v1/webhooks", {"url": receiver.url, **body}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    def change(method, path, body=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(client_a, method)(path, body, format="json")
        assert response.status_code < 300, response.content
        return response.json() if response.content else None

    return subscribe, change
