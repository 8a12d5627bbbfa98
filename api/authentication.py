"""API tokens with a lifetime (settings.API_TOKEN_HOURS, CELINSIGHT_API_TOKEN_HOURS).

A token older than that is refused (401) and deleted; asking /api/auth/token/ again gives a
new one. Tokens are also revoked on logout, lockout and password change
(accounts/api_tokens.py).
"""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def token_expired(token):
    return token.created <= timezone.now() - timedelta(hours=settings.API_TOKEN_HOURS)


def issue_token(user):
    """The user's token: the one they hold while it lasts, else a new one."""
    token = Token.objects.filter(user=user).first()
    if token is not None and token_expired(token):
        token.delete()
    token, _ = Token.objects.get_or_create(user=user)
    return token


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing tokens older than their lifetime."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            token.delete()
            raise AuthenticationFailed(
                f"This token has expired (tokens last {settings.API_TOKEN_HOURS} hours). Get a "
                f"new one with your username and password at /api/auth/token/.")
        return user, token
