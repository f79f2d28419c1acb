"""File intake pages: upload on a feed's page (admins), the file's page with its progress,
messages, rejections, envelope errors, the orders its events landed on and the EDI
acknowledgements to download."""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from apps.feeds.selectors import feed_get

from .api.files import ack_document
from .choices import FileStatus
from .feed_formats import feed_context
from .files import FileRefused, file_receive, max_upload_bytes
from .formats import FORMATS, UnreadableBody
from .selectors import file_get, file_orders, file_progress, file_rejections, message_get
from .uploads import declared_too_large

FINISHED = (FileStatus.SPLIT, FileStatus.REJECTED, FileStatus.FAILED)


@login_required
@permission_required("accounts.manage_feeds", raise_exception=True)
@require_POST
def feed_file_upload(request: HttpRequest, slug: str) -> HttpResponse:
    feed = feed_get(slug=slug)
    if feed is None:
        raise Http404("no such feed")
    if feed.is_paused:
        flash.error(request, "The feed is paused: resume it before uploading its files.")
        return redirect("feed-detail", slug=slug)
    limit = max_upload_bytes(feed.format)
    if declared_too_large(request.META, limit):
        flash.error(request, f"The file was not accepted: larger than {limit} bytes for a {feed.format} feed.")
        return redirect("feed-detail", slug=slug)
    upload = request.FILES.get("file")
    if upload is None:
        flash.error(request, "Choose a file to upload.")
        return redirect("feed-detail", slug=slug)
    try:
        received = file_receive(feed=feed, chunks=upload.chunks(), name=upload.name or "upload", actor=request.user)
    except FileRefused as exc:
        flash.error(request, f"The file was not accepted: {exc.detail}")
        return redirect("feed-detail", slug=slug)
    if not received.created:
        flash.info(request, "This exact file had been uploaded to this feed before: here it is.")
    return redirect("file-detail", file_id=received.file.id)


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def file_detail(request: HttpRequest, file_id: str) -> HttpResponse:
    record = file_get(file_id=file_id)
    if record is None:
        raise Http404("no such file")
    progress = file_progress(file_id=record.id)
    done = record.status in FINISHED and progress["finished"] == progress["messages"]
    page = Paginator(record.messages.order_by("file_part"), 25).get_page(request.GET.get("page"))
    context = {
        "file": record,
        "progress": progress,
        "done": done,
        "percent": _percent(record.bytes_read, record.size, progress),
        "page": page,
        "rejections": file_rejections(file_id=record.id),
        # a join over every event of the file: once, when it is done, not on every 2 s poll
        "orders": file_orders(file_id=record.id) if done and progress["accepted"] else [],
        "acks": list(record.acknowledgements.defer("body")[:200]),
    }
    htmx = request.htmx  # type: ignore[attr-defined]
    template = (
        "ingestion/_file_live.html" if htmx and not htmx.history_restore_request else "ingestion/file_detail.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _percent(read: int, size: int, progress: dict[str, int]) -> int:
    """Half for the split (bytes read), half for the processing (messages finished)."""
    split = read / size if size else 1.0
    processed = progress["finished"] / progress["messages"] if progress["messages"] else 0.0
    return int(100 * (split + processed) / 2)


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def file_ack_download(request: HttpRequest, file_id: str, n: int) -> HttpResponse:
    record = file_get(file_id=file_id)
    ack = None if record is None else record.acknowledgements.filter(position=n).first()
    if record is None or ack is None:
        raise Http404("no such acknowledgement")
    return ack_document(ack.kind, bytes(ack.body), f"{record.name}.{n}.{ack.kind.lower()}")


@login_required
@permission_required("accounts.view_feeds", raise_exception=True)
def message_ack_download(request: HttpRequest, message_id: str) -> HttpResponse:
    message = message_get(message_id=message_id)
    if message is None:
        raise Http404("no such message")
    if message.file_id is not None:
        return redirect("file-detail", file_id=message.file_id)
    try:
        acks = FORMATS[message.feed.format].acknowledge(bytes(message.body), feed_context(message.feed))
    except UnreadableBody:
        acks = []
    if not acks:
        raise Http404("no acknowledgement for this message")
    return ack_document(acks[0].kind, b"".join(a.body for a in acks), f"{message.id}.{acks[0].kind.lower()}")
