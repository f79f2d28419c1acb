#!/usr/bin/env bash
# Celery worker: processes ingested messages (and any other task). Scale with replicas.
# Without WORKER_QUEUES it consumes every queue (the regular one and the early lane's); the
# `worker-early` service sets WORKER_QUEUES to the early lane's queue alone (docs/live.md).
set -euo pipefail

queues=()
if [ -n "${WORKER_QUEUES:-}" ]; then queues=(-Q "$WORKER_QUEUES"); fi
exec celery -A controltower worker -l INFO --concurrency "${CELERY_CONCURRENCY:-2}" "${queues[@]}"
