from django.urls import path

from .api.views import ContactFieldDefinitionViewSet, PropertyFieldDefinitionViewSet

urlpatterns = []
for prefix, viewset in [
    ("contacts", ContactFieldDefinitionViewSet),
    ("properties", PropertyFieldDefinitionViewSet),
]:
    urlpatterns += [
        path(
            f"{prefix}/custom-fields",
            viewset.as_view({"get": "list", "post": "create"}),
            name=f"{prefix}-custom-fields",
        ),
        path(
            f"{prefix}/custom-fields/<str:id>",
            viewset.as_view({"patch": "partial_update", "delete": "destroy"}),
            name=f"{prefix}-custom-field",
        ),
    ]
