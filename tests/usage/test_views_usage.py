"""Usage pages: governance's dashboard and grants-vs-use, the group and account panels, trail sources."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shlex

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from tests.csp import assert_csp_clean
from tests.usage.dashboard_data import event, rollups_rebuild, usage_world
from usage import selectors, services
from usage.models import TrailFile, TrailSource

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    return usage_world(org)


def _get(client, user, name, params=None, **kwargs):
    client.force_login(user)
    return client.get(reverse(name, kwargs=kwargs or None), params or {})


# --- the dashboard ---------------------------------------------------------------------------------


def test_governance_sees_every_chart_with_its_table_and_data(client, governance, world):
    response = _get(client, governance, "usage:dashboard")
    assert response.status_code == 200
    html = response.content.decode()
    assert_csp_clean(html.replace('<script id="usage-chart-data" type="application/json">', "<script src=x>"))
    for table in (
        "calls-per-day",
        "reads-writes",
        "top-groups",
        "top-consumers",
        "top-principals",
        "sharing",
        "denied",
        "denied-events",
    ):
        assert f'id="table-{table}"' in html, table
    data = json.loads(
        re.search(r'<script id="usage-chart-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert set(data) == {
        "calls-per-day",
        "reads-writes",
        "top-groups",
        "top-consumers",
        "top-principals",
        "denied",
        "sharing",
    }
    assert data["top-groups"]["labels"][0] == "customer_profile"
    assert data["calls-per-day"]["stacked"] is True
    # The denied calls name who tried what.
    assert "arn:aws:sts::777777777777:assumed-role/Lab/eve" in html
    assert "AccessDeniedException" in html
    assert response.context["outcomes"] == {"success": 62, "denied": 3, "failed": 1}


def test_operators_see_the_dashboard(client, operator, world):
    assert _get(client, operator, "usage:dashboard").status_code == 200


@pytest.mark.parametrize("persona", ["owner", "data_scientist", "consumer_admin", "outsider"])
def test_only_governance_and_operators_see_the_organisation_dashboard(client, request, world, persona):
    user = request.getfixturevalue(persona)
    assert _get(client, user, "usage:dashboard").status_code == 403
    assert _get(client, user, "usage:grants").status_code == 403
    assert _get(client, user, "usage:dashboard_csv", chart="top-groups").status_code == 403


def test_filters_narrow_every_figure(client, governance, org, world):
    response = _get(client, governance, "usage:dashboard", {"group": str(world.scores.uuid), "operation": "GetRecord"})
    assert response.status_code == 200
    assert response.context["outcomes"] == {"success": 10, "denied": 0, "failed": 0}
    response = _get(client, governance, "usage:dashboard", {"consumer": org.team.account_id})
    assert response.context["outcomes"]["success"] == 11


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"operation": "DropDatabase"}, "Select a valid choice"),
        ({"owner": "12345"}, "exactly 12 digits"),
        ({"owner": "999999999999"}, "No AWS account with this id"),
        ({"group": "not-a-uuid"}, "Enter a valid UUID"),
        ({"group": "00000000-0000-0000-0000-000000000000"}, "No feature group with this id"),
        ({"start": "2026-13-01"}, "Enter a valid date"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, "The start date is after the end date"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "at most 400 days"),
        # Far-off days were a 500 (end - 29 days / end + 1 day overflowed).
        ({"end": "0001-01-01"}, "Enter a date between 2000-01-01 and 2999-12-31"),
        ({"start": "9999-12-31", "end": "9999-12-31"}, "Enter a date between 2000-01-01 and 2999-12-31"),
    ],
)
def test_bad_filters_are_a_400_with_the_reason(client, governance, world, params, message):
    response = _get(client, governance, "usage:dashboard", params)
    assert response.status_code == 400
    assert message in response.content.decode()
    csv_response = _get(client, governance, "usage:dashboard_csv", params, chart="top-groups")
    assert csv_response.status_code == 400


def test_csv_exports_equal_the_tables_and_are_formula_safe(client, governance, org, world):
    event(group=world.profile, consumer=org.consumer, principal_arn='=HYPERLINK("http://evil")')
    rollups_rebuild()
    response = _get(client, governance, "usage:dashboard_csv", chart="top-principals")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["principal_arn", "account_id", "calls", "feature_groups"]
    assert ['\'=HYPERLINK("http://evil")', org.consumer.account_id, "1", "1"] in rows
    assert ["arn:aws:sts::444444444444:assumed-role/DataScience/dana", org.consumer.account_id, "31", "1"] in rows
    days = list(
        csv.reader(
            io.StringIO(
                b"".join(
                    _get(client, governance, "usage:dashboard_csv", chart="calls-per-day").streaming_content
                ).decode()
            )
        )
    )
    assert days[0][0] == "day" and days[0][-1] == "total"
    assert len(days) == 31
    assert sum(int(r[-1]) for r in days[1:]) == 62 + 3 + 1 + 1


def test_unknown_chart_is_404(client, governance, world):
    assert _get(client, governance, "usage:dashboard_csv", chart="nothing").status_code == 404


def test_an_empty_dashboard_says_so(client, governance):
    html = _get(client, governance, "usage:dashboard").content.decode()
    assert "No successful calls in this range." in html
    assert "No denied calls in this range." in html


# --- grants vs use ---------------------------------------------------------------------------------


def test_grants_page_lists_unused_wider_and_ungranted(client, governance, org, world):
    org.central.contact_email = "central@example.com"
    org.central.save()
    response = _get(client, governance, "usage:grants")
    assert response.status_code == 200
    html = response.content.decode()
    unused = re.search(r'id="table-unused".*?</table>', html, re.S).group(0)
    assert "quiet_group" in unused and "payments-ml" in unused and "never" in unused
    assert "Ask the owners to revoke" in unused and "/suggest-revoke/" in unused
    wider = re.search(r'id="table-wider".*?</table>', html, re.S).group(0)
    assert "fraud_scores" in wider and "Read and write" in wider and "Read only" in wider
    ungranted = re.search(r'id="table-ungranted".*?</table>', html, re.S).group(0)
    assert "customer_profile" in ungranted and org.team.account_id in ungranted
    assert_csp_clean(html)


def test_grants_page_counts_the_ungranted_pairs_it_does_not_list(client, governance, org, world, monkeypatch):
    monkeypatch.setattr(selectors, "UNGRANTED_LIMIT", 0)
    html = _get(client, governance, "usage:grants").content.decode()
    title = re.search(r'id="ungranted-title".*?</h2>', html, re.S).group(0)
    assert ">1</span>" in title
    ungranted = re.search(r'id="table-ungranted".*?</table>', html, re.S).group(0)
    assert "customer_profile" not in ungranted
    assert 'id="ungranted-more">And 1 more with fewer calls.' in html


def test_asking_the_owners_to_revoke_an_unused_grant_notifies_them_and_is_audited(client, governance, owner, world):
    from sharing.models import Grant, Notification

    grant = Grant.objects.get(feature_group__name="quiet_group")
    client.force_login(governance)
    page = reverse("usage:grants")
    response = client.post(reverse("sharing:grant_revoke_suggest", args=[grant.uuid]), {"next": page, "note": "idle"})
    assert response.status_code == 302 and response["Location"] == page
    told = Notification.objects.get(user=owner, kind=Notification.Kind.REVOKE_SUGGESTED)
    assert "quiet_group" in told.message and "idle" in told.message
    assert told.url.endswith(f"#grant-{grant.uuid}")
    assert AuditEvent.objects.filter(action="grant.revoke_suggest", object_id=str(grant.uuid)).count() == 1
    # Only owners revoke: the grant is still live, and the owner's sharing page has its row.
    grant.refresh_from_db()
    assert grant.is_live
    client.force_login(owner)
    assert f'id="grant-{grant.uuid}"' in client.get(told.url.split("#")[0]).content.decode()


def test_only_governance_and_operators_ask_owners_to_revoke(client, owner, data_scientist, world):
    from sharing.models import Grant, Notification

    grant = Grant.objects.get(feature_group__name="quiet_group")
    for person in (owner, data_scientist):
        client.force_login(person)
        assert client.post(reverse("sharing:grant_revoke_suggest", args=[grant.uuid])).status_code == 404
    assert not Notification.objects.filter(kind=Notification.Kind.REVOKE_SUGGESTED).exists()


def test_grants_window_is_validated(client, governance, world):
    response = _get(client, governance, "usage:grants", {"days": "zero"})
    assert response.status_code == 400
    assert "Enter a whole number" in response.content.decode()
    assert _get(client, governance, "usage:grants", {"days": "0"}).status_code == 400
    assert _get(client, governance, "usage:grants", {"days": "3"}).status_code == 200


# --- the group page and the owner account page ---------------------------------------------------


def test_owner_sees_the_group_usage_panel(client, owner, org, world):
    html = _get(client, owner, "catalog:group_detail", group_uuid=world.profile.uuid).content.decode()
    assert 'id="usage-panel"' in html
    panel = re.search(r'id="table-group-operations".*?</table>', html, re.S).group(0)
    assert "BatchGetRecord" in panel and "fraud-research" in panel
    assert "Used by 2 accounts in the last 30 days." in html
    assert "3</strong> distinct principals" in html


def test_governance_sees_the_group_usage_panel(client, governance, world):
    html = _get(client, governance, "catalog:group_detail", group_uuid=world.payments.uuid).content.decode()
    assert 'id="usage-panel"' in html


def test_a_data_scientist_sees_used_by_but_not_who(client, data_scientist, world):
    response = _get(client, data_scientist, "catalog:group_detail", group_uuid=world.profile.uuid)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Used by 2 accounts in the last 30 days." in html
    assert 'id="usage-panel"' not in html
    assert "NightlyScoring" not in html


def test_a_group_without_usage_says_so(client, owner, world):
    html = _get(client, owner, "catalog:group_detail", group_uuid=world.quiet.uuid).content.decode()
    assert "No usage recorded yet." in html
    assert "No usage has been recorded for this feature group yet." in html


def test_outsider_gets_404_for_the_group_page(client, outsider, world):
    assert _get(client, outsider, "catalog:group_detail", group_uuid=world.profile.uuid).status_code == 404


def test_owner_account_page_lists_its_consumers(client, owner, governance, org, world):
    for user in (owner, governance):
        html = _get(client, user, "catalog:account_detail", account_uuid=org.central.uuid).content.decode()
        table = re.search(r'id="table-account-consumers".*?</table>', html, re.S).group(0)
        assert "fraud-research" in table and "payments-ml" in table


def test_owner_of_another_account_does_not_see_these_consumers(client, org, world):
    from catalog.models import Membership
    from tests.factories import MembershipFactory, UserFactory

    team_owner = UserFactory(username="tess")
    MembershipFactory(user=team_owner, account=org.team, role=Membership.Role.OWNER)
    # A member of the team account sees the central account page only if it is visible at all.
    response = _get(client, team_owner, "catalog:account_detail", account_uuid=org.team.uuid)
    assert response.status_code == 200
    assert "fraud-research" not in re.search(
        r'id="table-account-consumers".*?</table>', response.content.decode(), re.S
    ).group(0)
    assert _get(client, team_owner, "catalog:account_detail", account_uuid=org.central.uuid).status_code == 404


# --- trail sources ---------------------------------------------------------------------------------

SOURCE_FORM = {
    "name": "org-trail",
    "kind": "organisation",
    "bucket": "org-cloudtrail-logs",
    "prefix": "",
    "region": "eu-west-1",
    "organisation_id": "o-a1b2c3d4e5",
    "account_id": "999999999999",
    "role_arn": "arn:aws:iam::999999999999:role/PantryTrailReader",
    "external_id": "pantry-trail",
    "enabled": "on",
}


def test_operator_adds_edits_and_removes_a_trail_source(client, operator):
    client.force_login(operator)
    response = client.post(reverse("usage:source_create"), SOURCE_FORM)
    assert response.status_code == 302
    source = TrailSource.objects.get(name="org-trail")
    assert source.external_id == "pantry-trail"
    assert source.log_root == "AWSLogs/o-a1b2c3d4e5/"
    detail = client.get(response["Location"]).content.decode()
    assert "AWS::SageMaker::FeatureGroup" in detail
    # The operator's page shows the id where it is used: in the trust policy to paste.
    assert '"sts:ExternalId": "pantry-trail"' in html.unescape(detail)
    edit = client.get(reverse("usage:source_edit", args=[source.uuid])).content.decode()
    assert "pantry-trail" not in edit
    response = client.post(
        reverse("usage:source_edit", args=[source.uuid]), {**SOURCE_FORM, "external_id": "", "prefix": "trails"}
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.prefix == "trails" and source.external_id == "pantry-trail"
    assert client.post(reverse("usage:source_delete", args=[source.uuid])).status_code == 302
    assert not TrailSource.objects.exists()
    actions = sorted(AuditEvent.objects.filter(object_type="trail_source").values_list("action", flat=True))
    assert actions == ["trail_source.created", "trail_source.deleted", "trail_source.updated"]


def test_a_trail_source_added_without_an_external_id_gets_a_generated_one_and_can_get_a_new_one(
    client, operator, settings
):
    settings.PANTRY_AWS_PRINCIPAL_ARN = "arn:aws:iam::123456789012:role/Pantry"
    client.force_login(operator)
    form = {**SOURCE_FORM, "external_id": "", "prefix": "org's/trail"}
    assert client.post(reverse("usage:source_create"), form).status_code == 302
    source = TrailSource.objects.get(name="org-trail")
    first = source.external_id
    assert first.startswith("pantry-") and len(first) > 30

    detail = client.get(reverse("usage:source_detail", args=[source.uuid])).content.decode()
    policy = json.loads(html.unescape(re.search(r'id="trust-policy"><code>(.*?)</code>', detail, re.S).group(1)))
    statement = policy["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/Pantry"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": first}}
    commands = html.unescape(re.search(r'id="cli-commands"><code>(.*?)</code>', detail, re.S).group(1))
    sed = next(line for line in commands.splitlines() if line.startswith("sed "))
    # The shell runs it as written: the prefix's quote cannot end the sed expression early.
    assert shlex.split(sed)[:7] == [
        "sed",
        "-e",
        "s/${AWS::Partition}/aws/g",
        "-e",
        "s/${TrailBucketName}/org-cloudtrail-logs/g",
        "-e",
        "s/${TrailPrefix}/org's\\/trail\\//g",
    ]

    # Editing with an empty box keeps it; the checkbox makes a new one; both at once is refused.
    edit_url = reverse("usage:source_edit", args=[source.uuid])
    assert client.post(edit_url, form).status_code == 302
    source.refresh_from_db()
    assert source.external_id == first
    assert client.post(edit_url, {**form, "regenerate_external_id": "on"}).status_code == 302
    source.refresh_from_db()
    assert source.external_id.startswith("pantry-") and source.external_id != first
    response = client.post(edit_url, {**form, "external_id": "typed-one", "regenerate_external_id": "on"})
    assert "Either type an external id or ask for a new one, not both." in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bucket": "Bad_Bucket"}, "S3 bucket name"),
        ({"organisation_id": ""}, "enter the organisation id"),
        ({"kind": "account"}, "An account trail has no organisation id"),
        ({"region": "moon-1"}, "AWS region"),
        ({"role_arn": "not-an-arn"}, "IAM role ARN"),
        ({"account_id": "12"}, "12 digits"),
    ],
)
def test_bad_trail_source_input_is_a_form_error(client, operator, changes, message):
    client.force_login(operator)
    response = client.post(reverse("usage:source_create"), {**SOURCE_FORM, **changes})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not TrailSource.objects.exists()


def _source(**kwargs) -> TrailSource:
    return TrailSource.objects.create(
        name="org-trail",
        bucket="org-cloudtrail-logs",
        region="eu-west-1",
        organisation_id="o-a1b2c3d4e5",
        account_id="999999999999",
        role_arn="arn:aws:iam::999999999999:role/PantryTrailReader",
        **kwargs,
    )


def test_health_shows_progress_lag_errors_and_quarantined_files(client, operator):
    source = _source(
        files_done=2, events_kept=1234, events_total=5000, lag_seconds=125, last_error="AccessDenied: s3:ListBucket"
    )
    TrailFile.objects.create(
        source=source, key="AWSLogs/o-a1b2c3d4e5/1/CloudTrail/eu-west-1/2026/01/01/a.json.gz", state="done"
    )
    TrailFile.objects.create(
        source=source,
        key="AWSLogs/o-a1b2c3d4e5/1/CloudTrail/eu-west-1/2026/01/01/b.json.gz",
        state="quarantined",
        error="not gzip: bad magic number",
    )
    TrailFile.objects.create(
        source=source, key="AWSLogs/o-a1b2c3d4e5/1/CloudTrail/eu-west-1/2026/01/01/c.json.gz", state="pending"
    )
    client.force_login(operator)
    html = client.get(reverse("usage:source_detail", args=[source.uuid])).content.decode()
    assert "1,234 kept of 5,000 read" in html
    assert "0:02:05 behind the newest file" in html
    assert "AccessDenied: s3:ListBucket" in html
    assert "not gzip: bad magic number" in html and "b.json.gz" in html
    assert "1 done, 1 waiting" in html
    assert 'hx-trigger="every 5s"' in html
    assert_csp_clean(html)
    partial = client.get(reverse("usage:source_detail", args=[source.uuid]), HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="health"')
    listing = client.get(reverse("usage:source_list")).content.decode()
    assert "org-trail" in listing and "Error" in listing


def test_replay_is_queued_for_a_worker_and_audited(client, operator, monkeypatch, django_capture_on_commit_callbacks):
    source = _source()
    sent = []
    monkeypatch.setattr("celery.canvas.Signature.delay", lambda self: sent.append((self.task, self.args)))
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("usage:source_replay", args=[source.uuid]), {"start": "2026-01-01", "end": "2026-01-03"}
        )
    assert response.status_code == 302
    assert sent == [(services.REPLAY_TASK, (str(source.uuid), "2026-01-01", "2026-01-03"))]
    assert AuditEvent.objects.get(action="trail_source.replay_requested").after == {
        "start": "2026-01-01",
        "end": "2026-01-03",
    }
    assert "queued" in client.get(response["Location"]).content.decode()


def test_replay_range_is_validated(client, operator):
    source = _source()
    client.force_login(operator)
    response = client.post(
        reverse("usage:source_replay", args=[source.uuid]), {"start": "2026-02-01", "end": "2026-01-01"}
    )
    assert response.status_code == 400
    assert "The start date is after the end date" in response.content.decode()
    response = client.post(reverse("usage:source_replay", args=[source.uuid]), {"start": "x", "end": ""})
    assert response.status_code == 400


def test_a_refused_replay_still_shows_the_role_setup(client, operator):
    source = _source(external_id="pantry-trail-id")
    client.force_login(operator)
    response = client.post(reverse("usage:source_replay", args=[source.uuid]), {"start": "x", "end": ""})
    assert response.status_code == 400
    external_id = re.search(r'id="external-id">(.*?)</dd>', response.content.decode(), re.S).group(1)
    assert external_id == "pantry-trail-id"


@pytest.mark.parametrize("persona", ["owner", "data_scientist", "consumer_admin", "governance", "outsider"])
def test_only_operators_manage_trail_sources(client, request, persona):
    source = _source()
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(reverse("usage:source_list")).status_code == 403
    assert client.get(reverse("usage:source_detail", args=[source.uuid])).status_code == 403
    assert client.post(reverse("usage:source_create"), SOURCE_FORM).status_code == 403
    assert client.post(reverse("usage:source_delete", args=[source.uuid])).status_code == 403
    assert (
        client.post(
            reverse("usage:source_replay", args=[source.uuid]), {"start": "2026-01-01", "end": "2026-01-02"}
        ).status_code
        == 403
    )
    assert TrailSource.objects.count() == 1


def test_every_usage_page_is_csp_clean(client, operator, owner, org, world):
    source = _source()
    client.force_login(operator)
    for url in (
        reverse("usage:source_list"),
        reverse("usage:source_create"),
        reverse("usage:source_edit", args=[source.uuid]),
        reverse("usage:grants"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_csp_clean(response.content.decode())
    client.force_login(owner)
    for url in (world.profile.get_absolute_url(), org.central.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_csp_clean(response.content.decode())


def test_a_trail_reader_s_stack_is_its_own_never_the_account_s_pantry_stack(client, operator):
    """Deployed as `pantry-access`, the reader's stack would replace the bucket account's Pantry
    role stack (its read and share policies removed, or the role renamed)."""
    from catalog.selectors.aws_setup import STACK_NAME

    source = _source()
    source.role_arn = "arn:aws:iam::999999999999:role/Pantry.Trail_Reader"
    source.save(update_fields=["role_arn"])
    client.force_login(operator)
    page = client.get(reverse("usage:source_detail", args=[source.uuid])).content.decode()

    assert "--stack-name pantry-trail-reader-Pantry-Trail-Reader" in page
    assert f"--stack-name {STACK_NAME} " not in page
    assert "RoleName=Pantry.Trail_Reader" in page
