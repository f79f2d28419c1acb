#!/usr/bin/env bash
# Celery beat: the periodic sweeps (requeue stalled messages, prune signature nonces).
# Run exactly one. The schedule file is disposable state, so it lives in /tmp.
set -euo pipefail

exec celery -A controltower beat -l INFO --schedule /tmp/celerybeat-schedule
