"""EDIFACT robustness: whatever the bytes, read / acknowledge / split raise nothing but
UnreadableBody, and pathological sizes stay linear."""

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ingestion.formats import FeedContext, SplitReport, UnreadableBody
from apps.ingestion.formats.edifact import EdifactAdapter

from .test_edifact_builders import iftsta, interchange, status

adapter = EdifactAdapter()
CTX = FeedContext.standard()
SAMPLE = interchange([iftsta(status("24", refs=[("EQ", "X?+1")]), status("21"))], una=True) + interchange(
    [["UNG+IFTSTA+A+B+240101:1200+G+UN+D:00B", *iftsta(status("13")), "UNE+1+G"]], ref="IC2"
)
SERVICE = st.sampled_from([b"'", b"+", b":", b"?", b"UNA:+.? '", b"UNB+", b"UNH+", b"UNT+", b"UNZ+", b"\r\n", b"\x00"])


def survive(body: bytes, chunk: int = 5) -> None:
    """Everything the adapter does with a body: only UnreadableBody may come out."""
    try:
        read = list(adapter.read(body, CTX))
    except UnreadableBody:
        read = []
    # a mapping bug is caught and turned into this rejection: none may happen
    assert not [c for c in read if not isinstance(c, dict) and "could not be mapped" in c.errors[0]]
    for action in (
        lambda: adapter.parse(body, CTX),
        lambda: adapter.acknowledge(body, CTX),
        lambda: list(
            adapter.split(
                (body[i : i + chunk] for i in range(0, len(body), chunk)), CTX, max_events=3, report=SplitReport()
            )
        ),
    ):
        with contextlib.suppress(UnreadableBody):
            action()


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes(body: bytes) -> None:
    survive(body)


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=64))
def test_random_bytes_after_a_valid_header(tail: bytes, chunk: int) -> None:
    survive(b"UNA:+.? 'UNB+UNOC:3+A+B+240101:1200+1'UNH+1+IFTSTA:D:00B:UN'" + tail, chunk)


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_mutated_sample(data: st.DataObject) -> None:
    body = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        at = data.draw(st.integers(min_value=0, max_value=len(body)))
        how = data.draw(st.sampled_from(["flip", "cut", "inject", "delete"]))
        if how == "flip" and at < len(body):
            body[at] = data.draw(st.integers(min_value=0, max_value=255))
        elif how == "cut":
            del body[at:]
        elif how == "inject":
            body[at:at] = data.draw(SERVICE)
        elif at < len(body):
            del body[at : at + data.draw(st.integers(min_value=1, max_value=20))]
    survive(bytes(body), data.draw(st.integers(min_value=1, max_value=40)))


@settings(deadline=None, max_examples=20)
@given(st.sampled_from([b"?", b"+", b":", b"'", b"A", b"?'"]), st.integers(min_value=1000, max_value=250_000))
def test_huge_repetition_inside_a_segment(char: bytes, n: int) -> None:
    body = interchange([iftsta(status("24"), header=["RFF+BN:X" + "Y" * 10])]).replace(b"X" + b"Y" * 10, char * n)
    survive(body, 4096)


def test_realdata_mutations(realdata: Path) -> None:
    body = (realdata / "edifact-types/test-data/d00b_iftsta.edi").read_bytes()
    for at in range(0, len(body), 7):
        survive(body[:at], 11)
        survive(body[:at] + b"?" + body[at:], 13)
        survive(body[:at] + b"'" + body[at:], 17)


def test_two_megabyte_segment_is_linear() -> None:
    def run(size: int) -> float:
        body = interchange([iftsta(status("24", extra=["FTX+AAI+++" + "?+?:ab" * (size // 6)]))])
        started = time.perf_counter()
        (event,) = [c for c in adapter.read(body, CTX) if isinstance(c, dict)]
        assert event["type"] == "shipment.departed"
        list(adapter.split([body[i : i + 65536] for i in range(0, len(body), 65536)], CTX, max_events=10))
        return time.perf_counter() - started

    small, large = run(200_000), run(2_000_000)
    assert large < 2.0
    assert large < 25 * max(small, 0.005)  # 10x the bytes: about 10x the time, not 100x


def test_twenty_thousand_statuses_is_linear() -> None:
    def run(n: int) -> float:
        body = interchange(
            [iftsta(*[status("24", f"2024010{1 + i % 9}1200", refs=[("EQ", str(i))]) for i in range(n)])]
        )
        started = time.perf_counter()
        assert len([c for c in adapter.read(body, CTX) if isinstance(c, dict)]) == n
        return time.perf_counter() - started

    small, large = run(2_000), run(20_000)
    assert large < 25 * max(small, 0.005)


def test_a_file_of_one_byte_chunks_with_no_terminator_is_bounded() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"UNB+UNOC:3+A+B+240101:1200+1'UNH+1+IFTSTA:D:00B:UN'FTX+AAI+++"
        for _ in range(300_000):
            yield b"x"

    started = time.perf_counter()
    with contextlib.suppress(UnreadableBody):
        list(adapter.split(chunks(), CTX, max_events=10))
    assert time.perf_counter() - started < 5
