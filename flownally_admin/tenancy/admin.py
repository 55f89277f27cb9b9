"""Admin for tenancy, and the mixin that scopes every other admin to the user's tenants."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_variables

from flownally_admin.admin_display import summarised
from flownally_admin.errors import ApplicationError, ValidationFailed

from .models import ApiKey, Membership, ServiceAccount, Tenant, User
from .scopes import ALL_SCOPES, Role
from .selectors import actor_names, tenant_list_for_user
from .services import (
    api_key_create,
    api_key_revoke,
    service_account_create,
    service_account_rename,
    service_account_validate,
)


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


class NameCheckedByServiceForm(forms.ModelForm):
    """A tenant-owned object's form whose `name` is checked by the service's own rule.

    No field-level length or required checks: the service's rules and messages apply,
    the same as through the API.
    """

    name = forms.CharField(strip=False, required=False)

    def validate_name(self, tenant, name: str | None) -> str:
        """The service's check: returns the normalised name or raises ApplicationError."""
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or getattr(self.instance, "tenant", None)
        if tenant is None:
            return cleaned
        try:
            cleaned["name"] = self.validate_name(tenant, cleaned.get("name"))
        except ValidationFailed as exc:
            for reason in exc.reasons():
                self.add_error("name", reason)
        except ApplicationError as exc:
            self.add_error("name", exc.detail)
        return cleaned


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

    def user_tenant_ids(self, request) -> list[str]:
        """The ids themselves, not a subquery: `tenant_id IN ('tn_…')` lets PostgreSQL walk
        the (tenant, …) indexes in list order; `IN (SELECT …)` makes it sort the tenant."""
        cache = request.__dict__.setdefault("_tenant_ids", {})
        if self.tenant_roles not in cache:
            cache[self.tenant_roles] = list(self.user_tenants(request).values_list("pk", flat=True))
        return cache[self.tenant_roles]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.tenant_field}__in": self.user_tenant_ids(request)})

    def get_object(self, request, object_id, from_field=None):
        # A NUL in the URL would reach PostgreSQL as a DataError (a 500): it is just no object.
        if "\x00" in object_id:
            return None
        return super().get_object(request, object_id, from_field)

    def changelist_view(self, request, extra_context=None):
        """The list without any filter or search whose value holds a NUL (PostgreSQL cannot
        compare text with one: every filter of every list would answer a 500), and a
        message saying so."""
        with_nul = [
            name
            for name, values in request.GET.lists()
            if "\x00" in name or any("\x00" in value for value in values)
        ]
        if with_nul:
            query = request.GET.copy()
            for name in with_nul:
                del query[name]
            self.message_user(
                request, "A filter or search cannot contain a NUL character.", messages.ERROR
            )
            return redirect(f"{request.path}?{query.urlencode()}")
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        # The autocomplete of a related field searches here too: a NUL matches nothing.
        if "\x00" in search_term:
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

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


def actor_html(actor_id: str, names: dict[str, str]) -> str:
    """An actor by name, its id on hover (from `actor_names`)."""
    return format_html('<span title="{}">{}</span>', actor_id, names.get(actor_id, actor_id))


class ActorNamesMixin:
    """For admins of objects that record who made them (`created_by`, an actor id): a
    "created by" column and read-only field showing the actor's name, the id on hover.

    A changelist looks the names up once for the rows of its page (one query per kind
    of actor, `actor_names`), not once per row; a change page, for its one object.
    """

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:  # not rendered yet: the rows shown are these objects
            rows = list(changelist.result_list)
            names = actor_names(actor_ids=[row.created_by for row in rows])
            for row in rows:
                row.actor_names = names
        return response

    @admin.display(description="created by")
    def created_by_name(self, obj):
        names = getattr(obj, "actor_names", None)
        if names is None:
            names = actor_names(actor_ids=[obj.created_by])
        return actor_html(obj.created_by, names)


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


class ApiKeyColumns:
    """How a key is shown wherever keys are listed: by prefix, never by token."""

    @admin.display(description="key", ordering="token_prefix")
    def key(self, key):
        return f"{key.token_prefix}…"

    @admin.display(description="scopes")
    def scope_list(self, key):
        return ", ".join(key.scopes)

    @admin.display(description="scopes")
    def scope_count(self, key):
        """In lists: how many, the scopes themselves on hover (a key with all fourteen
        would push the dates and status out of a 1280 px window)."""
        count = len(key.scopes)
        summary = f"all {count}" if set(key.scopes) == set(ALL_SCOPES) else str(count)
        return summarised(summary, ", ".join(key.scopes))

    @admin.display(description="status")
    def status(self, key):
        if key.revoked_at is not None:
            return "revoked"
        return "active" if key.is_usable() else "expired"


class ApiKeyInline(ApiKeyColumns, admin.TabularInline):
    """A service account's keys, read-only: keys are created and revoked in their own admin."""

    model = ApiKey
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["key", "role", "scope_count", "created_at", "expires_at", "last_used_at", "status"]
    readonly_fields = fields
    ordering = ["-created_at"]

    # The account's admin has already decided who may look; the keys shown are its own.
    def has_view_permission(self, request, obj=None):
        return True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ServiceAccountAdminForm(NameCheckedByServiceForm):
    class Meta:
        model = ServiceAccount
        fields = ["name", "tenant"]

    def validate_name(self, tenant, name):
        return service_account_validate(tenant=tenant, name=name, account_id=self.instance.pk)


