"""Test settings: the real database and broker when DATABASE_URL / REDIS_URL are set (CI),
the embedded default otherwise. Tasks run eagerly unless a test starts a real worker."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CHANNEL_REDIS_HOSTS, LOGGING, REDIS_URL, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMBEDDED_BEAT = False  # tests run the sweeps they mean to run
# The real layer when Redis is there (CI), under a prefix of this test run's own, so that runs in
# parallel (and a developer's server) never see each other's messages.
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": CHANNEL_REDIS_HOSTS,
                "prefix": env.str("CHANNELS_PREFIX", default=f"ct-{os.environ.get('CELERY_QUEUE') or os.getpid()}"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING["handlers"]["console"]["formatter"] = "plain"
LOGGING["root"]["level"] = "WARNING"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# Uploaded files of this test run go to a directory of its own.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="ct-test-media-"))

# Throttles (apps/common/ratelimit.py) out of the way of tests that make many requests (fuzzing,
# pagination walks…); the throttle tests set their own small limits.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "100000/min", "anon": "100000/min"}}  # noqa: F405
INGEST_TOKEN_FAILURES_PER_IP = 100_000
LOGIN_FAILURES_PER_IP = 100_000
