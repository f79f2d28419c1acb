"""THE ROLE MATRIX: every route of the URL conf (walked recursively: pages, API, the Django admin)
and the websocket, requested as every role, anonymous and a user without a role (and, on the
API, a feed's own token and another feed's), with every method its row names; the answer must
be what apps/accounts/access.py says. A route without a row fails ("new route without a row").

What is asserted:
- refused: the exact answer (302 to the login page, 401, 403; 404 where the row hides what
  exists, which may be 403 for a caller allowed to know the object);
- allowed GET: the exact status, 200 unless ALLOWED_GET below says otherwise and why;
- allowed POST / PATCH (with an empty body): let in, i.e. not 302-to-login, 401, 403 or 405, and
  no 5xx (what the empty body then gets, 400 or a redirect back, is the view's business);
- a method the row does not name: 405 on POST-only routes (asked as someone the row lets in),
  and on API views the handlers are exactly the row's methods;
- the Django admin: GET only (its forms are Django's); every admin route sends anonymous and
  non-staff users to the admin login. For staff, with model permissions inside, only "not sent
  to the login" is asserted (403 is Django's model-permission answer).
- websocket: connect accepted and kept open, or closed with 4401 (anonymous) / 4403."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from django.urls import resolve

from apps.accounts.access import ROUTES, WEBSOCKET_ROUTES, Access, Kind, Level, route
from apps.accounts.access_docs import UrlRoute, url_routes
from apps.accounts.services import api_token_create
from tests.factories import UserFactory

from .matrix_world import MatrixWorld, matrix_world

pytestmark = pytest.mark.django_db

ROLES = ("cs_agent", "ops_lead", "finance", "admin")
USERS = ("anonymous", "no role", *ROLES)
FEEDS = ("own feed token", "other feed token")

# Allowed GETs that do not answer 200, and why.
ALLOWED_GET: dict[str, int] = {
    "onboarding-resume": 302,  # sends the draft to its current step
    "onboarding-credentials": 302,  # a fresh draft has no feed yet: back to the feed step
    "onboarding-mapping": 302,  # (idem)
    "onboarding-dry-run": 302,  # (idem)
    "onboarding-activate": 302,  # (idem)
}
# Allowed POSTs whose object the world does not build: asserted as "not refused" only.
POST_MAY_404 = {"feed-poll-now"}  # a polled feed; the spare feed is pushed to
# Routes whose success is a redirect to the login page.
SIGNS_OUT = {"logout"}
# Anonymous answers that differ from their kind's (a page's login redirect, the API's 401).
ANONYMOUS: dict[str, str] = {"metrics": "403"}  # a scraper has no session: no login page
# Admin routes' arguments, by name in the URL pattern.
ADMIN_ARGS = {"app_label": "auth", "object_id": "1", "id": "1", "content_type_id": "1", "url": "nowhere/"}


@dataclass
class Principal:
    name: str
    user: User | None = None
    page: Client | None = None
    api: Client | None = None
    feed: bool = False


def outcome(response: Any) -> str:
    """What an answer means for the matrix."""
    status = response.status_code
    if status in (301, 302, 303):
        where = urlsplit(response["Location"]).path
        if where == "/login/":
            return "login"
        if where == "/admin/login/":
            return "admin-login"
    if status in (401, 403, 404, 405):
        return str(status)
    return f"ok {status}"


def allows(access: Access, who: Principal) -> bool:
    """The row's rule, said again here for a principal (not through Access.allows_user)."""
    if access.level is Level.PUBLIC:
        return True
    if who.feed:
        return (access.feed_token or access.level is Level.FEED_TOKEN) and who.name == "own feed token"
    user = who.user
    if user is None or access.level is Level.FEED_TOKEN:
        return False
    if access.level is Level.SIGNED_IN:
        return True
    if access.level is Level.STAFF:
        return user.is_staff
    return any(user.has_perm(f"accounts.{c}") for c in access.capabilities)


def refusal(kind: Kind, name: str, access: Access, who: Principal) -> set[str]:
    """The answers a refused principal may get."""
    if kind is Kind.ADMIN:
        return {"admin-login"}
    if who.user is None and not who.feed:
        if name in ANONYMOUS:
            return {ANONYMOUS[name]}
        return {"login"} if kind is Kind.PAGE else {"401"}
    if access.level is Level.FEED_TOKEN:
        return {"403"} if who.feed else {"401"}  # another feed's token / a user: no feed token at all
    if who.feed:
        if access.feed_token:
            return {"404"}  # another feed's object: not even its existence
        return {"401", "403"}  # a feed token where only users go
    if access.hidden:
        return {"403", "404"}
    return {"403"}


