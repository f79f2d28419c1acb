"""Partners and feeds in the Django admin.

A feed is created through `feed_create`, never by saving a bare row: that issues the token
(stored only as its hash) and the HMAC secret, and audits the creation. Both are shown once,
as a warning message after saving. Pausing and resuming go through `feed_set_paused` (audited),
so `paused_at` is read-only here. The role capability `manage_feeds` grants the same rights
as the model permissions (an `admin`-role user need not be a superuser)."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Feed, Partner
from .services import feed_create, feed_set_paused


def _can(request: HttpRequest, capability: str) -> bool:
    return request.user.has_perm(f"accounts.{capability}")


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin[Partner]):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or _can(request, "manage_feeds")

    def has_view_permission(self, request: HttpRequest, obj: Partner | None = None) -> bool:
        return super().has_view_permission(request, obj) or _can(request, "manage_feeds")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) or _can(request, "manage_feeds")

    def has_change_permission(self, request: HttpRequest, obj: Partner | None = None) -> bool:
        return super().has_change_permission(request, obj) or _can(request, "manage_feeds")


class PausedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "paused"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1", "Paused"), ("0", "Active")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("0", "1"):
            return queryset.filter(paused_at__isnull=self.value() == "0")
        return queryset


ADD_HELP = (
    "Saving creates the feed and issues its token and HMAC secret. They are shown ONCE, at the top "
    "of the next page: copy them to the partner then. Only a hash of the token is kept, so it "
    "cannot be shown again. (Same as: manage.py create_feed.)"
)
CREDENTIALS_HELP = (
    "The token is stored only as a hash; the prefix identifies it. The HMAC secret is never shown "
    "here. Rotate the token or the secret on the feed's page (the old one stays valid for an overlap)."
)


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin[Feed]):
    list_display = [
        "slug",
        "partner",
        "system",
        "format",
        "paused",
        "require_signature",
        "token_prefix",
        "rate_limit_per_minute",
        "created_at",
    ]
    list_filter = ["system", "format", "require_signature", PausedFilter]
    list_select_related = ["partner"]
    search_fields = ["slug", "partner__name", "token_prefix"]
    actions = ["pause_feeds", "resume_feeds"]

    def get_fieldsets(self, request: HttpRequest, obj: Feed | None = None) -> Any:
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": ["slug", "partner", "system", "format", "require_signature"],
                        "description": ADD_HELP,
                    },
                )
            ]
        return [
            (
                None,
                {
                    "fields": [
                        "slug",
                        "partner",
                        "system",
                        "format",
                        "require_signature",
                        "paused_at",
                        "created_at",
                    ]
                },
            ),
            ("Limits", {"fields": ["rate_limit_per_minute", "max_body_bytes", "max_silence"]}),
            ("Credentials", {"fields": ["token_prefix"], "description": CREDENTIALS_HELP}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Feed | None = None) -> list[str]:
        if obj is None:
            return []
        # The slug is in the partner's URL and the system in every stored event: fixed once created.
        return ["slug", "partner", "system", "paused_at", "created_at", "token_prefix"]

    def save_model(self, request: HttpRequest, obj: Feed, form: Any, change: Any) -> None:
        if change:
            # Only what the form changed: a concurrent pause/resume must not be overwritten.
            obj.save(update_fields=form.changed_data)
            return
        credentials = feed_create(
            slug=obj.slug,
            partner_name=obj.partner.name,
            system=obj.system,
            format=obj.format,
            require_signature=obj.require_signature,
            actor=request.user,
        )
        # The admin carries on with `obj` (change log, redirect): make it the row feed_create stored.
        created = Feed.objects.get(slug=credentials.slug)
        for field in Feed._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db
        messages.warning(
            request,
            f"Feed {credentials.slug} created. Copy these now, they will not be shown again. "
            f"Token: {credentials.token}   HMAC secret: {credentials.hmac_secret}",
        )

    @admin.display(boolean=True, description="paused", ordering="paused_at")
    def paused(self, obj: Feed) -> bool:
        return obj.is_paused

    @admin.action(description="Pause selected feeds (their posts get 403)", permissions=["manage_feeds"])
    def pause_feeds(self, request: HttpRequest, queryset: QuerySet[Feed]) -> None:
        changed = sum(feed_set_paused(feed=feed, paused=True, actor=request.user) for feed in queryset)
        self.message_user(request, f"{changed} feed(s) paused.", messages.SUCCESS)

    @admin.action(description="Resume selected feeds", permissions=["manage_feeds"])
    def resume_feeds(self, request: HttpRequest, queryset: QuerySet[Feed]) -> None:
        changed = sum(feed_set_paused(feed=feed, paused=False, actor=request.user) for feed in queryset)
        self.message_user(request, f"{changed} feed(s) resumed.", messages.SUCCESS)

    def has_manage_feeds_permission(self, request: HttpRequest) -> bool:
        return _can(request, "manage_feeds")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or _can(request, "manage_feeds")

    def has_view_permission(self, request: HttpRequest, obj: Feed | None = None) -> bool:
        return super().has_view_permission(request, obj) or _can(request, "manage_feeds")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) or _can(request, "manage_feeds")

    def has_change_permission(self, request: HttpRequest, obj: Feed | None = None) -> bool:
        return super().has_change_permission(request, obj) or _can(request, "manage_feeds")

    def has_delete_permission(self, request: HttpRequest, obj: Feed | None = None) -> bool:
        return False  # its messages are evidence; pause a feed instead
