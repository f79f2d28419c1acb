"""Feed formats. Each turns a raw body into canonical-event candidates; one registry.

A new partner format is a module here with the same two functions, registered in FORMATS."""

from .base import FeedFormatAdapter, UnreadableBody
from .canonical_json import CanonicalJsonAdapter

FORMATS: dict[str, FeedFormatAdapter] = {
    "canonical-json": CanonicalJsonAdapter(),
}

__all__ = ["FORMATS", "FeedFormatAdapter", "UnreadableBody"]
