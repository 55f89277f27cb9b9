from django import forms
from django.contrib import admin

from flownally_admin.errors import ValidationFailed
from flownally_admin.tenancy.admin import TenantListFilter, TenantScopedAdminMixin

from .models import Tag
from .services import TagExists, tag_create, tag_delete, tag_rename, tag_validate


class TagAdminForm(forms.ModelForm):
    # No field-level length/required checks: the service's rule and message apply.
    name = forms.CharField(strip=False, required=False)

    class Meta:
        model = Tag
        fields = ["tenant", "name"]

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or getattr(self.instance, "tenant", None)
        if tenant is None:
            return cleaned
        try:
            cleaned["name"] = tag_validate(
                tenant=tenant, name=cleaned.get("name"), tag_id=self.instance.pk
            )
        except ValidationFailed as exc:
            self.add_error("name", exc.violations[0].message)
        except TagExists as exc:
            self.add_error("name", exc.detail)
        return cleaned


@admin.register(Tag)
class TagAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    form = TagAdminForm
    list_display = ["name", "tenant", "created_by", "created_at"]
    list_filter = [TenantListFilter]
    search_fields = ["name"]
    ordering = ["name"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant", "created_by", "created_at"] if obj else ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        """Writes go through the tag services, as they do from the API."""
        if change:
            saved = tag_rename(tenant=obj.tenant, tag_id=obj.pk, name=obj.name)
        else:
            saved = tag_create(tenant=obj.tenant, name=obj.name, created_by=request.user.pk)
        obj.pk, obj.created_by, obj.created_at = saved.pk, saved.created_by, saved.created_at

    def delete_model(self, request, obj):
        tag_delete(tenant=obj.tenant, tag_id=obj.pk)
