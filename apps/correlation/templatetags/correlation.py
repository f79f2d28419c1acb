"""Template helpers for order lookup: the home page's recent orders, labels for stages and id kinds."""

from typing import Any

from django import template

from apps.events.taxonomy import RefKind

from ..selectors import order_list

register = template.Library()

KIND_LABELS: dict[str, str] = {str(k): str(k.label) for k in RefKind}


@register.simple_tag
def recent_orders(limit: int = 20) -> list[Any]:
    """The orders with the latest events, newest first (one query)."""
    return list(order_list()[:limit])


@register.filter
def stage_label(stage: str) -> str:
    return stage.replace("_", " ") if stage else "no stage yet"


@register.filter
def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)
