"""`python -m tests.faults.prepare`: the fault tests' template database, on DATABASE_URL.

Run once per session as a subprocess (the test process's own Django points at another
database): migrate, create the simulator's four feeds and a probe feed, lift their rate limits
(not what is measured), print their credentials as one JSON object. Every run's database is a
copy of this one (CREATE DATABASE … TEMPLATE), so the same tokens work in all of them."""

import dataclasses
import os
import sys

PREFIX = "faults"
PROBE_SLUG = "faults-probe"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")
    import django

    django.setup()
    import orjson
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from apps.events.taxonomy import System
    from apps.feeds.choices import FeedFormat
    from apps.feeds.models import Feed
    from apps.feeds.services import feed_create
    from apps.simulator.services import simulation_feeds_ensure

    creds = simulation_feeds_ensure(prefix=PREFIX)
    probe = feed_create(
        slug=PROBE_SLUG, partner_name="Fault probe", system=System.LASTMILE, format=FeedFormat.CANONICAL_JSON
    )
    Feed.objects.filter(slug__startswith=f"{PREFIX}-").update(rate_limit_per_minute=1_000_000)
    out = {name: dataclasses.asdict(c) for name, c in {**creds, "probe": probe}.items()}
    sys.stdout.write(orjson.dumps(out).decode() + "\n")


if __name__ == "__main__":
    main()
