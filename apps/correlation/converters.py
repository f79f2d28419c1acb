"""URL converters for order ids. An id is any text (canonical-events.md: compared exactly as
sent), a "/" included; "/" and "%2F" reach the resolver alike (the server decodes the path)."""

# The sub-resources routed as orders/<order id>/<name>/ (this app's timeline, finance's
# reconciliation): a path ending in one of them is that sub-resource, not an order of that id.
ORDER_SUB_RESOURCES = frozenset({"timeline", "reconciliation"})


class OrderKeyConverter:
    """`orders/<order_key:order_key>/`: the order itself. Refuses (so the resolver goes on to the
    sub-resource routes, those of apps included later too) an id whose last "/" part names a
    sub-resource: `SO/1/timeline/` is the timeline of `SO/1`."""

    regex = ".+"

    def to_python(self, value: str) -> str:
        head, slash, last = value.rpartition("/")
        if slash and head and last in ORDER_SUB_RESOURCES:
            raise ValueError(f"{value!r} names the {last} of {head!r}")
        return value

    def to_url(self, value: str) -> str:
        return value
