"""An onboarding in progress: the wizard's step and what the admin entered so far, so that it
can be left and resumed (by the same admin or another one).

The feed exists from the credentials step on, paused until the last step activates it; before
that the draft holds the feed's settings. Secrets are not kept here: the token and the HMAC
secret are shown once when the feed is made, and a polled feed's headers (which carry the
partner's API key) move to its FeedPoll row then."""

from django.conf import settings
from django.db import models

from apps.feeds.choices import FeedTransport
from apps.feeds.models import Feed

from .choices import Step


class OnboardingDraft(models.Model):
    step = models.CharField(
        max_length=16, choices=Step.choices, default=Step.PARTNER, help_text="the furthest step reached"
    )
    partner_name = models.CharField(max_length=200, blank=True, default="")
    slug = models.SlugField(max_length=100, blank=True, default="")
    system = models.CharField(max_length=16, blank=True, default="")
    format = models.CharField(max_length=32, blank=True, default="")
    transport = models.CharField(max_length=8, choices=FeedTransport.choices, default=FeedTransport.PUSH)
    timezone = models.CharField(max_length=64, default="UTC")
    require_signature = models.BooleanField(default=False)
    poll_url = models.URLField(max_length=1000, blank=True, default="")
    poll_interval_seconds = models.PositiveIntegerField(default=60)
    poll_headers = models.JSONField(
        default=dict, blank=True, help_text="until the feed is made; then they live on its FeedPoll only"
    )
    feed = models.OneToOneField(Feed, null=True, blank=True, on_delete=models.CASCADE, related_name="onboarding")
    credentials_shown_at = models.DateTimeField(null=True, blank=True)
    sample = models.BinaryField(blank=True, default=b"", help_text="the last sample pasted or uploaded")
    sample_name = models.CharField(max_length=200, blank=True, default="")
    dry_run_at = models.DateTimeField(null=True, blank=True)
    dry_run_events = models.PositiveIntegerField(default=0)
    dry_run_rejected = models.PositiveIntegerField(default=0)
    dry_run_errors = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True, help_text="set when the feed was activated")

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["completed_at", "-updated_at"], name="onboarding_open_idx")]

    def __str__(self) -> str:
        return f"onboarding {self.pk}: {self.slug or self.partner_name or 'new'} ({self.step})"

    @property
    def title(self) -> str:
        return self.slug or self.partner_name or f"draft {self.pk}"

    @property
    def sample_text(self) -> str:
        return bytes(self.sample).decode("utf-8", errors="replace")
