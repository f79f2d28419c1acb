from django.db import models


class Step(models.TextChoices):
    """The wizard's steps, in order (docs/onboarding.md)."""

    PARTNER = "partner", "Partner"
    FEED = "feed", "Feed"
    CREDENTIALS = "credentials", "Credentials"
    MAPPING = "mapping", "Mapping"
    DRY_RUN = "dry-run", "Dry run"
    ACTIVATE = "activate", "Activate"


STEP_ORDER: tuple[str, ...] = tuple(Step.values)


def step_index(step: str) -> int:
    return STEP_ORDER.index(step)
