from django.urls import path

from .api.views import WebhookDeliveryViewSet, WebhookEndpointViewSet

endpoints = WebhookEndpointViewSet
deliveries = WebhookDeliveryViewSet

urlpatterns = [
    path("webhooks", endpoints.as_view({"get": "list", "post": "create"}), name="webhook-list"),
    path(
        "webhooks/<str:id>",
        endpoints.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="webhook-detail",
    ),
    path(
        "webhooks/<str:id>/rotate-secret",
        endpoints.as_view({"post": "rotate_secret"}),
        name="webhook-rotate-secret",
    ),
    path("webhooks/<str:id>/test", endpoints.as_view({"post": "test"}), name="webhook-test"),
    path(
        "webhooks/<str:id>/deliveries",
        deliveries.as_view({"get": "list"}),
        name="webhook-delivery-list",
    ),
    path(
        "webhooks/<str:id>/deliveries/<str:deliveryId>/retry",
        deliveries.as_view({"post": "retry"}),
        name="webhook-delivery-retry",
    ),
]
