"""Who may use what: one row per route of the URL conf (by URL name, `admin:*` for the Django
admin) and per websocket route, with what each HTTP method needs.

This is the single table of role x action. The navigation is built from it
(`navigation()`), some API views check it directly (`permissions.RouteAccess`), docs/roles.md
shows it (`manage.py access_table --write`), and tests/accounts/test_role_matrix.py requests
every route as every role and compares the answer with it; a route without a row fails there.

A capability row passes a user holding ANY one of its capabilities (roles.py). A refused
caller gets: on a page, the login page (anonymous) or 403; on the API, 401 (no credentials)
or 403; on a `hidden` row, 404, so that the route does not tell what exists."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.urls import NoReverseMatch, reverse

from .roles import CAPABILITIES


class Level(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed in"
    STAFF = "staff"
    CAPABILITY = "capability"
    FEED_TOKEN = "feed token"  # noqa: S105 - a level (a partner feed's own Bearer token), no secret


class Kind(StrEnum):
    PAGE = "page"
    API = "api"
    ADMIN = "admin"
    WEBSOCKET = "websocket"


@dataclass(frozen=True)
class Access:
    level: Level
    capabilities: tuple[str, ...] = ()
    # The feed's own token passes too (the view checks that the object is the feed's own).
    feed_token: bool = False
    # Refused callers get 404 (or 403 when they may know the object exists).
    hidden: bool = False
    # Response fields left out unless the user holds the capability: (field, capability).
    fields: tuple[tuple[str, str], ...] = ()
    # Another way in that is not a user or a feed, for the docs (e.g. a scraper's token).
    also: str = ""

    def __post_init__(self) -> None:
        unknown = {*self.capabilities, *(c for _, c in self.fields)} - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)}")
        if (self.level is Level.CAPABILITY) != bool(self.capabilities):
            raise ValueError("capabilities go with Level.CAPABILITY, and only with it")

    def allows_user(self, user: Any) -> bool:
        """Whether this signed-in person (or anonymous visitor) passes; never a feed."""
        if self.level is Level.PUBLIC:
            return True
        if not (user is not None and user.is_authenticated and isinstance(user, AbstractBaseUser)):
            return False
        if not getattr(user, "is_active", False):
            return False
        if self.level is Level.SIGNED_IN:
            return True
        if self.level is Level.STAFF:
            return bool(getattr(user, "is_staff", False))
        if self.level is Level.CAPABILITY:
            person: Any = user  # a User (PermissionsMixin): has_perm covers groups and superusers
            return any(person.has_perm(f"accounts.{c}") for c in self.capabilities)
        return False

    def allows_capabilities(self, held: set[str], *, staff: bool = False) -> bool:
        """The same rule for a set of capabilities (a role), without a user: for the docs."""
        if self.level in (Level.PUBLIC, Level.SIGNED_IN):
            return True
        if self.level is Level.STAFF:
            return staff
        return self.level is Level.CAPABILITY and bool(held & set(self.capabilities))

    def describe(self) -> str:
        if self.level is Level.CAPABILITY:
            text = " or ".join(f"`{c}`" for c in self.capabilities)
        elif self.level is Level.FEED_TOKEN:
            text = "the feed's own token only"
        else:
            text = str(self.level)
        if self.feed_token:
            text += ", or the feed's own token"
        if self.also:
            text += f", or {self.also}"
        if self.hidden:
            text += "; others get 404 (403 if they may know it exists)"
        by_capability: dict[str, list[str]] = {}
        for name, capability in self.fields:
            by_capability.setdefault(capability, []).append(f"`{name}`")
        for capability, names in by_capability.items():
            text += f"; {', '.join(names)} only with `{capability}`"
        return text


@dataclass(frozen=True)
class Route:
    kind: Kind
    methods: dict[str, Access] = field(default_factory=dict)

    def access(self, method: str) -> Access | None:
        method = "GET" if method in ("HEAD", "OPTIONS") else method
        return self.methods.get(method)


def cap(*capabilities: str, **options: Any) -> Access:
    return Access(Level.CAPABILITY, capabilities, **options)


PUBLIC = Access(Level.PUBLIC)
SIGNED_IN = Access(Level.SIGNED_IN)
STAFF = Access(Level.STAFF)


def page(**methods: Access) -> Route:
    return Route(Kind.PAGE, methods)


def api(**methods: Access) -> Route:
    return Route(Kind.API, methods)


LOOKUP = cap("lookup_orders")
VIEW_FEEDS = cap("view_feeds")
MANAGE_FEEDS = cap("manage_feeds")
WORK = cap("work_exceptions")
FINANCE = cap("view_finance")
RELEASE = cap("release_invoice_holds")
MANAGE_SLA = cap("manage_sla_policies")

ROUTES: dict[str, Route] = {
    # --- probes, schema, the admin
    "healthz": page(GET=PUBLIC),
    "metrics": page(GET=Access(Level.STAFF, also="`Authorization: Bearer $METRICS_TOKEN`")),
    # The Django admin: staff only, then its model permissions (docs/roles.md); its own login.
    "admin:*": Route(Kind.ADMIN, {"GET": STAFF, "POST": STAFF}),
    "admin:login": Route(Kind.ADMIN, {"GET": PUBLIC, "POST": PUBLIC}),
    "admin:logout": Route(Kind.ADMIN, {"POST": STAFF}),
    "api-schema": api(GET=PUBLIC),
    "api-docs": api(GET=PUBLIC),
    # --- accounts
    "home": page(GET=SIGNED_IN),
    "login": page(GET=PUBLIC, POST=PUBLIC),
    "logout": page(POST=PUBLIC),
    "audit-log": page(GET=cap("view_audit_log")),
    # --- feeds and messages (ingestion)
    "feed-list": page(GET=VIEW_FEEDS),
    "feed-detail": page(GET=VIEW_FEEDS),
    "feed-pause": page(POST=MANAGE_FEEDS),
    "feed-poll-now": page(POST=MANAGE_FEEDS),
    "feed-token-rotate": page(POST=MANAGE_FEEDS),
    "feed-hmac-rotate": page(POST=MANAGE_FEEDS),
    "feed-file-upload": page(POST=MANAGE_FEEDS),
    "file-detail": page(GET=VIEW_FEEDS),
    "file-ack": page(GET=VIEW_FEEDS),
    "message-detail": page(GET=VIEW_FEEDS),
    "message-ack": page(GET=VIEW_FEEDS),
    "message-replay": page(POST=MANAGE_FEEDS),
    "dead-letters": page(GET=VIEW_FEEDS),
    "api-ingest": api(POST=Access(Level.FEED_TOKEN)),
    "api-message-list": api(GET=VIEW_FEEDS),
    "api-message-status": api(
        GET=cap("lookup_orders", feed_token=True, fields=(("rejected", "view_feeds"), ("error", "view_feeds")))
    ),
    "api-message-ack": api(GET=cap("view_feeds", feed_token=True, hidden=True)),
    "api-feed-health-list": api(GET=VIEW_FEEDS),
    "api-feed-health": api(GET=VIEW_FEEDS),
    "api-feed-dry-run": api(POST=MANAGE_FEEDS),
    "api-feed-files": api(POST=cap("manage_feeds", feed_token=True, hidden=True)),
    "api-file": api(GET=cap("view_feeds", feed_token=True, hidden=True)),
    "api-file-ack": api(GET=cap("view_feeds", feed_token=True, hidden=True)),
    "api-dead-letters": api(GET=VIEW_FEEDS),
    # --- orders (correlation)
    "search": page(GET=LOOKUP),
    "order-detail": page(GET=LOOKUP),
    "unmatched": page(GET=LOOKUP),
    "api-search": api(GET=LOOKUP),
    "api-order": api(GET=LOOKUP),
    "api-order-timeline": api(GET=LOOKUP),
    "api-unmatched-events": api(GET=LOOKUP),
    # --- exceptions: reading the queues is part of working them
    "exception-queue": page(GET=WORK),
    "exception-bulk": page(POST=WORK),
    "exception-detail": page(GET=WORK),
    "exception-action": page(POST=WORK),
    "api-exceptions": api(GET=WORK),
    "api-exception": api(GET=WORK),
    "api-exception-assign": api(POST=WORK),
    "api-exception-acknowledge": api(POST=WORK),
    "api-exception-snooze": api(POST=WORK),
    "api-exception-resolve": api(POST=WORK),
    "api-exception-comment": api(POST=WORK),
    # --- SLA policies
    "sla-policy-list": page(GET=LOOKUP),
    "sla-policy-create": page(GET=MANAGE_SLA, POST=MANAGE_SLA),
    "sla-policy-detail": page(GET=LOOKUP),
    "sla-policy-edit": page(GET=MANAGE_SLA, POST=MANAGE_SLA),
    "sla-policy-active": page(POST=MANAGE_SLA),
    "api-sla-policies": api(GET=LOOKUP, POST=MANAGE_SLA),
    "api-sla-policy": api(GET=LOOKUP, PATCH=MANAGE_SLA),
    # --- finance
    "finance-holds": page(GET=FINANCE),
    "finance-hold-release": page(POST=RELEASE),
    "finance-hold-place": page(POST=RELEASE),
    "finance-runs": page(GET=FINANCE, POST=FINANCE),
    "finance-run-detail": page(GET=FINANCE),
    "finance-run-report": page(GET=FINANCE),
    "api-invoice-holds": api(GET=FINANCE, POST=RELEASE),
    "api-invoice-hold": api(GET=FINANCE),
    "api-invoice-hold-release": api(POST=RELEASE),
    "api-order-reconciliation": api(GET=LOOKUP),
    "api-reconciliation-runs": api(GET=FINANCE, POST=FINANCE),
    "api-reconciliation-run": api(GET=FINANCE),
    "api-reconciliation-run-findings": api(GET=FINANCE),
    "api-reconciliation-run-report": api(GET=FINANCE),
    # --- dashboard: feed health beside exceptions and orders
    "dashboard": page(GET=VIEW_FEEDS),
    "dashboard-counters": page(GET=VIEW_FEEDS),
    "dashboard-charts": page(GET=VIEW_FEEDS),
    # --- onboarding a partner (makes feeds)
    "onboarding": page(GET=MANAGE_FEEDS),
    "onboarding-new": page(GET=MANAGE_FEEDS, POST=MANAGE_FEEDS),
    "onboarding-resume": page(GET=MANAGE_FEEDS),
    "onboarding-partner": page(GET=MANAGE_FEEDS, POST=MANAGE_FEEDS),
    "onboarding-feed": page(GET=MANAGE_FEEDS, POST=MANAGE_FEEDS),
    "onboarding-credentials": page(GET=MANAGE_FEEDS, POST=MANAGE_FEEDS),
    "onboarding-mapping": page(GET=MANAGE_FEEDS, POST=MANAGE_FEEDS),
    "onboarding-dry-run": page(GET=MANAGE_FEEDS, POST=MANAGE_FEEDS),
    "onboarding-activate": page(GET=MANAGE_FEEDS, POST=MANAGE_FEEDS),
    "onboarding-discard": page(POST=MANAGE_FEEDS),
}

# controltower/routing.py, by path. The socket carries exception, order and hold messages:
# a user who may receive none of them is closed at once (4403; anonymous: 4401).
WEBSOCKET_ROUTES: dict[str, Route] = {
    "ws/ops/": Route(Kind.WEBSOCKET, {"CONNECT": cap("lookup_orders", "work_exceptions", "view_finance")}),
}


def route(view_name: str) -> Route:
    """The row of a URL name (`namespace:name`); a namespace may have one row for all its names."""
    if view_name in ROUTES:
        return ROUTES[view_name]
    namespace, _, _ = view_name.rpartition(":")
    if namespace and f"{namespace}:*" in ROUTES:
        return ROUTES[f"{namespace}:*"]
    raise LookupError(f"route {view_name!r} has no row in apps/accounts/access.py ROUTES")


def may(user: Any, view_name: str, method: str = "GET") -> bool:
    """Whether this user may use this route with this method, per the table."""
    access = route(view_name).access(method)
    return access is not None and access.allows_user(user)


# --- navigation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavLink:
    label: str
    route: str
    current: tuple[str, ...] = ()  # other URL names that mark the link as the current page
    current_prefix: str = ""


NAVIGATION: tuple[NavLink, ...] = (
    NavLink("Feeds", "feed-list", ("feed-detail", "message-detail", "file-detail")),
    NavLink("Dead letters", "dead-letters"),
    NavLink("Onboarding", "onboarding", current_prefix="onboarding-"),
    NavLink("Unmatched", "unmatched"),
    NavLink("Exceptions", "exception-queue", ("exception-detail",)),
    NavLink("Finance", "finance-holds", current_prefix="finance-"),
    NavLink("Dashboard", "dashboard"),
    NavLink("SLA policies", "sla-policy-list", current_prefix="sla-policy-"),
    NavLink("Audit log", "audit-log"),
    NavLink("Admin", "admin:index"),
    NavLink("API", "api-docs"),
)


def navigation(user: Any, current: str | None) -> Iterator[dict[str, Any]]:
    """The links of the top bar this user may follow, in order: each is shown exactly when the
    table lets the user GET its page."""
    for link in NAVIGATION:
        if not may(user, link.route):
            continue
        try:
            url = reverse(link.route)
        except NoReverseMatch:  # a URL conf without that part (e.g. a test's own)
            continue
        is_current = current is not None and (
            current == link.route
            or current in link.current
            or bool(link.current_prefix and current.startswith(link.current_prefix))
        )
        yield {"label": link.label, "url": url, "current": is_current}
