"""Every URL of the site and the API, requested by every persona, against a table of expected statuses.

`ROUTES` has one row per URL name: the objects its arguments name, the
status each persona gets for GET and, for routes that change something, for
the write method. `test_every_route_has_a_row_for_every_persona` fails when a
route has no row or a row misses a persona, so a branch that adds a URL has
to declare who may use it. To add a row: copy a similar one, and start from
`everyone(status, persona=other_status, ...)`.

The rule the table spells out (CONVENTIONS.md): signed-out users go to the
login page (pages) or get 401/403 (API); something the persona may not see is
a 404; something they see but may not change is a 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from catalog.services import lineage as lineage_services
from identity.models import ApiToken, RoleMapping
from sharing import services as sharing_services
from sharing.models import Grant, Invitation
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory, SyncRunFactory, api_token_issue
from usage.models import TrailSource

PERSONAS = ("anonymous", "owner", "data_scientist", "consumer_admin", "governance", "operator", "outsider")
# Reached through the admin namespace; Django's admin has its own permission system (staff and
# model permissions). Its front door is in the table; every page behind it needs is_staff.
EXCLUDED_NAMESPACES = {"admin"}


def everyone(status: int, **overrides: int) -> dict[str, int]:
    unknown = set(overrides) - set(PERSONAS)
    assert not unknown, f"not personas: {unknown}"
    return {persona: overrides.get(persona, status) for persona in PERSONAS}


def page(signed_in: int, **overrides: int) -> dict[str, int]:
    """A page behind login: signed-out users are sent to the login page."""
    return everyone(signed_in, anonymous=302, **overrides)


def api(signed_in: int, **overrides: int) -> dict[str, int]:
    """An API endpoint with token or session auth: signed-out callers get 401 with a Bearer challenge."""
    return everyone(signed_in, anonymous=401, **overrides)


def operators_only(status: int, **overrides: int) -> dict[str, int]:
    """An operators' page: 403 for every other signed-in persona, before anything is looked up."""
    return page(403, operator=status, **overrides)


# Who sees the central group: its owner, the consumer account (catalog shared), governance, operators.
SEES_GROUP = {"outsider": 404}
# Who sees the central account and its sync runs: members, governance, operators.
SEES_ACCOUNT = {"data_scientist": 404, "consumer_admin": 404, "outsider": 404}
# Who edits the central group: its owners only.
EDITS_GROUP = {"data_scientist": 403, "consumer_admin": 403, "governance": 403, "operator": 403, "outsider": 404}
# Who asks for access to the central group: people of the consumer account (it is discoverable to them).
REQUESTS_ACCESS = {"owner": 403, "governance": 403, "operator": 403, "outsider": 404}
# Who decides dana's request: central's owners; everyone who sees it otherwise gets 403.
DECIDES = {"data_scientist": 403, "consumer_admin": 403, "governance": 403, "operator": 403, "outsider": 404}
# Who manages central's sharing: its owners; governance and operators read it; others do not see the account.
MANAGES_SHARING = {"governance": 403, "operator": 403, "data_scientist": 404, "consumer_admin": 404, "outsider": 404}
# Who answers the consumer account's invitations: its admins (central's owners may only re-send).
ANSWERS_INVITATION = {"owner": 403, "data_scientist": 404, "governance": 404, "operator": 404, "outsider": 404}


def _request_form(w: World) -> dict:
    return {
        "consumer_account": str(w.access_request.consumer_account.uuid),
        "level": "read_only",
        "reason": "Matrix.",
        "ends_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
    }


@dataclass
class World:
    """Real objects of every kind a URL names."""

    account: object
    group: object
    feature: object
    run: object
    edge: object
    users: dict[str, object]
    tokens: dict[str, str]
    mapping: object = None
    owner_token: object = None
    access_request: object = None  # dana's pending request for `group` (read and write)
    sharing_grant: object = None  # read access to another central group for the consumer account
    invitation: object = None  # an expired RAM invitation from central to the consumer account
    source: object = None  # a CloudTrail trail source (usage)


