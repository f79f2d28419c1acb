"""Static master data of the simulated world: sites, customers, products, carriers, reasons.

Offsets are what the sources put on their times (a German DC sends +01:00 in winter, a UK
site sends Z); the simulator keeps them fixed, as many real sources do."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Site:
    code: str
    name: str
    offset_minutes: int  # the UTC offset the site's systems print on their times
    region: str  # "de" | "uk": which DC serves which depots

    def as_location(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name}


@dataclass(frozen=True, slots=True)
class Customer:
    code: str
    name: str
    city: str
    depot: str  # code of the last-mile depot that serves this customer


DCS: dict[str, Site] = {
    "de": Site("DC-EAST", "Leipzig distribution centre", 60, "de"),
    "uk": Site("DC-WEST", "Tilbury distribution centre", 0, "uk"),
}
HUBS: dict[str, Site] = {
    "de": Site("HUB-KSL", "Kassel linehaul hub", 60, "de"),
    "uk": Site("HUB-BHM", "Birmingham linehaul hub", 0, "uk"),
}
DEPOTS: dict[str, Site] = {
    site.code: site
    for site in (
        Site("DEP-BER", "Berlin last-mile depot", 60, "de"),
        Site("DEP-MUC", "Munich last-mile depot", 60, "de"),
        Site("DEP-LON", "London last-mile depot", 0, "uk"),
        Site("DEP-MAN", "Manchester last-mile depot", 0, "uk"),
    )
}

_CUSTOMERS = [
    ("Hausmann Elektro GmbH", "Berlin", "DEP-BER"),
    ("Spree Office Supplies", "Berlin", "DEP-BER"),
    ("Kiezladen Mitte", "Berlin", "DEP-BER"),
    ("Potsdam Garden Centre", "Potsdam", "DEP-BER"),
    ("Nordlicht Apotheke", "Berlin", "DEP-BER"),
    ("Isar Sport & Outdoor", "Munich", "DEP-MUC"),
    ("Alpenhof Hotels", "Garmisch", "DEP-MUC"),
    ("Bavaria Bikes", "Munich", "DEP-MUC"),
    ("Schwabing Bücherstube", "Munich", "DEP-MUC"),
    ("Augsburg Haushaltwaren", "Augsburg", "DEP-MUC"),
    ("Thames Hardware Ltd", "London", "DEP-LON"),
    ("Camden Coffee Roasters", "London", "DEP-LON"),
    ("Greenwich Pet Supplies", "London", "DEP-LON"),
    ("Shoreditch Studio Kit", "London", "DEP-LON"),
    ("Croydon Home Store", "Croydon", "DEP-LON"),
    ("Pennine Outdoor Co", "Manchester", "DEP-MAN"),
    ("Salford Print Works", "Salford", "DEP-MAN"),
    ("Mersey Marine Chandlers", "Liverpool", "DEP-MAN"),
    ("Northern Quarter Vinyl", "Manchester", "DEP-MAN"),
    ("Stockport Office Direct", "Stockport", "DEP-MAN"),
]
CUSTOMERS: list[Customer] = [
    Customer(f"C-{1001 + i}", name, city, depot) for i, (name, city, depot) in enumerate(_CUSTOMERS)
]

# (sku, unit of measure, unit price in EUR)
PRODUCTS: list[tuple[str, str, str]] = [
    ("SKU-10023", "EA", "12.90"),
    ("SKU-10417", "EA", "4.50"),
    ("SKU-11802", "EA", "89.00"),
    ("SKU-12055", "CS", "46.80"),
    ("SKU-13310", "EA", "7.25"),
    ("SKU-14471", "EA", "149.00"),
    ("SKU-15093", "CS", "23.60"),
    ("SKU-16620", "EA", "2.10"),
    ("SKU-17248", "EA", "35.00"),
    ("SKU-18806", "PK", "9.99"),
    ("SKU-19131", "EA", "64.40"),
    ("SKU-20457", "CS", "112.00"),
]

# What one EUR of the catalog's prices is invoiced as (fixed: the simulator has no markets).
EUR_RATES: dict[str, Decimal] = {"EUR": Decimal("1"), "GBP": Decimal("0.86"), "USD": Decimal("1.08")}

CARRIERS: dict[str, list[str]] = {
    "de": ["Elbe Spedition", "Rhein Cargo", "Südlast Logistik"],
    "uk": ["Albion Freight", "Pennine Haulage", "Kestrel Express"],
}

SIGNERS = [
    "M. Schulz",
    "A. Becker",
    "J. Wagner",
    "K. Hoffmann",
    "S. Patel",
    "R. Evans",
    "L. Thompson",
    "O. Hughes",
    "T. Nguyen",
    "C. Walsh",
    "F. Yilmaz",
    "D. Murphy",
]

DELAY_REASONS = [
    ("WEATHER", "Heavy snow on the linehaul route"),
    ("TRAFFIC", "Motorway closure, traffic diverted"),
    ("MECHANICAL", "Tractor unit breakdown, replacement dispatched"),
    ("HUB_BACKLOG", "Sorting backlog at the hub"),
]
ATTEMPT_REASONS = [
    ("CUSTOMER_ABSENT", "Nobody at the delivery address, card left"),
    ("BUSINESS_CLOSED", "Business closed at time of delivery"),
    ("ACCESS_RESTRICTED", "No access to the delivery point"),
    ("ADDRESS_NOT_FOUND", "Address could not be located"),
]
FAIL_REASONS = [
    ("REFUSED", "Consignee refused the delivery"),
    ("MAX_ATTEMPTS", "Second attempt failed, returning to sender"),
]
