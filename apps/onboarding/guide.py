"""What the wizard tells the admin: a sentence per format and transport on what the partner
sends, and the example requests shown with the credentials."""

import shlex
from dataclasses import dataclass

from apps.feeds.choices import FeedFormat, FeedTransport
from apps.ingestion.formats import FORMATS

FORMAT_HELP: dict[str, str] = {
    FeedFormat.CANONICAL_JSON: (
        "The partner already speaks the control tower's contract: one canonical event as JSON, or "
        '{"events": [...]} with up to 1,000 of them, each with event_id, type, occurred_at and refs.'
    ),
    FeedFormat.CANONICAL_CSV: (
        "A spreadsheet export: a header row of canonical field names (type, occurred_at, refs.order, "
        "location.code, lines as sku:qty;sku:qty …) and one event a row."
    ),
    FeedFormat.X12: (
        "ANSI X12 interchanges from a carrier or 3PL: 214 shipment status, 856 ship notice, 940/945 "
        "warehouse orders and advice, 204 load tender, 210 freight invoice. Status codes go through code tables."
    ),
    FeedFormat.EDIFACT: (
        "UN/EDIFACT interchanges, mostly from European carriers: IFTSTA status messages (and DESADV "
        "despatch advice). Status codes go through code tables."
    ),
    FeedFormat.EPCIS: (
        "GS1 EPCIS 2.0 documents (JSON / JSON-LD or XML) from a warehouse or a serialisation system: "
        "business steps and dispositions become canonical events through code tables."
    ),
    FeedFormat.DCSA_TNT: (
        "DCSA Track & Trace events from an ocean carrier: transport, equipment and shipment events, one "
        "or an array of them (the shape of DCSA's GET /events)."
    ),
    FeedFormat.CARRIER_WEBHOOK: (
        "A parcel platform's tracker webhook (EasyPost tracker.updated, AfterShip, Shippo): one "
        "canonical event per tracking detail."
    ),
    FeedFormat.CUSTOM_JSON: (
        "The partner's own JSON, whatever its shape: you map its fields to canonical ones on the "
        "mapping step, picking paths from a sample, without code."
    ),
}

TRANSPORT_HELP: dict[str, str] = {
    FeedTransport.PUSH: "The partner's system posts each message to the ingest API with the feed's token.",
    FeedTransport.FILE: (
        "The partner (or you) uploads files of any size, which are kept and split into messages: "
        "multipart to the files API, or on the feed's page."
    ),
    FeedTransport.POLL: (
        "The control tower pulls the partner's URL every interval with GET, following the "
        "Next-Page-Cursor header until drained; you need the URL and its authentication headers."
    ),
}

SAMPLE_FILE: dict[str, str] = {
    FeedFormat.CANONICAL_JSON: "events.json",
    FeedFormat.CANONICAL_CSV: "events.csv",
    FeedFormat.X12: "interchange.edi",
    FeedFormat.EDIFACT: "interchange.edi",
    FeedFormat.EPCIS: "epcis.json",
    FeedFormat.DCSA_TNT: "events.json",
    FeedFormat.CARRIER_WEBHOOK: "webhook.json",
    FeedFormat.CUSTOM_JSON: "partner.json",
}


def content_type_of(format: str) -> str:
    """The content type a partner posts this format with (the format's first one)."""
    return FORMATS[format].content_types[0]


@dataclass(frozen=True)
class Examples:
    ingest: str
    file_upload: str
    signed: str


def examples(
    *, base_url: str, slug: str, format: str, token: str, hmac_secret: str, signed_only: bool = False
) -> Examples:
    """The `curl` commands shown once with the credentials: a push to the ingest API with the
    format's content type, the same signed (X-CT-Signature), and a multipart file upload —
    with the feed's token, or (`signed_only`: a feed whose posts must be signed, which a
    multipart upload cannot be) with an admin's API token."""
    sample = SAMPLE_FILE.get(format, "body")
    ingest_url = shlex.quote(f"{base_url}/api/v1/ingest/{slug}/")
    files_url = shlex.quote(f"{base_url}/api/v1/feeds/{slug}/files/")
    auth = shlex.quote(f"Authorization: Bearer {token}")
    content_type = shlex.quote(f"Content-Type: {content_type_of(format)}")
    ingest = f"curl -X POST {ingest_url} \\\n  -H {auth} \\\n  -H {content_type} \\\n  --data-binary @{sample}"
    signed = (
        "T=$(date +%s)\n"
        f"SIG=$( (printf '%s.' \"$T\"; cat {sample}) | openssl dgst -sha256 -hmac {shlex.quote(hmac_secret)}"
        " | sed 's/^.*= //')\n"
        f'{ingest} \\\n  -H "X-CT-Signature: t=$T,v1=$SIG"'
    )
    uploader = shlex.quote("Authorization: Token <admin API token>") if signed_only else auth
    file_upload = f"curl -X POST {files_url} \\\n  -H {uploader} \\\n  -F file=@{sample}"
    return Examples(ingest=ingest, file_upload=file_upload, signed=signed)
