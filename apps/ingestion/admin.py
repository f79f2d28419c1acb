"""Raw messages in the Django admin: read-only evidence, with a reprocess action.

Dead letters are the messages with status `failed` (filter on status). Reprocessing goes
through `message_mark_for_replay` (audited). The list never loads bodies (up to 5 MB each)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .models import RawMessage
from .services import message_mark_for_replay

BODY_PREVIEW_CHARS = 200 * 1024


MESSAGE_FIELDS: tuple[str, ...] = (
    "id",
    "page_link",
    "feed",
    "status",
    "content_type",
    "received_at",
    "processing_started_at",
    "processed_at",
    "attempts",
    "received_count",
    "accepted",
    "duplicates",
    "rejections",
    "error",
    "body_preview",
)


def _can(request: HttpRequest, capability: str) -> bool:
    return request.user.has_perm(f"accounts.{capability}")


@admin.register(RawMessage)
class RawMessageAdmin(admin.ModelAdmin[RawMessage]):
    list_display = [
        "received_at",
        "feed",
        "status",
        "received_count",
        "accepted",
        "duplicates",
        "rejected",
        "attempts",
    ]
    list_filter = ["status", "feed"]
    list_select_related = ["feed"]
    ordering = ["-received_at"]
    show_full_result_count = False  # COUNT(*) over millions of messages on every page is slow
    actions = ["reprocess"]
    fields = MESSAGE_FIELDS
    readonly_fields = MESSAGE_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[RawMessage]:
        return super().get_queryset(request).defer("body")

    @admin.display(description="rejected")
    def rejected(self, obj: RawMessage) -> int:
        return len(obj.rejections or [])

    @admin.display(description="web page")
    def page_link(self, obj: RawMessage) -> SafeString:
        return format_html('<a href="{}">Open in the control tower</a>', reverse("message-detail", args=[obj.id]))

    @admin.display(description="body (as received)")
    def body_preview(self, obj: RawMessage) -> SafeString:
        text = obj.body_text
        note = ""
        if len(text) > BODY_PREVIEW_CHARS:
            text, note = text[:BODY_PREVIEW_CHARS], f"First 200 KB of {len(obj.body)} bytes shown."
        return format_html(
            '<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto; margin: 0">{}</pre>{}',
            text,
            note,
        )

    @admin.action(description="Reprocess selected messages", permissions=["manage_feeds"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[RawMessage]) -> None:
        queued = skipped = 0
        for message in queryset.select_related(None).only("id"):
            if message_mark_for_replay(message=message, actor=request.user):
                queued += 1
            else:
                skipped += 1
        self.message_user(request, f"{queued} message(s) queued for reprocessing.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} skipped: still being processed; try again when finished.",
                messages.WARNING,
            )

    def has_manage_feeds_permission(self, request: HttpRequest) -> bool:
        return _can(request, "manage_feeds")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or _can(request, "view_feeds")

    def has_view_permission(self, request: HttpRequest, obj: RawMessage | None = None) -> bool:
        return super().has_view_permission(request, obj) or _can(request, "view_feeds")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages arrive through the ingest API only

    def has_change_permission(self, request: HttpRequest, obj: RawMessage | None = None) -> bool:
        return False  # evidence: never altered

    def has_delete_permission(self, request: HttpRequest, obj: RawMessage | None = None) -> bool:
        return False
