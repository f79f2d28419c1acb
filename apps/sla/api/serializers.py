import re
from datetime import timedelta
from typing import Any

from django.utils.dateparse import parse_duration
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.events.taxonomy import EventType
from apps.exceptions.choices import Queue, Severity

from ..choices import Deadline
from ..models import SlaPolicy

# ISO 8601 durations only ("PT4H", "P1DT30M"): parse_duration also takes "4:00:00" and
# "1 day, 4:00:00", which a contract field should not silently accept.
_ISO_DURATION = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def duration_iso(value: timedelta) -> str:
    """`timedelta(hours=4)` → "PT4H"."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "") if seconds else "PT0S"


@extend_schema_field({"type": "string", "format": "duration", "example": "PT4H"})
class IsoDurationField(serializers.Field):
    default_error_messages = {"invalid": 'not an ISO-8601 duration (e.g. "PT4H", "P1DT12H"): {value!r}'}

    def to_internal_value(self, data: Any) -> timedelta:
        text = str(data).strip().upper()
        parsed = parse_duration(text) if _ISO_DURATION.match(text) else None
        if parsed is None:
            self.fail("invalid", value=data)
        assert parsed is not None
        if parsed <= timedelta(0):
            raise serializers.ValidationError("must be a positive duration")
        return parsed

    def to_representation(self, value: timedelta) -> str:
        return duration_iso(value)


class AppliesToSerializer(serializers.Serializer):
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
