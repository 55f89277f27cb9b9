"""Contract §10: `POST /v1/contacts/exports`, its status, and its file."""

import hashlib

import orjson
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from flownally_admin.api.idempotency import OPENAPI_SCHEMA as IDEMPOTENCY_KEY_SCHEMA
from flownally_admin.api.idempotency import run_idempotently
from flownally_admin.api.schema import BODY_PROBLEMS, problem_responses
from flownally_admin.api.views import ApiViewSet

from ..representation import export_status_data
from ..selectors import contact_export_get
from ..services import contact_export_create, contact_export_file_name, contact_export_open
from .serializers import (
    ExportAcceptedSerializer,
    ExportContactsRequestSerializer,
    ExportStatusSerializer,
)

EXPORT_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="`exp_…`")


@extend_schema(tags=["Contact exports"])
class ContactExportViewSet(ApiViewSet):
    required_scopes = {
        "create": "contact:export",
        "retrieve": "contact:export",
        "download": "contact:export",
    }

    @extend_schema(
        operation_id="exportContacts",
        summary="Export contacts to CSV",
        description="Queues an export of the contacts matching the list's filters, given as "
        "members. Poll the `Location` for its status; download the file once `completed`.",
        request=ExportContactsRequestSerializer,
        parameters=[
            OpenApiParameter("Idempotency-Key", IDEMPOTENCY_KEY_SCHEMA, OpenApiParameter.HEADER)
        ],
        responses={
            202: ExportAcceptedSerializer,
            **problem_responses(*BODY_PROBLEMS, "idempotency_key_reused"),
        },
    )
    def create(self, request):
        payload = ExportContactsRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        members = dict(payload.validated_data)
        columns = members.pop("columns", None)

        def perform():
            export = contact_export_create(
                tenant=self.tenant, created_by=self.actor_id, filters=members, columns=columns
            )
            return Response(
                {"id": export.pk, "status": export.status},
                status=status.HTTP_202_ACCEPTED,
                headers={"Location": f"/v1/contacts/exports/{export.pk}"},
            )

        digest = hashlib.sha256(orjson.dumps(request.data, option=orjson.OPT_SORT_KEYS))
        return run_idempotently(
            request, tenant=self.tenant, perform=perform, body_digest=digest.hexdigest()
        )

    @extend_schema(
        operation_id="getExportStatus",
        summary="Get export status",
        parameters=[EXPORT_ID],
        responses={200: ExportStatusSerializer, **problem_responses("export_not_found")},
    )
    def retrieve(self, request, id):
        export = contact_export_get(tenant=self.tenant, export_id=id)
        return Response(export_status_data(export))

    @extend_schema(
        operation_id="getExportFile",
        summary="Download an export's file",
        description="The CSV (UTF-8 with BOM): `id,name,email,phone,whatsapp,sms,"
        "email_identity,messenger,instagram,livechat,tags,<custom fields by name>,archived,"
        "createdAt,updatedAt`, or the columns asked for. Several identities of a channel, and "
        "several tags, are joined by `;`; a cell a spreadsheet would run as a formula starts "
        "with `'`. The importer reads it back.",
        parameters=[EXPORT_ID],
        responses={
            (200, "text/csv"): OpenApiResponse(str, description="The export's CSV file."),
            **problem_responses("export_not_found", "export_not_ready", "export_expired"),
        },
    )
    def download(self, request, id):
        export = contact_export_get(tenant=self.tenant, export_id=id)
        response = FileResponse(
            contact_export_open(export),
            as_attachment=True,
            filename=contact_export_file_name(export),
            content_type="text/csv; charset=utf-8",
        )
        if export.size_bytes is not None:
            response["Content-Length"] = str(export.size_bytes)
        return response
