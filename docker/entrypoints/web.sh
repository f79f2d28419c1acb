#!/usr/bin/env bash
# Web: apply migrations (also syncs the role groups, via post_migrate), then serve ASGI.
set -euo pipefail

python manage.py migrate --noinput

exec uvicorn controltower.asgi:application \
    --host 0.0.0.0 \
    --port 8000 \
    --workers "${WEB_CONCURRENCY:-2}" \
    --proxy-headers
