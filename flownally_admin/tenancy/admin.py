"""Admin for tenancy, and the mixin that scopes every other admin to the user's tenants."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Membership, Tenant, User
from .selectors import tenant_list_for_user


class TenantListFilter(admin.SimpleListFilter):
    """ "By tenant", offering only the tenants the staff user may see."""

    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request, model_admin):
        tenants = tenant_list_for_user(user=request.user, roles=model_admin.tenant_roles)
        return [(tenant.pk, str(tenant)) for tenant in tenants]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(tenant_id=self.value())
        return queryset


class TenantScopedAdminMixin:
    """Shows and offers only objects of the tenants the staff user belongs to.

    Access follows the user's memberships, not Django's per-model permissions:
    a staff member may use this admin where they hold a role in `tenant_roles`
    (any role when None; definitions and keys are for owners and admins, not
    agents). A superuser sees every tenant.
    """

    tenant_field = "tenant"
    tenant_roles: tuple[str, ...] | None = None

    def user_tenants(self, request):
        return tenant_list_for_user(user=request.user, roles=self.tenant_roles)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.tenant_field}__in": self.user_tenants(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == self.tenant_field:
            kwargs["queryset"] = self.user_tenants(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_tenant_access(self, request) -> bool:
        """Whether the user may use this admin at all; asked many times a page, so cached."""
        user = request.user
        if user.is_superuser:
            return True
        if not (user.is_active and user.is_staff):
            return False
        cache = request.__dict__.setdefault("_tenant_access", {})
        if self.tenant_roles not in cache:
            cache[self.tenant_roles] = self.user_tenants(request).exists()
        return cache[self.tenant_roles]

    def has_module_permission(self, request):
        return self.has_tenant_access(request)

    def has_view_permission(self, request, obj=None):
        return self.has_tenant_access(request)

    def has_add_permission(self, request):
        return self.has_tenant_access(request)

    def has_change_permission(self, request, obj=None):
        return self.has_tenant_access(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_tenant_access(request)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]

    def has_module_permission(self, request):
        return request.user.is_superuser


@admin.register(User)
class FlownallyUserAdmin(UserAdmin):
    inlines = [MembershipInline]
