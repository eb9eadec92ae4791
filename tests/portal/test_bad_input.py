"""Input PostgreSQL or the JSON parser cannot take is a 4xx, never a 500, on every page and endpoint.

One middleware (`portal.middleware.BadInputMiddleware`) refuses NUL bytes in
the path, query, form fields, cookies and headers, and decodes or refuses
`Content-Encoding`; one DRF parser (`portal.parsers.JSONParser`) refuses JSON
nested too deep and strings PostgreSQL cannot store. The body is
`{"detail": ...}` under /api/ and an HTML page elsewhere.
"""

from __future__ import annotations

import gzip
import json

import pytest
from django.test import Client

from catalog.models import OpenLineageEvent
from tests.factories import FeatureFactory, FeatureGroupFactory, api_token_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(org):
    group = FeatureGroupFactory(account=org.central, name="customer_age")
    FeatureFactory(feature_group=group, name="age_years")
    return group


@pytest.fixture
def web(owner) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    return client


def assert_html_400(response) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    assert b"NUL" in response.content or b"cannot" in response.content


def assert_json_400(response) -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/?q=%00",
        "/catalog/?q=customer%00age",
        "/catalog/?status=%00",
        "/catalog/?tag=a%3Db%00",
        "/sync-runs/?status=%00",
        "/lineage/events/?page=%00",
        "/aws-accounts/?x%00=1",
    ],
)
def test_nul_in_a_page_query_is_400_html(web, group, path):
    assert_html_400(web.get(path))


def test_nul_in_schema_filter_and_path_segment_is_400_html(web, group):
    assert_html_400(web.get(f"/groups/{group.uuid}/schema/?q=age%00"))
    assert_html_400(web.get(f"/groups/{group.uuid}/features/age%00years/"))
    assert_html_400(web.get(f"/groups/{group.uuid}/features/age\x00years/"))


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/search/?q=%00",
        "/api/v1/search/?status=%00",
        "/api/v1/feature-groups/?tag=a%00",
        "/api/v1/feature-groups/?name=%00",
        "/api/v1/features/?name=x%00",
        "/api/v1/sync-runs/?region=%00",
        "/api/v1/lineage/events/?job_name=%00",
    ],
)
def test_nul_in_an_api_query_is_400_json(web, group, path):
    assert_json_400(web.get(path))


def test_nul_in_a_form_field_is_400(web, group):
    response = web.post(
        f"/groups/{group.uuid}/lineage/edges/",
        {"direction": "upstream", "kind": "s3", "identifier": "s3://raw/\x00events", "name": ""},
    )
    assert_html_400(response)


def test_nul_in_a_cookie_is_400(group):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "abcdefgh\x00ijkl"
    assert client.get("/catalog/").status_code == 400


def test_anonymous_gets_the_same_400(group):
    assert_json_400(Client(raise_request_exception=False).get("/api/v1/search/?q=%00"))


# --- JSON bodies --------------------------------------------------------------------------------


def deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize("depth", [200, 5_000, 100_000])
def test_json_nested_thousands_deep_is_400(web, group, depth):
    response = web.patch(f"/api/v1/feature-groups/{group.uuid}/", deep(depth), content_type="application/json")
    assert_json_400(response)
    assert "deep" in response.json()["detail"]


@pytest.fixture
def token(owner) -> str:
    return api_token_issue(owner, scope="write")


def lineage_post(token: str, body: str | bytes, **headers):
    client = Client(raise_request_exception=False)
    return client.post(
        "/api/v1/lineage", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}", **headers
    )


def event(**facets) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2025-06-01T12:00:00Z",
        "producer": "https://example.com/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "3f5e2b9a-1c1d-4f5e-9a7b-2a1c3d4e5f60"},
        "job": {"namespace": "spark", "name": "daily"},
        "inputs": [{"namespace": "s3://raw", "name": "events", "facets": facets}],
    }


@pytest.mark.parametrize(
    "text",
    [
        '"\\u0000"',  # NUL: jsonb and text refuse it
        '"a\\u0000b"',
        '"\\ud800"',  # a lone surrogate: not UTF-8 at all
    ],
)
def test_unstorable_strings_in_an_openlineage_facet_are_400(token, text):
    body = json.dumps(event(custom={"note": "PLACEHOLDER"})).replace('"PLACEHOLDER"', text)
    response = lineage_post(token, body)
    assert_json_400(response)
    assert not OpenLineageEvent.objects.exists()


def test_unstorable_string_as_a_key_is_400(token):
    body = json.dumps(event(custom={"KEY": 1})).replace('"KEY"', '"k\\u0000"')
    assert_json_400(lineage_post(token, body))


def test_nul_in_a_description_patch_is_400(web, group):
    response = web.patch(
        f"/api/v1/feature-groups/{group.uuid}/", {"pantry_description": "a\x00b"}, content_type="application/json"
    )
    assert_json_400(response)


def test_an_unknown_content_encoding_is_415(token):
    response = lineage_post(token, json.dumps(event()), HTTP_CONTENT_ENCODING="br")
    assert response.status_code == 415
    assert set(response.json()) == {"detail"}


def test_gzip_that_is_not_gzip_is_400(token):
    assert_json_400(lineage_post(token, b"not gzip at all", HTTP_CONTENT_ENCODING="gzip"))


def test_gzip_bomb_is_413(token, settings):
    settings.PANTRY_MAX_REQUEST_BODY_BYTES = 1_000_000
    bomb = gzip.compress(b'{"a": "' + b"x" * 5_000_000 + b'"}')
    assert len(bomb) < 100_000
    response = lineage_post(token, bomb, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413
    assert set(response.json()) == {"detail"}


def test_a_body_over_the_limit_is_413(token, settings):
    settings.PANTRY_MAX_REQUEST_BODY_BYTES = 1_000
    response = lineage_post(token, json.dumps(event(custom={"pad": "x" * 5_000})))
    assert response.status_code == 413


def test_a_json_body_under_the_documented_limit_is_read(token):
    """Plain JSON up to PANTRY_MAX_REQUEST_BODY_BYTES (5 MiB) is accepted, as it is gzipped.

    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB by default) used to
    refuse a 3 MB event with a bare 400 "Bad Request." when DRF read the body.
    """
    body = json.dumps(event(custom={"pad": "x" * 3_000_000}))
    assert 2_621_440 < len(body) < 5 * 1024 * 1024
    response = lineage_post(token, body)
    assert response.status_code == 201, response.content[:300]
    assert OpenLineageEvent.objects.count() == 1


def test_an_api_form_with_too_many_fields_is_400_json(token):
    body = "&".join(["ids=x"] * 1_500)
    response = Client(raise_request_exception=False).post(
        "/api/v1/notifications/read/",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert_json_400(response)
    assert "fields" in response.json()["detail"]


def test_an_api_form_over_the_limit_is_413_json(token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = Client(raise_request_exception=False).post(
        "/api/v1/notifications/read/",
        "ids=" + "x" * 5_000,
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 413, response.content[:300]
    assert set(response.json()) == {"detail"}


def test_a_page_form_with_too_many_fields_is_400_html(web, group):
    response = web.post(
        "/notifications/read/", "&".join(["a=b"] * 1_500), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"fields" in response.content
