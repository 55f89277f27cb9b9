"""Property-based fuzzing of the public API against its own OpenAPI document (Schemathesis).

The schema is loaded from `/v1/openapi.json` through the real WSGI application, and every
operation it documents becomes one pytest item (`test_api_conforms_to_its_openapi_document[…]`)
that sends generated requests in-process, authenticated with an all-scopes key of a fresh
tenant, and checks each response:

- no 5xx, whatever the input;
- the status code is one the operation documents, and the body and headers match the
  documented schema for that status and media type;
- every error (status >= 400) is `application/problem+json` (contract §6);
- a request generated to fit the document (positive data) is accepted: every bound the
  server enforces is stated in the document. The few refusals no OpenAPI document can
  foresee are excused per operation and per problem code (`CANNOT_BE_STATED`).

The number of examples is bounded (and the seed fixed) so the file fits the CI budget and a
red run reproduces; run it alone with `pytest tests/api/test_schemathesis.py`.
"""

import zlib
from types import SimpleNamespace

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flownally_admin.api.problems import PROBLEM_CONTENT_TYPE
from flownally_admin.tenancy.scopes import ALL_SCOPES, Role
from flownally_admin.tenancy.services import api_key_create
from flownally_admin.wsgi import application

from ..factories.tenancy import ServiceAccountFactory, TenantFactory

MAX_EXAMPLES = 25

schema = schemathesis.openapi.from_wsgi(
    "/v1/openapi.json",
    application,
    config=schemathesis.Config.from_dict(
        {
            # Reproducible in CI: the same requests on every run, no example database on disk.
            "seed": 20260430,
            "generation": {"database": "none"},
        }
    ),
)


@schemathesis.check
def errors_are_problem_details(ctx, response, case):
    """Contract §6: every error answers RFC 9457 Problem Details."""
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        media_type = content_type.split(";")[0].strip().lower()
        if media_type != PROBLEM_CONTENT_TYPE:
            raise AssertionError(
                f"{response.status_code} answered with Content-Type {content_type!r}, "
                f"expected {PROBLEM_CONTENT_TYPE}"
            )
    return None


# Refusals of documented-valid requests that depend on something OpenAPI cannot state,
# per operation: {operation: {problem code, or a `validation_failed` violation code}}.
# Anything else a positive case is refused with fails the check.
CANNOT_BE_STATED = {
    # `customFields[<definition id>]`: the ids are the tenant's data, not the document's.
    "GET /v1/contacts": {"unknown_custom_field"},
    # A contact needs a name, an identity or a custom-field value: `customFields` keys
    # are tenant data and `""` clears, so a schema (even an anyOf) cannot say which bodies
    # leave one. Tag ids and field ids are tenant data; a value's rule is its field's type.
    "POST /v1/contacts": {
        "empty_contact",
        "unknown_custom_field",
        "unknown_tag",
        "invalid_email",
        "invalid_phone",
        "invalid_date",
    },
    # The same, and whether a PATCH empties the contact depends on what it already holds;
    # a generated If-Match cannot be the contact's current ETag.
    "PATCH /v1/contacts/{id}": {
        "precondition_failed",
        "empty_contact",
        "unknown_custom_field",
        "unknown_tag",
        "invalid_email",
        "invalid_phone",
        "invalid_date",
    },
    # The value's type is the definition's, named by the path (documented as a string).
    "PUT /v1/contacts/{contactId}/custom-fields/{customFieldId}": {
        "invalid_email",
        "invalid_phone",
        "invalid_date",
    },
    # `pick` must name contacts of this merge (the path's and `sourceIds`), and the path's
    # contact cannot be a source (`invalid`); field ids are tenant data; a generated If-Match
    # cannot be the contact's current ETag.
    "POST /v1/contacts/{id}/merge": {"invalid", "unknown_custom_field", "precondition_failed"},
    # Column names include the tenant's custom fields; field ids are tenant data.
    "POST /v1/contacts/exports": {"invalid_choice", "unknown_custom_field"},
    # A file's content cannot be stated in OpenAPI: a generated file is seldom a CSV.
    # Tag ids are tenant data. A `file` part sent without a filename is a plain form field
    # to the multipart parser (`required`: no file was submitted); `format: binary` does not
    # make the generator name one.
    "POST /v1/contacts/import": {"invalid_csv", "unknown_tag", "required"},
}
# An Idempotency-Key is refused with another body than its first one: that depends on the
# earlier requests, and the generator repeats keys across examples.
for _operation in (
    "POST /v1/contacts",
    "POST /v1/contacts/{id}/merge",
    "POST /v1/contacts/exports",
    "POST /v1/contacts/import",
):
    CANNOT_BE_STATED[_operation] = CANNOT_BE_STATED[_operation] | {"idempotency_key_reused"}


# An identity's `metadata` is any JSON object of at most 4 KiB (as UTF-8 JSON) holding no
# NUL: OpenAPI can state neither a size in bytes nor a character banned at any depth.
METADATA_CODES = {"too_long", "invalid"}


def _stateable(error: dict) -> bool:
    """Whether the document could have ruled out this violation of a generated body."""
    field, code = str(error.get("field", "")), error.get("code")
    if field.endswith(".metadata") and code in METADATA_CODES:
        return False
    # The same identity (channel and externalId) listed twice is `invalid` on the second's
    # externalId: `uniqueItems` compares whole items, metadata included.
    return not (
        field.startswith("identities[") and field.endswith("].externalId") and code == "invalid"
    )


