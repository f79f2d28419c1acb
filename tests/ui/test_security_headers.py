"""Browser security of the pages people work in (docs/operations.md "Security"): the Content
Security Policy and the other security headers on every one of them, nothing inline that the
policy would refuse (scripts, event handlers, style attributes, javascript: URLs, htmx attributes
that need eval), and a CSRF token in every form that posts."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import plotly
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.exceptions.models import ExceptionCase
from apps.ingestion.models import RawMessage
from apps.onboarding.services import draft_start
from apps.sla.models import SlaPolicy
from tests.correlation.conftest import World
from tests.factories import UserFactory, sla_policy

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def at(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()


@pytest.fixture
def admin_client() -> Client:
    user = UserFactory(username="ada", role="admin", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pages(db: None) -> list[str]:
    """Every page people work in, from the URL conf, each with something on it."""
    world = World()
    world.send("erp", "order.created", {"order": "SO-1"}, at(30), customer="Acme Retail", promised_by=at(-20))
    world.send("wms", "pick.completed", {"order": "SO-1", "warehouse_task": "WT-1"}, at(20))
    world.send("lastmile", "delivery.attempted", {"order": "SO-1"}, at(2), reason={"code": "CUSTOMER_ABSENT"})
    case = ExceptionCase.objects.order_by("id").first()
    assert case is not None
    message = RawMessage.objects.order_by("received_at").first()
    assert message is not None
    owner = UserFactory(role="admin")
    policy: SlaPolicy = sla_policy(name="pick-within-4h", stop=["pick.completed"])
    draft = draft_start(actor=owner, partner_name="Acme Logistics")
    return [
        reverse("home"),
        reverse("dashboard"),
        reverse("order-detail", args=["SO-1"]),
        reverse("search"),
        reverse("search") + "?q=nothing-of-that-name",
        reverse("unmatched"),
        reverse("exception-queue"),
        reverse("exception-detail", args=[case.id]),
        reverse("feed-list"),
        reverse("feed-detail", args=[message.feed.slug]),
        reverse("message-detail", args=[message.id]),
        reverse("dead-letters"),
        reverse("finance-holds"),
        reverse("finance-runs"),
        reverse("sla-policy-list"),
        reverse("sla-policy-detail", args=[policy.id]),
        reverse("sla-policy-create"),
        reverse("onboarding"),
        reverse("onboarding-partner", args=[draft.id]),
        reverse("audit-log"),
        reverse("api-docs"),
        reverse("admin:index"),
    ]


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


class PageParts(HTMLParser):
    """What of a page the policy is about: its script and style tags, inline handlers and style
    attributes, javascript: URLs, htmx attributes that need eval, and its posting forms."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.styles: list[dict[str, str | None]] = []
        self.problems: list[str] = []
        self.post_forms: list[bool] = []  # one per form that posts: has a CSRF token
        self._in_post_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found)
        if tag == "style":
            self.styles.append(found)
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> (inline event handler)")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}> (style attribute)")
            if value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}> (javascript: URL)")
            if name == "hx-trigger" and "[" in value:
                self.problems.append(f"<{tag} hx-trigger={value!r}> (a trigger filter is evaluated)")
            if name.startswith(("hx-on", "data-hx-on")) or name in {"hx-vars"} or value.startswith("js:"):
                self.problems.append(f"<{tag} {name}=…> (evaluated by htmx)")
        if tag == "form" and (found.get("method") or "").lower() == "post":
            self.post_forms.append(False)
            self._in_post_form = True
        if tag == "input" and self._in_post_form and found.get("name") == "csrfmiddlewaretoken" and found.get("value"):
            self.post_forms[-1] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_post_form = False


def test_every_page_has_the_policy_and_nothing_inline_it_would_refuse(admin_client: Client, pages: list[str]) -> None:
    forms = 0
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        header = response.headers.get("Content-Security-Policy")
        assert header, f"{url}: no Content-Security-Policy"
        policy = directives(header)
        assert policy["default-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"], url  # no inline script, no eval, not even with a nonce
        assert "'unsafe-inline'" not in policy["style-src"], url
        assert "'unsafe-eval'" not in policy["style-src"], url
        assert policy["object-src"] == ["'none'"], url
        assert policy["base-uri"] == ["'self'"], url
        assert policy["frame-ancestors"] == ["'none'"], url
        assert policy["form-action"] == ["'self'"], url
        assert policy["connect-src"] == ["'self'"], url  # the live socket is same-origin
        nonces = [v.removeprefix("'nonce-").removesuffix("'") for v in policy["style-src"] if v.startswith("'nonce-")]

        parts = PageParts()
        parts.feed(response.content.decode())
        assert parts.problems == [], url
        for script in parts.scripts:
            if script.get("type") == "application/json":  # data (json_script), never executed
                continue
            src = script.get("src") or ""
            assert src.startswith("/static/") or src.startswith(url.split("?")[0]), f"{url}: inline script {script}"
        for style in parts.styles:
            assert style.get("nonce") in nonces, f"{url}: <style> without the page's nonce"
        assert all(parts.post_forms), f"{url}: a form that posts has no CSRF token"
        forms += len(parts.post_forms)

        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
        assert response["X-Frame-Options"] == "DENY", url
    assert forms > 10  # the pages' forms were looked at (logout, actions, uploads…)


def test_the_login_page_has_the_policy_and_a_csrf_token(client: Client) -> None:
    response = client.get(reverse("login"))
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    parts = PageParts()
    parts.feed(response.content.decode())
    assert parts.problems == []
    assert parts.post_forms == [True]
    assert response["X-Frame-Options"] == "DENY"


def test_session_and_csrf_cookies_stay_out_of_other_sites_requests(client: Client) -> None:
    UserFactory(username="ada")
    client.get(reverse("login"))
    response = client.post(reverse("login"), {"username": "ada", "password": "pw-for-tests"})
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert client.cookies[settings.CSRF_COOKIE_NAME]["samesite"] == "Lax"


def test_every_template_form_that_posts_carries_the_csrf_token() -> None:
    """Pages not rendered above (wizard steps, fragments) are covered by their templates."""
    missing = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for tag in re.finditer(r"<form\b[^>]*>", text, re.IGNORECASE):
            if not re.search(r"""method\s*=\s*["']?post""", tag.group(0), re.IGNORECASE):
                continue
            end = text.find("</form>", tag.end())
            if "csrf_token" not in text[tag.end() : end if end != -1 else len(text)]:
                missing.append(f"{path.relative_to(TEMPLATES)}:{text.count(chr(10), 0, tag.start()) + 1}")
    assert missing == []


def test_plotly_finds_the_elements_that_keep_its_styles_out_of_inline_text() -> None:
    """plotly.min.js would inject inline <style> text where an element with these ids is absent;
    templates/_plotly.html provides each (a Plotly upgrade that changes them fails here)."""
    bundle = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text()
    wanted = set(re.findall(r'getElementById\("([0-9a-f]{32,})"\)', bundle)) | {"plotly.js-style-global"}
    partial = (TEMPLATES / "_plotly.html").read_text()
    assert {i for i in wanted if f'id="{i}"' not in partial} == set()
