"""Carrier tracker webhooks: EasyPost (tracker.created / tracker.updated Events, bare
Trackers, tracker lists, Shipments and Orders embedding trackers), AfterShip
(`{"msg": {Tracking}}`) and Shippo (`{"event": "track_updated", "data": {Track}}`) → ONE
canonical event per scan (EasyPost tracking_details[], AfterShip checkpoints[], Shippo
tracking_history[]), each at its own time: a delivered scan dated before earlier scans is kept
as sent (the pipeline's furthest-stage rule orders the stages).

Mapping decisions (tables in tables.py; a feed overrides any entry):

* Type: EasyPost `carrier.easypost_detail` over status_detail first (only the details that
  name a better type: arrived_at_facility → shipment.arrived, departed_facility →
  shipment.departed, delays, refused / delivery_exception → delivery.attempted…), else
  `carrier.easypost` over status; AfterShip `carrier.aftership` over the checkpoint tag; Shippo
  `carrier.shippo_substatus` first, else `carrier.shippo`. pre_transit / InfoReceived /
  PRE_TRANSIT → shipment.planned; available for pickup → shipment.arrived (not delivered);
  return_to_sender / failure / RETURNED → delivery.failed; EasyPost cancelled →
  exception.raised; unknown, error, Pending, Expired, UNKNOWN → IGNORE.
* refs: the tracking code → tracking_number only. EasyPost's shipment id (shp_…) names its
  label record: bound as a shipment it would claim the tracking number (an alias binds to the
  first entity seen with it) before the TMS's shipment could, so it stays in
  attributes.easypost_shipment with the carrier, tracker id, service and public_url. AfterShip
  order ids are the storefront's, kept in attributes.
* eta: the scan's own estimate where it has one, else the tracker's estimate
  (est_delivery_date, expected_delivery, eta) on the newest event produced only: it is a
  statement made now, not at the old scans. pod.signed_by (signed_by) on the delivered event. reason {code:
  detail or status, text: the carrier's message} on exception types.
* Times: ISO 8601; without an offset (AfterShip local checkpoint times) read in the feed's zone.
* event_id: `<platform>:` + the platform's scan id (Shippo object_id) or a hash of the
  tracker's identity (tracker id, else carrier + tracking code), the scan's datetime, status,
  detail and location: the same scan in a later delivery of the tracker gets the same id, never
  derived from the webhook Event id (evt_…, new per delivery) nor from the mapped type.
* Envelopes without a tracker (an Event without result, a Batch or ScanForm webhook, any other
  EasyPost object) are one rejection naming the object: an EasyPost webhook URL receives every
  event type of the account, and a 400 would only make EasyPost retry. A Shipment or Order whose
  trackers have no details yet gives no event. A body none of these shapes is UnreadableBody."""

from collections.abc import Iterable, Iterator
from typing import Any

from ..base import Candidate, FeedContext, MappedAdapter, UnreadableBody, reject
from ..dcsa.checks import load_json
from . import aftership, easypost, shippo
from .tables import CODE_TABLES

WANT = (
    'a tracker webhook as JSON: an EasyPost Event ({"object": "Event", "result": {Tracker}}) or Tracker, '
    'an AfterShip {"msg": {tracking}} or a Shippo {"event": "track_updated", "data": {track}}'
)


class CarrierWebhookAdapter(MappedAdapter):
    name = "carrier-webhook"
    content_types = ("application/json",)
    code_tables = CODE_TABLES

    def read(self, body: bytes, ctx: FeedContext) -> Iterable[Candidate]:
        """One candidate per scan of every tracker in the body, in body order."""
        return shape(load_json(body, WANT), ctx)


def shape(data: Any, ctx: FeedContext) -> Iterator[Candidate]:
    """The candidates of the body's shape; UnreadableBody (at once) when it has none."""
    if not isinstance(data, dict):
        shown = "an array" if isinstance(data, list) else "not an object"
        raise UnreadableBody(f"not a carrier tracker webhook: the body is {shown}; want {WANT}")
    kind = data.get("object") if isinstance(data.get("object"), str) else None
    if kind in easypost.EASYPOST_OBJECTS:
        return easypost.objects(data, ctx, "")
    if isinstance(data.get("trackers"), list):  # a Tracker list (GET /trackers)
        return _each(data["trackers"], "trackers", ctx)
    if isinstance(data.get("events"), list) and any(
        isinstance(e, dict) and e.get("object") == "Event" for e in data["events"]
    ):  # an Event list (GET /events)
        return _each(data["events"], "events", ctx)
    if isinstance(data.get("msg"), dict):
        return aftership.webhook(data, ctx)
    track = data.get("data")
    if isinstance(track, dict) and (
        data.get("event") == "track_updated" or "tracking_history" in track or "tracking_status" in track
    ):
        return shippo.webhook(data, ctx)
    if kind is not None and kind.strip():
        return iter([reject(f"object: an EasyPost {kind[:50]!r}, not a Tracker; this feed maps tracker webhooks")])
    keys = ", ".join(repr(str(k)[:40]) for k in list(data)[:6]) or "none"
    raise UnreadableBody(f"not a carrier tracker webhook: an object with keys {keys}; want {WANT}")


def _each(items: list[Any], where: str, ctx: FeedContext) -> Iterator[Candidate]:
    for i, item in enumerate(items):
        if (
            isinstance(item, dict)
            and isinstance(item.get("object"), str)
            and item["object"] in easypost.EASYPOST_OBJECTS
        ):
            yield from easypost.objects(item, ctx, f"{where}[{i}]")
        else:
            yield reject(f"{where}[{i}]: not an EasyPost Tracker or Event")
