"""Sign-in with the company identity provider (OpenID Connect, authorization code flow).

Built on mozilla-django-oidc (state, nonce, PKCE, the code exchange and JWKS
lookup), with Pantry's own pieces where its defaults do not fit:

- Configuration comes from `settings.PANTRY_OIDC` (environment variables,
  docs/identity.md). Endpoints are discovered from the issuer's
  `/.well-known/openid-configuration` on first use (cached for an hour),
  unless given explicitly; nothing touches the network at import.
- The ID token's signature, issuer, audience and expiry are all verified
  (the library checks only the signature).
- People are found by issuer + `sub` (`identity.services.directory`), never
  by email, and their memberships follow their groups claim.
- Failures come back to the login page with a sentence, not a 400/500.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from identity.services.directory import DirectoryClaimsError, directory_sign_in

logger = logging.getLogger(__name__)

DISCOVERY_TTL_SECONDS = 3600
# Claims that describe the token rather than the person: the ID token's win.
_TOKEN_CLAIMS = {"iss", "aud", "sub", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "auth_time", "jti"}


class ProviderUnavailable(Exception):
    """The identity provider's discovery document could not be read or does not match the configuration."""


@dataclass(frozen=True)
class Provider:
    name: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    client_id: str
    client_secret: str
    scopes: str
    groups_claim: str
    sign_algo: str
    token_auth_method: str
    use_pkce: bool
    use_userinfo: bool
    timeout: float
    verify_tls: bool | str


def oidc_enabled() -> bool:
    return bool(getattr(settings, "PANTRY_OIDC", None))


def oidc_provider_name() -> str:
    return settings.PANTRY_OIDC["provider_name"] if oidc_enabled() else ""


_discovered: dict[str, tuple[float, dict]] = {}
_discovery_lock = threading.Lock()


def _discovery(config: dict) -> dict:
    url = config["discovery_url"] or config["issuer"].rstrip("/") + "/.well-known/openid-configuration"
    with _discovery_lock:
        cached = _discovered.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    try:
        response = requests.get(url, timeout=config["timeout"], verify=config["verify_tls"])
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("oidc: discovery at %s failed: %s", url, type(exc).__name__)
        raise ProviderUnavailable(f"the discovery document at {url} could not be read") from exc
    if not isinstance(document, dict) or not isinstance(document.get("issuer"), str):
        raise ProviderUnavailable(f"the discovery document at {url} names no issuer")
    # OpenID Connect Discovery 1.0 §4.3: the issuer in the document must be the one configured.
    if document["issuer"].rstrip("/") != config["issuer"].rstrip("/"):
        logger.warning("oidc: discovery issuer %r differs from OIDC_ISSUER %r", document["issuer"], config["issuer"])
        raise ProviderUnavailable("the discovery document names a different issuer than OIDC_ISSUER")
    with _discovery_lock:
        _discovered[url] = (time.monotonic() + DISCOVERY_TTL_SECONDS, document)
    return document


def discovery_cache_clear() -> None:
    with _discovery_lock:
        _discovered.clear()


