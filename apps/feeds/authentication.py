from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import Feed
from .services import IngestRefused, credential_used, feed_token_resolve


class FeedPrincipal:
    """The 'user' of a request made with a feed token: authenticated, with no user rights."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, feed: Feed) -> None:
        self.feed = feed

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def __str__(self) -> str:
        return f"feed:{self.feed.slug}"


class FeedTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <feed token>` on the few read endpoints a feed may use."""

    def authenticate(self, request: Request) -> tuple[Any, Feed] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            # The previous token works here too while its overlap lasts, as on the ingest endpoint.
            feed, previous = feed_token_resolve(token=token.strip())
        except IngestRefused as exc:
            raise exceptions.AuthenticationFailed(exc.detail) from None
        credential_used(feed=feed, field="previous_token_last_used_at" if previous else "token_last_used_at")
        return FeedPrincipal(feed), feed

    def authenticate_header(self, request: Any) -> str:
        return "Bearer"
