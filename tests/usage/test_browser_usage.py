"""The governance dashboard in Chromium: charts drawn by the vendored Chart.js, tables present, CSP clean."""

from __future__ import annotations

import pytest

from tests.browser import csp_violations, login
from tests.usage.dashboard_data import usage_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ("calls-per-day", "reads-writes", "top-groups", "top-consumers", "top-principals", "denied")


def test_dashboard_draws_every_chart_and_keeps_its_table(page, live_server, governance, org):
    usage_world(org)
    login(page, live_server, governance.username)
    page.goto(f"{live_server.url}/usage/")
    for name in CHARTS:
        canvas = page.locator(f'canvas[data-usage-chart="{name}"]')
        canvas.wait_for()
        assert canvas.get_attribute("data-drawn") == "true", name
        box = canvas.bounding_box()
        assert box["width"] > 100 and box["height"] > 100, name
        # Chart.js painted something: the canvas is not blank.
        painted = page.evaluate(
            """(name) => {
                const c = document.querySelector(`canvas[data-usage-chart="${name}"]`);
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
                return false;
            }""",
            name,
        )
        assert painted, name
    # The tables hold the same figures: folded once the chart is drawn, one click opens them.
    table = page.locator("#table-top-groups")
    assert not table.is_visible()
    page.locator("section[aria-labelledby='chart-top-groups-title'] summary").click()
    assert table.is_visible()
    assert "customer_profile" in table.inner_text()
    assert "AccessDeniedException" in page.locator("#table-denied-events").inner_text()
    assert csp_violations(page) == []
    assert page.console_errors == []


def test_without_javascript_the_tables_show(live_server, governance, org, page):
    usage_world(org)
    context = page.context.browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    login(plain, live_server, governance.username)
    plain.goto(f"{live_server.url}/usage/")
    assert plain.locator("#table-top-groups").is_visible()
    assert "customer_profile" in plain.locator("#table-top-groups").inner_text()
    context.close()
