from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    # Setup, not domain flow: groups must exist on every database the project migrates.
    from .services import roles_sync

    roles_sync()


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, sender=self)
        from . import schema  # noqa: F401 - registers the OpenAPI auth extension
