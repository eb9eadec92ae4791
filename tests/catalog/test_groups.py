"""Feature group pages and feature pages: what each persona sees, and what they cannot."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import DescriptionEdit, Feature, Membership
from catalog.selectors.groups import SCHEMA_PAGE_SIZE
from tests.csp import assert_csp_clean
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory, MembershipFactory, UserFactory


@pytest.fixture
def group(org):
    org.central.team = "Growth ML"
    org.central.contact_email = "growth-ml@example.com"
    org.central.save()
    g = FeatureGroupFactory(
        account=org.central,
        name="customer_profile",
        description="Customer attributes from the CRM.",
        pantry_description="**Curated** customer profile. See [the runbook](https://wiki.example/runbook).",
        record_identifier_feature="customer_id",
        event_time_feature="event_time",
        tags={"team": "growth", "pii": "false"},
        online_store_enabled=True,
        online_store_config={
            "EnableOnlineStore": True,
            "StorageType": "Standard",
            "TtlDuration": {"Unit": "Days", "Value": 7},
            "SecurityConfig": {"KmsKeyId": "arn:aws:kms:eu-west-1:111111111111:key/abc-123"},
        },
        offline_store_enabled=True,
        offline_s3_uri="s3://central-offline/customer_profile",
        glue_database="sagemaker_featurestore",
        glue_table="customer_profile_1700000000",
        table_format="Iceberg",
        status="Created",
        offline_store_status="Active",
    )
    FeatureFactory(feature_group=g, name="customer_id", position=0, type=Feature.Type.STRING, description="CRM id")
    FeatureFactory(feature_group=g, name="event_time", position=1, type=Feature.Type.FRACTIONAL)
    FeatureFactory(
        feature_group=g,
        name="age_days",
        position=2,
        type=Feature.Type.INTEGRAL,
        description="Days since signup",
        pantry_description="Whole *days* since the customer signed up.",
        parameters={"unit": "days", "source": "crm"},
    )
    FeatureFactory(
        feature_group=g,
        name="embedding",
        position=3,
        type=Feature.Type.FRACTIONAL,
        collection_type="Vector",
        collection_config={"VectorConfig": {"Dimension": 128}},
    )
    return g


def _html(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------------------
# Group page
# ---------------------------------------------------------------------------


def test_group_page_shows_every_section_to_a_reader(client, data_scientist, owner, group, reader_grant):
    DescriptionEdit.objects.create(feature_group=group, editor=owner, before="old text", after="new text")
    client.force_login(data_scientist)
    response = client.get(group.get_absolute_url())
    assert response.status_code == 200
    html = _html(response)
    # name, descriptions (markdown rendered and sanitised, AWS one too)
    assert "customer_profile" in html
    assert "<strong>Curated</strong>" in html
    assert 'href="https://wiki.example/runbook" rel="noopener nofollow"' in html
    assert "Customer attributes from the CRM." in html
    # owner account, team, contacts (account email and owner people)
    assert "central-feature-store" in html and "111111111111" in html
    assert "Growth ML" in html
    assert "mailto:growth-ml@example.com" in html
    assert "Omar Owner" in html
    # tags, record identifier and event time
    assert "team=growth" in html and "pii=false" in html
    assert "customer_id" in html and "event_time" in html
    # stores
    assert "7 Days" in html
    assert "arn:aws:kms:eu-west-1:111111111111:key/abc-123" in html
    assert "Standard" in html
    assert "s3://central-offline/customer_profile" in html
    assert "sagemaker_featurestore.customer_profile_1700000000" in html
    assert "Iceberg" in html
    # status, times, access level
    assert "Created" in html and "Active" in html
    assert group.aws_created_at.strftime("%Y") in html
    assert "Can read" in html
    # how to read it: cross-account GetRecord needs the ARN
    assert "sagemaker-featurestore-runtime" in html
    assert f'FeatureGroupName="{group.arn}"' in html
    assert '"sagemaker_featurestore"."customer_profile_1700000000"' in html
    # schema: every feature with type, collection, description, parameters
    for name in ("customer_id", "event_time", "age_days", "embedding"):
        assert reverse("catalog:feature_detail", args=[group.uuid, name]) in html
    assert "Whole *days* since the customer signed up." in html  # plain text in the table
    assert "Vector (128)" in html
    assert "unit</span>=days" in html
    assert 'data-filter-target="#schema"' in html
    # history
    assert "old text" in html and "new text" in html
    # a reader cannot edit
    assert reverse("catalog:group_description_edit", args=[group.uuid]) not in html


def test_group_page_falls_back_to_the_aws_description(client, data_scientist, group, reader_grant):
    group.pantry_description = ""
    group.save()
    client.force_login(data_scientist)
    html = _html(client.get(group.get_absolute_url()))
    assert "Customer attributes from the CRM." in html
    assert "From AWS." in html


def test_group_page_has_no_inline_scripts_or_style_attributes(client, owner, group):
    client.force_login(owner)
    html = _html(client.get(group.get_absolute_url()))
    assert 'id="schema-heading"' in html
    assert_csp_clean(html)


def test_owner_sees_mine_an_edit_link_and_a_same_account_snippet(client, owner, group):
    client.force_login(owner)
    html = _html(client.get(group.get_absolute_url()))
    assert "Mine" in html
    assert reverse("catalog:group_description_edit", args=[group.uuid]) in html
    assert 'FeatureGroupName="customer_profile"' in html


def test_discoverable_only_user_is_told_they_cannot_read_yet(client, org, data_scientist, group):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region=group.region)
    client.force_login(data_scientist)
    html = _html(client.get(group.get_absolute_url()))
    assert "Discoverable only" in html
    assert "can find this group but not read it" in html


def test_governance_sees_any_group_labelled_as_not_shared_with_them(client, governance, group):
    client.force_login(governance)
    html = _html(client.get(group.get_absolute_url()))
    assert 'title="Your access level">Not shared with you</span>' in html
    assert "you oversee the whole catalog" in html


def test_outsider_gets_404_for_group_page_schema_and_feature_page(client, outsider, group):
    client.force_login(outsider)
    assert client.get(group.get_absolute_url()).status_code == 404
    assert client.get(reverse("catalog:group_schema", args=[group.uuid])).status_code == 404
    assert client.get(reverse("catalog:feature_detail", args=[group.uuid, "age_days"])).status_code == 404


def test_member_without_any_grant_gets_404(client, data_scientist, group):
    client.force_login(data_scientist)
    assert client.get(group.get_absolute_url()).status_code == 404


def test_anonymous_visitor_is_sent_to_login(client, group):
    response = client.get(group.get_absolute_url())
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_deleted_group_stays_visible_by_link_with_a_banner_and_no_edit_link(client, owner, group):
    group.deleted_at = timezone.now()
    group.save()
    client.force_login(owner)
    response = client.get(group.get_absolute_url())
    assert response.status_code == 200
    html = _html(response)
    assert "Deleted in AWS." in html
    assert reverse("catalog:group_description_edit", args=[group.uuid]) not in html


def test_unknown_group_is_404(client, owner):
    client.force_login(owner)
    assert client.get(reverse("catalog:group_detail", args=["00000000-0000-0000-0000-000000000000"])).status_code == 404


# ---------------------------------------------------------------------------
# Query counts and wide groups
# ---------------------------------------------------------------------------


def _wide_group(account, count: int):
    g = FeatureGroupFactory(account=account, name=f"wide_{count}", feature_count=count)
    Feature.objects.bulk_create(
        Feature(
            feature_group=g,
            name=f"f_{i:05d}",
            position=i,
            type=Feature.Type.FRACTIONAL,
            description=f"feature number {i}",
            parameters={"unit": "x"},
        )
        for i in range(count)
    )
    return g


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_group_page_query_count_does_not_grow_with_features(client, org, owner, django_assert_max_num_queries):
    small = _wide_group(org.central, 3)
    wide = _wide_group(org.central, 300)
    client.force_login(owner)
    client.get(small.get_absolute_url())  # warm the session
    assert _queries_for(client, small.get_absolute_url()) == _queries_for(client, wide.get_absolute_url())
    with django_assert_max_num_queries(15):
        response = client.get(wide.get_absolute_url())
    assert response.status_code == 200
    assert _html(response).count('href="/groups/') >= 300


def test_wide_group_schema_pages_and_filters_on_the_server(client, org, owner):
    wide = _wide_group(org.central, SCHEMA_PAGE_SIZE * 2 + 10)
    client.force_login(owner)
    html = _html(client.get(wide.get_absolute_url()))
    assert f"Features 1–{SCHEMA_PAGE_SIZE} of {SCHEMA_PAGE_SIZE * 2 + 10}" in html
    assert "f_00000" in html and f"f_{SCHEMA_PAGE_SIZE:05d}" not in html
    assert 'hx-get="' + reverse("catalog:group_schema", args=[wide.uuid]) in html
    assert "data-filter-target" not in html  # browser filtering would only see one page

    page3 = _html(client.get(reverse("catalog:group_schema", args=[wide.uuid]), {"page": 3}))
    assert f"f_{SCHEMA_PAGE_SIZE * 2:05d}" in page3
    assert "<html" not in page3  # a fragment for htmx

    filtered = _html(client.get(reverse("catalog:group_schema", args=[wide.uuid]), {"q": "f_00777"}))
    assert "f_00777" in filtered and "f_00776" not in filtered
    assert "1 feature" in filtered

    none = _html(client.get(reverse("catalog:group_schema", args=[wide.uuid]), {"q": "no-such-thing"}))
    assert "No feature matches" in none


def test_schema_page_past_the_end_or_garbage_gives_a_normal_page(client, org, owner):
    wide = _wide_group(org.central, 20)
    client.force_login(owner)
    assert client.get(wide.get_absolute_url(), {"page": "999"}).status_code == 200
    assert (
        client.get(reverse("catalog:group_schema", args=[wide.uuid]), {"page": "abc", "q": "x" * 5000}).status_code
        == 200
    )


def test_schema_rows_link_each_feature_and_shorten_long_descriptions(client, org, owner):
    """Feature links, vector sizes and shortened descriptions, whatever the feature's name."""
    import html as html_lib

    g = FeatureGroupFactory(account=org.central, name="odd_names")
    names = ["plain", "with space", "per%cent", "q?mark#hash", "ünïcode", "a+b=c&d", "..", "dots.in.name"]
    for i, name in enumerate(names):
        FeatureFactory(feature_group=g, name=name, position=i, description=f"about {name}")
    FeatureFactory(feature_group=g, name="long", position=20, description="x" * 400)
    FeatureFactory(feature_group=g, name="exact", position=21, description="y" * 300)
    FeatureFactory(feature_group=g, name="combined", position=22, description="e\u0301" * 10)  # e + accent: NFC é
    FeatureFactory(
        feature_group=g,
        name="vec",
        position=23,
        collection_type="Vector",
        collection_config={"VectorConfig": {"Dimension": 64}},
    )
    FeatureFactory(feature_group=g, name="listed", position=24, collection_type="List", collection_config={})
    client.force_login(owner)
    page = _html(client.get(g.get_absolute_url()))
    for feature in Feature.objects.filter(feature_group=g):
        link = f'href="{html_lib.escape(feature.get_absolute_url())}"'
        assert link in page, feature.name
        assert client.get(feature.get_absolute_url()).status_code == 200, feature.name
    assert "x" * 299 + "…" in page and "x" * 300 not in page
    assert "y" * 300 in page and "y" * 300 + "…" not in page
    assert "é" * 10 in page
    assert "Vector (64)" in page
    assert "List (" not in page


# ---------------------------------------------------------------------------
# Feature page
# ---------------------------------------------------------------------------


def test_feature_page_shows_group_type_descriptions_parameters_and_history(
    client, data_scientist, owner, group, reader_grant
):
    feature = group.features.get(name="age_days")
    DescriptionEdit.objects.create(
        feature_group=group, feature=feature, editor=owner, before="first words", after="second words"
    )
    client.force_login(data_scientist)
    response = client.get(feature.get_absolute_url())
    assert response.status_code == 200
    html = _html(response)
    assert "age_days" in html
    assert group.get_absolute_url() in html
    assert "Integral" in html
    assert "Whole <em>days</em> since the customer signed up." in html
    assert "Days since signup" in html  # the AWS description, different from Pantry's
    assert "unit" in html and "crm" in html
    assert "first words" in html and "second words" in html
    assert reverse("catalog:feature_description_edit", args=[group.uuid, "age_days"]) not in html


def test_feature_page_shows_vector_collection(client, owner, group):
    client.force_login(owner)
    html = _html(client.get(reverse("catalog:feature_detail", args=[group.uuid, "embedding"])))
    assert "Vector of dimension 128" in html
    assert reverse("catalog:feature_description_edit", args=[group.uuid, "embedding"]) in html


def test_unknown_feature_of_a_visible_group_is_404(client, owner, group):
    client.force_login(owner)
    assert client.get(reverse("catalog:feature_detail", args=[group.uuid, "nope"])).status_code == 404


def test_feature_page_query_count_is_small(client, owner, group, django_assert_max_num_queries):
    client.force_login(owner)
    url = reverse("catalog:feature_detail", args=[group.uuid, "age_days"])
    client.get(url)
    with django_assert_max_num_queries(10):
        response = client.get(url)
    assert response.status_code == 200
    assert '<h1 class="h3 mb-1 font-mono">age_days</h1>' in _html(response)


def test_owners_listed_exclude_plain_members_and_inactive_users(client, org, owner, group):
    MembershipFactory(user=UserFactory(username="mia", first_name="Mia", last_name="Member"), account=org.central)
    gone = UserFactory(username="gus", first_name="Gus", last_name="Gone", is_active=False)
    MembershipFactory(user=gone, account=org.central, role=Membership.Role.OWNER)
    client.force_login(owner)
    html = _html(client.get(group.get_absolute_url()))
    assert "Omar Owner" in html
    assert "Mia Member" not in html
    assert "Gus Gone" not in html
