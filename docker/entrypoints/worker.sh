#!/usr/bin/env bash
# Celery worker: processes ingested messages (and any other task). Scale with replicas.
set -euo pipefail

exec celery -A controltower worker -l INFO --concurrency "${CELERY_CONCURRENCY:-2}"
