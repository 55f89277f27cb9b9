"""The admin site: the product's name in the header and titles, and a home page that shows
the day's work (admin_home.py) above the list of models."""

from django.contrib import admin

from .admin_home import admin_home

PRODUCT_NAME = "Flownally Contacts"


class FlownallyAdminSite(admin.AdminSite):
    site_header = PRODUCT_NAME
    site_title = PRODUCT_NAME
    index_title = "Today"
    # No "View site": there is no site besides the admin and the API. The header links to
    # the API docs instead (templates/admin/base_site.html).
    site_url = None
    index_template = "admin/home.html"

    def index(self, request, extra_context=None):
        return super().index(request, {"home": admin_home(request), **(extra_context or {})})
