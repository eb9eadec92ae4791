"""/api/v1/feature-groups/ and /api/v1/features/: the same gate and the same edit rules as the pages."""

from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import DescriptionEdit, Feature
from catalog.services import descriptions as services
from portal import aws
from tests.factories import FeatureFactory, FeatureGroupFactory

GATEWAY_FACTORY = "catalog.services.descriptions.feature_store_gateway_for"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def group(org):
    g = FeatureGroupFactory(
        account=org.central, name="customer_profile", tags={"team": "growth", "pii": "false"}, status="Created"
    )
    FeatureFactory(feature_group=g, name="customer_id", position=0, type=Feature.Type.STRING)
    FeatureFactory(
        feature_group=g, name="age_days", position=1, type=Feature.Type.INTEGRAL, parameters={"unit": "days"}
    )
    return g


@pytest.fixture
def other_group(org):
    g = FeatureGroupFactory(account=org.central, name="orders_daily", tags={"team": "ops"}, status="Creating")
    FeatureFactory(feature_group=g, name="order_id", position=0)
    return g


@pytest.fixture
def hidden_group(org):
    g = FeatureGroupFactory(account=org.unrelated, name="lab_secret")
    FeatureFactory(feature_group=g, name="secret_feature")
    return g


def _names(response) -> list[str]:
    return [item["name"] for item in response.json()["results"]]


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def test_list_shows_only_visible_groups_without_features(
    api, data_scientist, group, other_group, hidden_group, reader_grant
):
    api.force_authenticate(data_scientist)
    response = api.get("/api/v1/feature-groups/")
    assert response.status_code == 200
    assert _names(response) == ["customer_profile"]
    item = response.json()["results"][0]
    assert "features" not in item
    assert item["access_level"] == "read_only"
    assert item["access_label"] == "Can read"
    assert item["id"] == str(group.uuid)


def test_list_can_include_features(api, owner, group):
    api.force_authenticate(owner)
    item = api.get("/api/v1/feature-groups/", {"include": "features"}).json()["results"][0]
    assert [f["name"] for f in item["features"]] == ["customer_id", "age_days"]
    assert item["access_level"] == "mine"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tag": "team"}, ["customer_profile", "orders_daily"]),
        ({"tag": "team=growth"}, ["customer_profile"]),
        ({"tag": "pii"}, ["customer_profile"]),
        ({"tag": "nope"}, []),
        ({"status": "creating"}, ["orders_daily"]),
        ({"name": "ORDERS"}, ["orders_daily"]),
        ({"region": "us-east-1"}, []),
        ({"account_id": "111111111111"}, ["customer_profile", "orders_daily"]),
    ],
)
def test_list_filters(api, owner, group, other_group, params, expected):
    api.force_authenticate(owner)
    assert _names(api.get("/api/v1/feature-groups/", params)) == expected


def test_list_filter_by_account_uuid(api, owner, org, group):
    api.force_authenticate(owner)
    assert _names(api.get("/api/v1/feature-groups/", {"account": str(org.central.uuid)})) == ["customer_profile"]
    assert _names(api.get("/api/v1/feature-groups/", {"account": str(org.team.uuid)})) == []


def test_list_query_count_is_bounded(api, owner, org, django_assert_max_num_queries):
    for i in range(30):
        g = FeatureGroupFactory(account=org.central, name=f"g_{i:02d}")
        FeatureFactory(feature_group=g)
    api.force_authenticate(owner)
    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/feature-groups/", {"include": "features"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 30
    assert all(len(item["features"]) == 1 for item in results)  # features were loaded within the budget


def test_deleted_groups_leave_the_list_but_stay_readable_by_id(api, owner, group):
    group.deleted_at = timezone.now()
    group.save()
    api.force_authenticate(owner)
    assert _names(api.get("/api/v1/feature-groups/")) == []
    detail = api.get(f"/api/v1/feature-groups/{group.uuid}/")
    assert detail.status_code == 200
    assert detail.json()["deleted_at"] is not None


def test_detail_includes_features_and_store_configuration(api, owner, group):
    api.force_authenticate(owner)
    body = api.get(f"/api/v1/feature-groups/{group.uuid}/").json()
    assert [f["name"] for f in body["features"]] == ["customer_id", "age_days"]
    assert body["features"][1]["parameters"] == {"unit": "days"}
    assert body["record_identifier_feature"] == "id"
    assert "online_store_config" in body and "glue_table" in body


def test_outsider_gets_404_for_group_and_feature_detail_and_empty_lists(api, outsider, group):
    api.force_authenticate(outsider)
    feature = group.features.get(name="age_days")
    assert api.get(f"/api/v1/feature-groups/{group.uuid}/").status_code == 404
    assert api.get(f"/api/v1/features/{feature.uuid}/").status_code == 404
    assert _names(api.get("/api/v1/feature-groups/")) == []
    assert _names(api.get("/api/v1/features/")) == []


def test_not_a_uuid_is_404(api, owner):
    api.force_authenticate(owner)
    assert api.get("/api/v1/feature-groups/not-a-uuid/").status_code == 404
    assert api.get("/api/v1/features/not-a-uuid/").status_code == 404


def test_anonymous_gets_no_data(api, group):
    assert api.get("/api/v1/feature-groups/").status_code in (401, 403)
    assert api.get("/api/v1/features/").status_code in (401, 403)


def test_features_list_filters_by_group_name_and_type(api, owner, group, other_group):
    api.force_authenticate(owner)
    assert _names(api.get("/api/v1/features/", {"group": str(group.uuid)})) == ["customer_id", "age_days"]
    assert _names(api.get("/api/v1/features/", {"name": "age"})) == ["age_days"]
    assert _names(api.get("/api/v1/features/", {"type": "Integral"})) == ["age_days"]
    assert api.get("/api/v1/features/", {"type": "Nonsense"}).status_code == 400


def test_feature_detail_names_its_group(api, data_scientist, group, reader_grant):
    api.force_authenticate(data_scientist)
    feature = group.features.get(name="age_days")
    body = api.get(f"/api/v1/features/{feature.uuid}/").json()
    assert body["group"] == str(group.uuid)
    assert body["group_arn"] == group.arn
    assert body["type"] == "Integral"


def test_put_and_delete_are_not_allowed(api, owner, group):
    api.force_authenticate(owner)
    assert api.put(f"/api/v1/feature-groups/{group.uuid}/", {}, format="json").status_code == 405
    assert api.delete(f"/api/v1/feature-groups/{group.uuid}/").status_code == 405


# ---------------------------------------------------------------------------
# Editing
# ---------------------------------------------------------------------------


def test_owner_patches_group_description_through_the_service(api, owner, group):
    api.force_authenticate(owner)
    response = api.patch(f"/api/v1/feature-groups/{group.uuid}/", {"pantry_description": "# Hi"}, format="json")
    assert response.status_code == 200
    assert response.json()["pantry_description"] == "# Hi"
    assert response.json()["access_level"] == "mine"
    edit = DescriptionEdit.objects.get()
    assert (edit.before, edit.after, edit.editor) == ("", "# Hi", owner)


def test_group_patch_rejects_over_long_descriptions(api, owner, group):
    api.force_authenticate(owner)
    response = api.patch(
        f"/api/v1/feature-groups/{group.uuid}/",
        {"pantry_description": "x" * (services.MAX_DESCRIPTION_LENGTH + 1)},
        format="json",
    )
    assert response.status_code == 400
    assert "pantry_description" in response.json()


def test_member_who_can_read_gets_403_on_patch(api, data_scientist, group, reader_grant):
    api.force_authenticate(data_scientist)
    feature = group.features.get(name="age_days")
    assert (
        api.patch(f"/api/v1/feature-groups/{group.uuid}/", {"pantry_description": "x"}, format="json").status_code
        == 403
    )
    assert api.patch(f"/api/v1/features/{feature.uuid}/", {"pantry_description": "x"}, format="json").status_code == 403
    assert not DescriptionEdit.objects.exists()


