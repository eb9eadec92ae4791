"""A real OpenID provider for the tests: `oidc-provider-mock` run as its own process on a loopback port.

Pantry talks to it exactly as to Okta or Keycloak: discovery, the
authorization page (a person types their `sub` and presses Authorize),
the token endpoint, JWKS, userinfo. The test chooses the person's claims
(email, name, groups) beforehand through the provider's `PUT /users/<sub>`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import requests

CLIENT_ID = "pantry-tests"
CLIENT_SECRET = "pantry-tests-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen

    def user_set(self, sub: str, **claims) -> None:
        """The claims the provider will give `sub` at their next authorization."""
        response = requests.put(f"{self.issuer}/users/{quote(sub, safe='')}", json=claims, timeout=5)
        assert response.status_code == 204, response.text

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Press Authorize on the provider's page as `sub`; returns where the provider sends the browser."""
        response = requests.post(authorization_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]


def provider_start(*, log_path: str | None = None) -> OidcProvider:
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oidc-provider-mock exited with {process.returncode}")
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                return OidcProvider(issuer=issuer, process=process)
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("oidc-provider-mock did not start within 30 s")


def provider_stop(provider: OidcProvider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
        provider.process.wait(timeout=5)


@pytest.fixture(scope="session")
def oidc_provider():
    provider = provider_start()
    yield provider
    provider_stop(provider)


def oidc_config(issuer: str, **overrides) -> dict:
    return {
        "issuer": issuer,
        "discovery_url": "",
        "authorization_endpoint": "",
        "token_endpoint": "",
        "userinfo_endpoint": "",
        "jwks_uri": "",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scopes": "openid email profile",
        "groups_claim": "groups",
        "provider_name": "Test IdP",
        "sign_algo": "RS256",
        "token_auth_method": "client_secret_basic",
        "use_pkce": True,
        "use_userinfo": True,
        "timeout": 5,
        "verify_tls": True,
        **overrides,
    }


@pytest.fixture
def oidc(settings, oidc_provider):
    """Pantry configured for the provider process (as OIDC_* environment variables would)."""
    from identity.oidc import discovery_cache_clear

    settings.PANTRY_OIDC = oidc_config(oidc_provider.issuer)
    discovery_cache_clear()
    yield oidc_provider
    discovery_cache_clear()
