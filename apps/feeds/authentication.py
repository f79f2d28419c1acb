from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import Feed
from .services import token_hash


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
        feed = Feed.objects.filter(token_hash=token_hash(token.strip())).first()
        if feed is None:
            raise exceptions.AuthenticationFailed("unknown feed token")
        return FeedPrincipal(feed), feed

    def authenticate_header(self, request: Any) -> str:
        return "Bearer"
