"""Every RAM operation Pantry uses, checked against botocore's RAM model: requests botocore
accepts, responses whose every member is in the model with the right type, errors the model lists
for the operation with the model's HTTP status."""

from __future__ import annotations

from botocore.exceptions import ClientError

from sandbox.seed import ensure_organisation

from .conftest import REGION
from .model_check import ResponseRecorder
from .ram_helpers import (
    CATALOG_SEARCH,
    MEMBER,
    MGMT,
    OUTSIDER,
    OWNER,
    READ_ONLY,
    READ_WRITE,
    catalog_arn,
    create_group,
    fg_arn,
    fresh_client,
)


def expect_error(call, **kwargs) -> str:
    try:
        call(**kwargs)
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded")


def test_every_ram_operation_matches_the_botocore_model(clean_sandbox):
    url = clean_sandbox.url
    ensure_organisation(url, MGMT, {"owners": [OWNER], "consumers": [MEMBER]})
    for name in ("orders_features", "payments_features"):
        create_group(url, name)
    owner, outsider, member, mgmt = (fresh_client(url, "ram", a) for a in (OWNER, OUTSIDER, MEMBER, MGMT))
    recorders = [ResponseRecorder(c) for c in (owner, outsider, member, mgmt)]

    mgmt.enable_sharing_with_aws_organization()
    owner.list_permissions(resourceType="sagemaker:FeatureGroup", permissionType="AWS_MANAGED", maxResults=2)
    owner.list_permissions()
    owner.get_permission(permissionArn=READ_ONLY)
    owner.list_permission_versions(permissionArn=CATALOG_SEARCH)
    owner.list_resource_types(resourceRegionScope="REGIONAL")
    created = owner.create_resource_share(
        name="orders-read-only",
        resourceArns=[fg_arn("orders_features")],
        principals=[OUTSIDER, MEMBER],
        permissionArns=[READ_ONLY],
        allowExternalPrincipals=True,
        clientToken="model-1",
        tags=[{"key": "pantry:consumer", "value": OUTSIDER}],
    )["resourceShare"]
    share_arn = created["resourceShareArn"]
    owner.create_resource_share(name="catalog", resourceArns=[catalog_arn()], principals=[MEMBER])
    owner.get_resource_shares(resourceOwner="SELF", maxResults=1)
    owner.get_resource_shares(
        resourceOwner="SELF",
        resourceShareStatus="ACTIVE",
        tagFilters=[{"tagKey": "pantry:consumer", "tagValues": [OUTSIDER]}],
        permissionArn=READ_ONLY,
    )
    owner.associate_resource_share(
        resourceShareArn=share_arn, resourceArns=[fg_arn("payments_features")], clientToken="model-2"
    )
    owner.get_resource_share_associations(associationType="RESOURCE", resourceShareArns=[share_arn])
    owner.get_resource_share_associations(associationType="PRINCIPAL", associationStatus="ASSOCIATING")
    owner.list_resources(resourceOwner="SELF", resourceType="sagemaker:FeatureGroup")
    owner.list_principals(resourceOwner="SELF", resourceArn=fg_arn("orders_features"))
    owner.list_resource_share_permissions(resourceShareArn=share_arn)
    owner.update_resource_share(resourceShareArn=share_arn, name="orders-shared", clientToken="model-3")
    owner.tag_resource(resourceShareArn=share_arn, tags=[{"key": "team", "value": "growth"}])
    owner.untag_resource(resourceShareArn=share_arn, tagKeys=["team"])

    [invitation] = outsider.get_resource_share_invitations(resourceShareArns=[share_arn])["resourceShareInvitations"]
    outsider.list_pending_invitation_resources(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])
    outsider.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")
    outsider.accept_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"], clientToken="model-4"
    )
    outsider.list_resources(resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:FeatureGroup")
    outsider.list_principals(resourceOwner="OTHER-ACCOUNTS")
    member.list_resources(resourceOwner="OTHER-ACCOUNTS", resourceShareArns=[share_arn])
    owner.associate_resource_share_permission(
        resourceShareArn=share_arn, permissionArn=READ_WRITE, replace=True, clientToken="model-5"
    )
    second = owner.create_resource_share(
        name="second", resourceArns=[fg_arn("orders_features")], principals=["777777777777"]
    )
    [other] = fresh_client(url, "ram", "777777777777").get_resource_share_invitations()["resourceShareInvitations"]
    rejecter = fresh_client(url, "ram", "777777777777")
    recorders.append(ResponseRecorder(rejecter))
    rejecter.reject_resource_share_invitation(resourceShareInvitationArn=other["resourceShareInvitationArn"])
    owner.disassociate_resource_share(resourceShareArn=share_arn, principals=[MEMBER], clientToken="model-6")
    owner.disassociate_resource_share(
        resourceShareArn=second["resourceShare"]["resourceShareArn"], resourceArns=[fg_arn("orders_features")]
    )
    owner.disassociate_resource_share_permission(
        resourceShareArn=second["resourceShare"]["resourceShareArn"], permissionArn=READ_ONLY
    )
    owner.delete_resource_share(resourceShareArn=share_arn, clientToken="model-7")

    # Errors: each a code the operation models, with the model's HTTP status.
    unknown = f"arn:aws:ram:{REGION}:{OWNER}:resource-share/00000000-0000-0000-0000-000000000000"
    codes = [
        expect_error(owner.get_resource_shares, resourceOwner="ANYONE"),
        expect_error(owner.get_resource_shares, resourceOwner="SELF", nextToken="garbage"),
        expect_error(owner.associate_resource_share, resourceShareArn=unknown, principals=[MEMBER]),
        expect_error(owner.associate_resource_share, resourceShareArn=share_arn, principals=[MEMBER]),
        expect_error(owner.create_resource_share, name="x", resourceArns=["not-an-arn"]),
        expect_error(owner.create_resource_share, name="x", clientToken="model-1"),
        expect_error(owner.associate_resource_share_permission, resourceShareArn=unknown, permissionArn=READ_ONLY),
        expect_error(owner.list_resources, resourceOwner="SELF", resourceType="sagemaker:Nothing"),
        expect_error(owner.delete_resource_share, resourceShareArn=share_arn),
        expect_error(
            outsider.accept_resource_share_invitation,
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"],
        ),
        expect_error(
            rejecter.accept_resource_share_invitation, resourceShareInvitationArn=other["resourceShareInvitationArn"]
        ),
        expect_error(owner.get_resource_share_invitations, maxResults=900),
        expect_error(owner.enable_sharing_with_aws_organization),
        expect_error(owner.get_permission, permissionArn="arn:aws:ram::aws:permission/Nope"),
        expect_error(owner.list_resource_share_permissions, resourceShareArn=unknown),
        # The aws: prefix (in any case) is AWS's own: a reserved tag key.
        expect_error(
            owner.tag_resource,
            resourceShareArn=second["resourceShare"]["resourceShareArn"],
            tags=[{"key": "aws:team", "value": "growth"}],
        ),
        expect_error(
            owner.create_resource_share, name="x", principals=[MEMBER], tags=[{"key": "AWS:Team", "value": "x"}]
        ),
    ]
    assert codes == [
        "InvalidParameterException",
        "InvalidNextTokenException",
        "UnknownResourceException",
        "InvalidStateTransitionException",
        "MalformedArnException",
        "IdempotentParameterMismatchException",
        "UnknownResourceException",
        "InvalidResourceTypeException",
        "InvalidStateTransitionException",
        "ResourceShareInvitationArnNotFoundException",
        "ResourceShareInvitationAlreadyRejectedException",
        "InvalidMaxResultsException",
        "OperationNotPermittedException",
        "UnknownResourceException",
        "UnknownResourceException",
        "TagPolicyViolationException",
        "TagPolicyViolationException",
    ]
    calls = [c for r in recorders for c in r.calls]
    operations = {model.name for model, _, _ in calls}
    assert operations >= {
        "CreateResourceShare",
        "GetResourceShares",
        "AssociateResourceShare",
        "DisassociateResourceShare",
        "AssociateResourceSharePermission",
        "DisassociateResourceSharePermission",
        "GetResourceShareAssociations",
        "ListResources",
        "ListPrincipals",
        "ListResourceSharePermissions",
        "ListPermissions",
        "GetPermission",
        "GetResourceShareInvitations",
        "AcceptResourceShareInvitation",
        "RejectResourceShareInvitation",
        "ListPendingInvitationResources",
        "DeleteResourceShare",
        "EnableSharingWithAwsOrganization",
        "UpdateResourceShare",
        "TagResource",
        "UntagResource",
    }
    assert [p for r in recorders for p in r.problems()] == []
    assert [p for r in recorders for p in r.error_problems()] == []


def test_organizations_handshake_operations_match_the_botocore_model(clean_sandbox):
    url = clean_sandbox.url
    mgmt = fresh_client(url, "organizations", MGMT, "us-east-1")
    invited = fresh_client(url, "organizations", OWNER, "us-east-1")
    recorders = [ResponseRecorder(mgmt), ResponseRecorder(invited)]
    mgmt.create_organization(FeatureSet="ALL")
    handshake = mgmt.invite_account_to_organization(Target={"Id": OWNER, "Type": "ACCOUNT"}, Notes="welcome")[
        "Handshake"
    ]
    assert invited.list_handshakes_for_account()["Handshakes"][0]["State"] == "OPEN"
    invited.describe_handshake(HandshakeId=handshake["Id"])
    invited.accept_handshake(HandshakeId=handshake["Id"])
    assert invited.describe_organization()["Organization"]["MasterAccountId"] == MGMT
    assert expect_error(invited.accept_handshake, HandshakeId=handshake["Id"]) == "HandshakeAlreadyInStateException"
    assert (
        expect_error(mgmt.invite_account_to_organization, Target={"Id": OWNER, "Type": "ACCOUNT"})
        == "HandshakeConstraintViolationException"
    )
    declined = mgmt.invite_account_to_organization(Target={"Id": MEMBER, "Type": "ACCOUNT"})["Handshake"]
    decliner = fresh_client(url, "organizations", MEMBER, "us-east-1")
    recorders.append(ResponseRecorder(decliner))
    assert decliner.decline_handshake(HandshakeId=declined["Id"])["Handshake"]["State"] == "DECLINED"
    assert expect_error(decliner.describe_organization) == "AWSOrganizationsNotInUseException"
    assert [p for r in recorders for p in r.problems()] == []
    assert [p for r in recorders for p in r.error_problems() if "DescribeOrganization" not in p] == []