@dataclass
class Write:
    method: str
    data: Callable[[World], dict | str]
    expect: dict[str, int]
    content_type: str | None = None  # None: form-encoded


@dataclass
class Route:
    kwargs: Callable[[World], dict] = lambda w: {}
    get: dict[str, int] = field(default_factory=dict)
    write: Write | None = None
    token_auth: bool = False  # authenticate with the persona's API token instead of a session


def _account_form(w: World) -> dict:
    return {
        "account_id": w.account.account_id,
        "name": w.account.name,
        "kind": w.account.kind,
        "team": "Core",
        "contact_email": "",
        "role_arn": w.account.role_arn,
        "external_id": "",
        "regions": "eu-west-1",
        "sync_enabled": "on",
        "sync_interval_minutes": "60",
    }


NEW_ACCOUNT = {
    "account_id": "888888888888",
    "name": "risk-models",
    "kind": "owner",
    "role_arn": "arn:aws:iam::888888888888:role/PantryCatalogReader",
    "external_id": "pantry-risk-models",
    "regions": ["eu-west-1"],
    "sync_interval_minutes": 60,
}


def _event(w: World) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2025-06-01T12:00:00Z",
        "producer": "https://example.com/matrix",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "matrix", "name": "job"},
        "inputs": [{"namespace": "sagemaker", "name": w.group.arn}],
    }


GROUP = lambda w: {"group_uuid": w.group.uuid}  # noqa: E731
REQUEST = lambda w: {"request_uuid": w.access_request.uuid}  # noqa: E731
INVITATION = lambda w: {"invitation_uuid": w.invitation.uuid}  # noqa: E731
CENTRAL = lambda w: {"account_uuid": w.account.uuid}  # noqa: E731
SOURCE = lambda w: {"source_uuid": w.source.uuid}  # noqa: E731
TRAIL_SOURCE_FORM = {
    "name": "matrix-trail",
    "kind": "account",
    "bucket": "matrix-trail-logs",
    "prefix": "",
    "region": "eu-west-1",
    "organisation_id": "",
    "account_id": "111111111111",
    "role_arn": "arn:aws:iam::111111111111:role/PantryTrailReader",
    "external_id": "",
    "enabled": "on",
}
GROUP_ID = lambda w: {"id": w.group.uuid}  # noqa: E731
JSON = "application/json"
REQUEST_ID = lambda w: {"id": w.access_request.uuid}  # noqa: E731
GRANT_ID = lambda w: {"id": w.sharing_grant.uuid}  # noqa: E731
INVITATION_ID = lambda w: {"id": w.invitation.uuid}  # noqa: E731


def _api_request(w: World) -> dict:
    return {
        "feature_group": str(w.group.uuid),
        "consumer_account_id": w.access_request.consumer_account.account_id,
        "level": "read_only",
        "reason": "Matrix.",
        "ends_on": (timezone.localdate() + timedelta(days=10)).isoformat(),
    }


