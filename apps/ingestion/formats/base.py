from typing import Protocol

from apps.events.validation import Rejection, ValidEvent


class UnreadableBody(Exception):
    """Nothing could be read at all (the request gets 400; the body is kept as rejected)."""


class TooManyEvents(UnreadableBody):
    pass


class FeedFormatAdapter(Protocol):
    content_types: tuple[str, ...]

    def count(self, body: bytes) -> int:
        """Cheap read at the door: how many events the body holds. Raises UnreadableBody."""
        ...

    def parse(self, body: bytes) -> list[ValidEvent | Rejection]:
        """Full parse, mapping and validation, in the worker."""
        ...

    def announced_types(self, body: bytes) -> frozenset[str] | None:
        """The event types a (small, readable) body announces, unvalidated, for routing it at
        the door; None when the format cannot tell cheaply."""
        ...
