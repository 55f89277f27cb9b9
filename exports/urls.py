from django.urls import path

from .api.views import ContactExportViewSet

# Included before contacts.urls: `contacts/exports` is not a contact id.
urlpatterns = [
    path(
        "contacts/exports",
        ContactExportViewSet.as_view({"post": "create"}),
        name="contacts-exports",
    ),
    path(
        "contacts/exports/<str:id>",
        ContactExportViewSet.as_view({"get": "retrieve"}),
        name="contacts-export",
    ),
    path(
        "contacts/exports/<str:id>/file",
        ContactExportViewSet.as_view({"get": "download"}),
        name="contacts-export-file",
    ),
]
