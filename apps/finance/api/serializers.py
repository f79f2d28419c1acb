from rest_framework import serializers

from ..choices import AGE_BUCKETS, HoldReason, HoldStatus


class AmountSerializer(serializers.Serializer):
    value = serializers.CharField(help_text='"125.00"')
    currency = serializers.CharField(help_text="ISO 4217")


class HoldSerializer(serializers.Serializer):
    """http-api.md "Reconciliation and invoice holds"; the fields after `released_at` are
    extensions (docs/finance.md)."""

    id = serializers.IntegerField()
    invoice = serializers.CharField()
    order = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=HoldStatus.choices)
    reason = serializers.ChoiceField(choices=HoldReason.choices)
    amount = AmountSerializer(allow_null=True)
    held_since = serializers.DateTimeField()
    released_at = serializers.DateTimeField(allow_null=True)
    customer = serializers.CharField(help_text="the order's customer ('' when unknown)")
    release_hint = serializers.CharField(help_text="what would release it (held), or what released it")
    manual = serializers.BooleanField(help_text="placed by hand (disputed): released only by hand")
    outcome = serializers.CharField(help_text="'' while held; cleared, manual or cancelled once released")
    posted_while_held = serializers.BooleanField()
    age_bucket = serializers.CharField(help_text="0-2d, 3-7d, 8-30d or >30d since held_since")


class HoldFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[*HoldStatus.values, "all"], required=False, help_text="default: all")
    reason = serializers.ChoiceField(choices=HoldReason.choices, required=False)
    age = serializers.ChoiceField(choices=[name for name, _, _ in AGE_BUCKETS], required=False)
    customer = serializers.CharField(required=False, max_length=200)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    order = serializers.CharField(required=False, max_length=100)
    invoice = serializers.CharField(required=False, max_length=100)


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="why it is released (audited)")


class PlaceSerializer(serializers.Serializer):
    order = serializers.CharField(max_length=100)
    invoice = serializers.CharField(max_length=100)
    reason = serializers.CharField(max_length=2000, help_text="what is disputed (audited)")


class HoldActivitySerializer(serializers.Serializer):
    action = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    event = serializers.IntegerField(source="event_id", allow_null=True)
    detail = serializers.JSONField()
    at = serializers.DateTimeField()


class FindingSerializer(serializers.Serializer):
    rule = serializers.CharField()
    detail = serializers.CharField()
    queue = serializers.CharField()
    severity = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    pending_until = serializers.DateTimeField(allow_null=True, help_text="set while inside its grace period")


class ReconciliationSerializer(serializers.Serializer):
    order = serializers.CharField()
    status = serializers.ChoiceField(choices=["matched", "mismatched", "pending"])
    findings = FindingSerializer(many=True)
