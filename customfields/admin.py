from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected

from flownally_admin.admin_display import truncated
from flownally_admin.errors import ApplicationError, ValidationFailed
from flownally_admin.tenancy.admin import (
    ActorNamesMixin,
    TenantListFilter,
    TenantScopedAdminMixin,
)
from flownally_admin.tenancy.scopes import Role

from .models import CustomFieldDefinition
from .services import (
    CustomFieldExists,
    TypeChangeConflict,
    custom_field_definition_create,
    custom_field_definition_delete,
    custom_field_definition_update,
    custom_field_definition_validate,
)


class CustomFieldDefinitionAdminForm(forms.ModelForm):
    # No field-level length/required checks: the service's rules and messages apply.
    name = forms.CharField(strip=False, required=False)

    class Meta:
        model = CustomFieldDefinition
        fields = ["tenant", "entity_type", "name", "type"]

    def clean(self):
        cleaned = super().clean()
        existing = self.instance if self.instance.pk else None
        tenant = cleaned.get("tenant") or getattr(existing, "tenant", None)
        entity_type = cleaned.get("entity_type") or getattr(existing, "entity_type", None)
        if tenant is None or entity_type is None or self.errors:
            return cleaned
        try:
            name, _ = custom_field_definition_validate(
                tenant=tenant,
                entity_type=entity_type,
                name=cleaned.get("name"),
                type=cleaned.get("type"),
                definition=existing,
            )
        except ValidationFailed as exc:
            for violation in exc.violations:
                self.add_error(violation.field, violation.message)
        except CustomFieldExists as exc:
            self.add_error("name", exc.detail)
        except TypeChangeConflict as exc:
            self.add_error("type", exc.detail)
        except ApplicationError as exc:
            self.add_error(None, exc.detail)
        else:
            cleaned["name"] = name
        return cleaned


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(ActorNamesMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    """Contact and property fields (filter by entity type); predefined ones are read-only."""

    tenant_roles = (Role.OWNER, Role.ADMIN)
    form = CustomFieldDefinitionAdminForm
    list_display = [
        "name",
        "type",
        "entity_type",
        "predefined",
        "definition_id",
        "tenant",
        "created_at",
    ]
    list_filter = ["entity_type", "type", "predefined", TenantListFilter]
    search_fields = ["name", "public_id"]
    actions = ["delete_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    @admin.display(description="id", ordering="public_id")
    def definition_id(self, definition):
        return truncated(definition.public_id)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["public_id", "created_at"]
        if obj.predefined:
            return ["tenant", "entity_type", "name", "type", "public_id", "created_by_name"]
        return ["tenant", "entity_type", "public_id", "created_by_name", "created_at"]

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.predefined)

    @admin.action(permissions=["delete"], description="Delete selected custom field definitions")
    def delete_selected(self, request, queryset):
        """Django's own action, refused in red while a predefined field is selected: it
        would have reported the predefined fields as deleted and kept them."""
        predefined = sorted(set(queryset.filter(predefined=True).values_list("name", flat=True)))
        if predefined:
            names, one = ", ".join(predefined), len(predefined) == 1
            self.message_user(
                request,
                f"Nothing was deleted: {names} "
                f"{'is a predefined field' if one else 'are predefined fields'}, which cannot "
                f"be deleted. Unselect {'it' if one else 'them'} and try again.",
                messages.ERROR,
            )
            return None
        return django_delete_selected(self, request, queryset)

    def save_model(self, request, obj, form, change):
        """Writes go through the services, as they do from the API."""
        if change:
            saved = custom_field_definition_update(
                tenant=obj.tenant,
                entity_type=obj.entity_type,
                definition_id=obj.public_id,
                name=obj.name,
                type=obj.type,
            )
        else:
            saved = custom_field_definition_create(
                tenant=obj.tenant,
                entity_type=obj.entity_type,
                name=obj.name,
                type=obj.type,
                created_by=request.user.pk,
            )
        obj.pk, obj.public_id = saved.pk, saved.public_id

    def delete_model(self, request, obj):
        custom_field_definition_delete(
            tenant=obj.tenant, entity_type=obj.entity_type, definition_id=obj.public_id
        )

    def delete_queryset(self, request, queryset):
        for definition in queryset.filter(predefined=False):
            self.delete_model(request, definition)
