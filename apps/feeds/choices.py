from django.db import models


class FeedFormat(models.TextChoices):
    CANONICAL_JSON = "canonical-json", "Canonical JSON (contract v1)"
