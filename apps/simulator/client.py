"""Posting a simulated stream to the ingest endpoint over real HTTP.

The stream is cut into windows of consecutive events (about one second of traffic at the
given rate, at most `batch_size` events); a window becomes one body per system, posted to
that system's feed. Windows go out in stream order, so what one system sends before another
in the stream (a last-mile scan before the TMS plan that binds it) reaches the control tower
in that order too, give or take the `concurrency` requests in flight."""

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import orjson

from apps.feeds.services import SIGNATURE_HEADER, FeedCredentials, sign

from .model import SimEvent
from .noise import batches

NO_RESPONSE = 0  # key in SendReport.http_errors for requests that got no answer at all


@dataclass
class SendReport:
    messages: list[str] = field(default_factory=list)  # message ids of the 202 answers
    events_sent: int = 0  # events in bodies answered 202
    http_errors: dict[int, int] = field(default_factory=dict)  # status -> count (every attempt)
    elapsed_s: float = 0.0
    events_failed: int = 0  # events in bodies given up on
    interrupted: bool = False  # stopped by Ctrl-C

    @property
    def events_per_second(self) -> float:
        return self.events_sent / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class _Outcome:
    message_id: str | None
    count: int
    errors: list[int]


def wait_until_up(
    base_url: str,
    *,
    timeout_s: float = 30.0,
    interval_s: float = 0.5,
    transport: httpx.BaseTransport | None = None,
) -> bool:
    """True as soon as the server answers anything on /healthz; False after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base_url, timeout=5.0, transport=transport) as client:
        while True:
            try:
                client.get("/healthz")
                return True
            except httpx.TransportError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(interval_s)


class _Poster:
    def __init__(self, client: httpx.Client, *, signed: bool, max_retries: int, stop: threading.Event) -> None:
        self.client, self.signed, self.max_retries, self.stop = client, signed, max_retries, stop

    def post(self, creds: FeedCredentials, events: list[dict[str, object]]) -> _Outcome:
        body = orjson.dumps({"events": events})
        errors: list[int] = []
        for attempt in range(self.max_retries + 1):
            if self.stop.is_set():
                break
            headers = {"Authorization": f"Bearer {creds.token}", "Content-Type": "application/json"}
            if self.signed:
                headers[SIGNATURE_HEADER] = sign(secret=creds.hmac_secret, body=body)
            try:
                response = self.client.post(f"/api/v1/ingest/{creds.slug}/", content=body, headers=headers)
            except httpx.TransportError:  # refused (server not up yet or restarting), timed out
                errors.append(NO_RESPONSE)
                self.stop.wait(min(0.5 * 2**attempt, 5.0))
                continue
            if response.status_code == 202:
                try:
                    return _Outcome(str(response.json()["message_id"]), len(events), errors)
                except (ValueError, KeyError, TypeError):  # not the ingest endpoint answering
                    errors.append(response.status_code)
                    break
            errors.append(response.status_code)
            if response.status_code == 429:
                self.stop.wait(_retry_after(response))
            elif response.status_code >= 500:
                self.stop.wait(min(0.5 * 2**attempt, 5.0))
            else:  # 400, 401, 403, 413, 415: sending it again will not help
                break
        return _Outcome(None, len(events), errors)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def post_batches(
    base_url: str,
    creds_by_system: Mapping[str, FeedCredentials],
    sim_events: list[SimEvent],
    *,
    batch_size: int = 200,
    rate: float | None = None,
    concurrency: int = 4,
    progress: Callable[[int], None] | None = None,
    signed: bool = False,
    max_retries: int = 8,
    transport: httpx.BaseTransport | None = None,
    served: Mapping[str, Callable[[list[dict[str, object]]], None]] | None = None,
) -> SendReport:
    """POST the stream, `rate` events per second on average (None or 0: as fast as it goes).

    429 waits for Retry-After and tries again, as do 5xx and refused connections (with
    backoff), up to `max_retries` times; other errors give the body up. `progress` is called
    (from worker threads) with the number of events of each finished body. Ctrl-C stops
    cleanly: the report says what got through and `interrupted` is set.

    `served`: systems whose events are not posted but handed, at the same pace, to a function
    (a partner endpoint the control tower polls: partner_api.PartnerApi.publish); they count
    as sent."""
    served = served or {}
    if not 1 <= batch_size <= 1000:
        raise ValueError("batch_size must be between 1 and 1000 (the ingest limit)")
    missing = {sim.system for sim in sim_events} - set(creds_by_system) - set(served)
    if missing:
        raise ValueError(f"no feed credentials for system(s): {', '.join(sorted(missing))}")
    rate = rate if rate and rate > 0 else None
    window = batch_size if rate is None else max(1, min(batch_size, int(rate)))
    report, lock, stop = SendReport(), threading.Lock(), threading.Event()
    slots = threading.BoundedSemaphore(max(1, concurrency))
    started = time.monotonic()

    def done(future: Future[_Outcome]) -> None:
        slots.release()
        if future.cancelled():
            return
        outcome = future.result()
        with lock:
            for status in outcome.errors:
                report.http_errors[status] = report.http_errors.get(status, 0) + 1
            if outcome.message_id is not None:
                report.messages.append(outcome.message_id)
                report.events_sent += outcome.count
            else:
                report.events_failed += outcome.count
        if progress is not None:
            progress(outcome.count)

    limits = httpx.Limits(max_connections=max(1, concurrency), max_keepalive_connections=max(1, concurrency))
    timeout = httpx.Timeout(60.0, connect=5.0)
    with (
        httpx.Client(base_url=base_url, limits=limits, timeout=timeout, transport=transport) as client,
        ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="simulate") as pool,
    ):
        poster = _Poster(client, signed=signed, max_retries=max_retries, stop=stop)
        try:
            for offset in range(0, len(sim_events), window):
                if rate is not None:
                    stop.wait(max(0.0, started + offset / rate - time.monotonic()))
                for system, bodies in batches(sim_events[offset : offset + window], batch_size).items():
                    for events in bodies:
                        if system in served:
                            served[system](events)
                            with lock:
                                report.events_sent += len(events)
                            if progress is not None:
                                progress(len(events))
                            continue
                        slots.acquire()
                        pool.submit(poster.post, creds_by_system[system], events).add_done_callback(done)
            pool.shutdown(wait=True)
        except KeyboardInterrupt:
            report.interrupted = True
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
    report.elapsed_s = time.monotonic() - started
    return report
