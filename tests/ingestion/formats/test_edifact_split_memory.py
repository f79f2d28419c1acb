"""An EDIFACT file of ~30 MB splits with memory bounded by about one body: tracemalloc's peak
stays under 40 MB while the file is generated and split in 64 KB chunks."""

import tracemalloc
from collections.abc import Iterator

from apps.ingestion.formats import FeedContext, SplitReport
from apps.ingestion.formats.edifact import EdifactAdapter

adapter = EdifactAdapter()
TARGET = 30 * 1024 * 1024
CHUNK = 65536


def message(n: int) -> bytes:
    """An IFTSTA of three statuses for container n, each with a remark of ~420 characters (an
    FTX text component holds up to 512): about 2.9 KB."""
    remark = "FTX+AAI+++" + "Container handled at terminal, seal intact, customs documents checked" * 6
    segments = [
        f"UNH+{n}+IFTSTA:D:00B:UN",
        f"BGM+23+R{n}+9",
        "DTM+137:202401021200:203",
        f"RFF+BN:BOOK{n // 10}",
        f"RFF+BM:BL{n // 10}",
        "CNI+1",
    ]
    for code, hour in (("13", "08"), ("24", "10"), ("21", "17")):
        segments += [
            f"STS+1+{code}",
            f"RFF+EQ:CONT{n}",
            f"DTM+334:20240102{hour}00:203",
            "LOC+175+DEHAM:139:6:HAMBURG",
            remark,
            "TDT+20+V1+1++MAEU:172::MAERSK+++9321483:146::MAERSK ESSEX",
            f"EQD+CN+CONT{n}+45G1:102:5+++5",
        ]
    segments.append(f"UNT+{len(segments) + 1}+{n}")
    return "".join(s + "'\n" for s in segments).encode()


def generated() -> Iterator[bytes]:
    """The file, produced chunk by chunk (never whole in memory)."""
    buffer = bytearray(b"UNA:+.? '\nUNB+UNOC:3+CARRIER:ZZZ+TOWER:ZZZ+240102:1030+BIG1'\n")
    size = n = 0
    while size < TARGET:
        n += 1
        buffer += message(n)
        while len(buffer) >= CHUNK:
            size += CHUNK
            yield bytes(buffer[:CHUNK])
            del buffer[:CHUNK]
    buffer += f"UNZ+{n}+BIG1'\n".encode()
    yield bytes(buffer)


def test_thirty_megabytes_split_in_bounded_memory(ctx: FeedContext) -> None:
    report = SplitReport()
    tracemalloc.start()
    try:
        parts = events = largest = total = 0
        for body in adapter.split(generated(), ctx, max_events=1000, report=report):
            parts += 1
            total += len(body)
            largest = max(largest, len(body))
            events += body.count(b"\nSTS+")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total > TARGET
    assert events % 3 == 0
    assert events > 30_000
    assert parts == -(-events // 999)  # 333 messages (999 statuses) a part
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB (largest body {largest / 1e6:.1f} MB)"
    assert report.errors == []
    (ack,) = report.acknowledgements
    assert ack.accepted
    assert ack.interchange == "BIG1"
