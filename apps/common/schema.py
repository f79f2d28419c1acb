"""The OpenAPI schema's error answers: every operation documents what it can answer besides
success, so that a client (and schemathesis, tests/fuzz/) can tell a documented refusal from a
surprise. drf-spectacular documents only the success code by default."""

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import permissions, serializers


class ErrorSerializer(serializers.Serializer[Any]):
    """DRF's error body: `detail`, or the invalid fields each with their messages (400)."""

    detail = serializers.CharField(required=False, help_text="why the request was refused")


# status → when any operation may answer it
_ALWAYS = {
    "401": "no credentials, or credentials that are not valid",
    "403": "valid credentials without the right to this operation",
    "429": "too many requests: wait for Retry-After",
}
_WITH_INPUT = {"400": "a parameter or the body is not valid: each invalid field with why"}
_WITH_PATH = {"404": "nothing with this id"}
_PAST_THE_LAST_PAGE = {"404": "nothing with this id, or a page past the last"}
_UNSUPPORTED_BODY = {"415": "a body in a content type this operation does not take (JSON, or multipart for uploads)"}
_STATE_CONFLICT = {"409": "not in a state that allows this (already resolved, released, still running…)"}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        extra = dict(_WITH_INPUT)  # query parameters or a body: every operation here has one or the other
        if "{" in self.path:
            extra.update(_WITH_PATH)
        if self.method == "GET" and (self._is_list_view() or "count" in str(responses.get("200", ""))):
            extra.update(_PAST_THE_LAST_PAGE)
        if self.method in ("POST", "PATCH") and "{" in self.path:
            extra.update(_STATE_CONFLICT)
        if self.method in ("POST", "PATCH", "PUT"):
            extra.update(_UNSUPPORTED_BODY)
        if not self._public():
            extra.update(_ALWAYS)
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        # An error comes in whatever the request negotiated (a CSV download's refusal is text).
        content = {
            media_type: {"schema": error if media_type == "application/json" else {"type": "string"}}
            for media_type in dict.fromkeys(r.media_type for r in self.view.get_renderers())
        }
        for code, description in extra.items():
            responses.setdefault(code, {"description": description, "content": content})
        return responses

    def _map_serializer(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        """A request serializer that refuses keys it does not know (`refuses_unknown_keys`)
        says so: additionalProperties false."""
        schema = super()._map_serializer(serializer, direction, bypass_extensions)  # type: ignore[no-untyped-call]
        if direction == "request" and getattr(serializer, "refuses_unknown_keys", False) and isinstance(schema, dict):
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        """A text field of a request body that may not be blank says so with a pattern: DRF trims
        the spaces first, so `minLength: 1` alone would let "  " pass as valid."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)  # type: ignore[no-untyped-call]
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and isinstance(schema, dict)
            and schema.get("type") == "string"
            and not {"pattern", "enum", "format"} & set(schema)
            and not any(isinstance(v, RegexValidator) for v in field.validators)  # its pattern comes next
        ):
            schema["pattern"] = r"\S"
        return schema

    def _public(self) -> bool:
        return any(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())


def paginated(serializer_class: type[serializers.Serializer[Any]]) -> serializers.Serializer[Any]:
    """The schema of a page that a view paginates by hand: `{"count", "next", "previous",
    "results"}` (apps/common/drf.py), as the generic list views get it automatically."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(
        name=f"Paginated{name}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )
