"""Operations 7 and 8 and the errors.csv extension: CSV imports over the API."""

import hashlib

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from flownally_admin.api.idempotency import OPENAPI_SCHEMA as IDEMPOTENCY_KEY_SCHEMA
from flownally_admin.api.idempotency import run_idempotently
from flownally_admin.api.parsers import StrictMultiPartParser
from flownally_admin.api.schema import problem_responses
from flownally_admin.api.serializers import BoundedListField, RequestSerializer, StrictCharField
from flownally_admin.api.views import ApiViewSet

from ..importing.report import error_csv_response
from ..importing.services import contact_import_create
from ..models import ImportMode
from ..selectors import contact_import_get
from ..validation import MAX_TAG_IDS
from .serializers import ImportStatusSerializer


class FileTooLarge(exceptions.APIException):
    status_code = 413
    problem_code = "file_too_large"


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Spools the upload to a temporary file (never memory) and gives up past the limit."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.IMPORT_MAX_BYTES:
            self.request.upload_too_large = True
            raise SkipFile()
        return super().receive_data_chunk(raw_data, start)


@extend_schema_field({"type": "string", "enum": ["true", "false"]})
class _BooleanText(serializers.Field):
    """`true` or `false`, as multipart parts are text."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if data not in ("true", "false"):
            self.fail("invalid")
        return data == "true"

    def to_representation(self, value):
        return "true" if value else "false"


@extend_schema_field({"type": "string", "format": "binary"})
class _CsvFileField(serializers.FileField):
    """The uploaded CSV; drf-spectacular would describe a FileField as a URI."""


class ImportContactsRequestSerializer(RequestSerializer):
    file = _CsvFileField(
        allow_empty_file=True,  # an empty file is `invalid_csv`, said by the CSV checks
        help_text="RFC 4180 CSV, UTF-8 (BOM optional) or UTF-16 (BOM).",
    )
    mode = serializers.ChoiceField(choices=ImportMode.values, required=False)
    dryRun = _BooleanText(required=False)
    tagIds = BoundedListField(child=StrictCharField(), max_length=MAX_TAG_IDS, required=False)


class ImportContactsResponseSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()


@extend_schema(tags=["Contact imports"])
class ContactImportUploadViewSet(ApiViewSet):
    """`POST /contacts/import`: the one operation with a multipart body."""

    required_scopes = {"create": "contact:create"}
    parser_classes = [StrictMultiPartParser]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            request.upload_handlers = [LimitedUploadHandler(request._request)]

    @extend_schema(
        operation_id="importContacts",
        summary="Import contacts from CSV",
        request={"multipart/form-data": ImportContactsRequestSerializer},
        parameters=[
            OpenApiParameter("Idempotency-Key", IDEMPOTENCY_KEY_SCHEMA, OpenApiParameter.HEADER)
        ],
        responses={
            202: ImportContactsResponseSerializer,
            **problem_responses(
                "validation_failed",
                "invalid_csv",
                "file_too_large",
                "malformed_multipart",
                "unsupported_media_type",
                "idempotency_key_reused",
            ),
        },
    )
    def create(self, request):
        declared = request.META.get("CONTENT_LENGTH", "")
        if declared.isdigit() and int(declared) > settings.IMPORT_MAX_BYTES + 64 * 1024:
            raise FileTooLarge(f"The file is larger than {settings.IMPORT_MAX_BYTES} bytes.")
        data = request.data  # parses the multipart body through LimitedUploadHandler
        if getattr(request._request, "upload_too_large", False):
            raise FileTooLarge(f"The file is larger than {settings.IMPORT_MAX_BYTES} bytes.")
        fields = {key: data.getlist(key) if key == "tagIds" else data.get(key) for key in data}
        payload = ImportContactsRequestSerializer(data=fields)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]

        def perform():
            imp = contact_import_create(
                tenant=self.tenant,
                created_by=self.actor_id,
                upload=upload,
                mode=payload.validated_data.get("mode", ImportMode.UPSERT),
                dry_run=payload.validated_data.get("dryRun", False),
                tag_ids=payload.validated_data.get("tagIds", []),
            )
            return Response(
                {"id": imp.pk, "status": imp.status},
                status=status.HTTP_202_ACCEPTED,
                headers={"Location": f"/v1/contacts/imports/{imp.pk}"},
            )

        return run_idempotently(
            request, tenant=self.tenant, perform=perform, body_digest=_digest(payload)
        )


@extend_schema(tags=["Contact imports"])
class ContactImportViewSet(ApiViewSet):
    required_scopes = {"retrieve": "contact:read", "errors_csv": "contact:read"}

    @extend_schema(
        operation_id="getImportStatus",
        summary="Get import status",
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="`imp_…`")],
        responses={200: ImportStatusSerializer, **problem_responses("import_not_found")},
    )
    def retrieve(self, request, id):
        imp = contact_import_get(tenant=self.tenant, import_id=id)
        return Response(ImportStatusSerializer(imp).data)

    @extend_schema(
        operation_id="getImportErrorsCsv",
        summary="Import error report",
        description="Every error of the import as CSV (UTF-8 with BOM); cells that a "
        "spreadsheet would run as a formula are prefixed with `'`.",
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="`imp_…`")],
        responses={
            (200, "text/csv"): OpenApiResponse(str, description="row,column,code,message,value"),
            **problem_responses("import_not_found"),
        },
    )
    def errors_csv(self, request, id):
        imp = contact_import_get(tenant=self.tenant, import_id=id)
        return error_csv_response(imp)


def _digest(payload) -> str:
    """The idempotency fingerprint of a multipart body: the file's bytes and the options."""
    digest = hashlib.sha256()
    upload = payload.validated_data["file"]
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    options = {k: v for k, v in payload.validated_data.items() if k != "file"}
    digest.update(repr(sorted(options.items())).encode())
    return digest.hexdigest()
