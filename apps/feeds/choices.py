from django.db import models


class FeedFormat(models.TextChoices):
    """The formats of http-api.md "Formats"; each has an adapter in apps/ingestion/formats."""

    CANONICAL_JSON = "canonical-json", "Canonical JSON (contract v1)"
    CANONICAL_CSV = "canonical-csv", "Canonical CSV (contract columns)"
    X12 = "x12", "ANSI X12 (214, 856, 940, 945, 204, 210)"
    EDIFACT = "edifact", "UN/EDIFACT (IFTSTA, DESADV)"
    EPCIS = "epcis", "GS1 EPCIS 2.0 (JSON / JSON-LD, XML)"
    DCSA_TNT = "dcsa-tnt", "DCSA Track & Trace"
    CARRIER_WEBHOOK = "carrier-webhook", "Carrier tracker webhook (EasyPost-style)"
    CUSTOM_JSON = "custom-json", "Partner JSON with a declarative mapping"


class FeedTransport(models.TextChoices):
    """How a feed's data reaches the control tower (http-api.md "Polled feeds")."""

    PUSH = "push", "Push (the partner posts to the ingest API)"
    FILE = "file", "Files (uploaded, or posted as multipart)"
    POLL = "poll", "Poll (the control tower pulls the partner's URL)"
