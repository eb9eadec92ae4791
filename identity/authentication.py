"""`Authorization: Bearer pantry_…` for the API: personal tokens, with their scope enforced here.

The scope is checked at authentication, before any view code or permission
class runs, so no endpoint can forget it: a read token is refused (403) on
every method but GET, HEAD and OPTIONS. Unknown, expired and revoked tokens,
and tokens of deactivated people, get 401 with `WWW-Authenticate: Bearer`.
openlineage-python's `api_key` auth sends exactly this header.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS

from identity.models import ApiToken
from identity.services.tokens import api_token_find, api_token_touch
from portal.audit import audit_via_update, client_ip


class PersonalTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the token as `Authorization: Bearer <token>`.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = api_token_find(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token was revoked.")
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This token's owner is deactivated.")
        if token.scope != ApiToken.Scope.WRITE and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied("This token is read-only; use a token with write scope to change things.")
        api_token_touch(token=token, ip=client_ip(request._request))
        audit_via_update(f"token {token.display_id}")
        return (token.user, token)

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = PersonalTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (`pantry_…`) from /tokens/. Read tokens may only GET.",
        }
