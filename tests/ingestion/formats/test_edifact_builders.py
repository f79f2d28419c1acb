"""Builders of EDIFACT test interchanges (default delimiters `:+.? '`), shared by the
test_edifact* files, and the checks that they build what they say."""

from collections.abc import Sequence
from typing import Any

from apps.ingestion.formats import FeedContext
from apps.ingestion.formats.edifact import EdifactAdapter

ADAPTER = EdifactAdapter()


def message(
    segments: Sequence[str],
    *,
    ref: str = "M1",
    kind: str = "IFTSTA:D:00B:UN",
    unt_count: int | None = None,
    unt_ref: str | None = None,
    unt: bool = True,
) -> list[str]:
    """UNH + segments + UNT (counted right unless told otherwise)."""
    out = [f"UNH+{ref}+{kind}", *segments]
    if unt:
        out.append(f"UNT+{len(out) + 1 if unt_count is None else unt_count}+{ref if unt_ref is None else unt_ref}")
    return out


def interchange(
    messages: Sequence[Sequence[str]],
    *,
    ref: str = "IC1",
    sender: str = "CARRIER",
    recipient: str = "TOWER",
    date: str = "240102:1030",
    una: bool = False,
    unz_count: int | None = None,
    unz_ref: str | None = None,
    unz: bool = True,
) -> bytes:
    segments = [f"UNB+UNOC:3+{sender}:ZZZ+{recipient}:ZZZ+{date}+{ref}"]
    for msg in messages:
        segments.extend(msg)
    if unz:
        segments.append(
            f"UNZ+{len(messages) if unz_count is None else unz_count}+{ref if unz_ref is None else unz_ref}"
        )
    text = ("UNA:+.? '\n" if una else "") + "".join(s + "'\n" for s in segments)
    return text.encode("utf-8")


def status(
    code: str = "21",
    when: str = "202401021030",
    fmt: str = "203",
    *,
    refs: Sequence[tuple[str, str]] = (),
    loc: str | None = "LOC+175+DEHAM:139:6:HAMBURG",
    reason: str = "",
    extra: Sequence[str] = (),
) -> list[str]:
    """An STS group: STS (category 1), its RFFs, DTM+334, LOC, then `extra` segments."""
    sts = f"STS+1+{code}" + (f"+{reason}" if reason else "")
    out = [sts, *(f"RFF+{q}:{v}" for q, v in refs), f"DTM+334:{when}:{fmt}"]
    if loc:
        out.append(loc)
    return [*out, *extra]


def iftsta(
    *statuses: Sequence[str],
    header: Sequence[str] = ("RFF+BN:BOOK-1",),
    cni: str = "CNI+1",
    ref: str = "M1",
    document: str = "DOC-1",
) -> list[str]:
    """An IFTSTA message: BGM, header RFFs, one CNI group holding the statuses."""
    body = [f"BGM+23+{document}+9", "DTM+137:202401021200:203", *header, cni]
    for group in statuses:
        body.extend(group)
    return message(body, ref=ref)


def events(body: bytes, ctx: FeedContext) -> list[dict[str, Any]]:
    """The candidate events (rejections left out) of a body."""
    return [c for c in ADAPTER.read(body, ctx) if isinstance(c, dict)]


def test_builders_count_segments_and_messages(ctx: FeedContext) -> None:
    body = interchange([iftsta(status(), status("24"))])
    text = body.decode()
    assert "UNT+12+M1'" in text  # UNH BGM DTM RFF CNI, (STS DTM LOC) x2, UNT
    assert text.endswith("UNZ+1+IC1'\n")
    assert [e["type"] for e in events(body, ctx)] == ["delivery.completed", "shipment.departed"]
