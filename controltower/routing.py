"""Websocket routes; the live apps add theirs here."""

from typing import Any

websocket_urlpatterns: list[Any] = []
