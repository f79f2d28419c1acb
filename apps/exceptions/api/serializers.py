from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import CaseStatus, ExceptionKind, Queue, Severity
from ..items import exception_item
from ..models import ExceptionActivity, ExceptionCase
from ..selectors import age_delta

# What the schema states of the filters and bodies (so that a client, and schemathesis, can tell
# a valid request from the schema alone); the validate_* methods say the same in words.
_STATUSES = "|".join(CaseStatus.values)
STATUS_LIST = RegexValidator(rf"^({_STATUSES})(,({_STATUSES}))*$", "one status, or several separated by commas")
AGE = RegexValidator(r"^[1-9][0-9]{0,4}[mhd]$", "a positive number of minutes, hours or days such as 4h or 3d")


class ExceptionSerializer(serializers.ModelSerializer[ExceptionCase]):
    """The contract's item (http-api.md "Exceptions and SLA"), plus a few extensions."""

    status = serializers.CharField(source="current_status", help_text="open | acknowledged | snoozed | resolved")
    order = serializers.CharField(source="order.value", allow_null=True, default=None)
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)

    class Meta:
        model = ExceptionCase
        fields = [
            "id",
            "kind",
            "code",
            "severity",
            "status",
            "queue",
            "order",
            "opened_at",
            "last_seen_at",
            "occurrences",
            "assignee",
            "subject",
            "source_type",
            "snoozed_until",
            "resolved_at",
            "resolution",
        ]

    def to_representation(self, instance: ExceptionCase) -> dict[str, Any]:
        # The fields above document the item (OpenAPI); the live messages carry the same one.
        return dict(exception_item(instance))


class ActivitySerializer(serializers.ModelSerializer[ExceptionActivity]):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)

    class Meta:
        model = ExceptionActivity
        fields = ["at", "action", "actor", "detail"]


class FilterSerializer(serializers.Serializer):
    status = serializers.CharField(
        required=False, help_text="one status, or several separated by commas", validators=[STATUS_LIST]
    )
    kind = serializers.ChoiceField(choices=ExceptionKind.choices, required=False)
    queue = serializers.ChoiceField(choices=Queue.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    order = serializers.CharField(required=False)
    assignee = serializers.CharField(
        required=False, help_text="a username, `me` (the caller) or `unassigned` (extension: the last two)"
    )
    age = serializers.CharField(
        required=False,
        help_text="extension: opened at least this long ago, `<n>m`, `<n>h` or `<n>d` (e.g. 4h, 3d)",
        validators=[AGE],
    )
    customer = serializers.CharField(
        required=False, help_text="extension: the order's customer contains this text (case-insensitive)"
    )

    def validate_age(self, value: str) -> str:
        try:
            age_delta(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc).partition(": ")[2]) from exc
        return value.strip()

    def validate_status(self, value: str) -> list[str]:
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = sorted(set(statuses) - set(CaseStatus.values))
        if unknown:
            raise serializers.ValidationError(f"unknown status {', '.join(unknown)}; one of {', '.join(CaseStatus)}")
        return statuses


@extend_schema_field({"type": "string", "format": "date-time"})
class Rfc3339Text(serializers.CharField):
    """Read as text and parsed by the view (apps.common.time.parse_iso: an offset required)."""


class AssignSerializer(serializers.Serializer):
    assignee = serializers.CharField(allow_null=True, help_text="a username, or null to unassign")


class SnoozeSerializer(serializers.Serializer):
    until = Rfc3339Text(help_text="RFC 3339 time with offset, in the future")


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField()


class CommentSerializer(serializers.Serializer):
    text = serializers.CharField()
