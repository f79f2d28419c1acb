"""Percentiles computed the way PostgreSQL's `percentile_cont` computes them, for SQLite (the
embedded demo), which has no ordered-set aggregates. Both backends must show the same numbers."""

from collections.abc import Iterable
from math import floor

from django.db import connection

PERCENTILES: tuple[float, ...] = (0.5, 0.9)


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def percentile_cont(ordered: list[float], fraction: float) -> float | None:
    """Linear interpolation between the two closest ranks (`percentile_cont` semantics)."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def percentiles(values: Iterable[float]) -> tuple[int, list[float | None]]:
    """(count, [p50, p90]) of `values`."""
    ordered = sorted(values)
    return len(ordered), [percentile_cont(ordered, p) for p in PERCENTILES]
