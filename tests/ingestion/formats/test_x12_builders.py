"""Builders of X12 test interchanges (no real 214 with AT7 statuses is public: they are built
here from the code lists), shared by the test_x12_* modules, and a check that they build what
they say."""

from dataclasses import dataclass, field

from apps.ingestion.formats.x12.tokens import ISA_WIDTHS, Segment, read_tokens

# A realistic truckload 214: one shipment, the stop cycle X3 → CP → AF → X6 → SD → X1 → D1,
# an appointment-only AT7 (AB, an ETA) and the delivery window (LD), several time codes.
SHIPMENT_214 = [
    "B10*PRO123456*SHP-1001*ABCD",
    "L11*PO-7788*PO",
    "L11*BOL-555*BM",
    "L11*ORD-42*OQ",
    "N1*SH*ACME WAREHOUSE*93*ACME01",
    "N4*ATLANTA*GA*30301*US",
    "N1*CN*BIG RETAIL DC 7*93*BR07",
    "LX*1",
    "AT7*X3*NS***20240105*0800*ET",
    "MS1*ATLANTA*GA*US",
    "LX*2",
    "AT7*CP*NS***20240105*0930*ES",
    "MS1*ATLANTA*GA*US",
    "MS2*ABCD*TRL778",
    "AT8*G*L*12000*24",
    "LX*3",
    "AT7*AF*NS***20240105*1000*ET",
    "MS1*ATLANTA*GA*US*0842312*334458*W*N",
    "LX*4",
    "AT7*X6*NS***20240106*060000*CT",
    "MS1*NASHVILLE*TN*US",
    "L11*STOP-4*QN",
    "LX*5",
    "AT7*SD*AI***20240106*0900*CS",
    "MS1*NASHVILLE*TN*US",
    "LX*6",
    "AT7***AB*NS*20240107*1400*LT",
    "AT7***LD*NS*20240107**LT",
    "LX*7",
    "AT7*X1*NS***20240107*1352*PT",
    "MS1*MEMPHIS*TN*US",
    "LX*8",
    "AT7*D1*NS***20240107*2330*UT",
    "MS1*MEMPHIS*TN*US",
    "MAN*GM*00012345600000000017",
]


@dataclass
class TxSet:
    segments: list[str]
    set_id: str = "214"
    control: str = "0001"
    se_count: int | None = None  # None: the right count
    se_control: str | None = None
    trailer: bool = True


@dataclass
class Group:
    sets: list[TxSet]
    control: str = "1"
    functional_id: str = "QM"
    app_sender: str = "CARRIERX"
    app_receiver: str = "SHIPPERY"
    date: str = "20240108"
    time: str = "1015"
    ge_count: int | None = None
    ge_control: str | None = None
    trailer: bool = True


@dataclass
class Interchange:
    groups: list[Group]
    control: str = "000000001"
    sender: str = "CARRIERX"
    receiver: str = "SHIPPERY"
    date: str = "240108"
    time: str = "1015"
    version: str = "00401"
    iea_count: int | None = None
    iea_control: str | None = None
    trailer: bool = True
    extra: list[str] = field(default_factory=list)  # segments after the ISA, before the first GS


def isa(ic: Interchange, sep: str, comp: str, rep: str) -> str:
    values = [
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        ic.sender.ljust(15),
        "ZZ",
        ic.receiver.ljust(15),
        ic.date,
        ic.time,
        rep if ic.version >= "00501" else "U",
        ic.version,
        ic.control,
        "0",
        "P",
    ]
    assert [len(v) for v in values] == list(ISA_WIDTHS[:15]), values
    return "ISA" + sep + sep.join(values) + sep + comp


def render(
    *interchanges: Interchange, sep: str = "*", comp: str = ">", term: str = "~", newline: str = "\n", rep: str = "^"
) -> bytes:
    """Interchanges as bytes; segments are written with "*" and converted to `sep`."""
    lines: list[str] = []

    def seg(text: str) -> None:
        lines.append(text.replace("*", sep))

    for ic in interchanges:
        lines.append(isa(ic, sep, comp, rep))
        for extra in ic.extra:
            seg(extra)
        for g in ic.groups:
            seg(f"GS*{g.functional_id}*{g.app_sender}*{g.app_receiver}*{g.date}*{g.time}*{g.control}*X*004010")
            for s in g.sets:
                seg(f"ST*{s.set_id}*{s.control}")
                for text in s.segments:
                    seg(text)
                if s.trailer:
                    count = s.se_count if s.se_count is not None else len(s.segments) + 2
                    seg(f"SE*{count}*{s.se_control or s.control}")
            if g.trailer:
                seg(f"GE*{g.ge_count if g.ge_count is not None else len(g.sets)}*{g.ge_control or g.control}")
        if ic.trailer:
            seg(f"IEA*{ic.iea_count if ic.iea_count is not None else len(ic.groups)}*{ic.iea_control or ic.control}")
    return "".join(line + term + newline for line in lines).encode("utf-8")


def one(*segments: str, set_id: str = "214", functional_id: str = "QM") -> bytes:
    """One interchange, one group, one set."""
    return render(Interchange([Group([TxSet(list(segments), set_id=set_id)], functional_id=functional_id)]))


def segments_of(body: bytes) -> list[Segment]:
    return [t for t in read_tokens(body) if isinstance(t, Segment)]


def test_builder_writes_a_fixed_length_isa_and_right_counts() -> None:
    body = one(*SHIPMENT_214)
    segs = segments_of(body)
    assert len(segs[0].raw) == 105  # ISA without its terminator: 106 characters with it
    assert [s.tag for s in segs[:3]] == ["ISA", "GS", "ST"]
    se = next(s for s in segs if s.tag == "SE")
    assert int(se.el(1)) == len(SHIPMENT_214) + 2
    assert [s.tag for s in segs[-2:]] == ["GE", "IEA"]
