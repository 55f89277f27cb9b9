from django.urls import path

from .api.imports import ContactImportUploadViewSet, ContactImportViewSet
from .api.merge import ContactMergeViewSet
from .api.views import ContactViewSet


def _view(actions: dict[str, str]):
    return ContactViewSet.as_view(actions)


# Literal segments (count, custom-fields, import…) come before `contacts/<id>`.
urlpatterns = [
    path("contacts", _view({"get": "list", "post": "create"}), name="contacts"),
    path("contacts/count", _view({"get": "count"}), name="contacts-count"),
    path(
        "contacts/import",
        ContactImportUploadViewSet.as_view({"post": "create"}),
        name="contacts-import",
    ),
    path(
        "contacts/imports/<str:id>",
        ContactImportViewSet.as_view({"get": "retrieve"}),
        name="contacts-import-status",
    ),
    path(
        "contacts/imports/<str:id>/errors.csv",
        ContactImportViewSet.as_view({"get": "errors_csv"}),
        name="contacts-import-errors",
    ),
    path(
        "contacts/<str:id>",
        _view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="contact",
    ),
    path("contacts/<str:id>/archive", _view({"post": "archive"}), name="contact-archive"),
    path("contacts/<str:id>/unarchive", _view({"post": "unarchive"}), name="contact-unarchive"),
    path(
        "contacts/<str:id>/duplicates",
        ContactMergeViewSet.as_view({"get": "duplicates"}),
        name="contact-duplicates",
    ),
    path(
        "contacts/<str:id>/merge",
        ContactMergeViewSet.as_view({"post": "merge"}),
        name="contact-merge",
    ),
    path(
        "contacts/<str:contactId>/custom-fields/<str:customFieldId>",
        _view({"put": "set_custom_field"}),
        name="contact-custom-field",
    ),
    path(
        "contacts/<str:contactId>/tags/<str:tagId>",
        _view({"post": "tag", "delete": "untag"}),
        name="contact-tag",
    ),
]