def oidc_provider() -> Provider:
    """The configured provider, with endpoints from discovery where not given explicitly."""
    config = settings.PANTRY_OIDC
    endpoints = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
    explicit = {key: config.get(key) or "" for key in endpoints}
    issuer = config["issuer"]
    if not all(explicit[key] for key in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
        document = _discovery(config)
        issuer = document["issuer"]
        for key in endpoints:
            explicit[key] = explicit[key] or (document.get(key) if isinstance(document.get(key), str) else "")
        missing = [key for key in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not explicit[key]]
        if missing:
            raise ProviderUnavailable(f"the discovery document lacks {', '.join(missing)}")
    return Provider(
        name=config["provider_name"],
        issuer=issuer,
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        scopes=config["scopes"],
        groups_claim=config["groups_claim"],
        sign_algo=config["sign_algo"],
        token_auth_method=config["token_auth_method"],
        use_pkce=config["use_pkce"],
        use_userinfo=config["use_userinfo"],
        timeout=config["timeout"],
        verify_tls=config["verify_tls"],
        **explicit,
    )


def _library_setting(provider: Provider | None, attr: str, *default):
    """What mozilla-django-oidc asks its settings for, answered from the provider."""
    if provider is not None:
        values = {
            "OIDC_OP_AUTHORIZATION_ENDPOINT": provider.authorization_endpoint,
            "OIDC_RP_CLIENT_ID": provider.client_id,
            "OIDC_RP_SCOPES": provider.scopes,
            "OIDC_USE_PKCE": provider.use_pkce,
            "OIDC_TOKEN_USE_BASIC_AUTH": provider.token_auth_method == "client_secret_basic",
            "OIDC_VERIFY_SSL": provider.verify_tls,
            "OIDC_TIMEOUT": provider.timeout,
        }
        if attr in values:
            return values[attr]
    fixed = {
        "OIDC_AUTHENTICATION_CALLBACK_URL": "identity:oidc_callback",
        "OIDC_USE_NONCE": True,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "OIDC_CREATE_USER": True,
        "OIDC_PROXY": None,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "LOGIN_REDIRECT_URL_FAILURE": "login",
    }
    if attr in fixed:
        return fixed[attr]
    return getattr(settings, attr, *default)


class PantryOIDCBackend(OIDCAuthenticationBackend):
    """Authenticates the OIDC callback; does nothing for any other sign-in."""

    provider: Provider | None = None

    def __init__(self, *args, **kwargs) -> None:
        # The library reads its endpoints here, at import of the backend;
        # Pantry resolves them per sign-in (discovery, settings overrides in tests).
        self.UserModel = get_user_model()

    def get_settings(self, attr, *args):
        return _library_setting(self.provider, attr, *args)

    def authenticate(self, request, **kwargs):
        if request is None or not oidc_enabled() or "code" not in request.GET or "nonce" not in kwargs:
            return None
        provider = oidc_provider()
        self.provider = provider
        self.OIDC_OP_TOKEN_ENDPOINT = provider.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = provider.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = provider.jwks_uri
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self.OIDC_RP_CLIENT_SECRET = provider.client_secret
        self.OIDC_RP_SIGN_ALGO = provider.sign_algo
        self.OIDC_RP_IDP_SIGN_KEY = None
        return super().authenticate(request, **kwargs)

    def retrieve_matching_jwk(self, token):
        """The provider's signing key for this token: by `kid`, or its only signing key when the token names none."""
        response = requests.get(self.provider.jwks_uri, timeout=self.provider.timeout, verify=self.provider.verify_tls)
        response.raise_for_status()
        keys = response.json().get("keys") or []
        header = jwt.get_unverified_header(token)
        candidates = [
            k
            for k in keys
            if isinstance(k, dict)
            and k.get("use", "sig") == "sig"
            and k.get("alg", header.get("alg")) == header.get("alg")
            and ("kid" not in header or k.get("kid") == header["kid"])
        ]
        if len(candidates) != 1:
            raise SuspiciousOperation("no single signing key in the provider's JWKS matches the ID token")
        return jwt.PyJWK(candidates[0])

    def get_payload_data(self, token, key):
        return self._verify_jws(token, key)  # never an unsigned token, whatever the header says

    def _verify_jws(self, payload, key):
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.provider.sign_algo:
            raise SuspiciousOperation(
                f"the ID token is signed with {header.get('alg')!r}, not {self.provider.sign_algo}"
            )
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.provider.sign_algo],
                audience=self.provider.client_id,
                issuer=self.provider.issuer,
                leeway=60,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token rejected: {exc}") from exc

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint when there is one."""
        claims = dict(payload)
        if self.provider.use_userinfo and self.provider.userinfo_endpoint and access_token:
            info = super().get_userinfo(access_token, id_token, payload)
            if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
                # OpenID Connect Core §5.3.2: a different sub means the response is not about this person.
                raise SuspiciousOperation("the userinfo response is about a different subject")
            claims.update({k: v for k, v in info.items() if k not in _TOKEN_CLAIMS})
        return claims

    def verify_claims(self, claims) -> bool:
        return isinstance(claims.get("sub"), str) and bool(claims["sub"])

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        try:
            return directory_sign_in(
                issuer=self.provider.issuer, claims=claims, groups_claim=self.provider.groups_claim
            )
        except DirectoryClaimsError as exc:
            raise SuspiciousOperation(str(exc)) from exc


def _back_to_login(request, message: str) -> HttpResponseRedirect:
    messages.error(request, message)
    return redirect("login")


class OidcLoginStartView(OIDCAuthenticationRequestView):
    """GET /oidc/authenticate/?next=…: off to the identity provider."""

    provider: Provider | None = None

    def __init__(self, **kwargs) -> None:
        View.__init__(self, **kwargs)  # endpoints are resolved in get(), not at construction

    def get_settings(self, attr, *args):
        return _library_setting(self.provider, attr, *args)

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Sign-in with an identity provider is not configured.")
        try:
            self.provider = oidc_provider()
        except ProviderUnavailable:
            return _back_to_login(
                request, f"{oidc_provider_name()} cannot be reached right now. Try again shortly, or ask an operator."
            )
        self.OIDC_OP_AUTH_ENDPOINT = self.provider.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = self.provider.client_id
        return super().get(request)


class OidcCallbackView(OIDCAuthenticationCallbackView):
    """GET /oidc/callback/?code=…&state=…: the provider sends the person back here."""

    provider: Provider | None = None
    user = None

    def get_settings(self, attr, *args):
        return _library_setting(self.provider, attr, *args)

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Sign-in with an identity provider is not configured.")
        name = oidc_provider_name()
        try:
            return super().get(request)
        except ProviderUnavailable:
            return _back_to_login(request, f"{name} cannot be reached right now. Try again shortly.")
        except requests.RequestException as exc:
            logger.warning("oidc: talking to the provider failed: %s", type(exc).__name__)
            return _back_to_login(request, f"Signing in with {name} failed: the provider did not answer as expected.")
        except SuspiciousOperation as exc:
            logger.warning("oidc: sign-in refused: %s", exc)
            return _back_to_login(
                request,
                f"Signing in with {name} could not be completed (the sign-in expired or was used twice). Try again.",
            )

    def login_failure(self):
        request, name = self.request, oidc_provider_name()
        if request.GET.get("error"):
            # The provider's own words (e.g. access_denied); escaped like every message.
            detail = request.GET.get("error_description") or request.GET["error"]
            return _back_to_login(request, f"{name} did not sign you in: {detail[:200]}")
        if self.user is not None and not self.user.is_active:
            return _back_to_login(request, "Your Pantry account is deactivated. Ask an operator to reactivate it.")
        return _back_to_login(request, f"Signing in with {name} failed. Try again.")

    @property
    def success_url(self):
        next_url = self.request.session.get("oidc_login_next")
        return next_url or resolve_url(settings.LOGIN_REDIRECT_URL)
