"""The one place that touches the channel layer (stub: the live slice fills it in).

Services call `publish_on_commit(message)`; nothing is sent unless the transaction commits."""

from collections.abc import Mapping
from typing import Any


def publish_on_commit(message: Mapping[str, Any]) -> None:
    """Send `message` ({"type": ..., ...}) to the ops group after the current transaction commits."""
