import hashlib
import secrets
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from .models import ApiToken, AuditLog, Capability
from .roles import CAPABILITIES, ROLE_CAPABILITIES


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def audit_record(*, actor: object, action: str, target: str, detail: dict[str, Any] | None = None) -> AuditLog:
    user = actor if isinstance(actor, User) else None
    label = user.get_username() if user is not None else (str(actor) if actor else "system")
    return AuditLog.objects.create(actor=user, actor_label=label, action=action, target=target, detail=detail or {})


def api_token_create(*, user: User, name: str = "") -> str:
    """Returns the token once; only its hash is stored."""
    key = "ctu_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(user=user, name=name, key_hash=_hash(key), prefix=key[:10])
        audit_record(actor=user, action="api_token.created", target=f"user:{user.get_username()}")
    return key


def api_token_resolve(*, key: str) -> ApiToken | None:
    return (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def roles_sync() -> None:
    """Create the capability permissions and the four groups; idempotent (runs after migrate)."""
    ct = ContentType.objects.get_for_model(Capability, for_concrete_model=False)
    perms = {}
    for codename, label in CAPABILITIES.items():
        perms[codename], _ = Permission.objects.update_or_create(
            content_type=ct, codename=codename, defaults={"name": label}
        )
    for role, codenames in ROLE_CAPABILITIES.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([perms[c] for c in codenames])
