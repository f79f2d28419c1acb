"""A ~30 MB X12 214 file splits in bounded memory: the file is generated chunk by chunk (never
whole in memory) and streamed through `split`; tracemalloc's peak stays far below the file."""

import tracemalloc
from collections.abc import Iterator

from apps.ingestion.formats import FeedContext, SplitReport
from apps.ingestion.formats.x12 import X12Adapter
from apps.ingestion.formats.x12.tokens import Segment, read_tokens

HEADER = (
    b"ISA*00*          *00*          *ZZ*CARRIERX       *ZZ*SHIPPERY       *240108*1015*U*00401*000000001*0*P*>~\n"
    b"GS*QM*CARRIERX*SHIPPERY*20240108*1015*1*X*004010~\n"
)
PER_SET = 100  # statuses per 214 set
CITIES = (b"CHICAGO HEIGHTS*IL*US*0873812*413021*W*N", b"MEMPHIS*TN*US*0900306*350858*W*N")


def _template() -> bytes:
    """One realistic 214 set (about 31 bytes a segment), "#####" standing for its number."""
    segs = [
        b"ST*214*#####",
        b"B10*PRO#####*SHIPMENT-#####*ABCD",
        b"L11*PO-#####*PO",
        b"L11*BOL-#####*BM",
        b"N1*SH*ACME DISTRIBUTION CENTER EAST*93*ACME01",
        b"N1*CN*BIG RETAIL STORE 0042*93*BR0042",
    ]
    for i in range(PER_SET):
        segs += [
            b"LX*%d" % (i + 1),
            b"AT7*X6*NS***202401%02d*%02d%02d*CT" % (1 + i % 28, i % 24, i % 60),
            b"MS1*" + CITIES[i % 2],
            b"MS2*ABCD*TRL#####*TV",
            b"K1*CHECK CALL %04d ON SCHEDULE*TRAFFIC NORMAL ON ROUTE" % i,
        ]
    segs.append(b"SE*%d*#####" % (len(segs) + 1))
    return b"".join(s + b"~\n" for s in segs)


def generated(total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The file in 1 MB chunks (segments straddle chunks), built as it is read."""
    template = _template()
    buf = bytearray(HEADER)
    sets = 0
    size = len(buf)
    while size < total:
        sets += 1
        data = template.replace(b"#####", b"%05d" % sets)
        buf += data
        size += len(data)
        while len(buf) >= chunk:
            yield bytes(buf[:chunk])
            del buf[:chunk]
    buf += b"GE*%d*1~\nIEA*1*000000001~\n" % sets
    yield bytes(buf)


def test_a_30_mb_file_splits_in_bounded_memory() -> None:
    ctx = FeedContext.standard()
    report = SplitReport()
    bodies = largest = statuses = 0
    first = b""
    tracemalloc.start()
    try:
        for body in X12Adapter().split(generated(30_000_000), ctx, max_events=1000, report=report):
            bodies += 1
            largest = max(largest, len(body))
            statuses += body.count(b"~AT7*")
            first = first or body
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40_000_000, f"peak {peak / 1e6:.1f} MB for a 30 MB file"
    sets = -(-30_000_000 // len(_template()))
    assert statuses == sets * PER_SET  # nothing lost
    assert bodies == -(-sets // (1000 // PER_SET))  # 10 sets of 100 statuses a body
    assert largest < 400_000
    assert report.errors == []
    (ack,) = report.acknowledgements
    assert ack.accepted
    assert ack.body.count(b"AK5*A~") == sets
    # Each body is a sound interchange of its own: its first set, recounted trailers.
    segs = [t for t in read_tokens(first) if isinstance(t, Segment)]
    assert [s.raw for s in segs[-2:]] == [b"GE*10*1", b"IEA*1*000000001"]
    events = X12Adapter().parse(first, ctx)
    assert len(events) == 1000
    assert all(not hasattr(e, "errors") for e in events)
