import pytest

from apps.feeds.models import Feed
from apps.feeds.services import IngestRefused, feed_authenticate
from apps.simulator.services import simulation_feeds_ensure

pytestmark = pytest.mark.django_db


def test_it_creates_the_four_feeds_with_working_tokens():
    creds = simulation_feeds_ensure()
    assert set(creds) == {"erp", "wms", "tms", "lastmile"}
    for system, cred in creds.items():
        assert cred.slug == f"sim-{system}"
        feed = feed_authenticate(slug=cred.slug, authorization=f"Bearer {cred.token}")
        assert feed.system == system
        assert feed.format == "canonical-json"
        assert feed.partner.name.startswith("Simulated ")


def test_a_second_call_rotates_the_tokens_instead_of_making_new_feeds():
    first = simulation_feeds_ensure()
    second = simulation_feeds_ensure()
    assert Feed.objects.filter(slug__startswith="sim-").count() == 4
    for system in first:
        assert first[system].token != second[system].token
        feed_authenticate(slug=second[system].slug, authorization=f"Bearer {second[system].token}")
        with pytest.raises(IngestRefused) as refused:
            feed_authenticate(slug=first[system].slug, authorization=f"Bearer {first[system].token}")
        assert refused.value.status == 401


def test_the_prefix_names_the_feeds():
    creds = simulation_feeds_ensure(prefix="demo")
    assert sorted(c.slug for c in creds.values()) == ["demo-erp", "demo-lastmile", "demo-tms", "demo-wms"]
