"""`python -m apps.bench.worker <celery worker options>`: the Celery worker of `bench ingest
--store-only`, which splits the time: the same pipeline running only its `parse`, `store` and
`finish` stages (settings.PIPELINE_STAGES; apps/pipeline/stages.py: `finish` settles each
message's status, without which the bench would wait for ever), in this process only."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controltower.settings.base")
    os.environ["PIPELINE_STAGES"] = "parse,store,finish"
    import django

    django.setup()
    from controltower.celery import app

    app.worker_main(argv=["worker", *sys.argv[1:]])


if __name__ == "__main__":
    main()
