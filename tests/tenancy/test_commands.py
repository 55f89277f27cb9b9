from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from flownally_admin.tenancy.models import ApiKey, ServiceAccount, Tenant, User
from flownally_admin.tenancy.scopes import ALL_SCOPES

pytestmark = pytest.mark.django_db


def _createapikey(*args) -> str:
    out = StringIO()
    call_command("createapikey", *args, stdout=out)
    return out.getvalue()


def test_createapikey_prints_only_a_working_token():
    output = _createapikey("--tenant", "acme")
    token = output.strip()
    assert output == token + "\n"
    assert token.startswith("fln_live_")
    key = ApiKey.objects.get()
    assert (key.tenant.slug, key.service_account.name, key.role) == ("acme", "default", "owner")
    assert key.scopes == list(ALL_SCOPES)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/v1/tags").status_code == 200


def test_createapikey_reuses_tenant_and_account_and_takes_role_and_scopes():
    _createapikey("--tenant", "acme", "--name", "crm-sync")
    _createapikey(
        "--tenant",
        "acme",
        "--name",
        "crm-sync",
        "--role",
        "agent",
        "--scopes",
        "tag:list,contact:read",
    )
    assert Tenant.objects.count() == 1
    assert ServiceAccount.objects.get().name == "crm-sync"
    newest = ApiKey.objects.order_by("-created_at", "-pk").first()
    assert newest.role == "agent"
    assert newest.scopes == ["contact:read", "tag:list"]


@pytest.mark.parametrize(
    "args",
    [
        ("--tenant", "acme", "--scopes", "tag:list,tag:fly"),
        ("--tenant", "acme", "--scopes", ","),
        ("--tenant", "not a slug"),
    ],
)
def test_createapikey_refuses_bad_input(args):
    with pytest.raises(CommandError):
        _createapikey(*args)
    assert ApiKey.objects.count() == 0


def test_bootstrap_demo_prints_a_login_and_a_key_and_can_run_again():
    first, second = StringIO(), StringIO()
    call_command("bootstrap_demo", stdout=first)
    call_command("bootstrap_demo", stdout=second)
    token = next(w for w in second.getvalue().split() if w.startswith("fln_live_"))
    password = second.getvalue().split("password: ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    assert ApiKey.objects.filter(revoked_at=None).count() == 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/v1/tags").status_code == 200
