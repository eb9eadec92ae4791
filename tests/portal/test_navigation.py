"""The navigation bar: every link it shows leads where its URL name says, for each persona."""

import re

import pytest
from django.urls import reverse

from portal.context_processors import NAV_URL_NAMES

OPERATOR_ONLY = {
    "identity:people_list",
    "identity:membership_list",
    "identity:mapping_list",
    "identity:token_all",
    "identity:audit_list",
    "usage:source_list",
    "admin:index",
}
OVERSIGHT_ONLY = {"usage:dashboard", "sharing:audit_list"}


def _nav(html: str) -> str:
    return html[html.index('<nav class="navbar') : html.index("</nav>")]


@pytest.mark.parametrize("persona", ["data_scientist", "governance", "operator"])
def test_navigation_links_match_their_url_names(client, org, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    nav = _nav(client.get(reverse("catalog:catalog_list")).content.decode())
    hrefs = set(re.findall(r'(?:href|action)="([^"#]+)"', nav))
    for name in NAV_URL_NAMES:
        shown = reverse(name) in hrefs
        if name in OPERATOR_ONLY:
            assert shown == (persona == "operator"), name
        elif name in OVERSIGHT_ONLY:
            assert shown == (persona in ("governance", "operator")), name
        else:
            assert shown, name
    assert hrefs <= {reverse(name) for name in NAV_URL_NAMES} | {reverse("home")}


def test_signed_out_pages_have_no_navigation_links(client):
    nav = _nav(client.get(reverse("login")).content.decode())
    assert reverse("catalog:catalog_list") not in nav
    assert reverse("home") in nav
