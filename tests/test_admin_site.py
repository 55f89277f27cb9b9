"""The admin site carries the product's name and icon, and links nowhere dead."""

import pytest
from django.contrib import admin

from flownally_admin.admin_site import FlownallyAdminSite
from tests.factories.tenancy import MembershipFactory

pytestmark = pytest.mark.django_db


def test_every_model_admin_is_on_the_products_site():
    assert isinstance(admin.site, FlownallyAdminSite)
    assert len(admin.site._registry) >= 9


def test_the_favicon_is_an_icon_at_the_root(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file's header: type 1 (icon)
    assert int.from_bytes(body[4:6], "little") == 2  # 16 and 32 pixels


def test_the_login_page_names_the_product(client):
    html = client.get("/admin/login/").content.decode()

    assert "<title>Log in | Flownally Contacts</title>" in html
    assert '<div id="site-name"><a href="/admin/">Flownally Contacts</a></div>' in html
    assert "Django" not in html


def test_the_header_names_the_product_and_links_to_the_api_docs(client, tenant):
    client.force_login(MembershipFactory(tenant=tenant, role="agent").user)
    html = client.get("/admin/contacts/contact/").content.decode()

    assert "<title>Select contact to change | Flownally Contacts</title>" in html
    assert '<div id="site-name"><a href="/admin/">Flownally Contacts</a></div>' in html
    assert "Django administration" not in html and "Django site admin" not in html
    assert "View site" not in html
    assert '<a href="/v1/docs">API docs</a>' in html
    assert '<link rel="icon" href="/static/flownally/favicon.svg" type="image/svg+xml">' in html
    assert client.get("/v1/docs").status_code == 200


def test_the_home_page_is_today(client, tenant):
    client.force_login(MembershipFactory(tenant=tenant, role="agent").user)
    html = client.get("/admin/").content.decode()

    assert "<title>Today | Flownally Contacts</title>" in html
    assert "<h1>Today</h1>" in html
