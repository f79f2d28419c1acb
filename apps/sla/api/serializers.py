from datetime import timedelta
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.events.taxonomy import EventType
from apps.exceptions.choices import Queue, Severity

from ..choices import Deadline
from ..durations import duration_iso, duration_parse
from ..models import SlaPolicy


@extend_schema_field({"type": "string", "format": "duration", "example": "PT4H"})
class IsoDurationField(serializers.Field):
    def to_internal_value(self, data: Any) -> timedelta:
        try:
            return duration_parse(str(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def to_representation(self, value: timedelta) -> str:
        return duration_iso(value)


class AppliesToSerializer(serializers.Serializer):
    refuses_unknown_keys = True  # the schema says additionalProperties: false (apps.common.schema)
    service_level = serializers.CharField(required=False)
    customer = serializers.CharField(required=False)
    partner = serializers.CharField(required=False)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    f"unknown key {', '.join(unknown)}; allowed: {', '.join(self.fields)}"
                )
        return super().to_internal_value(data)


class SlaPolicySerializer(serializers.ModelSerializer[SlaPolicy]):
    """The contract's body (http-api.md "Exceptions and SLA"); `within` and `deadline` are
    mutually exclusive."""

    start = serializers.ChoiceField(choices=EventType.choices)
    stop = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), min_length=1)
    within = IsoDurationField(required=False, allow_null=True)
    deadline = serializers.ChoiceField(choices=Deadline.choices, required=False, allow_null=True, allow_blank=True)
    applies_to = AppliesToSerializer(required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MEDIUM)
    queue = serializers.ChoiceField(choices=Queue.choices, default=Queue.OPS)

    class Meta:
        model = SlaPolicy
        fields = [
            "id",
            "name",
            "start",
            "stop",
            "within",
            "deadline",
            "applies_to",
            "severity",
            "queue",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs: dict[str, Any] = {"name": {"validators": []}}  # the service answers a duplicate with a clear 400

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        touched = not self.partial or "within" in attrs or "deadline" in attrs
        if touched and (attrs.get("within") is not None) == bool(attrs.get("deadline")):
            raise serializers.ValidationError({"within": ["give exactly one of within or deadline"]})
        return attrs

    def to_representation(self, instance: SlaPolicy) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["deadline"] = instance.deadline or None
        data["applies_to"] = instance.applies_to
        return data
