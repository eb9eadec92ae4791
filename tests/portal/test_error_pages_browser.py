"""The 404 page in Chromium: the site's layout under the strict CSP, and a working way back."""

from __future__ import annotations

import pytest

from tests.browser import csp_violations, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_404_page_is_styled_and_goes_back_to_the_previous_page(page, live_server, data_scientist, settings):
    settings.DEBUG = False
    login(page, live_server, data_scientist.username)
    page.goto(f"{live_server.url}/catalog/")
    # Arrive without a Referer (typed or bookmarked link): the back button is the script's.
    page.goto(f"{live_server.url}/groups/00000000-0000-0000-0000-000000000000/", referer="")
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    # Bootstrap's stylesheet applied: the navigation bar is dark, the search box is full width.
    nav_colour = page.locator("nav.navbar").evaluate("el => getComputedStyle(el).backgroundColor")
    assert nav_colour == "rgb(33, 37, 41)"
    back = page.get_by_role("button", name="← Back to the previous page")
    back.wait_for(state="visible")
    back.click()
    page.wait_for_url(f"{live_server.url}/catalog/")
    assert csp_violations(page) == []
