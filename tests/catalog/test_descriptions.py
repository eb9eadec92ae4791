"""Editing Pantry descriptions: services, forms, preview, history, and the AWS write-back."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from catalog.gateways.featurestore import FeatureStoreGateway
from catalog.models import DescriptionEdit, Feature, FeatureGroup, Membership
from catalog.services import descriptions as services
from portal import aws
from tests.aws_stubs import StubSession
from tests.csp import assert_csp_clean
from tests.factories import FeatureFactory, FeatureGroupFactory, MembershipFactory, UserFactory

GATEWAY_FACTORY = "catalog.services.descriptions.feature_store_gateway_for"


@pytest.fixture
def group(org):
    g = FeatureGroupFactory(account=org.central, name="customer_profile", description="From AWS.")
    FeatureFactory(feature_group=g, name="customer_id", position=0)
    FeatureFactory(
        feature_group=g,
        name="age_days",
        position=1,
        type=Feature.Type.INTEGRAL,
        description="Days since signup",
        parameters={"unit": "days", "source": "crm"},
    )
    return g


@pytest.fixture
def feature(group):
    return group.features.get(name="age_days")


@pytest.fixture
def write_allowed(org):
    org.central.metadata_write_allowed = True
    org.central.save()
    return org.central


@pytest.fixture
def stubbed_gateway(settings):
    """A real FeatureStoreGateway whose boto3 client is stubbed: no network, exact parameters checked."""
    session = StubSession()
    gateway = FeatureStoreGateway(session)
    with session.stubber as stubber, mock.patch(GATEWAY_FACTORY, return_value=gateway):
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def no_aws():
    with mock.patch(GATEWAY_FACTORY, side_effect=AssertionError("AWS must not be called")) as factory:
        yield factory


def _edit_url(group, feature=None) -> str:
    if feature is None:
        return reverse("catalog:group_description_edit", args=[group.uuid])
    return reverse("catalog:feature_description_edit", args=[group.uuid, feature.name])


def _feature_post(description: str, parameters: dict[str, str], extra_blank: int = 1) -> dict:
    rows = [*parameters.items(), *[("", "")] * extra_blank]
    data = {
        "description": description,
        "parameters-TOTAL_FORMS": str(len(rows)),
        "parameters-INITIAL_FORMS": "0",
        "parameters-MIN_NUM_FORMS": "0",
        "parameters-MAX_NUM_FORMS": "1000",
    }
    for i, (key, value) in enumerate(rows):
        data[f"parameters-{i}-key"] = key
        data[f"parameters-{i}-value"] = value
    return data


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------


def test_group_description_update_appends_history_with_before_and_after(owner, group):
    group.pantry_description = "old"
    group.save()
    edit = services.feature_group_description_update(group=group, editor=owner, description="# New")
    group.refresh_from_db()
    assert group.pantry_description == "# New"
    assert (edit.before, edit.after, edit.editor, edit.feature) == ("old", "# New", owner, None)
    assert edit.written_to_aws is False


def test_unchanged_submit_writes_no_history_row(owner, group, feature, no_aws):
    services.feature_group_description_update(group=group, editor=owner, description="same")
    assert services.feature_group_description_update(group=group, editor=owner, description="same") is None
    assert (
        services.feature_description_update(
            feature=feature, editor=owner, description="", parameters={"unit": "days", "source": "crm"}
        )
        is None
    )
    assert DescriptionEdit.objects.count() == 1


def test_over_long_descriptions_are_refused(owner, group, feature):
    too_long = "x" * (services.MAX_DESCRIPTION_LENGTH + 1)
    with pytest.raises(ValidationError):
        services.feature_group_description_update(group=group, editor=owner, description=too_long)
    with pytest.raises(ValidationError):
        services.feature_description_update(feature=feature, editor=owner, description=too_long, parameters={})
    assert not DescriptionEdit.objects.exists()


def test_deleted_groups_cannot_be_edited(owner, group):
    group.deleted_at = timezone.now()
    group.save()
    with pytest.raises(ValidationError):
        services.feature_group_description_update(group=group, editor=owner, description="x")


def test_feature_edit_refreshes_the_groups_search_words(owner, group, feature, no_aws):
    services.feature_description_update(
        feature=feature, editor=owner, description="tenure of a subscriber", parameters=dict(feature.parameters)
    )
    group.refresh_from_db()
    assert "tenure of a subscriber" in group.feature_words
    edit = DescriptionEdit.objects.get()
    assert edit.feature == feature
    assert edit.after == "tenure of a subscriber"
    feature.refresh_from_db()
    assert feature.description == "Days since signup"  # AWS copy untouched: Pantry-only account


def test_parameters_cannot_change_where_pantry_may_not_write_them_to_aws(owner, feature, no_aws):
    # Parameters mirror AWS feature metadata; a Pantry-only change would be
    # overwritten by the next sync, so it is refused with a clear reason.
    with pytest.raises(ValidationError) as info:
        services.feature_description_update(feature=feature, editor=owner, description="x", parameters={"unit": "days"})
    assert "change them in AWS" in " ".join(info.value.messages)
    feature.refresh_from_db()
    assert feature.parameters == {"unit": "days", "source": "crm"}
    assert not DescriptionEdit.objects.exists()


@pytest.mark.parametrize(
    "parameters",
    [{"bad key!": "x"}, {"k": ""}, {"": "v"}, {"k": "v" * 256}, {"k": "<script>"}],
)
def test_parameters_follow_aws_rules(owner, feature, parameters):
    with pytest.raises(ValidationError):
        services.feature_description_update(feature=feature, editor=owner, description="", parameters=parameters)


def test_parameters_may_use_unicode_letters_spaces_and_aws_punctuation():
    services.parameters_validate({"Einheit ä": "Tage 7", "a_b.c:d/e=f+g-h": "ok"})


# ---------------------------------------------------------------------------
# AWS write-back
# ---------------------------------------------------------------------------


def test_write_back_sends_description_and_parameter_changes(owner, group, feature, write_allowed, stubbed_gateway):
    stubbed_gateway.add_response(
        "update_feature_metadata",
        {"ResponseMetadata": {"HTTPStatusCode": 200}},
        {
            "FeatureGroupName": group.arn,
            "FeatureName": "age_days",
            "Description": "Whole days since signup",
            "ParameterAdditions": [{"Key": "unit", "Value": "d"}, {"Key": "owner", "Value": "growth"}],
            "ParameterRemovals": ["source"],
        },
    )
    edit = services.feature_description_update(
        feature=feature,
        editor=owner,
        description="Whole days since signup",
        parameters={"unit": "d", "owner": "growth"},
    )
    assert edit.written_to_aws is True
    assert edit.aws_error == ""
    feature.refresh_from_db()
    assert feature.description == "Whole days since signup"
    assert feature.pantry_description == "Whole days since signup"


def test_write_back_access_denied_keeps_the_pantry_edit(owner, group, feature, write_allowed, stubbed_gateway):
    stubbed_gateway.add_client_error(
        "update_feature_metadata",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: sagemaker:UpdateFeatureMetadata",
        http_status_code=400,
    )
    edit = services.feature_description_update(feature=feature, editor=owner, description="kept", parameters={})
    assert edit.written_to_aws is False
    assert "not authorized" in edit.aws_error
    feature.refresh_from_db()
    assert feature.pantry_description == "kept"
    assert feature.parameters == {}
    assert feature.description == "Days since signup"


def test_assume_role_failure_is_recorded_not_raised(owner, feature, write_allowed):
    with mock.patch(GATEWAY_FACTORY, side_effect=aws.AwsAccessDenied("role trust denied", code="AccessDenied")):
        edit = services.feature_description_update(feature=feature, editor=owner, description="x", parameters={})
    assert edit.written_to_aws is False
    assert "role trust denied" in edit.aws_error


def test_description_longer_than_aws_allows_stays_in_pantry_while_parameters_are_written(
    owner, group, feature, write_allowed, stubbed_gateway
):
    long_text = "y" * (services.AWS_DESCRIPTION_MAX_LENGTH + 1)
    stubbed_gateway.add_response(
        "update_feature_metadata",
        {},
        {
            "FeatureGroupName": group.arn,
            "FeatureName": "age_days",
            "Description": "Days since signup",  # AWS keeps its own description
            "ParameterAdditions": [{"Key": "new", "Value": "1"}],
        },
    )
    edit = services.feature_description_update(
        feature=feature, editor=owner, description=long_text, parameters={"unit": "days", "source": "crm", "new": "1"}
    )
    assert edit.written_to_aws is True
    assert "at most 255" in edit.aws_error
    feature.refresh_from_db()
    assert feature.pantry_description == long_text
    assert feature.description == "Days since signup"


def test_long_description_alone_makes_no_aws_call(owner, feature, write_allowed, no_aws):
    edit = services.feature_description_update(
        feature=feature, editor=owner, description="z" * 300, parameters={"unit": "days", "source": "crm"}
    )
    assert edit.written_to_aws is False
    assert "kept in Pantry only" in edit.aws_error


def test_more_than_25_parameter_changes_are_sent_in_batches(owner, group, feature, write_allowed, stubbed_gateway):
    parameters = {f"k{i:02d}": "v" for i in range(30)}
    additions = [{"Key": k, "Value": "v"} for k in parameters]
    stubbed_gateway.add_response(
        "update_feature_metadata",
        {},
        {
            "FeatureGroupName": group.arn,
            "FeatureName": "age_days",
            "Description": "Days since signup",
            "ParameterAdditions": additions[:25],
            "ParameterRemovals": ["unit", "source"],
        },
    )
    stubbed_gateway.add_response(
        "update_feature_metadata",
        {},
        {
            "FeatureGroupName": group.arn,
            "FeatureName": "age_days",
            "Description": "Days since signup",
            "ParameterAdditions": additions[25:],
        },
    )
    edit = services.feature_description_update(feature=feature, editor=owner, description="", parameters=parameters)
    assert edit.written_to_aws is True


def test_group_description_is_never_written_to_aws(owner, group, write_allowed, no_aws):
    edit = services.feature_group_description_update(group=group, editor=owner, description="anything")
    assert edit.written_to_aws is False


# ---------------------------------------------------------------------------
# Edit pages
# ---------------------------------------------------------------------------


def test_owner_edits_group_description_and_sees_it_with_history(client, owner, group):
    client.force_login(owner)
    form = client.get(_edit_url(group))
    assert form.status_code == 200
    assert "Pantry-only edit" in form.content.decode()
    response = client.post(_edit_url(group), {"description": "## Curated\n\nA *good* group."}, follow=True)
    assert response.redirect_chain[-1][0] == group.get_absolute_url()
    html = response.content.decode()
    assert "<h2>Curated</h2>" in html
    assert "Saved the description." in html
    edit = DescriptionEdit.objects.get()
    assert (edit.before, edit.after, edit.editor) == ("", "## Curated\n\nA *good* group.", owner)
    assert "Omar Owner" in html  # in the history list


def test_resubmitting_the_same_group_description_adds_no_history(client, owner, group):
    client.force_login(owner)
    client.post(_edit_url(group), {"description": "once"})
    response = client.post(_edit_url(group), {"description": "once"}, follow=True)
    assert "Nothing changed" in response.content.decode()
    assert DescriptionEdit.objects.count() == 1


def test_over_long_group_description_shows_a_form_error(client, owner, group):
    client.force_login(owner)
    response = client.post(_edit_url(group), {"description": "x" * (services.MAX_DESCRIPTION_LENGTH + 1)})
    assert response.status_code == 200
    assert "at most 20,000 characters" in response.content.decode()
    assert not DescriptionEdit.objects.exists()


def test_owner_edits_feature_description_pantry_only_and_parameters_are_read_only(
    client, owner, group, feature, no_aws
):
    client.force_login(owner)
    form = client.get(_edit_url(group, feature))
    html = form.content.decode()
    assert "Pantry-only edit" in html
    assert "Parameters are AWS feature metadata" in html
    assert 'name="parameters-0-key"' not in html  # no parameter inputs on a Pantry-only account
    response = client.post(_edit_url(group, feature), {"description": "Tenure in *days*."}, follow=True)
    assert response.redirect_chain[-1][0] == feature.get_absolute_url()
    html = response.content.decode()
    assert "Saved in Pantry only" in html
    assert "Tenure in <em>days</em>." in html
    feature.refresh_from_db()
    assert feature.parameters == {"unit": "days", "source": "crm"}
    assert DescriptionEdit.objects.get().after == "Tenure in *days*."


def test_feature_edit_with_write_back_reports_success(client, owner, group, feature, write_allowed, stubbed_gateway):
    stubbed_gateway.add_response(
        "update_feature_metadata",
        {},
        {"FeatureGroupName": group.arn, "FeatureName": "age_days", "Description": "Short and sweet"},
    )
    client.force_login(owner)
    form_html = client.get(_edit_url(group, feature)).content.decode()
    assert "Saving also writes to AWS feature metadata" in form_html
    response = client.post(
        _edit_url(group, feature), _feature_post("Short and sweet", {"unit": "days", "source": "crm"}), follow=True
    )
    html = response.content.decode()
    assert "written to AWS feature metadata" in html
    assert "written to AWS" in html  # history badge


def test_feature_edit_aws_access_denied_keeps_edit_and_shows_the_error(
    client, owner, group, feature, write_allowed, stubbed_gateway
):
    stubbed_gateway.add_client_error(
        "update_feature_metadata",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: sagemaker:UpdateFeatureMetadata",
        http_status_code=400,
    )
    client.force_login(owner)
    response = client.post(_edit_url(group, feature), _feature_post("Mine now", {"unit": "days"}), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "writing to AWS failed" in html
    assert "not authorized to perform: sagemaker:UpdateFeatureMetadata" in html
    assert "Mine now" in html
    feature.refresh_from_db()
    assert feature.pantry_description == "Mine now"


def test_invalid_and_duplicate_parameters_show_form_errors(client, owner, group, feature, write_allowed, no_aws):
    client.force_login(owner)
    bad = client.post(_edit_url(group, feature), _feature_post("x", {"bad key!": "v"}))
    assert bad.status_code == 200
    assert "letters, numbers, spaces" in bad.content.decode()
    data = _feature_post("x", {"unit": "a"})
    data.update({"parameters-TOTAL_FORMS": "2", "parameters-1-key": "unit", "parameters-1-value": "b"})
    dup = client.post(_edit_url(group, feature), data)
    assert "appears twice" in dup.content.decode()
    half = client.post(_edit_url(group, feature), _feature_post("x", {"lonely": ""}))
    assert "cannot be empty" in half.content.decode()
    assert not DescriptionEdit.objects.exists()


def test_preview_returns_sanitised_html(client, owner, group):
    client.force_login(owner)
    response = client.post(
        reverse("catalog:description_preview", args=[group.uuid]),
        {"description": "**hi** <script>alert(1)</script> [x](javascript:alert(2))"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>hi</strong>" in html
    assert "<script" not in html and "javascript:" not in html
    assert "<html" not in html


def test_preview_of_an_over_long_text_shows_the_limit(client, owner, group):
    client.force_login(owner)
    response = client.post(
        reverse("catalog:description_preview", args=[group.uuid]),
        {"description": "x" * (services.MAX_DESCRIPTION_LENGTH + 1)},
    )
    assert "at most 20,000 characters" in response.content.decode()


def test_edit_form_uses_htmx_preview_without_inline_scripts(client, owner, group, feature):
    client.force_login(owner)
    html = client.get(_edit_url(group, feature)).content.decode()
    assert 'hx-post="' + reverse("catalog:description_preview", args=[group.uuid]) in html
    assert_csp_clean(html)


# ---------------------------------------------------------------------------
# Who may edit
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["data_scientist", "governance", "operator"])
def test_people_who_see_but_do_not_own_the_group_get_403(request, client, persona, group, feature, reader_grant):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(group.get_absolute_url()).status_code == 200
    assert client.get(_edit_url(group)).status_code == 403
    assert client.post(_edit_url(group), {"description": "hijack"}).status_code == 403
    assert client.get(_edit_url(group, feature)).status_code == 403
    assert client.post(_edit_url(group, feature), _feature_post("hijack", {})).status_code == 403
    preview = reverse("catalog:description_preview", args=[group.uuid])
    assert client.post(preview, {"description": "x"}).status_code == 403
    assert not DescriptionEdit.objects.exists()


def test_outsider_gets_404_on_edit_forms_and_preview(client, outsider, group, feature):
    client.force_login(outsider)
    assert client.get(_edit_url(group)).status_code == 404
    assert client.post(_edit_url(group), {"description": "hijack"}).status_code == 404
    assert client.get(_edit_url(group, feature)).status_code == 404
    assert client.post(_edit_url(group, feature), _feature_post("hijack", {})).status_code == 404
    preview = reverse("catalog:description_preview", args=[group.uuid])
    assert client.post(preview, {"description": "x"}).status_code == 404
    assert not DescriptionEdit.objects.exists()


def test_owner_of_another_account_that_can_read_still_gets_403(client, org, group, reader_grant):
    consumer_owner = UserFactory(username="cora")
    MembershipFactory(user=consumer_owner, account=org.consumer, role=Membership.Role.OWNER)
    client.force_login(consumer_owner)
    assert client.get(_edit_url(group)).status_code == 403


def test_owner_gets_403_on_a_deleted_group(client, owner, group):
    FeatureGroup.objects.filter(pk=group.pk).update(deleted_at=timezone.now())
    client.force_login(owner)
    assert client.get(_edit_url(group)).status_code == 403


def test_preview_only_accepts_post(client, owner, group):
    client.force_login(owner)
    assert client.get(reverse("catalog:description_preview", args=[group.uuid])).status_code == 405
