"""`/ws/ops/`: the live socket of every logged-in page.

The session (AuthMiddlewareStack) says who is connecting. An anonymous or inactive user's
socket is accepted and closed at once with code 4401, a user who may receive none of the
message types with 4403: unlike a refused handshake (which a browser reports as a bare network
error, 1006), the code tells live.js to stop reconnecting and say why. Clients send nothing.

Each channel-layer batch (one committed transaction) becomes one websocket frame per message,
filtered by what this user may see (apps.live.audience)."""

from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .audience import allowed_types
from .messages import OPS_GROUP

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_NOT_ALLOWED = 4403


class OpsConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]  # channels has no type hints
    allowed: frozenset[str] = frozenset()
    joined = False

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
        await self.channel_layer.group_add(OPS_GROUP, self.channel_name)
        self.joined = True
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(OPS_GROUP, self.channel_name)
            self.joined = False

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Nothing to say: the socket only pushes."""

    async def live_batch(self, event: dict[str, Any]) -> None:
        for message in event["messages"]:
            if message.get("type") in self.allowed:
                await self.send_json(message)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return orjson.dumps(content).decode()