def url_of(url: UrlRoute, kwargs: dict[str, Any]) -> str:
    """The route's path with these arguments, built from its pattern (also for unnamed routes)."""

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m.group(1)]), url.path)  # a regex's groups
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), path)
    return "/" + path.replace("^", "").replace("$", "")


def arguments(url: UrlRoute, world: MatrixWorld, method: str) -> dict[str, Any]:
    names = set(re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", url.path))
    wanted = {a or b for a, b in names}
    if not wanted:
        return {}
    if url.namespace == "admin":
        return {n: ADMIN_ARGS[n] for n in wanted}
    assert url.view_name is not None
    if method != "GET" and url.view_name in world.post_args:
        return world.post_args[url.view_name]
    assert url.view_name in world.args, f"{url.view_name}: no object in matrix_world.py for {sorted(wanted)}"
    return world.args[url.view_name]


def request(client: Client, method: str, path: str) -> Any:
    if method == "GET":
        return client.get(path)
    return client.generic(method, path, b"{}", content_type="application/json")


@pytest.fixture
def principals() -> dict[str, Principal]:
    out = {"anonymous": Principal("anonymous", page=Client(), api=Client())}
    for name in ("no role", *ROLES):
        user = UserFactory(role=None if name == "no role" else name, is_staff=name == "admin")
        page = Client()
        page.force_login(user)
        api = Client(headers={"Authorization": f"Token {api_token_create(user=user)}"})
        out[name] = Principal(name, user=user, page=page, api=api)
    return out


@pytest.fixture
def world(principals: dict[str, Principal], django_capture_on_commit_callbacks: Any) -> MatrixWorld:
    owner = principals["admin"].user
    assert owner is not None
    return matrix_world(owner, django_capture_on_commit_callbacks)


def feed_principals(world: MatrixWorld) -> dict[str, Principal]:
    def token_client(feed: Any) -> Client:
        return Client(headers={"Authorization": f"Bearer {feed.credentials.token}"})

    return {
        "own feed token": Principal("own feed token", api=token_client(world.feed), feed=True),
        "other feed token": Principal("other feed token", api=token_client(world.other_feed), feed=True),
    }


def routes_with_rows() -> Iterator[tuple[UrlRoute, str]]:
    for url in url_routes():
        yield url, url.view_name or f"{url.namespace}:*"


def test_every_route_has_a_row_and_every_row_a_route() -> None:
    missing = []
    for url, name in routes_with_rows():
        if url.view_name is None and f"{url.namespace}:*" not in ROUTES:
            missing.append(f"/{url.path}: an unnamed route (give it a name and a row)")
            continue
        try:
            route(name)
        except LookupError:
            missing.append(f"{name} (/{url.path}): new route without a row in apps/accounts/access.py")
    assert missing == []
    names = {url.view_name for url in url_routes()}
    stale = [name for name in ROUTES if not name.endswith(":*") and name not in names]
    assert stale == [], "rows for routes that no longer exist"


def test_every_api_view_handles_exactly_the_methods_of_its_row() -> None:
    wrong = {}
    for url, name in routes_with_rows():
        view_class = getattr(url.callback, "cls", None)  # a DRF APIView
        if view_class is None or url.namespace:
            continue
        handled = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)} - {"OPTIONS", "HEAD"}
        if handled != set(route(name).methods):
            wrong[name] = (sorted(handled), sorted(route(name).methods))
    assert wrong == {}


def test_the_websocket_routes_are_the_rows_of_the_table() -> None:
    from apps.live.audience import AUDIENCE
    from controltower.routing import websocket_urlpatterns

    assert {str(p.pattern) for p in websocket_urlpatterns} == set(WEBSOCKET_ROUTES)
    # The socket lets in whoever may receive one of its message types (apps/live/audience.py).
    receivers = {c for capabilities in AUDIENCE.values() for c in capabilities}
    assert set(WEBSOCKET_ROUTES["ws/ops/"].methods["CONNECT"].capabilities) == receivers


