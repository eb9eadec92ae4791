"""AWS RAM in the sandbox: SageMaker feature groups and catalogs shared across accounts, over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from sandbox import control
from sandbox.seed import trust_policy

from .conftest import REGION, make_client
from .ram_helpers import (
    ADMIN,
    CATALOG_SEARCH,
    MEMBER,
    MGMT,
    OUTSIDER,
    OWNER,
    PERM,
    READ_ONLY,
    READ_WRITE,
    STRANGER,
    catalog_arn,
    client,
    create_group,
    error_of,
    fg_arn,
    share,
)


def invitations(url: str, account: str, **kwargs) -> list[dict]:
    return client(url, "ram", account).get_resource_share_invitations(**kwargs)["resourceShareInvitations"]


def principal_association(url: str, share_arn: str, principal: str) -> dict:
    return client(url, "ram", OWNER).get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share_arn], principal=principal
    )["resourceShareAssociations"][0]


def can_describe(url: str, account: str, arn: str) -> bool:
    try:
        client(url, "sagemaker", account).describe_feature_group(FeatureGroupName=arn)
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDeniedException"
        return False


# --------------------------------------------------------------------------- managed permissions


def test_list_permissions_gives_the_sagemaker_managed_permissions_as_aws_names_them(org):
    ram = client(org["url"], "ram", OWNER)
    groups = ram.list_permissions(resourceType="sagemaker:FeatureGroup")["permissions"]
    assert sorted(p["name"] for p in groups) == [
        "AWSRAMPermissionSageMakerFeatureGroupReadOnly",
        "AWSRAMPermissionSagemakerFeatureGroupAdmin",
        "AWSRAMPermissionSagemakerFeatureGroupReadWrite",
    ]
    for p in groups:
        assert p["arn"] == PERM + p["name"]
        assert (p["version"], p["defaultVersion"], p["status"], p["permissionType"]) == (
            "1",
            True,
            "ATTACHABLE",
            "AWS_MANAGED",
        )
    assert [p["name"] for p in groups if p["isResourceTypeDefault"]] == [
        "AWSRAMPermissionSageMakerFeatureGroupReadOnly"
    ]
    catalog = ram.list_permissions(resourceType="sagemaker:SagemakerCatalog")["permissions"]
    assert [(p["arn"], p["isResourceTypeDefault"]) for p in catalog] == [(CATALOG_SEARCH, True)]

    policy = json.loads(ram.get_permission(permissionArn=READ_WRITE)["permission"]["permission"])
    assert set(policy["Action"]) == {
        "sagemaker:DescribeFeatureGroup",
        "sagemaker:DescribeFeatureMetadata",
        "sagemaker:GetRecord",
        "sagemaker:BatchGetRecord",
        "sagemaker:PutRecord",
        "sagemaker:DeleteRecord",
    }
    # Unfiltered, RAM lists other services' permissions too; paging reaches all of them once.
    seen, token = [], None
    while True:
        page = ram.list_permissions(maxResults=7, **({"nextToken": token} if token else {}))
        assert len(page["permissions"]) <= 7
        seen += [p["arn"] for p in page["permissions"]]
        token = page.get("nextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) > 10 and READ_ONLY in seen
    assert error_of(ram.list_permissions, resourceType="sagemaker:Unicorn")["code"] == "InvalidParameterException"
    assert (
        error_of(ram.get_permission, permissionArn=PERM + "AWSRAMPermissionNope")["code"] == "UnknownResourceException"
    )


# --------------------------------------------------------------------------- organisation vs invitation


def test_member_of_the_owners_organisation_gets_access_at_once_without_an_invitation(org):
    url = org["url"]
    arn = fg_arn("orders_features")
    assert not can_describe(url, MEMBER, arn)
    created = share(url, [MEMBER], [arn], clientToken="req-1")
    assert created["status"] == "ACTIVE" and created["owningAccountId"] == OWNER

    assoc = principal_association(url, created["resourceShareArn"], MEMBER)
    assert (assoc["status"], assoc["external"]) == ("ASSOCIATED", False)
    assert invitations(url, MEMBER) == []
    assert can_describe(url, MEMBER, arn)
    meta = client(url, "sagemaker", MEMBER).describe_feature_metadata(FeatureGroupName=arn, FeatureName="score")
    assert meta["FeatureGroupArn"] == arn
    # ReadOnly does not include UpdateFeatureMetadata, and another group stays private.
    err = error_of(
        client(url, "sagemaker", MEMBER).update_feature_metadata,
        FeatureGroupName=arn,
        FeatureName="score",
        Description="x",
    )
    assert err["code"] == "AccessDeniedException"
    assert not can_describe(url, MEMBER, fg_arn("payments_features"))
    assert not can_describe(url, STRANGER, arn)


def test_account_outside_the_organisation_must_accept_the_invitation_first(org):
    url = org["url"]
    arn = fg_arn("orders_features")
    created = share(url, [OUTSIDER], [arn])
    assoc = principal_association(url, created["resourceShareArn"], OUTSIDER)
    assert (assoc["status"], assoc["external"]) == ("ASSOCIATING", True)
    [invitation] = invitations(url, OUTSIDER)
    assert invitation["status"] == "PENDING"
    assert invitation["senderAccountId"] == OWNER and invitation["receiverAccountId"] == OUTSIDER
    assert invitation["resourceShareInvitationArn"].startswith(
        f"arn:aws:ram:{REGION}:{OWNER}:resource-share-invitation/"
    )
    pending = client(url, "ram", OUTSIDER).list_pending_invitation_resources(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )["resources"]
    assert [(r["arn"], r["type"]) for r in pending] == [(arn, "sagemaker:FeatureGroup")]
    # The share is visible to the invitee, but grants nothing yet.
    others = client(url, "ram", OUTSIDER).get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    assert [s["resourceShareArn"] for s in others] == [created["resourceShareArn"]]
    assert client(url, "ram", OUTSIDER).list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"] == []
    assert not can_describe(url, OUTSIDER, arn)

    accepted = client(url, "ram", OUTSIDER).accept_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )["resourceShareInvitation"]
    assert accepted["status"] == "ACCEPTED"
    assert principal_association(url, created["resourceShareArn"], OUTSIDER)["status"] == "ASSOCIATED"
    assert can_describe(url, OUTSIDER, arn)
    resources = client(url, "ram", OUTSIDER).list_resources(
        resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:FeatureGroup"
    )["resources"]
    assert [(r["arn"], r["status"], r["resourceShareArn"]) for r in resources] == [
        (arn, "AVAILABLE", created["resourceShareArn"])
    ]
    # A group added to the accepted share is available at once, without a new invitation.
    client(url, "ram", OWNER).associate_resource_share(
        resourceShareArn=created["resourceShareArn"], resourceArns=[fg_arn("payments_features")]
    )
    assert can_describe(url, OUTSIDER, fg_arn("payments_features"))
    assert len(invitations(url, OUTSIDER)) == 1


def test_members_get_invitations_too_while_organisation_sharing_is_off(clean_sandbox):
    url = clean_sandbox.url
    mgmt = client(url, "organizations", MGMT, "us-east-1")
    mgmt.create_organization(FeatureSet="ALL")
    handshake = mgmt.invite_account_to_organization(Target={"Id": OWNER, "Type": "ACCOUNT"})["Handshake"]
    client(url, "organizations", OWNER, "us-east-1").accept_handshake(HandshakeId=handshake["Id"])
    handshake = mgmt.invite_account_to_organization(Target={"Id": MEMBER, "Type": "ACCOUNT"})["Handshake"]
    client(url, "organizations", MEMBER, "us-east-1").accept_handshake(HandshakeId=handshake["Id"])
    assert client(url, "organizations", MEMBER, "us-east-1").describe_organization()["Organization"]["Id"]
    arn = create_group(url, "orders_features")

    created = share(url, [MEMBER], [arn])
    assert principal_association(url, created["resourceShareArn"], MEMBER)["status"] == "ASSOCIATING"
    assert [i["status"] for i in invitations(url, MEMBER)] == ["PENDING"]
    # Sharing with the whole organisation needs organisation sharing, enabled by the management account.
    org_arn = mgmt.describe_organization()["Organization"]["Arn"]
    assert error_of(share, url, [org_arn], [arn])["code"] == "OperationNotPermittedException"
    assert (
        error_of(client(url, "ram", OWNER).enable_sharing_with_aws_organization)["code"]
        == "OperationNotPermittedException"
    )
    assert client(url, "ram", MGMT).enable_sharing_with_aws_organization()["returnValue"] is True
    organisation_wide = share(url, [org_arn], [fg_arn("orders_features")], name="everyone")
    assert principal_association(url, organisation_wide["resourceShareArn"], org_arn)["status"] == "ASSOCIATED"
    assert can_describe(url, MEMBER, arn) and not can_describe(url, OUTSIDER, arn)


def test_organisational_unit_principal_reaches_only_accounts_in_that_unit(org):
    url = org["url"]
    consumers_ou = next(ou for ou in org["organization"]["organizational_units"] if ou["name"] == "consumers")
    created = share(url, [consumers_ou["arn"]], [fg_arn("orders_features")])
    assert principal_association(url, created["resourceShareArn"], consumers_ou["arn"])["status"] == "ASSOCIATED"
    assert can_describe(url, MEMBER, fg_arn("orders_features"))
    assert not can_describe(url, OUTSIDER, fg_arn("orders_features"))
    principals = client(url, "ram", MEMBER).list_principals(resourceOwner="OTHER-ACCOUNTS")["principals"]
    assert [(p["id"], p["resourceShareArn"]) for p in principals] == [
        (consumers_ou["arn"], created["resourceShareArn"])
    ]
    # An account that leaves the organisation loses organisation-scoped access at once.
    client(url, "organizations", MGMT, "us-east-1").remove_account_from_organization(AccountId=MEMBER)
    assert not can_describe(url, MEMBER, fg_arn("orders_features"))


# --------------------------------------------------------------------------- invitation lifecycle


def test_invitation_expires_after_12_hours_of_sandbox_time_and_can_be_sent_again(org):
    url = org["url"]
    created = share(url, [OUTSIDER], [fg_arn("orders_features")])
    [invitation] = invitations(url, OUTSIDER)
    control.move_clock(url, advance=dt.timedelta(hours=11, minutes=59))
    assert invitations(url, OUTSIDER)[0]["status"] == "PENDING"
    control.move_clock(url, advance=dt.timedelta(minutes=2))
    assert invitations(url, OUTSIDER)[0]["status"] == "EXPIRED"
    err = error_of(
        client(url, "ram", OUTSIDER).accept_resource_share_invitation,
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"],
    )
    assert err["code"] == "ResourceShareInvitationExpiredException" and err["status"] == 400
    assoc = principal_association(url, created["resourceShareArn"], OUTSIDER)
    assert assoc["status"] == "DISASSOCIATED" and "expired" in assoc["statusMessage"]
    assert not can_describe(url, OUTSIDER, fg_arn("orders_features"))

    # The owner shares again: a new invitation, which can be accepted.
    client(url, "ram", OWNER).associate_resource_share(
        resourceShareArn=created["resourceShareArn"], principals=[OUTSIDER]
    )
    statuses = {i["resourceShareInvitationArn"]: i["status"] for i in invitations(url, OUTSIDER)}
    assert sorted(statuses.values()) == ["EXPIRED", "PENDING"]
    fresh = next(a for a, s in statuses.items() if s == "PENDING")
    client(url, "ram", OUTSIDER).accept_resource_share_invitation(resourceShareInvitationArn=fresh)
    assert can_describe(url, OUTSIDER, fg_arn("orders_features"))
    clock = control.get_clock(url)
    assert clock["offset_seconds"] == pytest.approx(12 * 3600 + 60, abs=5)


def test_only_the_invited_account_answers_and_only_once(org):
    url = org["url"]
    share(url, [OUTSIDER], [fg_arn("orders_features")])
    share(url, [OUTSIDER], [fg_arn("payments_features")], name="second")
    first, second = (i["resourceShareInvitationArn"] for i in invitations(url, OUTSIDER))
    assert invitations(url, STRANGER) == []
    assert (
        error_of(client(url, "ram", OWNER).accept_resource_share_invitation, resourceShareInvitationArn=first)["code"]
        == "OperationNotPermittedException"
    )
    assert (
        error_of(client(url, "ram", STRANGER).reject_resource_share_invitation, resourceShareInvitationArn=first)[
            "code"
        ]
        == "ResourceShareInvitationArnNotFoundException"
    )
    outsider = client(url, "ram", OUTSIDER)
    outsider.accept_resource_share_invitation(resourceShareInvitationArn=first)
    assert (
        error_of(outsider.accept_resource_share_invitation, resourceShareInvitationArn=first)["code"]
        == "ResourceShareInvitationAlreadyAcceptedException"
    )
    assert (
        error_of(outsider.reject_resource_share_invitation, resourceShareInvitationArn=first)["code"]
        == "ResourceShareInvitationAlreadyAcceptedException"
    )
    assert (
        outsider.reject_resource_share_invitation(resourceShareInvitationArn=second)["resourceShareInvitation"][
            "status"
        ]
        == "REJECTED"
    )
    assert (
        error_of(outsider.accept_resource_share_invitation, resourceShareInvitationArn=second)["code"]
        == "ResourceShareInvitationAlreadyRejectedException"
    )
    assert can_describe(url, OUTSIDER, fg_arn("orders_features"))
    assert not can_describe(url, OUTSIDER, fg_arn("payments_features"))


# --------------------------------------------------------------------------- idempotency


def test_client_token_replays_the_same_call_and_refuses_other_parameters(org):
    url = org["url"]
    ram = client(url, "ram", OWNER)
    first = share(url, [OUTSIDER], [fg_arn("orders_features")], clientToken="approval-42")
    again = share(url, [OUTSIDER], [fg_arn("orders_features")], clientToken="approval-42")
    assert again["resourceShareArn"] == first["resourceShareArn"]
    assert len(ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]) == 1
    assert len(invitations(url, OUTSIDER)) == 1
    err = error_of(share, url, [OUTSIDER], [fg_arn("payments_features")], clientToken="approval-42")
    assert err["code"] == "IdempotentParameterMismatchException" and err["status"] == 400

    associate = {"resourceShareArn": first["resourceShareArn"], "resourceArns": [fg_arn("payments_features")]}
    one = ram.associate_resource_share(clientToken="extend-7", **associate)
    two = ram.associate_resource_share(clientToken="extend-7", **associate)
    assert one["resourceShareAssociations"] == two["resourceShareAssociations"] and one["clientToken"] == "extend-7"
    assert (
        error_of(
            ram.associate_resource_share,
            clientToken="extend-7",
            resourceShareArn=first["resourceShareArn"],
            principals=[MEMBER],
        )["code"]
        == "IdempotentParameterMismatchException"
    )

    [invitation] = invitations(url, OUTSIDER)
    outsider = client(url, "ram", OUTSIDER)
    accept = {"resourceShareInvitationArn": invitation["resourceShareInvitationArn"], "clientToken": "accept-1"}
    assert outsider.accept_resource_share_invitation(**accept)["resourceShareInvitation"]["status"] == "ACCEPTED"
    # A retried accept with the same token succeeds instead of "already accepted".
    assert outsider.accept_resource_share_invitation(**accept)["resourceShareInvitation"]["status"] == "ACCEPTED"
    assert error_of(share, url, [MEMBER], [fg_arn("orders_features")], clientToken="x" * 65)["code"] == (
        "InvalidClientTokenException"
    )


# --------------------------------------------------------------------------- permission levels


def test_access_follows_the_managed_permission_and_replacing_it_takes_effect_at_once(org):
    url = org["url"]
    ram = client(url, "ram", OWNER)
    arn = fg_arn("orders_features")
    created = share(url, [MEMBER], [arn], permission=READ_WRITE)
    member = client(url, "sagemaker", MEMBER)
    update = {"FeatureGroupName": arn, "FeatureName": "score", "Description": "Probability of churn"}
    assert error_of(member.update_feature_metadata, **update)["code"] == "AccessDeniedException"

    err = error_of(
        ram.associate_resource_share_permission, resourceShareArn=created["resourceShareArn"], permissionArn=ADMIN
    )
    assert err["code"] == "InvalidParameterException" and "replace" in err["message"]
    assert ram.associate_resource_share_permission(
        resourceShareArn=created["resourceShareArn"], permissionArn=ADMIN, replace=True, clientToken="upgrade-1"
    )["returnValue"]
    listed = ram.list_resource_share_permissions(resourceShareArn=created["resourceShareArn"])["permissions"]
    assert [(p["arn"], p["resourceType"]) for p in listed] == [(ADMIN, "sagemaker:FeatureGroup")]
    member.update_feature_metadata(**update)
    owner_view = client(url, "sagemaker", OWNER).describe_feature_metadata(
        FeatureGroupName="orders_features", FeatureName="score"
    )
    assert owner_view["Description"] == "Probability of churn"
    # The share lists under its permission; the consumer sees the permission too.
    assert [
        s["resourceShareArn"]
        for s in ram.get_resource_shares(resourceOwner="SELF", permissionArn=ADMIN)["resourceShares"]
    ] == [created["resourceShareArn"]]
    assert (
        client(url, "ram", MEMBER).list_resource_share_permissions(resourceShareArn=created["resourceShareArn"])[
            "permissions"
        ][0]["arn"]
        == ADMIN
    )


def test_a_share_without_permission_arns_gets_each_types_default(org):
    url = org["url"]
    created = share(url, [MEMBER], [fg_arn("orders_features"), catalog_arn()], permission=None)
    listed = client(url, "ram", OWNER).list_resource_share_permissions(resourceShareArn=created["resourceShareArn"])
    assert {p["resourceType"]: p["arn"] for p in listed["permissions"]} == {
        "sagemaker:FeatureGroup": READ_ONLY,
        "sagemaker:SagemakerCatalog": CATALOG_SEARCH,
    }


# --------------------------------------------------------------------------- discoverability


def test_catalog_share_makes_the_owners_groups_searchable_but_not_readable(org):
    url = org["url"]
    member = client(url, "sagemaker", MEMBER)

    def cross_account_names() -> list[str]:
        results = member.search(Resource="FeatureGroup", CrossAccountFilterOption="CrossAccount")["Results"]
        return sorted(r["FeatureGroup"]["FeatureGroupName"] for r in results)

    assert cross_account_names() == []
    share(url, [MEMBER], [catalog_arn()], permission=CATALOG_SEARCH)
    assert cross_account_names() == ["orders_features", "payments_features"]  # not the us-east-1 group
    assert (
        client(url, "sagemaker", MEMBER, "us-east-1").search(
            Resource="FeatureGroup", CrossAccountFilterOption="CrossAccount"
        )["Results"]
        == []
    )
    assert not can_describe(url, MEMBER, fg_arn("orders_features"))
    outsider = client(url, "sagemaker", OUTSIDER)
    assert outsider.search(Resource="FeatureGroup", CrossAccountFilterOption="CrossAccount")["Results"] == []


# --------------------------------------------------------------------------- ending access


def test_disassociating_or_deleting_ends_access(org):
    url = org["url"]
    ram = client(url, "ram", OWNER)
    arn = fg_arn("orders_features")
    first = share(url, [MEMBER], [arn])
    second = share(url, [MEMBER], [fg_arn("payments_features")], name="second")
    gone = ram.disassociate_resource_share(resourceShareArn=first["resourceShareArn"], principals=[MEMBER])
    assert [a["status"] for a in gone["resourceShareAssociations"]] == ["DISASSOCIATING"]
    assert principal_association(url, first["resourceShareArn"], MEMBER)["status"] == "DISASSOCIATED"
    assert not can_describe(url, MEMBER, arn)

    assert ram.delete_resource_share(resourceShareArn=second["resourceShareArn"], clientToken="revoke-9")["returnValue"]
    assert not can_describe(url, MEMBER, fg_arn("payments_features"))
    deleted = ram.get_resource_shares(resourceOwner="SELF", resourceShareStatus="DELETED")["resourceShares"]
    assert [s["resourceShareArn"] for s in deleted] == [second["resourceShareArn"]]
    assert client(url, "ram", MEMBER).get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"] == []
    assert (
        error_of(ram.delete_resource_share, resourceShareArn=second["resourceShareArn"])["code"]
        == "InvalidStateTransitionException"
    )
    # The same token replays the first delete's answer instead of failing.
    assert ram.delete_resource_share(resourceShareArn=second["resourceShareArn"], clientToken="revoke-9")["returnValue"]
    assert (
        error_of(ram.associate_resource_share, resourceShareArn=second["resourceShareArn"], principals=[MEMBER])["code"]
        == "InvalidStateTransitionException"
    )


def test_receiver_outside_the_organisation_can_leave_an_accepted_share(org):
    url = org["url"]
    created = share(url, [OUTSIDER], [fg_arn("orders_features")])
    [invitation] = invitations(url, OUTSIDER)
    outsider = client(url, "ram", OUTSIDER)
    outsider.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    outsider.disassociate_resource_share(resourceShareArn=created["resourceShareArn"], principals=[OUTSIDER])
    assert not can_describe(url, OUTSIDER, fg_arn("orders_features"))
    assert (
        error_of(
            outsider.disassociate_resource_share,
            resourceShareArn=created["resourceShareArn"],
            resourceArns=[fg_arn("orders_features")],
        )["code"]
        == "UnknownResourceException"
    )


# --------------------------------------------------------------------------- bad input and limits


def test_bad_input_gets_rams_error_codes_and_changes_nothing(org):
    url = org["url"]
    ram = client(url, "ram", OWNER)
    unknown_share = f"arn:aws:ram:{REGION}:{OWNER}:resource-share/00000000-0000-0000-0000-000000000000"
    cases = [
        (ram.get_resource_shares, {"resourceOwner": "EVERYONE"}, "InvalidParameterException"),
        (ram.get_resource_shares, {"resourceOwner": "SELF", "maxResults": 501}, "InvalidParameterException"),
        (
            ram.get_resource_shares,
            {"resourceOwner": "SELF", "nextToken": "bm90LWEtdG9rZW4="},
            "InvalidNextTokenException",
        ),
        (ram.get_resource_shares, {"resourceOwner": "SELF", "resourceShareArns": ["share-1"]}, "MalformedArnException"),
        (
            ram.associate_resource_share,
            {"resourceShareArn": unknown_share, "principals": [MEMBER]},
            "UnknownResourceException",
        ),
        (
            ram.get_resource_share_associations,
            {"associationType": "PRINCIPAL", "resourceArn": fg_arn("orders_features")},
            "InvalidParameterException",
        ),
        (
            ram.list_resources,
            {"resourceOwner": "SELF", "resourceType": "sagemaker:Unicorn"},
            "InvalidResourceTypeException",
        ),
    ]
    for call, params, code in cases:
        err = error_of(call, **params)
        assert (err["code"], err["status"]) == (code, 400), (call, params, err)
        assert err["message"] and "Traceback" not in err["message"] and "object at 0x" not in err["message"]

    bad_shares = [
        ({"principals": ["not-an-account"], "resourceArns": [fg_arn("orders_features")]}, "InvalidParameterException"),
        ({"principals": [MEMBER], "resourceArns": ["feature-group/orders"]}, "MalformedArnException"),
        ({"principals": [MEMBER], "resourceArns": [fg_arn("no_such_group")]}, "UnknownResourceException"),
        ({"principals": [MEMBER], "resourceArns": [fg_arn("x", account=STRANGER)]}, "UnknownResourceException"),
        (
            {"principals": [MEMBER], "resourceArns": [fg_arn("us_only_features", region="us-east-1")]},
            "UnknownResourceException",
        ),
        ({"principals": [MEMBER], "permissionArns": [PERM + "AWSRAMPermissionMadeUp"]}, "UnknownResourceException"),
        ({"principals": [MEMBER], "permissionArns": [READ_ONLY, ADMIN]}, "InvalidParameterException"),
        ({"principals": [f"arn:aws:iam::{MEMBER}:role/DataScientist"]}, "InvalidParameterException"),
        (
            {"principals": [OUTSIDER], "allowExternalPrincipals": False, "resourceArns": [fg_arn("orders_features")]},
            "OperationNotPermittedException",
        ),
    ]
    for params, code in bad_shares:
        err = error_of(ram.create_resource_share, name="bad", **params)
        assert err["code"] == code, (params, err)
    assert ram.get_resource_shares(resourceOwner="SELF")["resourceShares"] == []
    assert invitations(url, OUTSIDER) == []

    created = share(url, [MEMBER], [fg_arn("orders_features")])
    err = error_of(
        ram.associate_resource_share,
        resourceShareArn=created["resourceShareArn"],
        resourceArns=[fg_arn("payments_features")],
        principals=["bad principal"],
    )
    assert err["code"] == "InvalidParameterException"
    resources = ram.get_resource_share_associations(associationType="RESOURCE")["resourceShareAssociations"]
    assert [r["associatedEntity"] for r in resources] == [fg_arn("orders_features")]

    # The REST-JSON error document RAM sends: code in X-Amzn-ErrorType, {"__type", "message"} body.
    request = urllib.request.Request(f"{url}/getresourceshares", data=b'{"resourceOwner": "NOBODY"}', method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/ram/aws4_request")
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(request, timeout=10)
    assert raw.value.code == 400
    assert raw.value.headers["X-Amzn-ErrorType"] == "InvalidParameterException"
    body = json.loads(raw.value.read())
    assert body["__type"] == "InvalidParameterException" and "NOBODY" in body["message"]


def test_an_owner_may_have_at_most_20_pending_invitations(org):
    url = org["url"]
    outsiders = [f"7777777777{i:02d}" for i in range(21)]
    created = share(url, outsiders[:20], [fg_arn("orders_features")])
    err = error_of(
        client(url, "ram", OWNER).associate_resource_share,
        resourceShareArn=created["resourceShareArn"],
        principals=[outsiders[20]],
    )
    assert err["code"] == "ResourceShareLimitExceededException"
    assert invitations(url, outsiders[20]) == []
    # Answering one frees a slot.
    [invitation] = invitations(url, outsiders[0])
    client(url, "ram", outsiders[0]).reject_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )
    client(url, "ram", OWNER).associate_resource_share(
        resourceShareArn=created["resourceShareArn"], principals=[outsiders[20]]
    )
    assert [i["status"] for i in invitations(url, outsiders[20])] == ["PENDING"]


def test_pages_cover_every_share_once_and_tokens_belong_to_their_query(org):
    url = org["url"]
    ram = client(url, "ram", OWNER)
    arns = [share(url, [MEMBER], [fg_arn("orders_features")], name=f"share-{i}")["resourceShareArn"] for i in range(7)]
    pages = list(
        ram.get_paginator("get_resource_shares").paginate(resourceOwner="SELF", PaginationConfig={"PageSize": 3})
    )
    assert [len(p["resourceShares"]) for p in pages] == [3, 3, 1]
    assert [s["resourceShareArn"] for p in pages for s in p["resourceShares"]] == arns  # oldest first
    token = pages[0]["nextToken"]
    assert (
        error_of(ram.get_resource_shares, resourceOwner="SELF", name="share-1", nextToken=token)["code"]
        == "InvalidNextTokenException"
    )
    assert len(ram.get_resource_shares(resourceOwner="SELF", name="share-1")["resourceShares"]) == 1
    tagged = share(
        url, [MEMBER], [fg_arn("orders_features")], name="tagged", tags=[{"key": "pantry:request", "value": "42"}]
    )
    found = ram.get_resource_shares(
        resourceOwner="SELF", tagFilters=[{"tagKey": "pantry:request", "tagValues": ["42"]}]
    )
    assert [s["resourceShareArn"] for s in found["resourceShares"]] == [tagged["resourceShareArn"]]
    member_pages = (
        client(url, "ram", MEMBER)
        .get_paginator("list_resources")
        .paginate(resourceOwner="OTHER-ACCOUNTS", PaginationConfig={"PageSize": 2})
    )
    assert sum(len(p["resources"]) for p in member_pages) == 8


# --------------------------------------------------------------------------- control plane


def test_control_routes_grant_through_real_ram_shares(org):
    url = org["url"]
    arn = fg_arn("orders_features")
    control.set_feature_group_access(url, arn, OUTSIDER, "ReadOnly")
    assert can_describe(url, OUTSIDER, arn)
    owned = client(url, "ram", OWNER).get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert [s["name"] for s in owned] == [f"sandbox-access-ReadOnly-{OUTSIDER}"]
    assert [i["status"] for i in invitations(url, OUTSIDER)] == ["ACCEPTED"]
    state = control.set_feature_group_access(url, arn, OUTSIDER, "Admin")
    assert state["feature_group_access"][arn] == {OUTSIDER: "Admin"}
    control.set_feature_group_access(url, arn, OUTSIDER, None)
    assert not can_describe(url, OUTSIDER, arn)

    state = control.set_discoverable(url, OWNER, REGION, [MEMBER, OUTSIDER])
    assert {"owner_account": OWNER, "region": REGION, "consumer_accounts": [MEMBER, OUTSIDER]} in state["discoverable"]
    state = control.set_discoverable(url, OWNER, REGION, [])
    assert state["discoverable"] == []
    with pytest.raises(urllib.error.HTTPError) as bad:
        control.set_feature_group_access(url, fg_arn("no_such_group"), OUTSIDER, "ReadOnly")
    assert bad.value.code == 400 and "UnknownResourceException" in json.loads(bad.value.read())["error"]


def test_clock_control_moves_and_resets_the_sandbox_clock(clean_sandbox):
    url = clean_sandbox.url
    before = dt.datetime.fromisoformat(control.get_clock(url)["now"].replace("Z", "+00:00"))
    moved = control.move_clock(url, now=dt.datetime(2031, 5, 1, 9, 30, tzinfo=dt.UTC))
    assert moved["now"].startswith("2031-05-01T09:30")
    moved = control.move_clock(url, advance=3600)
    assert moved["now"].startswith("2031-05-01T10:30")
    assert control.move_clock(url, offset=0)["offset_seconds"] == pytest.approx(0, abs=1)
    control.move_clock(url, advance=60)
    assert control.reset_clock(url)["offset_seconds"] == 0
    assert dt.datetime.fromisoformat(control.get_clock(url)["now"].replace("Z", "+00:00")) >= before
    for payload in (
        {},
        {"advance_seconds": 1, "now": "2030-01-01T00:00:00Z"},
        {"now": "yesterday"},
        {"advance_seconds": "x"},
    ):
        request = urllib.request.Request(f"{url}/_sandbox/clock", data=json.dumps(payload).encode(), method="POST")
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(request, timeout=10)
        assert bad.value.code == 400
        message = json.loads(bad.value.read())["error"]
        assert message.startswith("bad request: ") and "'" not in message  # no Python reprs


# --------------------------------------------------------------------------- AWS CLI


def _assumed_env(url: str, account: str) -> dict:
    """Credentials for ``account`` the way a person gets them: STS AssumeRole into a role there."""
    iam = client(url, "iam", account)
    try:
        iam.create_role(RoleName="RamAdmin", AssumeRolePolicyDocument=trust_policy("cli-test"))
    except ClientError:
        pass
    creds = make_client(url, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/RamAdmin", RoleSessionName="cli", ExternalId="cli-test"
    )["Credentials"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_SESSION_TOKEN=creds["SessionToken"],
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def aws(url: str, account: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--endpoint-url", url, "--output", "json"],
        env=_assumed_env(url, account),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_aws_cli_shares_lists_and_accepts(org):
    url = org["url"]
    listed = aws(url, OWNER, "ram", "list-permissions", "--resource-type", "sagemaker:FeatureGroup")
    assert listed.returncode == 0, listed.stderr
    assert READ_WRITE in {p["arn"] for p in json.loads(listed.stdout)["permissions"]}

    created = aws(
        url,
        OWNER,
        "ram",
        "create-resource-share",
        "--name",
        "cli-share",
        "--resource-arns",
        fg_arn("orders_features"),
        "--principals",
        OUTSIDER,
        "--permission-arns",
        READ_ONLY,
        "--client-token",
        "cli-1",
    )
    assert created.returncode == 0, created.stderr
    share_arn = json.loads(created.stdout)["resourceShare"]["resourceShareArn"]

    pending = aws(url, OUTSIDER, "ram", "get-resource-share-invitations", "--resource-share-arns", share_arn)
    [invitation] = json.loads(pending.stdout)["resourceShareInvitations"]
    accepted = aws(
        url,
        OUTSIDER,
        "ram",
        "accept-resource-share-invitation",
        "--resource-share-invitation-arn",
        invitation["resourceShareInvitationArn"],
    )
    assert json.loads(accepted.stdout)["resourceShareInvitation"]["status"] == "ACCEPTED"
    described = aws(
        url, OUTSIDER, "sagemaker", "describe-feature-group", "--feature-group-name", fg_arn("orders_features")
    )
    assert json.loads(described.stdout)["FeatureGroupName"] == "orders_features"

    deleted = aws(url, OWNER, "ram", "delete-resource-share", "--resource-share-arn", share_arn)
    assert json.loads(deleted.stdout)["returnValue"] is True
    again = aws(url, OWNER, "ram", "delete-resource-share", "--resource-share-arn", share_arn)
    assert again.returncode != 0 and "(InvalidStateTransitionException)" in again.stderr


def test_injected_faults_name_ram_and_runtime_operations(org):
    url = org["url"]
    ram = client(url, "ram", OWNER)  # standard retry mode, three attempts
    control.inject_fault(
        url, service="ram", operation="CreateResourceShare", error_code="ThrottlingException", status=429, count=2
    )
    created = ram.create_resource_share(name="after-throttling", principals=[MEMBER])
    assert created["ResponseMetadata"]["RetryAttempts"] == 2
    control.inject_fault(
        url,
        service="ram",
        operation="AssociateResourceShare",
        error_code="ResourceShareLimitExceededException",
        account_id=OWNER,
        count=-1,
    )
    err = error_of(
        ram.associate_resource_share,
        resourceShareArn=created["resourceShare"]["resourceShareArn"],
        resourceArns=[fg_arn("orders_features")],
    )
    assert (err["code"], err["status"]) == ("ResourceShareLimitExceededException", 400)
    assert ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]  # other operations still work

    control.inject_fault(url, service="sagemaker", operation="PutRecord", error_code="ValidationError", count=1)
    runtime = client(url, "sagemaker-featurestore-runtime", OWNER)
    values = [
        {"FeatureName": "customer_id", "ValueAsString": "c-1"},
        {"FeatureName": "event_time", "ValueAsString": "1700000000"},
    ]
    assert error_of(runtime.put_record, FeatureGroupName="orders_features", Record=values)["code"] == "ValidationError"
    runtime.put_record(FeatureGroupName="orders_features", Record=values)
    assert runtime.get_record(FeatureGroupName="orders_features", RecordIdentifierValueAsString="c-1")["Record"]
