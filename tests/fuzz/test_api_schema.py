"""API fuzzing with schemathesis over the OpenAPI schema (/api/schema/): every operation, a
bounded number of generated cases each (FUZZ_EXAMPLES, default 4), sent with every role's
token, a feed's own token and no token at all. Nothing may answer 5xx, and every response must
be what the schema says (status documented, body and headers conform, content type).

The requests go through Django's WSGI handler in this process, so they see the test's database
(a small world of orders, exceptions and holds made per operation, rolled back after it)."""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from apps.accounts.services import api_token_create
from apps.exceptions.models import ExceptionCase
from apps.feeds.models import Feed
from apps.finance.models import InvoiceHold
from apps.finance.services.snapshots import snapshot_run_create
from apps.ingestion.files import file_receive
from apps.ingestion.models import RawMessage
from apps.ingestion.services import message_receive
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory, UserFactory, sla_policy


def _load_schema() -> schemathesis.schemas.BaseSchema:
    """The schema as /api/schema/ serves it, generated here without a request: at collection
    time no test database exists yet, and a request would open a connection to the real one."""
    raw = orjson.loads(orjson.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    return loaded


schema = _load_schema()

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
# Schema-valid requests refused for a rule that no schema states, by operation: the fields a 400
# may name. Every other schema-valid request must get an answer (2xx, or 401/403/404/409/429),
# not a 400 (`schema_valid_is_not_refused`; docs/api.md "Fuzzing").
RULES_NO_SCHEMA_STATES: dict[str, set[str]] = {
    "POST /api/v1/exceptions/{case_id}/assign/": {"assignee"},  # an active user who may work exceptions
    "POST /api/v1/exceptions/{case_id}/snooze/": {"until"},  # in the future, with an offset
    "GET /api/v1/orders/{order_key}/timeline/": {"after"},  # an opaque cursor, from a `next` link
    "POST /api/v1/reconciliation/runs/": {"until"},  # after `from`
    "POST /api/v1/invoice-holds/": {"order", "invoice"},  # an order and an invoice that exist
    # not the name of another policy; exactly one of `within` and `deadline`
    "POST /api/v1/sla-policies/": {"name", "within", "deadline"},
    "PATCH /api/v1/sla-policies/{policy_id}/": {"name", "within", "deadline"},
}
# schemathesis's own positive_data_acceptance is replaced by the check above (it cannot be told
# of these rules). Known gap: negative_data_rejection (the API is lenient where the schema is
# strict: a filter's unknown parameter is ignored, not refused).
EXCLUDED = [positive_data_acceptance, negative_data_rejection]
ROLES = ("cs_agent", "ops_lead", "finance", "admin")


@dataclass
class FuzzWorld:
    tokens: dict[str, str]  # who → Authorization header value ("" for nobody)
    feed: Feed
    ids: dict[str, object]  # path parameter → the id of a real object of the world


def _send(feed: Feed, events: list[dict[str, object]]) -> None:
    message = message_receive(feed=feed, body=orjson.dumps({"events": events}), content_type="application/json")
    message_process(message_id=message.id)


@pytest.fixture
def no_connection_closing() -> Iterator[None]:
    """As Django's test client does: a request must not close the test's connection (it holds
    the transaction that the test's data lives in)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(db: None, no_connection_closing: None) -> FuzzWorld:
    feeds = {s: FeedFactory(slug=f"fuzz-{s}", system=s) for s in ("erp", "wms", "tms", "lastmile")}
    at = "2026-11-25T10:00:00+00:00"
    _send(feeds["erp"], [{"event_id": "o1", "type": "order.created", "occurred_at": at, "refs": {"order": "SO-1"}}])
    _send(
        feeds["tms"],
        [
            {
                "event_id": "s1",
                "type": "shipment.confirmed",
                "occurred_at": at,
                "refs": {"order": "SO-1", "shipment": "SH-1", "tracking_number": "1Z1"},
            },
            {
                "event_id": "x1",
                "type": "exception.raised",
                "occurred_at": at,
                "refs": {"shipment": "SH-1"},
                "reason": {"code": "DAMAGED", "text": "box crushed"},
            },
        ],
    )
    _send(
        feeds["erp"],
        [
            {
                "event_id": "i1",
                "type": "invoice.created",
                "occurred_at": at,
                "refs": {"order": "SO-1", "invoice": "INV-1"},
                "amount": {"value": "10.00", "currency": "EUR"},
            }
        ],
    )
    tokens = {role: f"Token {api_token_create(user=UserFactory(role=role))}" for role in ROLES}
    tokens["no role"] = f"Token {api_token_create(user=UserFactory())}"
    tokens["feed token"] = f"Bearer {feeds['tms'].credentials.token}"  # type: ignore[attr-defined]
    tokens["nobody"] = ""
    policy = sla_policy(name="fuzz")
    upload = file_receive(feed=feeds["tms"], chunks=[b'{"events": []}'], name="fuzz.json", enqueue=False)
    run = snapshot_run_create(
        body=b"order,status\nSO-1,open\n", filename="fuzz.csv", uploaded_by=None, window_from=None, window_until=None,
        enqueue=False,
    )  # fmt: skip
    ids: dict[str, object] = {
        "order_key": "SO-1",
        "slug": feeds["tms"].slug,
        "case_id": ExceptionCase.objects.order_by("id").values_list("id", flat=True).first(),
        "hold_id": InvoiceHold.objects.values_list("id", flat=True).first(),
        "message_id": str(RawMessage.objects.filter(feed=feeds["tms"]).values_list("id", flat=True).first()),
        "file_id": str(upload.file.id),
        "run_id": run.id,
        "policy_id": policy.id,
        "n": 1,
    }
    assert all(value is not None for value in ids.values()), ids
    return FuzzWorld(tokens=tokens, feed=feeds["tms"], ids=ids)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure here is reproducible, not luck
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_5xx_and_every_response_as_the_schema_says(case: schemathesis.Case, fuzz_world: FuzzWorld) -> None:
    """Each case as generated (random ids: mostly 404), and again on the world's real objects
    (the same query and body), so that every operation is also answered for something that
    exists, by every principal."""
    cases = [case]
    if case.path_parameters and set(case.path_parameters) <= set(fuzz_world.ids):
        real = case.operation.Case(
            path_parameters={name: fuzz_world.ids[name] for name in case.path_parameters},
            query=case.query,
            body=case.body,
            media_type=case.media_type,
        )
        cases.append(real)
    for one in cases:
        for who, authorization in fuzz_world.tokens.items():
            headers = {"Authorization": authorization} if authorization else {}
            try:
                response = one.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
            except Exception as exc:
                raise AssertionError(f"as {who}, path {one.path_parameters}: {exc}") from exc
            schema_valid_is_not_refused(case, response, who)
            if who == "admin" and "/ingest/" not in one.path:  # ingest takes feed tokens only
                # the credentials work: a fuzz answered 401 throughout proves nothing
                assert response.status_code != 401, response.text


def schema_valid_is_not_refused(case: schemathesis.Case, response: object, who: str) -> None:
    """A request generated valid (positive mode) is not a 400/422, unless the 400 names only
    fields whose rule the schema cannot state (RULES_NO_SCHEMA_STATES)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    status = getattr(response, "status_code", 0)
    if status not in (400, 422):
        return
    body = orjson.loads(getattr(response, "content", b"") or b"null")
    named = set(body) if isinstance(body, dict) else set()
    allowed = RULES_NO_SCHEMA_STATES.get(f"{case.method.upper()} {case.path}", set())
    refused = (
        f"as {who}: a schema-valid {case.method.upper()} {case.path} was refused {status}: {body} "
        f"(query {case.query}, body {case.body!r})"
    )
    assert named, refused
    assert named <= allowed, refused


@pytest.mark.django_db
def test_serving_the_schema_reads_nothing_from_the_database(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    """The schema once computed every feed's health to describe one list (a full aggregate per
    GET /api/schema/)."""
    with django_assert_num_queries(0):
        SchemaGenerator().get_schema(request=None, public=True)
