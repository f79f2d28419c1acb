"""The finance card of the home page (templates/home.html), for users with view_finance."""

from typing import Any

from django import template

from ..selectors import held_summary, latest_runs, reconciliation_counts

register = template.Library()


@register.simple_tag
def finance_summary() -> dict[str, Any]:
    return {"held": held_summary(), "recon": reconciliation_counts(), "runs": list(latest_runs(3))}
