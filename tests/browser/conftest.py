import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, headless, as root, with nothing that reaches for the (closed) network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page() -> Iterator[Any]:
    """A fresh Chromium page (1360 x 900, 15 s default timeout), closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1360, "height": 900})
            tab.set_default_timeout(15_000)
            yield tab
        finally:
            browser.close()


@dataclass
class AsgiLiveServer:
    url: str  # http://127.0.0.1:<port>, pages and API
    ws_url: str  # ws://127.0.0.1:<port>, the live socket at /ws/ops/


@pytest.fixture
def asgi_live_server(transactional_db: None) -> Iterator[AsgiLiveServer]:
    """The real ASGI application (HTTP and websockets) served by uvicorn in a thread of this
    process, on the test database: the in-memory channel layer is shared with the test, and with
    REDIS_URL set the Redis layer (under this run's prefix) carries the messages. Celery is eager
    in tests, so what is posted to the ingest API is processed, and published, by the server.
    Static files are served from the finders, as pytest-django's live_server does."""
    import uvicorn
    from channels.routing import ProtocolTypeRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from apps.bench.processes import free_port
    from controltower.asgi import websocket_app

    application = ProtocolTypeRouter(
        {"http": ASGIStaticFilesHandler(get_asgi_application()), "websocket": websocket_app}
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            application, host="127.0.0.1", port=port, lifespan="off", log_level="warning", ws="websockets-sansio"
        )
    )
    thread = threading.Thread(target=server.run, name="asgi-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the ASGI test server did not start")
        time.sleep(0.02)
    try:
        yield AsgiLiveServer(url=f"http://127.0.0.1:{port}", ws_url=f"ws://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=15)
