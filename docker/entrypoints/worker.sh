#!/usr/bin/env bash
# Celery worker: processes ingested messages (and any other task). Scale with replicas.
# Without WORKER_QUEUES it consumes every queue (the regular one and the early lane's); the
# `worker-early` service sets WORKER_QUEUES to the early lane's queue alone (docs/live.md).
# WORKER_NICE lowers the CPU priority of bulk batches so that they yield to the web and the
# early lane (raising priority would need privileges; lowering does not).
set -euo pipefail

queues=()
if [ -n "${WORKER_QUEUES:-}" ]; then queues=(-Q "$WORKER_QUEUES"); fi
exec nice -n "${WORKER_NICE:-0}" celery -A controltower worker -l INFO --concurrency "${CELERY_CONCURRENCY:-2}" "${queues[@]}"
