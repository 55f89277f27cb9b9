"""The admin's home page: the day's work across the tenants a staff member sees.

One entry of `admin_home()` per panel of templates/admin/home.html, each a bounded read
(a few rows, or counts summed from the count deltas), so the page costs the same few
queries on a tenant of a million contacts as on an empty one. A panel the user may not
see (webhooks and exports, for agents) is None and not shown.
"""

from contacts.models import ImportStatus
from contacts.selectors import contact_counts, contact_import_list
from exports.selectors import contact_export_list_ready
from flownally_admin.tenancy.models import Membership, Tenant
from flownally_admin.tenancy.scopes import EXPORT_ROLES, Role
from webhooks.selectors import endpoint_list_failing

TENANTS_SHOWN = 20
IMPORTS_SHOWN = 10
ENDPOINTS_SHOWN = 10
EXPORTS_SHOWN = 10
# Who manages webhook endpoints (webhooks/admin.py's tenant_roles).
WEBHOOK_ROLES = (Role.OWNER, Role.ADMIN)


def admin_home(request) -> dict:
    """{panel: its rows} for the home page's panels."""
    user = request.user
    if user.is_superuser:
        member_of = webhook_tenants = export_tenants = None  # every tenant
        tenants = Tenant.objects.all()
    else:
        roles = dict(Membership.objects.filter(user=user).values_list("tenant_id", "role"))
        member_of = list(roles)
        webhook_tenants = [tenant for tenant, role in roles.items() if role in WEBHOOK_ROLES]
        export_tenants = [tenant for tenant, role in roles.items() if role in EXPORT_ROLES]
        tenants = Tenant.objects.filter(pk__in=member_of)
    shown = list(tenants.order_by("name", "pk")[: TENANTS_SHOWN + 1])
    counts = contact_counts(tenant_ids=[tenant.pk for tenant in shown[:TENANTS_SHOWN]])
    return {
        "contacts": {
            "tenants": [(tenant, counts[tenant.pk]) for tenant in shown[:TENANTS_SHOWN]],
            "more_tenants": len(shown) > TENANTS_SHOWN,
        },
        "imports_running": list(
            contact_import_list(
                tenant_ids=member_of, statuses=(ImportStatus.QUEUED, ImportStatus.RUNNING)
            )[:IMPORTS_SHOWN]
        ),
        "imports_finished": list(
            contact_import_list(
                tenant_ids=member_of, statuses=(ImportStatus.COMPLETED, ImportStatus.FAILED)
            )[:IMPORTS_SHOWN]
        ),
        "exports_ready": (
            list(contact_export_list_ready(tenant_ids=export_tenants)[:EXPORTS_SHOWN])
            if export_tenants is None or export_tenants
            else None
        ),
        "webhooks_failing": (
            list(endpoint_list_failing(tenant_ids=webhook_tenants)[:ENDPOINTS_SHOWN])
            if webhook_tenants is None or webhook_tenants
            else None
        ),
    }
