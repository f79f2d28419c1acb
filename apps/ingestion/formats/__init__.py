"""Feed formats: one module per format, one registry (http-api.md "Formats").

Every adapter has the interface of base.FeedFormatAdapter: bytes in, canonical events and
per-event rejections out, never an exception for bad input but UnreadableBody. A new partner
format is a module here registered in FORMATS (and a FeedFormat choice)."""

from .base import (
    Acknowledgement,
    CodeBook,
    CodeTable,
    FeedContext,
    FeedFormatAdapter,
    SplitReport,
    UnreadableBody,
)
from .canonical_csv import CanonicalCsvAdapter
from .canonical_json import CanonicalJsonAdapter
from .carrier_webhook import CarrierWebhookAdapter
from .custom_json import CustomJsonAdapter
from .dcsa import DcsaTntAdapter
from .edifact import EdifactAdapter
from .epcis import EpcisAdapter
from .x12 import X12Adapter

FORMATS: dict[str, FeedFormatAdapter] = {
    adapter.name: adapter
    for adapter in (
        CanonicalJsonAdapter(),
        CanonicalCsvAdapter(),
        X12Adapter(),
        EdifactAdapter(),
        EpcisAdapter(),
        DcsaTntAdapter(),
        CarrierWebhookAdapter(),
        CustomJsonAdapter(),
    )
}


def default_code_tables() -> dict[str, CodeTable]:
    """Every format's standard code tables by name (what a feed's override starts from)."""
    return {t.name: t for adapter in FORMATS.values() for t in adapter.code_tables}


__all__ = [
    "FORMATS",
    "Acknowledgement",
    "CodeBook",
    "CodeTable",
    "FeedContext",
    "FeedFormatAdapter",
    "SplitReport",
    "UnreadableBody",
    "default_code_tables",
]
