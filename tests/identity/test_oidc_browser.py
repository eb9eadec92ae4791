"""Sign-in with the identity provider, end to end in Chromium: Pantry's login page, the provider's own
authorization page (oidc-provider-mock, its own process), back to Pantry with memberships from the
groups claim; at the next sign-in a change of groups changes the memberships. Then a token in the browser."""

from __future__ import annotations

import re

import pytest

from catalog.models import Membership
from identity.models import RoleMapping
from tests.browser import csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_with_the_provider(page, live_server, provider, sub: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    # The provider's page, served by the provider process.
    page.wait_for_url(re.compile(re.escape(provider.issuer) + r"/oauth2/authorize\?"))
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{live_server.url}/")


def memberships(user_sub: str) -> dict[str, tuple[str, str]]:
    return {
        m.account.name: (m.role, m.source)
        for m in Membership.objects.filter(user__oidc_identity__subject=user_sub).select_related("account")
    }


def test_sign_in_through_the_provider_and_memberships_follow_the_groups(page, live_server, oidc, org):
    RoleMapping.objects.create(group="fraud-scientists", account=org.consumer, role=Membership.Role.MEMBER)
    RoleMapping.objects.create(group="fraud-admins", account=org.consumer, role=Membership.Role.ACCOUNT_ADMIN)
    RoleMapping.objects.create(group="central-owners", account=org.central, role=Membership.Role.OWNER)
    oidc.user_set(
        "ida@corp.example",
        email="ida@corp.example",
        given_name="Ida",
        family_name="Directory",
        groups=["fraud-scientists", "central-owners"],
    )

    sign_in_with_the_provider(page, live_server, oidc, "ida@corp.example")
    assert page.get_by_role("heading", name="Welcome, Ida Directory").is_visible()
    assert memberships("ida@corp.example") == {
        "fraud-research": ("member", "directory"),
        "central-feature-store": ("owner", "directory"),
    }
    assert csp_violations(page) == []

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    # At the directory: promoted to admin of fraud-research, out of the owners group.
    oidc.user_set(
        "ida@corp.example",
        email="ida@corp.example",
        given_name="Ida",
        family_name="Directory",
        groups=["fraud-scientists", "fraud-admins"],
    )
    sign_in_with_the_provider(page, live_server, oidc, "ida@corp.example")
    assert memberships("ida@corp.example") == {"fraud-research": ("account_admin", "directory")}

    # The person creates an API token: shown once, copied with the button (no inline script).
    page.goto(f"{live_server.url}/tokens/new/")
    page.get_by_label("Name").fill("laptop script")
    page.get_by_label("Read", exact=True).check()
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token").input_value()
    assert re.fullmatch(r"pantry_[A-Za-z0-9]{52}", secret)
    page.get_by_role("button", name="Copy").click()
    page.get_by_text(re.compile("Token copied|press Ctrl-C")).wait_for()
    page.goto(f"{live_server.url}/tokens/")
    assert "laptop script" in page.content() and secret not in page.content()
    assert csp_violations(page) == []
