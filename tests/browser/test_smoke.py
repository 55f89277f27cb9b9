"""Smoke test of the browser harness: a staff user signs in and sees only their tenant's tags."""

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from tests.factories.tags import TagFactory
from tests.factories.tenancy import MembershipFactory, TenantFactory

# transaction=True: the live server's thread must see what the test writes.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tag_changelist_shows_only_the_users_tenant(page, live_server, staff_login, tmp_path):
    membership = MembershipFactory()
    membership.user.user_permissions.set(Permission.objects.filter(content_type__app_label="tags"))
    TagFactory(tenant=membership.tenant, name="ours")
    TagFactory(tenant=TenantFactory(name="Other Company"), name="theirs")

    staff_login(page, membership.user)
    page.goto(f"{live_server.url}/admin/tags/tag/")
    # For a look at the page, and for a failure's post-mortem (pytest keeps recent tmp_paths).
    page.screenshot(path=str(tmp_path / "tags.png"), full_page=True)

    # Styled: with DEBUG off the admin's CSS comes from live_server's static files handler.
    expect(page.locator("#header")).to_have_css("display", "flex")
    results = page.locator("#result_list")
    expect(results.get_by_role("link", name="ours", exact=True)).to_be_visible()
    expect(page.get_by_text("theirs")).to_have_count(0)
    expect(page.get_by_text("Other Company")).to_have_count(0)  # not even in the filters
