"""factory-boy factories. Feeds go through the real service so tokens are hashed as in production;
the plaintext credentials are kept on the instance as `.credentials` for the test to use."""

from typing import Any

import factory
from django.contrib.auth.models import Group, User

from apps.feeds.models import Feed
from apps.feeds.services import feed_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class FeedFactory(factory.Factory):
    class Meta:
        model = Feed

    slug = factory.Sequence(lambda n: f"feed-{n}")
    partner_name = factory.Sequence(lambda n: f"Partner {n}")
    system = "wms"
    format = "canonical-json"
    require_signature = False

    @classmethod
    def _create(cls, model_class: type[Feed], *args: Any, **kwargs: Any) -> Feed:
        extra = {k: kwargs.pop(k) for k in list(kwargs) if k in {"rate_limit_per_minute", "max_body_bytes"}}
        creds = feed_create(**kwargs)
        feed = Feed.objects.get(slug=creds.slug)
        if extra:
            Feed.objects.filter(pk=feed.pk).update(**extra)
            feed.refresh_from_db()
        feed.credentials = creds  # type: ignore[attr-defined]
        return feed


def event(n: int | str = 1, **overrides: Any) -> dict[str, Any]:
    """A valid canonical event; overrides replace top-level keys."""
    base: dict[str, Any] = {
        "event_id": f"e-{n}",
        "type": "pick.completed",
        "occurred_at": "2026-11-25T10:15:00+01:00",
        "source_status": "PICKED",
        "refs": {"order": "SO-1001", "warehouse_task": f"WT-{n}"},
        "location": {"code": "DC-EAST"},
        "lines": [{"sku": "A-1", "qty": 9, "uom": "EA"}],
    }
    base.update(overrides)
    return base


def sla_policy(**overrides: Any) -> Any:
    """An SLA policy through the real service: "delivered within 4 h of order.created", every
    order, high severity, the ops queue, unless `overrides` say otherwise. The open orders'
    evaluation is a task queued on commit: a test inside a transaction runs it itself."""
    from datetime import timedelta

    from apps.sla.services import sla_policy_create

    data: dict[str, Any] = {
        "actor": None,
        "name": "deliver-within-4h",
        "start": "order.created",
        "stop": ["delivery.completed"],
        "within": timedelta(hours=4),
        "applies_to": {},
        "severity": "high",
        "queue": "ops",
        **overrides,
    }
    return sla_policy_create(**data)