@admin.register(ServiceAccount)
class ServiceAccountAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Machine identities of the tenant and their keys; for owners and admins."""

    tenant_roles = (Role.OWNER, Role.ADMIN)
    form = ServiceAccountAdminForm
    list_display = ["name", "tenant", "created_at", "active_key_count"]
    list_filter = [TenantListFilter]
    list_select_related = ["tenant"]
    search_fields = ["name"]
    ordering = ["name"]
    inlines = [ApiKeyInline]

    def get_queryset(self, request):
        now = timezone.now()
        usable = Q(api_keys__revoked_at__isnull=True) & (
            Q(api_keys__expires_at__isnull=True) | Q(api_keys__expires_at__gt=now)
        )
        return super().get_queryset(request).annotate(active_keys=Count("api_keys", filter=usable))

    @admin.display(description="active keys", ordering="active_keys")
    def active_key_count(self, account):
        return account.active_keys

    def get_readonly_fields(self, request, obj=None):
        return ["tenant", "created_at"] if obj else ["created_at"]

    # Deleting an account would delete its keys' records with it; keys are revoked instead.
    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Writes go through the tenancy services."""
        if change:
            service_account_rename(account=obj, name=obj.name)
        else:
            saved = service_account_create(tenant=obj.tenant, name=obj.name)
            obj.pk, obj.created_at = saved.pk, saved.created_at


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ALL_SCOPES],
        initial=list(ALL_SCOPES),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ["service_account", "role", "scopes", "expires_at"]


class RevokedListFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(ApiKeyColumns, TenantScopedAdminMixin, admin.ModelAdmin):
    """API keys, for owners and admins: created once, then only read or revoked.

    The token is generated by the service and shown on the page that answers the
    add form; it is not kept anywhere (not in the session, nor the admin log), so
    that page is the only time anyone sees it.
    """

    tenant_roles = (Role.OWNER, Role.ADMIN)
    form = ApiKeyCreateForm
    change_fields = [
        "key",
        "service_account",
        "tenant",
        "role",
        "scope_list",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "status",
    ]
    list_display = [
        "key",
        "service_account",
        "tenant",
        "role",
        "scope_count",
        "created_at",
        "expires_at",
        "last_used_at",
        "status",
    ]
    list_filter = [TenantListFilter, "role", RevokedListFilter]
    list_select_related = ["service_account__tenant", "tenant"]
    search_fields = ["token_prefix", "service_account__name"]
    ordering = ["-created_at"]
    actions = ["revoke_selected"]

    def get_fields(self, request, obj=None):
        return self.change_fields if obj else ["service_account", "role", "scopes", "expires_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.change_fields if obj else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "service_account":
            kwargs["queryset"] = ServiceAccount.objects.filter(
                tenant__in=self.user_tenants(request)
            ).select_related("tenant")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Keys are never edited (only revoked) and never deleted (revoking keeps the record).
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request, obj=None):
        return self.has_tenant_access(request)

    def add_view(self, request, form_url="", extra_context=None):
        # Saving always leads to the page showing the token, never to another form.
        extra_context = {
            **(extra_context or {}),
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().add_view(request, form_url, extra_context)

    # Kept out of error reports, here and in the service this calls.
    @sensitive_variables("token")
    def save_model(self, request, obj, form, change):
        """Creates the key through the service; the token rides on the instance to the response."""
        key, token = api_key_create(
            service_account=form.cleaned_data["service_account"],
            role=form.cleaned_data["role"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data["expires_at"],
        )
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(key, field.attname))
        obj._state.adding = False
        obj._token = token

    @sensitive_variables("context")
    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API key created",
            "key": obj,
            "token": obj._token,
        }
        return TemplateResponse(request, "admin/tenancy/apikey/created.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["show_revoke"] = (
            obj is not None and obj.revoked_at is None and self.has_revoke_permission(request, obj)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        revoke = path(
            "<path:object_id>/revoke/",
            self.admin_site.admin_view(self.revoke_view),
            name="tenancy_apikey_revoke",
        )
        return [revoke, *super().get_urls()]

    def revoke_view(self, request, object_id):
        """The change page's "Revoke" button: confirm, then revoke the one key."""
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        key = self.get_object(request, unquote(object_id))
        if key is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            self._revoke(request, [key])
            return redirect(
                reverse(f"{self.admin_site.name}:tenancy_apikey_change", args=[quote(key.pk)])
            )
        return self._revoke_confirmation(request, [key], action=False)

    @admin.action(permissions=["revoke"], description="Revoke selected API keys")
    def revoke_selected(self, request, queryset):
        keys = list(queryset.select_related("service_account"))
        if request.POST.get("post"):
            self._revoke(request, keys)
            return None  # back to the changelist
        return self._revoke_confirmation(request, keys, action=True)

    def _revoke(self, request, keys: list[ApiKey]) -> None:
        live = [key for key in keys if key.revoked_at is None]
        with transaction.atomic():
            for key in live:
                api_key_revoke(key=key)
                self.log_change(request, key, [{"changed": {"fields": ["Revoked at"]}}])
        noun = "API key" if len(live) == 1 else "API keys"
        message = f"Revoked {len(live)} {noun}."
        already = len(keys) - len(live)
        if already:  # said, not skipped in silence
            message += f" {already} {'was' if already == 1 else 'were'} already revoked."
        self.message_user(request, message, messages.SUCCESS if live else messages.ERROR)

    def _revoke_confirmation(self, request, keys: list[ApiKey], *, action: bool):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Revoke API keys?" if len(keys) > 1 else "Revoke API key?",
            "keys": keys,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME if action else None,
        }
        return TemplateResponse(request, "admin/tenancy/apikey/revoke_confirmation.html", context)
