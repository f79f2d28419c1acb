"""A simulated partner that is polled instead of pushing (http-api.md "Polled feeds").

`simulate --poll-system tms` serves that system's events from this endpoint, in the simulator's
own process, and makes the feed a polled one pointing at it: the control tower's beat then
pulls the TMS's milestones the way it pulls a carrier's tracking-list API, with the reference
paging — `GET /events?cursor=<n>` answers the events after the n-th in canonical JSON, at most
`page_size`, and a non-empty page carries `Next-Page-Cursor`; an empty page carries none and
ends the round. Every request must carry the API key (`X-Api-Key`), as partners' APIs do.

A plain `http.server` in a daemon thread, not the control tower's ASGI app: the partner is
somebody else's server, and a simulator that stops takes it away like a partner outage would."""

import hmac
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

API_KEY_HEADER = "X-Api-Key"
CURSOR_HEADER = "Next-Page-Cursor"


class PartnerApi:
    """Events published here are served to the poller, in publication order, once each."""

    def __init__(self, *, api_key: str, page_size: int = 200, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key, self.page_size = api_key, page_size
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.requests = 0
        self.served = 0  # the highest cursor a page has reached: what the poller has taken
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="partner-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/events"

    @property
    def published(self) -> int:
        with self._lock:
            return len(self._events)

    def start(self) -> "PartnerApi":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def publish(self, events: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            self._events.extend(events)

    def page(self, cursor: int) -> tuple[list[dict[str, Any]], int | None]:
        """The events after `cursor`, and the cursor after them (None: nothing new)."""
        with self._lock:
            events = self._events[cursor : cursor + self.page_size]
            self.requests += 1
            if not events:
                return [], None
            self.served = max(self.served, cursor + len(events))
            return events, cursor + len(events)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/events":
                    return self._reply(404, {"error": "not found"})
                if not hmac.compare_digest(self.headers.get(API_KEY_HEADER, ""), api.api_key):
                    return self._reply(401, {"error": f"missing or wrong {API_KEY_HEADER}"})
                raw = (parse_qs(parts.query).get("cursor") or ["0"])[0]
                if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
                    return self._reply(400, {"error": "cursor: a non-negative integer"})
                events, after = api.page(int(raw))
                return self._reply(200, {"events": events}, {CURSOR_HEADER: str(after)} if after is not None else {})

            def _reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
                payload = orjson.dumps(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the simulator's progress bar is the log

        return Handler
