"""`python -m apps.bench.worker <celery worker options>`: the Celery worker of `bench ingest
--store-only`, which splits the time: the same pipeline with the stages registered after the
store (apps.ingestion.services.AFTER_STORE: correlation, projections…) left out, in this
process only."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")
    import django

    django.setup()
    from apps.ingestion import services as ingestion

    ingestion.AFTER_STORE.clear()  # prefork children are forked after this, and inherit it
    ingestion.STORE_PRESUMED_MATCHED = False  # no correlation here to correct it
    from controltower.celery import app

    app.worker_main(argv=["worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
