from rest_framework import serializers

from ..models import RawMessage


class IngestAcceptedSerializer(serializers.Serializer):
    message_id = serializers.UUIDField(source="id")
    received = serializers.IntegerField(source="received_count")


class RejectedEventSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    errors = serializers.ListField(child=serializers.CharField())


class MessageStatusSerializer(serializers.ModelSerializer):
    message_id = serializers.UUIDField(source="id")
    feed = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    received = serializers.IntegerField(source="received_count")
    rejected = RejectedEventSerializer(source="rejections", many=True)

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
