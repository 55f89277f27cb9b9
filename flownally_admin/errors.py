"""Domain errors raised by services and selectors.

Services know nothing of HTTP: they raise an ApplicationError with a stable
`code` (the snake_case codes of the API contract). The API turns the code into
a Problem Details response (`flownally_admin.api.problems`), the admin into a
form or message error.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One problem with one input member: `field` is its path (`identities[0].externalId`)."""

    field: str
    code: str
    message: str


class ApplicationError(Exception):
    code = "internal_error"
    default_detail = "The request could not be completed."

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        """HTTP headers the error implies (Retry-After, say); services name no HTTP otherwise."""
        return {}

    def members(self) -> dict:
        """Members of the problem body beyond the standard ones (a merged contact's
        `mergedInto`, say)."""
        return {}

    def reasons(self) -> list[str]:
        """What went wrong, in words for a person (the admin's messages)."""
        return [self.detail]


class ValidationFailed(ApplicationError):
    code = "validation_failed"
    default_detail = "The request has invalid members."

    def __init__(self, violations: list[FieldViolation], detail: str | None = None):
        self.violations = list(violations)
        super().__init__(detail)

    def reasons(self) -> list[str]:
        # `detail` only says that some member is invalid: the violations say which and why.
        return [violation.message for violation in self.violations] or [self.detail]

    @classmethod
    def single(cls, field_path: str, code: str, message: str) -> "ValidationFailed":
        return cls([FieldViolation(field_path, code, message)])

    @classmethod
    def from_tuples(cls, violations: list[tuple[str, str, str]]) -> "ValidationFailed":
        return cls([FieldViolation(*violation) for violation in violations])


class NotFound(ApplicationError):
    code = "not_found"
    default_detail = "The resource does not exist."


class Conflict(ApplicationError):
    code = "conflict"


class TooBusy(ApplicationError):
    """Come back later: a limit on concurrent work was reached."""

    code = "rate_limited"
    retry_after_seconds = 30

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class ViolationCollector:
    """Gathers every violation of an input before raising, so a client sees them all at once."""

    def __init__(self):
        self.violations: list[FieldViolation] = []

    def add(self, field_path: str, code: str, message: str) -> None:
        self.violations.append(FieldViolation(field_path, code, message))

    def raise_if_any(self) -> None:
        if self.violations:
            raise ValidationFailed(self.violations)
