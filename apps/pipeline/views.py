"""`GET /metrics`: the pipeline's metrics in the Prometheus text format (metrics.py).

Who may read it: a scraper sending `Authorization: Bearer <METRICS_TOKEN>` (set in the
environment), or a signed-in staff user. Unset token and anonymous: 403 — queue depths and
feed volumes are not public."""

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from .metrics import QueueCollector


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    return bool(getattr(request.user, "is_staff", False))


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("metrics need a bearer token (METRICS_TOKEN) or a staff login\n", status=403)
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # every process of the host
        data = generate_latest(registry)
    else:
        data = generate_latest(REGISTRY)  # this process's own measurements
    queue = CollectorRegistry()
    queue.register(QueueCollector())
    return HttpResponse(data + generate_latest(queue), content_type=CONTENT_TYPE_LATEST)
