"""Admin for tenancy, and the mixin that scopes every other admin to the user's tenants."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Membership, Tenant, User
from .selectors import tenant_list_for_user


class TenantScopedAdminMixin:
    """Shows and offers only objects of the tenants the staff user belongs to."""

    tenant_field = "tenant"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{f"{self.tenant_field}__in": tenant_list_for_user(user=request.user)}
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == self.tenant_field:
            kwargs["queryset"] = tenant_list_for_user(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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
