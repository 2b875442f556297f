"""What the OpenAPI schema says beyond the serializers: the API token scheme
and the scope each operation needs, the ``Idempotency-Key``, ``If-Match`` and
``ETag`` headers, and the problem+json answers (``spm.api.errors``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import permissions, serializers

from spm.api.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from spm.api.etag import CHECKED_METHODS, VERSIONED_ACTIONS, ETagMixin
from spm.api.idempotency import IDEMPOTENCY_HEADER, KEY_MAX_LENGTH, REPLAYED_HEADER

SCOPES_EXTENSION = "x-token-scopes"


# An RFC 9457 problem document ("errors" would shadow Serializer.errors in a class body).
PROBLEM_SERIALIZER = inline_serializer(
    "Problem",
    {
        "type": serializers.CharField(
            help_text="about:blank, or one of: "
            + "; ".join(f"{name}: {text}" for name, text in PROBLEM_TYPES.items())
        ),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "errors": inline_serializer(
            "ProblemError",
            {
                "field": serializers.CharField(help_text="The field at fault: rows[3].amount"),
                "message": serializers.CharField(),
            },
            many=True,
            required=False,
        ),
    },
)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "spm.api.tokens.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A tenant API token (spm_...), created by a tenant admin. Each operation "
                f"lists the scopes that allow it in {SCOPES_EXTENSION}."
            ),
        }


class SpmAutoSchema(AutoSchema):
    def _is_tenant_view(self) -> bool:
        return hasattr(self.view, "token_read_scope")

    def _is_versioned(self) -> bool:
        return (
            isinstance(self.view, ETagMixin)
            and getattr(self.view, "action", None) in VERSIONED_ACTIONS
        )

    def _is_idempotent(self) -> bool:
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None)
        return self.method == "POST" and bool(getattr(handler, "idempotent", False))

    def token_scopes(self) -> list[str]:
        """The scopes, any one of which lets a token call this operation."""
        view: Any = self.view
        read, write = view.token_read_scope, view.token_write_scope
        if self.method in permissions.SAFE_METHODS:
            return [scope for scope in (read, write) if scope]
        return [write] if write else []

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._is_versioned():
            parameters.append(
                OpenApiParameter(
                    "ETag",
                    str,
                    OpenApiParameter.HEADER,
                    response=[200],
                    description="The record's version; send it back as If-Match to change it.",
                )
            )
            if self.method in CHECKED_METHODS:
                parameters.append(
                    OpenApiParameter(
                        "If-Match",
                        str,
                        OpenApiParameter.HEADER,
                        required=True,
                        description=(
                            "The ETag of your last read of this record: 412 when it changed "
                            "since, 428 when missing."
                        ),
                    )
                )
        if self._is_idempotent():
            parameters.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    description=(
                        f"Up to {KEY_MAX_LENGTH} characters, unique per tenant for 24 hours. A "
                        "retry with the same key and body gets the first answer again (with "
                        f"{REPLAYED_HEADER}: true); another body is 422; a retry while the "
                        "first runs is 409."
                    ),
                )
            )
        return parameters

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None or not self._is_tenant_view():
            return operation
        # Added here rather than in get_description(), which @extend_schema replaces.
        scopes = self.token_scopes()
        line = (
            f"API token scope: {' or '.join(scopes)}."
            if scopes
            else "Not open to API tokens (signed-in users only)."
        )
        description = operation.get("description")
        operation["description"] = f"{description}\n\n{line}" if description else line
        return operation

    def get_extensions(self) -> dict[str, Any]:
        extensions = dict(super().get_extensions())
        if self._is_tenant_view():
            extensions[SCOPES_EXTENSION] = self.token_scopes()
        return extensions

    def _problem(self, code: str, description: str) -> dict[str, Any]:
        response = self._get_response_for_code(
            PROBLEM_SERIALIZER, code, media_types=[PROBLEM_CONTENT_TYPE]
        )
        response["description"] = description
        return response

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = dict(super()._get_response_bodies(direction))
        if not self._is_tenant_view():
            return responses
        problems = {
            "401": "Not signed in, or the API token is invalid, expired or revoked.",
            "403": "The role or the API token's scope does not allow this.",
            "404": "No such record within your reach, or another tenant.",
            "429": "Rate limit of the API token or tenant; see Retry-After.",
        }
        if self.method not in permissions.SAFE_METHODS:
            problems["400"] = "Invalid input; errors name each field at fault."
        if self._is_idempotent():
            problems["409"] = "A request with this Idempotency-Key is still running."
            problems["422"] = "This Idempotency-Key was used with another request."
        if self._is_versioned() and self.method in CHECKED_METHODS:
            problems["412"] = "The record changed since the ETag sent in If-Match."
            problems["428"] = "If-Match is required."
        for code, text in sorted(problems.items()):
            responses.setdefault(code, self._problem(code, text))
        return responses
