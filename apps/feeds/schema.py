"""OpenAPI description of the feed token (drf-spectacular discovers it on import)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class FeedTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "apps.feeds.authentication.FeedTokenAuthentication"
    name = "feedToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "the feed token from `create_feed`"}