ROUTES: dict[str, Route] = {
    # --- portal -------------------------------------------------------------------------------
    "home": Route(get=page(200)),
    "healthz": Route(get=everyone(200)),
    "livez": Route(get=everyone(200)),
    "readyz": Route(get=everyone(200)),
    # The test client calls from 127.0.0.1 with no proxy header: internal, so allowed without a token.
    "metrics": Route(get=everyone(200)),
    "login": Route(get=everyone(200)),
    "logout": Route(get=everyone(405), write=Write("post", lambda w: {}, everyone(302))),
    "admin:index": Route(get=everyone(302, operator=200)),
    "api-schema": Route(get=api(200)),
    "api-docs": Route(get=page(200)),
    # --- catalog pages ----------------------------------------------------------------------------
    "catalog:catalog_list": Route(get=page(200)),
    "catalog:account_list": Route(get=page(200)),
    "catalog:account_create": Route(
        get=page(403, operator=200),
        write=Write(
            "post", lambda w: {**_account_form(w), **NEW_ACCOUNT, "regions": "eu-west-1"}, page(403, operator=302)
        ),
    ),
    "catalog:account_detail": Route(kwargs=lambda w: {"account_uuid": w.account.uuid}, get=page(200, **SEES_ACCOUNT)),
    "catalog:account_edit": Route(
        kwargs=lambda w: {"account_uuid": w.account.uuid},
        get=page(403, operator=200, **SEES_ACCOUNT),
        write=Write("post", _account_form, page(403, operator=302, **SEES_ACCOUNT)),
    ),
    "catalog:account_sync": Route(
        kwargs=lambda w: {"account_uuid": w.account.uuid},
        get=page(405),
        write=Write("post", lambda w: {}, page(302, governance=403, **SEES_ACCOUNT)),
    ),
    "catalog:syncrun_list": Route(get=page(200)),
    "catalog:syncrun_detail": Route(kwargs=lambda w: {"run_uuid": w.run.uuid}, get=page(200, **SEES_ACCOUNT)),
    "catalog:group_detail": Route(kwargs=GROUP, get=page(200, **SEES_GROUP)),
    "catalog:group_schema": Route(kwargs=GROUP, get=page(200, **SEES_GROUP)),
    "catalog:feature_detail": Route(
        kwargs=lambda w: {"group_uuid": w.group.uuid, "feature_name": w.feature.name}, get=page(200, **SEES_GROUP)
    ),
    "catalog:group_description_edit": Route(
        kwargs=GROUP,
        get=page(200, **EDITS_GROUP),
        write=Write("post", lambda w: {"description": "Edited."}, page(302, **EDITS_GROUP)),
    ),
    "catalog:description_preview": Route(
        kwargs=GROUP,
        get=page(405),
        write=Write("post", lambda w: {"description": "*hi*"}, page(200, **EDITS_GROUP)),
    ),
    "catalog:feature_description_edit": Route(
        kwargs=lambda w: {"group_uuid": w.group.uuid, "feature_name": w.feature.name},
        get=page(200, **EDITS_GROUP),
        write=Write("post", lambda w: {"description": "Edited."}, page(302, **EDITS_GROUP)),
    ),
    "catalog:group_lineage": Route(kwargs=GROUP, get=page(200, **SEES_GROUP)),
    "catalog:group_lineage_edge_add": Route(
        kwargs=GROUP,
        get=page(405),
        write=Write(
            "post",
            lambda w: {"direction": "upstream", "kind": "s3", "identifier": "s3://raw/new", "name": ""},
            page(302, **EDITS_GROUP),
        ),
    ),
    "catalog:group_lineage_edge_remove": Route(
        kwargs=lambda w: {"group_uuid": w.group.uuid, "edge_uuid": w.edge.uuid},
        get=page(405),
        write=Write("post", lambda w: {}, page(302, **EDITS_GROUP)),
    ),
    "catalog:group_lineage_edge_hide": Route(
        kwargs=lambda w: {"group_uuid": w.group.uuid, "edge_uuid": w.edge.uuid},
        get=page(405),
        write=Write("post", lambda w: {}, page(302, **EDITS_GROUP)),
    ),
    "catalog:group_lineage_edge_unhide": Route(
        kwargs=lambda w: {"group_uuid": w.group.uuid, "edge_uuid": w.edge.uuid},
        get=page(405),
        write=Write("post", lambda w: {}, page(302, **EDITS_GROUP)),
    ),
    "catalog:lineage_events": Route(get=page(200)),
    # --- identity: sign-in, tokens, operators' pages -------------------------------------------------
    # OIDC is not configured in the tests' settings: its routes do not exist for anyone.
    "identity:oidc_login": Route(get=everyone(404)),
    "identity:oidc_callback": Route(get=everyone(404)),
    "identity:api_token": Route(get=everyone(302)),  # the old DRF token page leads to /tokens/
    "identity:token_list": Route(get=page(200)),
    # A POST without the form's one-time nonce issues nothing and goes back to the list.
    "identity:token_create": Route(get=page(200), write=Write("post", lambda w: {"name": "x"}, page(302))),
    "identity:token_revoke": Route(
        kwargs=lambda w: {"token_uuid": w.owner_token.uuid},
        get=page(405),
        write=Write("post", lambda w: {}, page(404, owner=302, operator=302)),
    ),
    "identity:token_all": Route(get=operators_only(200)),
    "identity:people_list": Route(get=operators_only(200)),
    "identity:person_detail": Route(
        kwargs=lambda w: {"username": w.users["data_scientist"].username}, get=operators_only(200)
    ),
    "identity:person_access": Route(
        kwargs=lambda w: {"username": w.users["data_scientist"].username},
        get=operators_only(405),
        write=Write("post", lambda w: {"governance": "on", "active": "on"}, operators_only(302)),
    ),
    "identity:membership_list": Route(get=operators_only(200)),
    "identity:membership_create": Route(
        get=operators_only(200),
        write=Write(
            "post",
            lambda w: {"user": w.users["outsider"].username, "account": w.account.pk, "role": "member"},
            operators_only(302),
        ),
    ),
    "identity:membership_edit": Route(
        kwargs=lambda w: {"username": w.users["owner"].username, "account_id": w.account.account_id},
        get=operators_only(200),
        write=Write("post", lambda w: {"role": "account_admin"}, operators_only(302)),
    ),
    "identity:membership_delete": Route(
        kwargs=lambda w: {"username": w.users["owner"].username, "account_id": w.account.account_id},
        get=operators_only(405),
        write=Write("post", lambda w: {}, operators_only(302)),
    ),
    "identity:mapping_list": Route(
        get=operators_only(200),
        write=Write(
            "post",
            lambda w: {"group": "risk-office", "grants": "governance"},
            operators_only(302),
        ),
    ),
    "identity:mapping_edit": Route(
        kwargs=lambda w: {"mapping_uuid": w.mapping.uuid},
        get=operators_only(200),
        write=Write(
            "post",
            lambda w: {"group": "fraud-admins", "grants": "account_role", "account": w.account.pk, "role": "owner"},
            operators_only(302),
        ),
    ),
    "identity:mapping_delete": Route(
        kwargs=lambda w: {"mapping_uuid": w.mapping.uuid},
        get=operators_only(405),
        write=Write("post", lambda w: {}, operators_only(302)),
    ),
    "identity:audit_list": Route(get=operators_only(200)),
    "identity:audit_csv": Route(get=operators_only(200)),
    # --- sharing pages ---------------------------------------------------------------------------------
    "sharing:seen_list": Route(get=page(200)),
    "sharing:requests_mine": Route(get=page(200)),
    "sharing:requests_inbox": Route(get=page(200)),
    "sharing:request_create": Route(
        kwargs=GROUP, get=page(200, **REQUESTS_ACCESS), write=Write("post", _request_form, page(302, **REQUESTS_ACCESS))
    ),
    # The consumer already discovers central's catalog: its people get the form, and its error when they post.
    "sharing:catalog_request_create": Route(
        kwargs=lambda w: {"account_uuid": w.account.uuid, "region": "eu-west-1"},
        get=page(200, **REQUESTS_ACCESS),
        write=Write("post", _request_form, page(200, **REQUESTS_ACCESS)),
    ),
    "sharing:request_detail": Route(kwargs=REQUEST, get=page(200, outsider=404)),
    "sharing:request_withdraw": Route(
        kwargs=REQUEST,
        get=page(405),
        write=Write("post", lambda w: {}, page(403, data_scientist=302, outsider=404)),
    ),
    "sharing:request_approve": Route(
        kwargs=REQUEST,
        get=page(405),
        write=Write("post", lambda w: {"approve-level": "read_only"}, page(302, **DECIDES)),
    ),
    "sharing:request_reject": Route(
        kwargs=REQUEST,
        get=page(405),
        write=Write("post", lambda w: {"reject-note": "No."}, page(302, **DECIDES)),
    ),
    # A pending request is not retried: the page says so (302 back) to those who may retry.
    "sharing:request_retry": Route(
        kwargs=REQUEST,
        get=page(405),
        write=Write("post", lambda w: {}, page(302, **{**DECIDES, "data_scientist": 302})),
    ),
    "sharing:account_index": Route(get=page(200)),
    "sharing:account_sharing": Route(
        kwargs=CENTRAL, get=page(200, data_scientist=404, consumer_admin=404, outsider=404)
    ),
    # Nothing chosen to share: the owner gets the form back with the error (no AWS call).
    "sharing:share_create": Route(
        kwargs=CENTRAL,
        get=page(200, **MANAGES_SHARING),
        write=Write(
            "post",
            lambda w: {"consumer_account": str(w.access_request.consumer_account.uuid), "region": "eu-west-1"},
            page(200, **MANAGES_SHARING),
        ),
    ),
    "sharing:policy_edit": Route(
        kwargs=CENTRAL,
        get=page(200, **MANAGES_SHARING),
        write=Write(
            "post",
            lambda w: {"terms_of_use": "", "default_days": "30", "max_days": "60"},
            page(302, **MANAGES_SHARING),
        ),
    ),
    "sharing:grant_revoke": Route(
        kwargs=lambda w: {"grant_uuid": w.sharing_grant.uuid},
        get=page(405),
        write=Write("post", lambda w: {}, page(302, **MANAGES_SHARING)),
    ),
    # Governance and operators ask the owners to revoke (from the usage pages); hidden from everyone else.
    "sharing:grant_revoke_suggest": Route(
        kwargs=lambda w: {"grant_uuid": w.sharing_grant.uuid},
        get=page(405),
        write=Write("post", lambda w: {}, page(404, governance=302, operator=302)),
    ),
    "sharing:invitation_inbox": Route(get=page(200)),
    # The invitation expired: accepting or rejecting says so (302 back to the inbox), with no AWS call.
    "sharing:invitation_accept": Route(
        kwargs=INVITATION, get=page(405), write=Write("post", lambda w: {}, page(302, **ANSWERS_INVITATION))
    ),
    "sharing:invitation_reject": Route(
        kwargs=INVITATION, get=page(405), write=Write("post", lambda w: {}, page(302, **ANSWERS_INVITATION))
    ),
    # Re-sending: the consumer's admins and the sending account's owners (no approval holds here: 302 with why).
    "sharing:invitation_resend": Route(
        kwargs=INVITATION,
        get=page(405),
        write=Write("post", lambda w: {}, page(302, **{**ANSWERS_INVITATION, "owner": 302})),
    ),
    "sharing:notification_list": Route(get=page(200)),
    "sharing:notifications_read": Route(get=page(405), write=Write("post", lambda w: {}, page(302))),
    "sharing:audit_list": Route(get=page(403, governance=200, operator=200)),
    "sharing:audit_csv": Route(get=page(403, governance=200, operator=200)),
    # --- API ------------------------------------------------------------------------------------------
    "api-root": Route(get=api(200)),
    "account-list": Route(
        get=api(200), write=Write("post", lambda w: NEW_ACCOUNT, api(403, operator=201), content_type=JSON)
    ),
    "account-detail": Route(
        kwargs=lambda w: {"id": w.account.uuid},
        get=api(200, **SEES_ACCOUNT),
        write=Write("patch", lambda w: {"team": "Core"}, api(403, operator=200, **SEES_ACCOUNT), content_type=JSON),
    ),
    "account-sync": Route(
        kwargs=lambda w: {"id": w.account.uuid},
        get=api(405),
        write=Write("post", lambda w: {}, api(202, governance=403, **SEES_ACCOUNT), content_type=JSON),
    ),
    # The external id and trust policy: operators and the account's owners and admins.
    "account-setup": Route(kwargs=lambda w: {"id": w.account.uuid}, get=api(200, governance=403, **SEES_ACCOUNT)),
    "syncrun-list": Route(get=api(200)),
    "syncrun-detail": Route(kwargs=lambda w: {"id": w.run.uuid}, get=api(200, **SEES_ACCOUNT)),
    "featuregroup-list": Route(get=api(200)),
    "featuregroup-detail": Route(
        kwargs=GROUP_ID,
        get=api(200, **SEES_GROUP),
        write=Write("patch", lambda w: {"pantry_description": "x"}, api(200, **EDITS_GROUP), content_type=JSON),
    ),
    "feature-list": Route(get=api(200)),
    "feature-detail": Route(
        kwargs=lambda w: {"id": w.feature.uuid},
        get=api(200, **SEES_GROUP),
        write=Write("patch", lambda w: {"pantry_description": "x"}, api(200, **EDITS_GROUP), content_type=JSON),
    ),
    "api-search": Route(get=api(200)),
    "featuregroup-lineage": Route(kwargs=GROUP_ID, get=api(200, **SEES_GROUP)),
    "featuregroup-lineage-hidden-edges": Route(kwargs=GROUP_ID, get=api(200, **EDITS_GROUP)),
    "featuregroup-lineage-edge-hide": Route(
        kwargs=lambda w: {"id": w.group.uuid, "edge_id": w.edge.uuid},
        get=api(405),
        write=Write("post", lambda w: {}, api(200, **EDITS_GROUP), content_type=JSON),
    ),
    "featuregroup-lineage-edge-unhide": Route(
        kwargs=lambda w: {"id": w.group.uuid, "edge_id": w.edge.uuid},
        get=api(405),
        write=Write("post", lambda w: {}, api(200, **EDITS_GROUP), content_type=JSON),
    ),
    # OpenLineage ingestion takes API tokens only (what emitters send); no token is a 401 challenge.
    "lineage": Route(
        token_auth=True,
        get=everyone(405, anonymous=401),
        write=Write("post", _event, everyone(201, anonymous=401), content_type=JSON),
    ),
    "lineage-slash": Route(
        token_auth=True,
        get=everyone(405, anonymous=401),
        write=Write("post", _event, everyone(201, anonymous=401), content_type=JSON),
    ),
    "lineage-events": Route(get=api(200)),
    # --- sharing API --------------------------------------------------------------------------------
    "access-request-list": Route(
        get=api(200),
        write=Write("post", _api_request, api(403, data_scientist=201, consumer_admin=201), content_type=JSON),
    ),
    "access-request-detail": Route(kwargs=REQUEST_ID, get=api(200, outsider=404)),
    "access-request-approve": Route(
        kwargs=REQUEST_ID,
        get=api(405),
        write=Write("post", lambda w: {"note": "ok"}, api(200, **DECIDES), content_type=JSON),
    ),
    "access-request-reject": Route(
        kwargs=REQUEST_ID,
        get=api(405),
        write=Write("post", lambda w: {"note": "no"}, api(200, **DECIDES), content_type=JSON),
    ),
    "access-request-withdraw": Route(
        kwargs=REQUEST_ID,
        get=api(405),
        write=Write("post", lambda w: {}, api(403, data_scientist=200, outsider=404), content_type=JSON),
    ),
    # A pending request is not retried: 400 for those allowed to retry a failed one.
    "access-request-retry": Route(
        kwargs=REQUEST_ID,
        get=api(405),
        write=Write("post", lambda w: {}, api(403, data_scientist=400, owner=400, outsider=404), content_type=JSON),
    ),
    # Owners only; the owner's body names a region the account does not use, so no AWS call is made.
    "share-list": Route(
        get=api(200),
        write=Write(
            "post",
            lambda w: {
                "owner_account_id": w.account.account_id,
                "consumer_account_id": "444444444444",
                "region": "us-west-2",
                "catalog": True,
            },
            api(403, owner=400),
            content_type=JSON,
        ),
    ),
    "grant-list": Route(get=api(200)),
    "grant-detail": Route(kwargs=GRANT_ID, get=api(404, owner=200, governance=200, operator=200)),
    "grant-revoke": Route(
        kwargs=GRANT_ID,
        get=api(405),
        write=Write(
            "post", lambda w: {"note": "bye"}, api(404, owner=200, governance=403, operator=403), content_type=JSON
        ),
    ),
    "invitation-list": Route(get=api(200)),
    "invitation-detail": Route(kwargs=INVITATION_ID, get=api(404, consumer_admin=200)),
    # The world's invitation expired: answering it is a 400 that says so; re-sending needs a live approval.
    "invitation-accept": Route(
        kwargs=INVITATION_ID,
        get=api(405),
        write=Write("post", lambda w: {}, api(400, **ANSWERS_INVITATION), content_type=JSON),
    ),
    "invitation-reject": Route(
        kwargs=INVITATION_ID,
        get=api(405),
        write=Write("post", lambda w: {}, api(400, **ANSWERS_INVITATION), content_type=JSON),
    ),
    "invitation-resend": Route(
        kwargs=INVITATION_ID,
        get=api(405),
        write=Write("post", lambda w: {}, api(400, **{**ANSWERS_INVITATION, "owner": 400}), content_type=JSON),
    ),
    "notification-list": Route(get=api(200)),
    "notification-mark-read": Route(get=api(405), write=Write("post", lambda w: {}, api(200), content_type=JSON)),
    # --- usage: governance's organisation-wide pages, operators' trail sources, the usage API ---------
    "usage:dashboard": Route(get=page(403, governance=200, operator=200)),
    "usage:dashboard_csv": Route(kwargs=lambda w: {"chart": "top-groups"}, get=page(403, governance=200, operator=200)),
    "usage:grants": Route(get=page(403, governance=200, operator=200)),
    "usage:source_list": Route(get=operators_only(200)),
    "usage:source_create": Route(
        get=operators_only(200), write=Write("post", lambda w: TRAIL_SOURCE_FORM, operators_only(302))
    ),
    "usage:source_detail": Route(kwargs=SOURCE, get=operators_only(200)),
    "usage:source_edit": Route(
        kwargs=SOURCE,
        get=operators_only(200),
        write=Write("post", lambda w: {**TRAIL_SOURCE_FORM, "name": w.source.name}, operators_only(302)),
    ),
    "usage:source_delete": Route(kwargs=SOURCE, get=page(405), write=Write("post", lambda w: {}, operators_only(302))),
    # An empty range: operators get the form's 400 (the replay itself lists S3, tested with the sandbox).
    "usage:source_replay": Route(kwargs=SOURCE, get=page(405), write=Write("post", lambda w: {}, operators_only(400))),
    # Usage is read by its owner side: governance, operators, owners and admins of owner accounts.
    "api-usage-summary": Route(get=api(403, owner=200, governance=200, operator=200)),
    "api-usage-daily": Route(get=api(403, owner=200, governance=200, operator=200)),
    "api-usage-group": Route(kwargs=GROUP_ID, get=api(403, owner=200, governance=200, operator=200, outsider=404)),
}


