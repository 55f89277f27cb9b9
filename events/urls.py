from django.urls import path

from .api.views import ContactHistoryViewSet, EventViewSet

urlpatterns = [
    path("events", EventViewSet.as_view({"get": "list"}), name="events"),
    path(
        "contacts/<str:id>/history",
        ContactHistoryViewSet.as_view({"get": "list"}),
        name="contact-history",
    ),
]
