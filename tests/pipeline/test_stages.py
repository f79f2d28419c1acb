"""The pipeline's order is declared in one place, and a reader can rely on it."""

import inspect

import orjson
import pytest

from apps.ingestion.services import message_receive
from apps.pipeline import stages
from apps.pipeline.runner import message_process
from tests.factories import FeedFactory, event


def test_the_stages_run_in_this_order():
    # Changing this list is changing the pipeline: see the module docstring of stages.py for why
    # each stage sits where it does (store before correlate, cases before partner exceptions…).
    assert [s.name for s in stages.STAGES] == [
        "parse",
        "store",
        "finish",
        "correlate",
        "cases_follow_binding",
        "partner_exceptions",
        "sla",
        "invoice_holds",
        "reconciliation",
        "feed_health",
        "publish",
    ]
    assert [s.name for s in stages.EARLY_STAGES] == ["parse", "store_unplaced", "partner_exceptions_early", "hand_back"]
    assert [s.name for s in stages.RELEASE_STAGES] == [
        "release_held",
        "correlate",
        "sla",
        "invoice_holds",
        "reconciliation",
        "publish",
    ]


def test_every_stage_is_a_plain_function_that_says_what_it_reads_and_writes():
    for stage in (*stages.STAGES, *stages.EARLY_STAGES, *stages.RELEASE_STAGES):
        doc = inspect.getdoc(stage.run) or ""
        assert inspect.isfunction(stage.run), stage.name
        assert "Reads" in doc or "Writes" in doc or "writes" in doc, stage.name


def test_no_app_registers_stages_at_start_up():
    """The stage list is data in stages.py (immutable): no AppConfig.ready() adds to it."""
    from django.apps import apps

    assert isinstance(stages.STAGES, tuple)
    assert isinstance(stages.EARLY_STAGES, tuple)
    assert isinstance(stages.RELEASE_STAGES, tuple)
    for config in apps.get_app_configs():
        ready = type(config).__dict__.get("ready")
        if config.name.startswith("apps.") and ready is not None:
            source = inspect.getsource(ready)
            assert "STAGES" not in source, config.name
            assert "setattr" not in source, config.name


def test_a_worker_can_run_a_named_subset_for_benchmarks_and_an_unknown_name_is_refused():
    assert [s.name for s in stages.stages_selected(["store", "parse"])] == ["parse", "store"]
    assert stages.stages_selected([]) == stages.STAGES
    with pytest.raises(ValueError, match="no such stage: corelate"):
        stages.stages_selected(["parse", "corelate"])


@pytest.mark.django_db
def test_each_batch_is_timed_stage_by_stage_in_its_log_line(caplog):
    feed = FeedFactory(system="erp")
    body = orjson.dumps({"events": [event(1, type="order.created", refs={"order": "SO-T"})]})
    message = message_receive(feed=feed, body=body, content_type="application/json", enqueue=False)
    with caplog.at_level("INFO", logger="apps.pipeline.runner"):
        message_process(message_id=message.id)
    [record] = [r for r in caplog.records if r.getMessage() == "pipeline batch"]
    assert list(record.stage_ms) == [s.name for s in stages.STAGES]
    assert (record.messages, record.events, record.orders) == (1, 1, 1)