def _refusal_codes(response) -> set[str]:
    """The problem code, or for `validation_failed` the code of each violation (less those
    the document cannot state: see `_stateable`)."""
    try:
        problem = response.json()
    except ValueError:
        return {""}
    if problem.get("code") == "validation_failed":
        return {error.get("code") for error in problem.get("errors") or [{}] if _stateable(error)}
    return {problem.get("code")}


@schemathesis.check
def positive_data_is_accepted(ctx, response, case):
    """Schemathesis's `positive_data_acceptance`, except for the refusals in
    CANNOT_BE_STATED for that operation (every code of the answer must be excused)."""
    try:
        return schemathesis.checks.positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        excused = CANNOT_BE_STATED.get(case.operation.label, set())
        if not _refusal_codes(response) <= excused:
            raise
        return None


CHECKS = [
    schemathesis.checks.not_a_server_error,
    positive_data_is_accepted,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    errors_are_problem_details,
]


@pytest.fixture
def token(db):
    """An all-scopes API key of a fresh tenant; every generated request carries it."""
    account = ServiceAccountFactory(tenant=TenantFactory())
    _, token = api_key_create(service_account=account, role=Role.ADMIN, scopes=list(ALL_SCOPES))
    return token


@pytest.fixture
def existing_ids(token, django_capture_on_commit_callbacks):
    """A few objects of the key's tenant, made through the API, so that generated requests
    also reach existing resources (random path ids alone only ever find 404s)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(path, body, status=201, **kwargs):
        response = client.post(path, body, format=kwargs.pop("format", "json"), **kwargs)
        assert response.status_code == status, response.content
        return response.json()["id"]

    tag = post("/v1/tags", {"name": "VIP"})
    field = post("/v1/contacts/custom-fields", {"name": "Plan", "type": "text"})
    prop = post("/v1/properties/custom-fields", {"name": "Floor", "type": "date"})
    contact = post(
        "/v1/contacts",
        {
            "name": "Ada",
            "identities": [{"channel": "whatsapp", "externalId": "+1 415 555 0123"}],
            "tagIds": [tag],
            "customFields": {field: "gold", "cf_email": "ada@example.com"},
        },
    )
    archived = post("/v1/contacts", {"name": "Grace"})
    assert client.post(f"/v1/contacts/{archived}/archive").status_code == 204
    csv = b"name,email,phone\nAlan,alan@example.com,not a phone\n"
    with django_capture_on_commit_callbacks(execute=True):  # the (eager) worker runs it
        imported = post(
            "/v1/contacts/import",
            {"file": SimpleUploadedFile("people.csv", csv, content_type="text/csv")},
            status=202,
            format="multipart",
        )
    return {
        "contact": [contact, archived],
        "tag": [tag],
        "contact_field": [field, "cf_email", "cf_phone"],
        "property_field": [prop],
        "import": [imported],
    }


def _kind(path: str, parameter: str) -> str:
    """Which kind of object a path parameter names."""
    if parameter == "contactId":
        return "contact"
    if parameter == "tagId" or path.startswith("/v1/tags/"):
        return "tag"
    if parameter == "customFieldId" or path.startswith("/v1/contacts/custom-fields/"):
        return "contact_field"
    if path.startswith("/v1/properties/custom-fields/"):
        return "property_field"
    if path.startswith("/v1/contacts/imports/"):
        return "import"
    return "contact"


def point_at_existing_objects(case, existing_ids) -> None:
    """Replace about two thirds of the generated path ids by ids of existing objects.

    The choice is a function of the generated value, so a failing example replays exactly.
    """
    for name, value in (case.path_parameters or {}).items():
        choice = zlib.crc32(str(value).encode())
        candidates = existing_ids[_kind(case.operation.path, name)]
        if choice % 3:
            case.path_parameters[name] = candidates[choice % len(candidates)]


@pytest.fixture
def in_test_transaction(db):
    """Requests go through the bare WSGI handler, which (unlike Django's test client) closes
    "old" database connections on request_started/finished; inside the test transaction that
    would close the connection under the test. Disconnect it the way `django.test.Client` does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # The DB fixtures are function-scoped and deliberately shared by all examples of one
    # operation (data accumulates within the test transaction, which rolls back at the end).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_openapi_document(case, token, existing_ids, in_test_transaction):
    point_at_existing_objects(case, existing_ids)
    if case.meta.generation.mode.is_positive and case.query:
        # A page token is opaque and issued by the server for one query: no document can
        # describe one that a generator could make, so positive cases ask for a first page.
        # (Negative cases keep theirs: any token sent must be a 400 `invalid_page_token`.)
        case.query.pop("pageToken", None)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


def test_the_problem_details_check_rejects_other_error_bodies():
    """The custom check bites: an error answered as HTML or JSON fails, a success does not."""

    def response(status, content_type):
        return SimpleNamespace(status_code=status, headers={"content-type": [content_type]})

    errors_are_problem_details(None, response(404, "application/problem+json"), None)
    errors_are_problem_details(None, response(200, "application/json"), None)
    for status, content_type in ((404, "text/html; charset=utf-8"), (422, "application/json")):
        with pytest.raises(AssertionError, match="expected application/problem\\+json"):
            errors_are_problem_details(None, response(status, content_type), None)
