"""A partner's HTTP API for the polling tests: a real server on 127.0.0.1 in a thread, scripted
per test, that records every request it got (path, query, headers)."""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from apps.bench.processes import free_port


@dataclass
class Seen:
    """A request the partner got."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    @property
    def cursor(self) -> str | None:
        values = self.query.get("cursor")
        return values[0] if values else None


@dataclass
class Reply:
    status: int = 200
    body: bytes | Any = b""  # not bytes: sent as JSON
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow partner)
    length: bool = True  # False: no Content-Length, the body ends when the connection closes

    def payload(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else orjson.dumps(self.body)


class Partner:
    """`url(path)` to poll; `script(*replies)` answers in order (then `then`, default an empty
    200); or `route(fn)` answers each request with fn(seen). `seen` lists every request."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._replies: list[Reply] = []
        self._route: Callable[[Seen], Reply] | None = None
        self.then = Reply()
        self._lock = threading.Lock()
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())

    def url(self, path: str = "/events") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def route(self, fn: Callable[[Seen], Reply]) -> None:
        self._route = fn

    def _answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            if self._route is not None:
                return self._route(seen)
            return self._replies.pop(0) if self._replies else self.then

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                seen = Seen(parts.path, parse_qs(parts.query, keep_blank_values=True), dict(self.headers.items()))
                reply = partner._answer(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.payload()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if reply.length:
                        self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def partner() -> Iterator[Partner]:
    server = Partner()
    thread = threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(timeout=5)
