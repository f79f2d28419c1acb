from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import ApiToken
from .services import api_token_resolve


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` with hashed storage. A feed's Bearer token is not a user."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        scheme, _, key = header.partition(" ")
        if scheme != self.keyword:
            return None
        token = api_token_resolve(key=key.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("invalid or revoked API token")
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        # Makes DRF answer 401 (not 403) to an unauthenticated request.
        return self.keyword
