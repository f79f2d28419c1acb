from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import RawMessage


class IngestAcceptedSerializer(serializers.Serializer):
    message_id = serializers.UUIDField(source="id")
    received = serializers.IntegerField(source="received_count")


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "index": {"type": "integer", "description": "position of the event in the body"},
                "event_id": {"type": "string", "nullable": True},
                "errors": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
)
class RejectionsField(serializers.JSONField):
    """Stored as [{index, event_id, errors}] on the message; shown as is."""


class MessageStatusSerializer(serializers.ModelSerializer):
    message_id = serializers.UUIDField(source="id")
    feed = serializers.CharField(source="feed.slug", read_only=True)
    received = serializers.IntegerField(source="received_count", help_text="events the body announced")
    # Left out for a user without `view_feeds` (apps/accounts/access.py), hence not required.
    rejected = RejectionsField(source="rejections", required=False)

    class Meta:
        model = RawMessage
        fields = [
            "message_id",
            "feed",
            "status",
            "received_at",
            "processed_at",
            "received",
            "accepted",
            "duplicates",
            "rejected",
            "attempts",
            "error",
        ]
