"""ASGI entry point: `controltower.asgi:application` (HTTP and websockets)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from controltower.embedded_beat import with_embedded_beat  # noqa: E402
from controltower.routing import websocket_urlpatterns  # noqa: E402

websocket_app = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_app})
if settings.EMBEDDED_BEAT:  # eager tasks, no `celery beat` (the demo): the server runs the sweeps
    application = with_embedded_beat(application)
