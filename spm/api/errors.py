"""Errors as RFC 9457 problem details, naming the field at fault."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, connection, transaction
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from spm.services import PeriodClosedError

PROBLEM_CONTENT_TYPE = "application/problem+json"

# The problem types the API names in ``type`` (README, "Integrating with SPM");
# every other error is ``about:blank`` with the HTTP status as its title.
PROBLEM_TYPES = {
    "urn:spm:problem:missing-scope": "The API token lacks the scope the endpoint needs (403).",
    "urn:spm:problem:rate-limited": "Too many requests for the token or tenant (429).",
    "urn:spm:problem:idempotency-key-reused": (
        "The Idempotency-Key was used with another request body or endpoint (422)."
    ),
    "urn:spm:problem:idempotency-key-in-progress": (
        "A request with the same Idempotency-Key is still being processed (409)."
    ),
    "urn:spm:problem:precondition-failed": (
        "If-Match does not match the record's current ETag: someone else changed it (412)."
    ),
    "urn:spm:problem:precondition-required": "PUT and PATCH need an If-Match header (428).",
    "urn:spm:problem:content-too-large": (
        "The request body is over the size limit, refused before it is read (413)."
    ),
}


class Problem(exceptions.APIException):
    """An API error with its own problem type (one of ``PROBLEM_TYPES``)."""

    problem_type = "about:blank"


class MissingScope(Problem):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "This token lacks the scope this endpoint needs."
    problem_type = "urn:spm:problem:missing-scope"


class IdempotencyKeyReused(Problem):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with another request."
    problem_type = "urn:spm:problem:idempotency-key-reused"


class IdempotencyKeyInProgress(Problem):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed; retry later."
    problem_type = "urn:spm:problem:idempotency-key-in-progress"


class PreconditionFailed(Problem):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record changed since you read it (If-Match does not match its ETag)."
    problem_type = "urn:spm:problem:precondition-failed"


class PreconditionRequired(Problem):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Send If-Match with the ETag of your last read of this record."
    problem_type = "urn:spm:problem:precondition-required"


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            # DRF keys a list's item errors by index (``{"rows": {1: {...}}}``): one path
            # style for nested rows, ``rows[1].amount``, whatever raised the error.
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix or "non_field_errors"
            errors.extend(_flatten(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            errors.extend(
                {"field": prefix or "non_field_errors", "message": str(item)} for item in detail
            )
        else:
            for index, item in enumerate(detail):
                errors.extend(_flatten(item, f"{prefix}[{index}]" if prefix else f"[{index}]"))
    else:
        errors.append({"field": prefix or "non_field_errors", "message": str(detail)})
    return errors


def problem(
    status_code: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    problem_type: str = "about:blank",
) -> Response:
    body: dict[str, Any] = {
        "type": problem_type,
        "title": title,
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE, headers=headers)


# The database's own refusal of a closed period's ledger rows (the incentives
# triggers raise check_violation with this in the message).
CLOSED_PERIOD_MARK = "closed period"


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, PeriodClosedError):
        if connection.in_atomic_block:
            transaction.set_rollback(True)
        errors = _flatten(exc.message_dict)
        return problem(status.HTTP_409_CONFLICT, "Period closed", errors[0]["message"], errors)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if connection.in_atomic_block:
        # An error answer commits nothing the request may have written before it failed.
        transaction.set_rollback(True)
    if isinstance(exc, IntegrityError) and CLOSED_PERIOD_MARK in str(exc):
        return problem(
            status.HTTP_409_CONFLICT,
            "Period closed",
            "The period is closed: its statements and ledger are never changed.",
        )
    if isinstance(exc, IntegrityError):
        # A race past a service's own check lands on a database constraint: a conflict,
        # not a server error.
        return problem(
            status.HTTP_409_CONFLICT,
            "Conflict",
            "The change conflicts with existing data (a duplicate or a reference in use).",
        )
    if isinstance(exc, DataError):
        # Values the database cannot store (NUL bytes, dates out of range) are bad input.
        return problem(
            status.HTTP_400_BAD_REQUEST,
            "Invalid input",
            "A value is out of range or contains characters that cannot be stored.",
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = errors[0] if errors else {"field": "", "message": "Invalid input."}
        detail = (
            f"{first['field']}: {first['message']}"
            if len(errors) == 1
            else (f"{len(errors)} fields are invalid; see errors.")
        )
        return problem(status.HTTP_400_BAD_REQUEST, "Invalid input", detail, errors)
    detail_value = getattr(exc, "detail", None)
    detail = str(detail_value) if detail_value is not None else str(exc)
    title = response.status_text if hasattr(response, "status_text") else "Error"
    headers = {
        k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")
    }
    problem_type = getattr(exc, "problem_type", "about:blank")
    if isinstance(exc, exceptions.Throttled):
        problem_type = "urn:spm:problem:rate-limited"
    return problem(response.status_code, title, detail, headers=headers, problem_type=problem_type)
