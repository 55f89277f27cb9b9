from django.urls import path

from .api.views import ContactHistoryViewSet

urlpatterns = [
    path(
        "contacts/<str:id>/history",
        ContactHistoryViewSet.as_view({"get": "list"}),
        name="contact-history",
    ),
]
