"""Webhook endpoints in the admin, for owners and admins: their recent deliveries, a test,
a retry, enabling and disabling, and a new secret (shown once). Writes go through
webhooks.services, as they do from the API."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from events.types import EventType
from flownally_admin.admin_display import summarised, truncated
from flownally_admin.errors import ApplicationError, ValidationFailed, ViolationCollector
from flownally_admin.tenancy.admin import TenantListFilter, TenantScopedAdminMixin
from flownally_admin.tenancy.scopes import Role

from .addresses import webhook_url_validate
from .models import DisabledReason, WebhookEndpoint
from .services import (
    delivery_retry,
    endpoint_create,
    endpoint_secret_rotate,
    endpoint_test,
    endpoint_update,
    event_types_validate,
)

RECENT_DELIVERIES = 20


class WebhookEndpointForm(forms.ModelForm):
    """The URL and the event types are checked by the services' own rules."""

    url = forms.CharField(max_length=2048)
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: every event type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["tenant", "url", "description", "event_types"]

    def clean_url(self):
        try:
            return webhook_url_validate(self.cleaned_data["url"])
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.violations[0].message) from None

    def clean_event_types(self):
        collector = ViolationCollector()
        event_types = event_types_validate(self.cleaned_data["event_types"], collector=collector)
        if collector.violations:
            raise forms.ValidationError(collector.violations[0].message)
        return event_types


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_roles = (Role.OWNER, Role.ADMIN)
    form = WebhookEndpointForm
    list_display = ["address", "tenant", "subscribed_type_count", "status", "created_at"]
    list_filter = [TenantListFilter, "enabled", "disabled_reason"]
    list_select_related = ["tenant"]
    search_fields = ["url", "description"]
    ordering = ["-created_at"]
    change_form_template = "admin/webhooks/webhookendpoint/change_form.html"

    @admin.display(description="URL", ordering="url")
    def address(self, endpoint):
        return truncated(endpoint.url)

    @admin.display(description="event types")
    def subscribed_type_count(self, endpoint):
        """In the list: how many, the types themselves on hover."""
        if not endpoint.event_types:
            return "all"
        return summarised(str(len(endpoint.event_types)), ", ".join(endpoint.event_types))

    @admin.display(description="status")
    def status(self, endpoint):
        if endpoint.enabled:
            return "enabled"
        return f"disabled ({DisabledReason(endpoint.disabled_reason).label.lower()})"

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, endpoint):
        deliveries = endpoint.deliveries.order_by("-pk")[:RECENT_DELIVERIES]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    d.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    d.event_type,
                    truncated(d.event_id),
                    d.status,
                    d.attempts,
                    d.last_response_status or "—",
                    d.last_error or "—",
                    f"{d.last_duration_ms} ms" if d.last_duration_ms is not None else "—",
                    d.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") if d.next_attempt_at else "—",
                    self._retry_button(endpoint, d),
                )
                for d in deliveries
            ),
        )
        if not rows:
            return "None yet."
        return format_html(
            '<table id="recent-deliveries"><thead><tr><th>created</th><th>event type</th>'
            "<th>event</th><th>status</th><th>attempts</th><th>response</th><th>error</th>"
            "<th>time</th><th>next attempt</th><th></th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def _retry_button(self, endpoint, delivery):
        # A button of the change form posting elsewhere: forms cannot nest.
        url = reverse(
            f"{self.admin_site.name}:webhooks_webhookendpoint_retry",
            args=[quote(endpoint.pk), delivery.pk],
        )
        return format_html(
            '<button type="submit" formaction="{}" formmethod="post" formnovalidate>Retry</button>',
            url,
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "url", "description", "event_types"]
        return ["tenant", "url", "description", "event_types", "status", "recent_deliveries"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant", "status", "recent_deliveries"] if obj else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None:
            form.base_fields["event_types"].initial = obj.event_types
        return form

    # Deleting an endpoint deletes its delivery log: disable it instead.
    def has_delete_permission(self, request, obj=None):
        return False

    @sensitive_variables("secret")
    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            endpoint_update(
                tenant=obj.tenant,
                endpoint_id=obj.pk,
                url=data["url"],
                event_types=data["event_types"],
                description=data["description"],
            )
            return
        endpoint, secret = endpoint_create(
            tenant=data["tenant"],
            url=data["url"],
            event_types=data["event_types"],
            description=data["description"],
            created_by=request.user.pk,
        )
        for field in WebhookEndpoint._meta.concrete_fields:
            setattr(obj, field.attname, getattr(endpoint, field.attname))
        obj._state.adding = False
        obj._secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_page(request, obj, obj._secret, "Webhook endpoint created")

    @sensitive_variables("secret", "context")
    def _secret_page(self, request, endpoint, secret, title):
        """The one page that shows a secret: rendered from the answer, kept nowhere."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "endpoint": endpoint,
            "secret": secret,
        }
        return TemplateResponse(request, "admin/webhooks/webhookendpoint/secret.html", context)

    def get_urls(self):
        def view(name, func, route):
            return path(
                f"<path:object_id>/{route}",
                self.admin_site.admin_view(require_POST(func)),
                name=f"webhooks_webhookendpoint_{name}",
            )

        return [
            view("test", self.test_view, "test/"),
            view("rotate", self.rotate_view, "rotate-secret/"),
            view("enable", self.enable_view, "enable/"),
            view("disable", self.disable_view, "disable/"),
            view("retry", self.retry_view, "deliveries/<str:delivery_id>/retry/"),
            *super().get_urls(),
        ]

    def _endpoint(self, request, object_id) -> WebhookEndpoint:
        if not self.has_change_permission(request):
            raise PermissionDenied
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None:
            raise PermissionDenied
        return endpoint

    def _back(self, endpoint):
        return redirect(
            reverse(
                f"{self.admin_site.name}:webhooks_webhookendpoint_change", args=[quote(endpoint.pk)]
            )
        )

    def test_view(self, request, object_id):
        endpoint = self._endpoint(request, object_id)
        delivery = endpoint_test(tenant=endpoint.tenant, endpoint_id=endpoint.pk)
        self.message_user(request, f"Test event sent ({delivery.pk}).", messages.SUCCESS)
        return self._back(endpoint)

    @sensitive_variables("secret")
    def rotate_view(self, request, object_id):
        endpoint = self._endpoint(request, object_id)
        secret = endpoint_secret_rotate(tenant=endpoint.tenant, endpoint_id=endpoint.pk)
        self.log_change(request, endpoint, [{"changed": {"fields": ["Signing secret"]}}])
        return self._secret_page(request, endpoint, secret, "New signing secret")

    def enable_view(self, request, object_id):
        return self._set_enabled(request, object_id, enabled=True)

    def disable_view(self, request, object_id):
        return self._set_enabled(request, object_id, enabled=False)

    def _set_enabled(self, request, object_id, *, enabled: bool):
        endpoint = self._endpoint(request, object_id)
        endpoint_update(tenant=endpoint.tenant, endpoint_id=endpoint.pk, enabled=enabled)
        self.log_change(request, endpoint, [{"changed": {"fields": ["Enabled"]}}])
        self.message_user(
            request, "Endpoint enabled." if enabled else "Endpoint disabled.", messages.SUCCESS
        )
        return self._back(endpoint)

    def retry_view(self, request, object_id, delivery_id):
        endpoint = self._endpoint(request, object_id)
        try:
            delivery_retry(tenant=endpoint.tenant, endpoint_id=endpoint.pk, delivery_id=delivery_id)
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        else:
            self.message_user(request, f"Delivery {delivery_id} will be sent again now.")
        return self._back(endpoint)
