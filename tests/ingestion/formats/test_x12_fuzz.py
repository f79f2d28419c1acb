"""X12 adapter under hostile input: nothing but UnreadableBody may escape read, acknowledge or
split; the safety net (a set that "could not be read") must never be needed; pathological
sizes run in roughly linear time; a split always gives the events of the whole body."""

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.events.validation import Rejection, ValidEvent
from apps.ingestion.formats import FeedContext, SplitReport, UnreadableBody
from apps.ingestion.formats.base import TooManyEvents
from apps.ingestion.formats.x12 import X12Adapter

from .test_x12_builders import SHIPMENT_214, one

ADAPTER = X12Adapter()
CTX = FeedContext.standard()
REALDATA = Path(__file__).resolve().parents[4] / "shared" / "realdata"
OOP = "x12-oopfactory/tests/OopFactory.X12.Tests.Unit/Parsing/_SampleEdiFiles"
SAMPLES = [
    "x12-stupidedi/spec/fixtures/004010/SM204/case/1.edi",
    "x12-stupidedi/spec/fixtures/004010/QM214/pass/gh-189.edi",
    "x12-stupidedi/spec/fixtures/004010/SH856/fail/2.edi",
    f"{OOP}/ORD/_856/Example3.txt",
    f"{OOP}/ORD/_856/FromGregarican.txt",
    f"{OOP}/WAR/_940/simplot.txt",
    f"{OOP}/WAR/_945/inter-americanproducts.txt",
    f"{OOP}/TAM/_210/DBSchenker_SampleMotorFreightDetailsAndInvoice.txt",
]
BUILT = one(*SHIPMENT_214)


def _samples() -> list[bytes]:
    found = [(REALDATA / s).read_bytes() for s in SAMPLES if (REALDATA / s).is_file()]
    return [BUILT, *found]


def events(outcomes: list[ValidEvent | Rejection]) -> list[tuple[object, ...]]:
    return [(e.event_key, e.type, e.refs, e.occurred_at) for e in outcomes if isinstance(e, ValidEvent)]


def exercise(body: bytes) -> None:
    """Every entry point; only UnreadableBody may be raised, and split agrees with parse."""
    too_many = False
    try:
        outcomes = ADAPTER.parse(body, CTX)
    except TooManyEvents:  # more than one message may hold: a file upload, split, takes it
        outcomes, too_many = None, True
    except UnreadableBody:
        outcomes = None
    for o in outcomes or []:
        if isinstance(o, Rejection):
            assert not any("could not be read" in e for e in o.errors), o.errors
    acks = ADAPTER.acknowledge(body, CTX)
    for ack in acks:
        assert ack.body.startswith(b"ISA*00*")
    try:
        report = SplitReport()
        bodies = list(ADAPTER.split(iter([body[:61], body[61:]]), CTX, max_events=3, report=report))
    except UnreadableBody:
        assert outcomes is None  # split and parse agree on what is unreadable
        return
    assert report.acknowledgements == acks
    if too_many:
        return
    assert outcomes is not None
    assert [e for b in bodies for e in events(ADAPTER.parse(b, CTX))] == events(outcomes)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes(body: bytes) -> None:
    exercise(body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_after_an_isa(tail: bytes) -> None:
    exercise(BUILT[:106] + tail)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(range(9)),
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "cut", "insert", "delete"]),
            st.floats(min_value=0, max_value=1),
            st.sampled_from(
                [b"*", b"~", b">", b"\n", b"ISA*", b"ST*214*1~", b"SE*", b"GE*1*1~", b"IEA*", b"\x00", b"\xff"]
            ),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_samples(which: int, mutations: list[tuple[str, float, bytes]]) -> None:
    samples = _samples()
    body = bytearray(samples[which % len(samples)])
    for kind, where, data in mutations:
        at = int(where * len(body))
        if kind == "flip" and body:
            body[min(at, len(body) - 1)] ^= 0x5A
        elif kind == "cut":
            del body[at:]
        elif kind == "insert":
            body[at:at] = data
        elif body:
            del body[at : at + len(data)]
    exercise(bytes(body))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "B10*PRO1*SH1*ABCD",
                "B10***",
                "LX*1",
                "AT7*X6*NS***20240101*0800*UT",
                "AT7*D1*NS***20241301*0800*UT",
                "AT7***LD*NS*20240107**LT",
                "AT7*AG*NS***20240107*1200*ZZ",
                "MS1*CHICAGO*IL*US*9999999*999999*W*N",
                "MS2*ABCD",
                "L11*X*PO",
                "L11**",
                "N1*SH",
                "N4*A*B*C*D",
                "MAN*GM*1",
                "K1",
                "",
            ]
        ),
        max_size=40,
    ),
    st.sampled_from(["214", "856", "940", "945", "204", "210", "850", ""]),
)
def test_random_sets(segments: list[str], set_id: str) -> None:
    exercise(one(*segments, set_id=set_id))


def _timed(body: bytes) -> float:
    start = time.perf_counter()
    exercise(body)
    return time.perf_counter() - start


def test_a_2_mb_segment_is_linear() -> None:
    huge = one("B10*PRO1*SH1*ABCD", "K1*" + "X" * 2_000_000, "LX*1", "AT7*X6*NS***20240101*0800*UT")
    small = one("B10*PRO1*SH1*ABCD", "K1*" + "X" * 200_000, "LX*1", "AT7*X6*NS***20240101*0800*UT")
    assert _timed(huge) < 20 * max(_timed(small), 0.01)
    (event,) = ADAPTER.parse(huge, CTX)
    assert isinstance(event, ValidEvent)
    assert len(event.body["attributes"]["remarks"][0]) == 2_000_000


def test_many_empty_segments_and_a_flood_of_statuses() -> None:
    empty = one(*STATUS_LINES).replace(b"LX*1~\n", b"LX*1~" + b"~" * 1_000_000 + b"\n", 1)
    assert _timed(empty) < 10
    flood = one("B10*PRO1*SH1*ABCD", *(["LX*1", "AT7*X6*NS***20240101*0800*UT"] * 400))
    assert len(ADAPTER.parse(flood, CTX)) == 400


STATUS_LINES = ["B10*PRO1*SH1*ABCD", "LX*1", "AT7*X6*NS***20240101*0800*UT"]


@pytest.mark.parametrize(
    "body",
    [
        b"ISA" + b"*" * 100_000,
        b"ISA*" + b"A" * 1_000_000,
        BUILT[:106] + b"ST*214*1~" * 20_000,
        BUILT[:106] + b"GS*QM*A*B*20240101*1200*1*X*004010~" * 20_000,
        BUILT * 200,
        b"\xff\xfe" + BUILT.decode().encode("utf-16-le"),
        b"\xef\xbb\xbf" * 3 + BUILT,
    ],
)
def test_pathological_shapes(body: bytes) -> None:
    exercise(body)
