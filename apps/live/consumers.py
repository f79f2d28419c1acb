"""`/ws/ops/`: the live socket of every logged-in page.

The session (AuthMiddlewareStack) says who is connecting. An anonymous or inactive user's
socket is accepted and closed at once with code 4401, a user who may receive none of the
message types with 4403: unlike a refused handshake (which a browser reports as a bare network
error, 1006), the code tells live.js to stop reconnecting and say why. Clients send nothing.

Each channel-layer batch (one committed transaction) becomes one websocket frame per message,
filtered by what this user may see (apps.live.audience).

Rights are not trusted for the socket's lifetime: before forwarding a batch, a consumer whose
last check is older than `recheck_seconds` reads the session and the user again. A logout (the
session flushed), an expired session, a password change, a deactivation or a deleted user closes
the socket with 4401; a user left with no message type (roles or permissions removed, in a
service or in the Django admin) with 4403. Neither the batch that found out nor any later one is
forwarded. Reading them on every batch would cost each socket four queries per transaction
committed anywhere; once per `recheck_seconds` bounds that, and bounds how long a revoked right
keeps receiving."""

import logging
import time
from importlib import import_module
from typing import Any

import orjson
from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from .audience import allowed_types
from .messages import OPS_GROUP

logger = logging.getLogger(__name__)

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_NOT_ALLOWED = 4403
CLOSE_CHECK_FAILED = 1011  # the rights could not be read (database down): live.js reconnects

RECHECK_SECONDS = 5.0


class OpsConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]  # channels has no type hints
    allowed: frozenset[str] = frozenset()
    joined = False
    recheck_seconds = RECHECK_SECONDS
    checked_at = 0.0  # time.monotonic() of the last reading of the session and the user
    user_id: Any = None
    session_key: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not (user and user.is_authenticated and user.is_active):
            await self.accept()
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        self.allowed = await database_sync_to_async(allowed_types)(user)
        if not self.allowed:
            await self.accept()
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.user_id = user.pk
        self.session_key = self.scope["session"].session_key
        self.checked_at = time.monotonic()
        await self.channel_layer.group_add(OPS_GROUP, self.channel_name)
        self.joined = True
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Nothing to say: the socket only pushes."""

    async def live_batch(self, event: dict[str, Any]) -> None:
        if not await self._still_allowed():
            return
        for message in event["messages"]:
            if message.get("type") in self.allowed:
                await self.send_json(message)

    async def _still_allowed(self) -> bool:
        """Re-read the rights when the last reading is older than `recheck_seconds`; close the
        socket (and say False) when they are gone."""
        if not self.joined:  # closed already; a batch delivered before the group let go of us
            return False
        if time.monotonic() - self.checked_at < self.recheck_seconds:
            return True
        try:
            allowed = await self._current_allowed_types()
        except Exception:
            logger.warning("live: rights of user %s not readable; socket closed", self.user_id, exc_info=True)
            await self._close(CLOSE_CHECK_FAILED)
            return False
        if allowed is None:
            await self._close(CLOSE_NOT_SIGNED_IN)
            return False
        if not allowed:
            await self._close(CLOSE_NOT_ALLOWED)
            return False
        self.allowed = allowed
        self.checked_at = time.monotonic()
        return True

    async def _current_allowed_types(self) -> frozenset[str] | None:
        """None when the session no longer signs this user in, else the types they may receive now."""
        # A fresh store reads the session row again (the scope's copy was loaded at connect).
        # channels' get_user checks it as Django does: the backend (which refuses inactive users)
        # and the password hash recorded at login.
        session = import_module(settings.SESSION_ENGINE).SessionStore(self.session_key)
        user = await get_user({"session": session})
        if not user.is_authenticated or user.pk != self.user_id:
            return None
        allowed: frozenset[str] = await database_sync_to_async(allowed_types)(user)
        return allowed

    async def _close(self, code: int) -> None:
        await self._leave()
        await self.close(code=code)

    async def _leave(self) -> None:
        if self.joined:
            self.joined = False
            await self.channel_layer.group_discard(OPS_GROUP, self.channel_name)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return orjson.dumps(content).decode()
