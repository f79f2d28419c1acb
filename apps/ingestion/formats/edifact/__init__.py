"""UN/EDIFACT interchanges: IFTSTA (an event per STS status) and DESADV (a shipment.confirmed),
with CONTRL acknowledgements and a streaming file split.

Modules: `syntax` (service characters, streaming scanner), `envelope` (UNB/UNG/UNH checks),
`iftsta` and `desadv` (mapping), `contrl` (acknowledgements), `codes` (code tables),
`adapter` (the MappedAdapter)."""

from .adapter import EdifactAdapter

__all__ = ["EdifactAdapter"]
