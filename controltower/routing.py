"""Websocket routes (controltower.asgi wraps them in the session auth and origin check)."""

from typing import Any

from apps.live.routing import websocket_urlpatterns as live_urlpatterns

websocket_urlpatterns: list[Any] = [*live_urlpatterns]
