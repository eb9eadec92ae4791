"""Error pages: 400, 403, 404 and 500 in the site's layout, with a way back, CSP-clean,
revealing nothing, and the 500 page rendering with no database and no user."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.csp import assert_csp_clean
from tests.factories import FeatureGroupFactory

pytestmark = pytest.mark.django_db

ERROR_URLS = "tests.portal.error_urls"


@pytest.fixture(autouse=True)
def production_like(settings):
    settings.DEBUG = False


def _html(response) -> str:
    return response.content.decode()


def _main(html: str) -> str:
    """The page's <main>: what the user reads, without per-request tokens."""
    return re.search(r"<main.*?</main>", html, re.S).group(0)


def assert_site_layout_with_ways_back(html: str) -> None:
    assert 'href="/static/vendor/bootstrap/bootstrap.min.css"' in html  # the site's stylesheet
    assert 'class="navbar-brand fw-semibold" href="/"' in html  # the site's header
    assert '<a href="/">Pantry home page</a>' in html
    assert '<a href="/catalog/">Browse the catalog</a>' in html
    assert re.search(r'<form[^>]*action="/catalog/"[^>]*role="search"', html)
    assert '<label class="form-label" for="error-search-q">' in html
    assert "data-history-back" in html


def test_unknown_address_gets_the_styled_404_page(client, data_scientist):
    client.force_login(data_scientist)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = _html(response)
    assert '<h1 class="h3">Page not found</h1>' in html
    assert_site_layout_with_ways_back(html)
    assert_csp_clean(html)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    # The navigation of a signed-in user is there, as on every page.
    assert "Log out" in html


def test_hidden_group_and_missing_group_get_the_same_404(client, org, outsider):
    hidden = FeatureGroupFactory(account=org.central, name="secret_revenue_scores")
    client.force_login(outsider)
    hidden_response = client.get(hidden.get_absolute_url())
    missing_response = client.get(reverse("catalog:group_detail", args=[uuid.uuid4()]))
    assert hidden_response.status_code == missing_response.status_code == 404
    assert _main(_html(hidden_response)) == _main(_html(missing_response))
    assert "secret_revenue_scores" not in _html(hidden_response)
    assert "FeatureGroup" not in _html(hidden_response)  # no exception text


def test_forbidden_action_gets_the_styled_403_page(client, data_scientist):
    client.force_login(data_scientist)
    response = client.get(reverse("catalog:account_create"))
    assert response.status_code == 403
    html = _html(response)
    assert "You are not allowed to do that" in html
    assert_site_layout_with_ways_back(html)
    assert_csp_clean(html)


def test_anonymous_visitor_gets_the_404_page_without_navigation(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = _html(response)
    assert "Page not found" in html
    assert "Log out" not in html
    assert_csp_clean(html)


def test_back_link_names_a_page_of_this_site_only(client, data_scientist):
    client.force_login(data_scientist)
    same_site = client.get("/no/such/page/", HTTP_REFERER="http://testserver/catalog/?q=age")
    assert '<a href="http://testserver/catalog/?q=age" rel="prev">' in _html(same_site)
    assert "data-history-back-item" not in _html(same_site)
    elsewhere = client.get("/no/such/page/", HTTP_REFERER="https://evil.example/phish")
    assert "evil.example" not in _html(elsewhere)
    assert "data-history-back-item hidden" in _html(elsewhere)


@pytest.mark.urls(ERROR_URLS)
def test_server_error_gets_the_styled_500_page_without_user_or_details(data_scientist):
    client = Client(raise_request_exception=False)
    client.force_login(data_scientist)
    response = client.get("/test-errors/boom/")
    assert response.status_code == 500
    html = _html(response)
    assert "Something went wrong on our side" in html
    assert_site_layout_with_ways_back(html)
    assert_csp_clean(html)
    assert "hunter2" not in html and "RuntimeError" not in html
    # Rendered without the request's context: no user name, no navigation.
    assert "Dana" not in html and "Log out" not in html


def test_500_page_renders_without_database_session_or_user(django_assert_num_queries):
    # A bare request: no session, no user (the middleware that adds them may be what failed).
    from portal.urls import handler500

    request = RequestFactory().get("/catalog/", HTTP_REFERER="http://testserver/")
    with django_assert_num_queries(0):
        response = handler500(request)
    assert response.status_code == 500
    html = _html(response)
    assert "Something went wrong on our side" in html
    assert '<a href="http://testserver/" rel="prev">' in html
    assert_csp_clean(html)


@pytest.mark.urls(ERROR_URLS)
def test_bad_request_shows_pantrys_own_message_but_not_djangos(client, data_scientist):
    client.force_login(data_scientist)
    refused = client.get("/test-errors/refused/")
    assert refused.status_code == 400
    assert "Pantry could not understand that request" in _html(refused)
    assert "The search words contain a NUL character." in _html(refused)
    assert_site_layout_with_ways_back(_html(refused))
    assert_csp_clean(_html(refused))
    suspicious = client.get("/test-errors/suspicious/")
    assert suspicious.status_code == 400
    assert "Pantry could not understand that request" in _html(suspicious)
    assert "internal-admin" not in _html(suspicious)


@pytest.mark.urls(ERROR_URLS)
def test_api_paths_get_json_error_bodies(data_scientist):
    client = Client(raise_request_exception=False)
    client.force_login(data_scientist)
    missing = client.get("/api/v1/no-such-endpoint/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}
    broken = client.get("/api/v1/test-errors/boom/")
    assert broken.status_code == 500
    assert broken.json() == {"detail": "A server error occurred."}


def test_stale_form_gets_the_styled_csrf_page(data_scientist, org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(data_scientist)
    response = client.post(reverse("catalog:account_sync", args=[org.consumer.uuid]), {})
    assert response.status_code == 403
    html = _html(response)
    assert "That form has expired" in html
    assert_site_layout_with_ways_back(html)
    assert_csp_clean(html)
