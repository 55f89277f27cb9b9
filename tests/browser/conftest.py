"""Browser tests: Playwright (sync API) driving the system's Chromium against `live_server`.

Nothing is downloaded: the browser is Debian's /usr/bin/chromium (or $CHROMIUM_PATH), never
`playwright install`. Tests marked `browser` skip when it is absent, and fail instead when
FLOWNALLY_REQUIRE_SERVICES=1, the same rule tests/conftest.py applies to `postgres`/`redis`,
or when FLOWNALLY_SCREENSHOT_DIR asks for screenshots (`make screenshots`).
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # as root (CI, containers) Chromium's sandbox will not start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No traffic of its own: the network reaches only package registries.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"  # UserFactory's


def pytest_runtest_setup(item):
    if item.get_closest_marker("browser") is None or os.access(CHROMIUM_PATH, os.X_OK):
        return
    reason = f"needs Chromium at {CHROMIUM_PATH}: apt-get install chromium, or set CHROMIUM_PATH"
    if os.environ.get("FLOWNALLY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (FLOWNALLY_REQUIRE_SERVICES=1 forbids skipping)")
    if os.environ.get("FLOWNALLY_SCREENSHOT_DIR"):
        pytest.fail(f"{reason} (FLOWNALLY_SCREENSHOT_DIR asks for screenshots)")
    pytest.skip(reason)


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """Where a test saves the screenshots the README shows: a temporary folder, so a test
    run leaves the tree as it was, or the folder FLOWNALLY_SCREENSHOT_DIR names
    (`make screenshots` names docs/)."""
    named = os.environ.get("FLOWNALLY_SCREENSHOT_DIR")
    return Path(named) if named else tmp_path


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for all the browser tests.

    Package-scoped, not session-scoped, on purpose. While Playwright's sync API is started
    it marks its asyncio loop as running in the main thread, between calls too, and Django
    then refuses every synchronous ORM call from that thread (SynchronousOnlyOperation): the
    test's own factories and pytest-django's database teardown. DJANGO_ALLOW_ASYNC_UNSAFE
    turns that check off, so it is set exactly while the browser runs, and the browser stops
    after the last test of this package: the rest of the suite keeps Django's check.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()


@pytest.fixture
def page(browser, settings):
    """A page in a fresh browser context (own cookies and storage) for each test.

    With DEBUG off the session and CSRF cookies are Secure, but live_server speaks plain
    http. Chromium keeps Secure cookies from http://localhost (a trustworthy origin) and
    drops them from any other host (`--liveserver=<ip>`), where the login form then fails
    its CSRF check; so they are not Secure here. `settings` overrides the process-wide
    settings, which the live_server thread reads too, and restores them after the test.
    """
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def staff_login(live_server):
    """Returns login(page, user, password): signs in through the real /admin/ login form.

    The real form, not a forced session, so that CSRF, the session cookie and the
    authentication backend are exercised as a staff user meets them.
    """

    def login(page, user, password=PASSWORD):
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{live_server.url}/admin/")

    return login
