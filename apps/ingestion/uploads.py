"""Multipart uploads that stop at the largest file the control tower takes: Django otherwise
spools any body to disk before a view can refuse it (docs/formats.md "File intake")."""

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler

# Room for the multipart boundaries and the other fields of the form.
ENVELOPE_BYTES = 64 * 1024


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Spools uploads to a temporary file, as Django's own handler, and stops reading a body
    declared or found larger than INGEST_FILE_MAX_BYTES (the views answer 413)."""

    def handle_raw_input(
        self, input_data: Any, META: dict[str, Any], content_length: int, boundary: Any, encoding: str | None = None
    ) -> None:
        if content_length > settings.INGEST_FILE_MAX_BYTES + ENVELOPE_BYTES:
            raise StopUpload(connection_reset=True)
        super().handle_raw_input(input_data, META, content_length, boundary, encoding)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > settings.INGEST_FILE_MAX_BYTES:
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)


def declared_too_large(meta: dict[str, Any], limit: int) -> bool:
    """The request says its body is larger than `limit` (plus the multipart envelope)."""
    try:
        return int(meta.get("CONTENT_LENGTH") or 0) > limit + ENVELOPE_BYTES
    except ValueError:
        return False