def test_the_role_matrix(principals: dict[str, Principal], world: MatrixWorld) -> None:
    everyone = {**principals, **feed_principals(world)}
    failures: list[str] = []

    def check(url: UrlRoute, name: str, method: str, who: Principal) -> None:
        row = route(name)
        access = row.access(method)
        assert access is not None
        on_api = row.kind is Kind.API
        client = who.api if on_api else who.page
        if client is None:
            return  # feed tokens are API credentials
        path = url_of(url, arguments(url, world, method))
        assert resolve(path).func is url.callback, path
        response = request(client, method, path)
        got = outcome(response)
        if response.status_code >= 500:
            failures.append(f"{method} {path} as {who.name}: {response.status_code}")
        elif row.kind is Kind.ADMIN and allows(access, who):
            if got == "admin-login" and access.level is not Level.PUBLIC:
                failures.append(f"{method} {path} as {who.name}: sent to the admin login")
        elif allows(access, who):
            if method == "GET":
                want = f"ok {ALLOWED_GET.get(name, 200)}"
                if got != want:
                    failures.append(f"{method} {path} as {who.name}: {got}, want {want}")
            elif got == "login" and name in SIGNS_OUT:
                pass
            elif got in ("login", "admin-login", "401", "403", "405") or (got == "404" and name not in POST_MAY_404):
                failures.append(f"{method} {path} as {who.name}: refused ({got}), the table lets them in")
        elif got not in refusal(row.kind, name, access, who):
            want = " or ".join(sorted(refusal(row.kind, name, access, who)))
            failures.append(f"{method} {path} as {who.name}: {got}, want {want}")
        if name in ("logout", "admin:logout") and who.user is not None and who.page is not None:
            who.page.force_login(who.user)  # signed out: sign in again for the next routes

    def unnamed_method_check(url: UrlRoute, name: str) -> None:
        row = route(name)
        if "GET" in row.methods or row.kind is Kind.ADMIN:
            return
        method = next(iter(row.methods))
        insider = next((p for p in everyone.values() if allows(row.methods[method], p)), None)
        client = None if insider is None else (insider.api if row.kind is Kind.API else insider.page)
        if client is None:
            return
        got = outcome(client.get(url_of(url, arguments(url, world, method))))
        if got != "405":
            failures.append(f"GET on POST-only {name} as {insider.name if insider else '-'}: {got}, want 405")

    urls = list(routes_with_rows())
    # Reads first, as everyone; then the methods that change things (a logout, a pause...).
    for url, name in urls:
        row = route(name)
        for method in [m for m in row.methods if m == "GET"]:
            for who in everyone.values():
                check(url, name, method, who)
        unnamed_method_check(url, name)
    for url, name in urls:
        row = route(name)
        if row.kind is Kind.ADMIN:
            continue
        for method in (m for m in row.methods if m != "GET"):
            for who in everyone.values():
                check(url, name, method, who)
    assert failures == [], "\n".join(failures)


def test_the_websocket_matrix(principals: dict[str, Principal], monkeypatch: pytest.MonkeyPatch) -> None:
    from controltower.asgi import application

    # Channels closes "old" connections around its database calls, which would close the
    # test's own connection mid-test (as Django's test client avoids doing).
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    failures: list[str] = []
    for path, row in WEBSOCKET_ROUTES.items():
        access = row.methods["CONNECT"]
        for who in principals.values():
            cookie = f"sessionid={who.page.cookies['sessionid'].value}" if who.user and who.page else ""
            headers = [(b"origin", b"http://testserver")] + ([(b"cookie", cookie.encode())] if cookie else [])
            expected = "open" if allows(access, who) else ("4401" if who.user is None else "4403")

            async def connect(headers: list[tuple[bytes, bytes]] = headers, path: str = path) -> str:
                communicator = WebsocketCommunicator(application, f"/{path}", headers=headers)
                connected, _ = await communicator.connect()
                if not connected:
                    return "refused at the handshake"
                if await communicator.receive_nothing(timeout=0.2):
                    await communicator.disconnect()
                    return "open"
                frame = await communicator.receive_output()
                return str(frame.get("code")) if frame["type"] == "websocket.close" else f"sent {frame}"

            got = async_to_sync(connect)()
            if got != expected:
                failures.append(f"/{path} as {who.name}: {got}, want {expected}")
    assert failures == [], "\n".join(failures)


def test_docs_roles_md_shows_the_table_of_the_source() -> None:
    from apps.accounts.access_docs import DOCS_FILE, docs_rendered

    text = DOCS_FILE.read_text(encoding="utf-8")
    assert docs_rendered(text) == text, "docs/roles.md is stale: run `python manage.py access_table --write`"