def test_outsider_gets_404_on_patch(api, outsider, group):
    api.force_authenticate(outsider)
    feature = group.features.get(name="age_days")
    assert (
        api.patch(f"/api/v1/feature-groups/{group.uuid}/", {"pantry_description": "x"}, format="json").status_code
        == 404
    )
    assert api.patch(f"/api/v1/features/{feature.uuid}/", {"pantry_description": "x"}, format="json").status_code == 404
    assert not DescriptionEdit.objects.exists()


def test_owner_patches_feature_pantry_only(api, owner, group):
    feature = group.features.get(name="age_days")
    api.force_authenticate(owner)
    with mock.patch(GATEWAY_FACTORY, side_effect=AssertionError("AWS must not be called")):
        response = api.patch(f"/api/v1/features/{feature.uuid}/", {"pantry_description": "Tenure"}, format="json")
        refused = api.patch(f"/api/v1/features/{feature.uuid}/", {"parameters": {"unit": "d"}}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["pantry_description"] == "Tenure"
    assert body["aws_write"] == "pantry_only"
    assert refused.status_code == 400
    assert "change them in AWS" in refused.json()["parameters"][0]
    feature.refresh_from_db()
    assert feature.parameters == {"unit": "days"}


def test_feature_patch_of_only_the_description_keeps_parameters(api, owner, group):
    feature = group.features.get(name="age_days")
    api.force_authenticate(owner)
    body = api.patch(f"/api/v1/features/{feature.uuid}/", {"pantry_description": "Tenure"}, format="json").json()
    assert body["parameters"] == {"unit": "days"}
    again = api.patch(f"/api/v1/features/{feature.uuid}/", {"pantry_description": "Tenure"}, format="json").json()
    assert again["aws_write"] == "unchanged"
    assert DescriptionEdit.objects.count() == 1


def test_feature_patch_reports_aws_failure_and_keeps_edit(api, owner, org, group):
    org.central.metadata_write_allowed = True
    org.central.save()
    feature = group.features.get(name="age_days")
    api.force_authenticate(owner)
    with mock.patch(GATEWAY_FACTORY, side_effect=aws.AwsAccessDenied("not authorized", code="AccessDeniedException")):
        body = api.patch(f"/api/v1/features/{feature.uuid}/", {"pantry_description": "Tenure"}, format="json").json()
    assert body["aws_write"] == "failed"
    assert "not authorized" in body["aws_error"]
    assert body["pantry_description"] == "Tenure"


def test_feature_patch_reports_written(api, owner, org, group):
    org.central.metadata_write_allowed = True
    org.central.save()
    feature = group.features.get(name="age_days")
    gateway = mock.Mock()
    api.force_authenticate(owner)
    with mock.patch(GATEWAY_FACTORY, return_value=gateway):
        body = api.patch(f"/api/v1/features/{feature.uuid}/", {"pantry_description": "Tenure"}, format="json").json()
    assert body["aws_write"] == "written"
    gateway.update_feature_metadata.assert_called_once_with(
        group=group.arn, feature="age_days", description="Tenure", parameter_additions={}, parameter_removals=[]
    )
    assert body["description"] == "Tenure"


@pytest.mark.parametrize("parameters", [{"bad key!": "v"}, {"k": ""}, ["not", "a", "dict"], {"k": {"nested": "x"}}])
def test_feature_patch_rejects_invalid_parameters(api, owner, group, parameters):
    feature = group.features.get(name="age_days")
    api.force_authenticate(owner)
    response = api.patch(f"/api/v1/features/{feature.uuid}/", {"parameters": parameters}, format="json")
    assert response.status_code == 400, response.json()
    assert "parameters" in response.json()
    assert not DescriptionEdit.objects.exists()
