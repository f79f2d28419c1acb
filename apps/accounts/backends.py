from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from apps.common.ratelimit import login_failed, login_retry_after, login_succeeded


class ThrottledModelBackend(ModelBackend):
    """Django's username and password check, behind the failed-login limits: every login form
    (ours and the admin's) goes through here. Past a limit the password is not even checked;
    the login page tells why and answers 429 (apps.accounts.views.LoginView)."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        name = str(username or kwargs.get("username") or "")
        if request is not None and login_retry_after(request, name) is not None:
            raise PermissionDenied("too many failed logins")  # authenticate() stops at the first refusal
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if request is not None:
            if user is None:
                login_failed(request, name)
            else:
                login_succeeded(name)
        return user

    async def aauthenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        # ModelBackend's own async check would skip the limits.
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)
