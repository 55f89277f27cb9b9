from django.contrib.admin.apps import AdminConfig


class FlownallyAdminConfig(AdminConfig):
    """Django's admin with the product's own site (admin_site.py) as `admin.site`, so every
    `@admin.register` lands on it and its header, title and home page apply everywhere."""

    default_site = "flownally_admin.admin_site.FlownallyAdminSite"