def site_routes() -> dict[str, str]:
    """Every named URL of the site (portal.urls, recursively): name -> route, format suffixes left out."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = p.namespace or namespace
                if inner in EXCLUDED_NAMESPACES:
                    found.setdefault(f"{inner}:index", prefix + str(p.pattern))
                    continue
                walk(p.url_patterns, prefix + str(p.pattern), inner)
            elif isinstance(p, URLPattern) and p.name and "<format>" not in str(p.pattern):
                name = f"{namespace}:{p.name}" if namespace else p.name
                found.setdefault(name, prefix + str(p.pattern))

    walk(get_resolver("portal.urls").url_patterns, "", None)
    return found


def test_every_route_has_a_row_for_every_persona():
    routes = site_routes()
    missing = sorted(set(routes) - set(ROUTES))
    assert not missing, f"routes with no row in ROUTES (declare who may use them): {missing}"
    stale = sorted(set(ROUTES) - set(routes))
    assert not stale, f"rows for routes that no longer exist: {stale}"
    for name, row in ROUTES.items():
        assert set(row.get) == set(PERSONAS), f"{name}: GET row lacks {set(PERSONAS) - set(row.get)}"
        if row.write:
            assert set(row.write.expect) == set(PERSONAS), f"{name}: write row lacks personas"


@pytest.fixture
def world(request, org, owner, data_scientist, consumer_admin, governance, operator, outsider) -> World:
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    group = FeatureGroupFactory(account=org.central, name="customer_profile")
    feature = FeatureFactory(feature_group=group, name="age_years")
    run = SyncRunFactory(account=org.central)
    edge = lineage_services.lineage_edge_add_manual(
        user=owner, group=group, direction="upstream", kind="s3", identifier="s3://raw/customers"
    )
    if "unhide" in request.node.name:
        lineage_services.lineage_edge_hide(user=owner, group=group, edge_uuid=edge.uuid)
    access_request = sharing_services.access_request_create(
        user=data_scientist,
        consumer_account=org.consumer,
        level="read_write",
        reason="Churn model.",
        ends_on=timezone.localdate() + timedelta(days=30),
        terms_accepted=False,
        feature_group=group,
    )
    sharing_grant = GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=FeatureGroupFactory(account=org.central, name="customer_orders"),
        permission=Grant.Permission.READ_ONLY,
    )
    invitation = Invitation.objects.create(
        invitation_arn="arn:aws:ram:eu-west-1:111111111111:resource-share-invitation/matrix",
        sender_account_id=org.central.account_id,
        receiver_account=org.consumer,
        region="eu-west-1",
        resource_share_arn="arn:aws:ram:eu-west-1:111111111111:resource-share/matrix",
        resource_share_name="pantry-matrix",
        invited_at=timezone.now() - timedelta(hours=13),
        expires_at=timezone.now() - timedelta(hours=1),
    )
    users = {
        "owner": owner,
        "data_scientist": data_scientist,
        "consumer_admin": consumer_admin,
        "governance": governance,
        "operator": operator,
        "outsider": outsider,
    }
    tokens = {name: api_token_issue(user, scope="write") for name, user in users.items()}
    return World(
        account=org.central,
        group=group,
        feature=feature,
        run=run,
        edge=edge,
        users=users,
        tokens=tokens,
        mapping=RoleMapping.objects.create(group="fraud-scientists", account=org.consumer, role="member"),
        owner_token=ApiToken.objects.get(user=owner),
        access_request=access_request,
        sharing_grant=sharing_grant,
        invitation=invitation,
        source=TrailSource.objects.create(
            name="org-trail",
            bucket="org-trail-logs",
            region="eu-west-1",
            organisation_id="o-a1b2c3d4e5",
            account_id="111111111111",
            role_arn="arn:aws:iam::111111111111:role/PantryTrailReader",
        ),
    )


def client_for(world: World, persona: str, row: Route) -> tuple[Client, dict]:
    client = Client(raise_request_exception=False)
    headers: dict = {}
    if persona != "anonymous":
        if row.token_auth:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {world.tokens[persona]}"
        else:
            client.force_login(world.users[persona])
    return client, headers


CASES = [(name, persona) for name in ROUTES for persona in PERSONAS]
WRITE_CASES = [(name, persona) for name, row in ROUTES.items() if row.write for persona in PERSONAS]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "persona"), CASES)
def test_get(world, name, persona):
    row = ROUTES[name]
    client, headers = client_for(world, persona, row)
    response = client.get(reverse(name, kwargs=row.kwargs(world)), **headers)
    assert response.status_code == row.get[persona], response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "persona"), WRITE_CASES)
def test_write(world, name, persona):
    row = ROUTES[name]
    client, headers = client_for(world, persona, row)
    data = row.write.data(world)
    send = getattr(client, row.write.method)
    url = reverse(name, kwargs=row.kwargs(world))
    if row.write.content_type:
        response = send(url, data, content_type=row.write.content_type, **headers)
    else:
        response = send(url, data, **headers)
    assert response.status_code == row.write.expect[persona], response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "persona"), [(n, p) for n in ROUTES for p in ("anonymous", "owner")])
def test_nul_in_the_query_is_400_everywhere(world, name, persona):
    """Bad input is refused in one place, before any view: the same 400 on every route, signed in or not."""
    row = ROUTES[name]
    client, headers = client_for(world, persona, row)
    response = client.get(reverse(name, kwargs=row.kwargs(world)) + "?x=%00", **headers)
    assert response.status_code == 400
