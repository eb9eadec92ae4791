"""Schemathesis against /api/schema/: zero server errors, and every response as the schema documents it.

Each API operation is one test. Schemathesis generates requests from the
OpenAPI schema (valid and invalid), sends them through Django's WSGI handler
in the test's database transaction, authenticated with the owner persona's
token, with a catalogue present: real account, group, feature, sync run and
lineage edge ids stand in for about half of the generated path ids, so
requests reach real objects and not only 404s.

Checks: no 5xx; the status is documented; the Content-Type is documented; the
body matches the documented schema. Examples are derandomised (the same on
every run) and capped per operation to keep the run to a couple of minutes
on two cores (docs/api.md).
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.services import lineage as lineage_services
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory, SyncRunFactory, api_token_issue

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _generated_schema() -> dict:
    # /api/schema/ is behind sign-in, and no token exists at collection time: generate the same
    # document in-process (no database, no user, `swagger_fake_view`), as the view would.
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


# Loaded at collection; calls go through Django's WSGI handler like real requests.
schema = schemathesis.openapi.from_dict(_generated_schema())
schema.app = WSGIHandler()
schema.location = "/api/schema/"


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Django's WSGI handler closes the database connection after each request,
    # which would end the test's transaction; Django's own test client turns
    # that off the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def catalogue(org, owner):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    group = FeatureGroupFactory(account=org.central, name="customer_profile", tags={"domain": "crm"})
    feature = FeatureFactory(feature_group=group, name="age_years", description="Age in years")
    run = SyncRunFactory(account=org.central)
    edge = lineage_services.lineage_edge_add_manual(
        user=owner, group=group, direction="upstream", kind="s3", identifier="s3://raw/customers"
    )
    return {
        "/accounts/": str(org.central.uuid),
        "/sync-runs/": str(run.uuid),
        "/feature-groups/": str(group.uuid),
        "/features/": str(feature.uuid),
        "edge_id": str(edge.uuid),
        "token": api_token_issue(owner, scope="write"),
    }


def _real_ids(case, catalogue) -> None:
    """Point about half the generated ids at real objects (deterministically, from the generated id)."""
    params = case.path_parameters or {}
    for name, value in list(params.items()):
        if str(value)[:1] not in "01234567":
            continue
        if name == "edge_id":
            params[name] = catalogue["edge_id"]
        elif name == "id":
            for prefix, real in catalogue.items():
                if prefix.startswith("/") and prefix in case.path:
                    params[name] = real
                    break


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_api_conforms_to_its_schema(case, catalogue):
    _real_ids(case, catalogue)
    case.call_and_validate(headers={"Authorization": f"Bearer {catalogue['token']}"}, checks=CHECKS)
