"""Reads of the sharing workflow, and the access helpers that fetch one object for a person.

Access helpers (`get_*`) answer 404 for anything the person may not see, so a
wrong account never learns that an object exists. Governance (and operators)
see every request, share, grant and invitation, read-only: the services refuse
their writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from catalog.models import AwsAccount, FeatureGroup, Membership, user_sees_everything
from portal.models import AuditEvent
from sharing.audit_actions import SHARING_ACTIONS
from sharing.models import AccessRequest, Grant, Invitation, Notification, Share, SharingPolicy
from sharing.services.common import authorise_decision, is_account_admin, is_owner
from sharing.visibility import VisibilityScope, visibility_scope


def _account_ids(user, role: str | None = None) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    memberships = Membership.objects.filter(user=user)
    if role is not None:
        memberships = memberships.filter(role=role)
    return list(memberships.values_list("account_id", flat=True))


_REQUEST_RELATED = ("requester", "consumer_account", "owner_account", "feature_group", "decided_by", "share", "grant")


# ---------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------


def requests_of_requester(user) -> QuerySet[AccessRequest]:
    """The person's own requests, newest first."""
    if not getattr(user, "is_authenticated", False):
        return AccessRequest.objects.none()
    return AccessRequest.objects.filter(requester=user).select_related(*_REQUEST_RELATED)


def requests_inbox(user) -> QuerySet[AccessRequest]:
    """Requests to accounts the user is an owner of: waiting ones first, then the rest, newest first."""
    from django.db.models import Case, IntegerField, Value, When

    accounts = _account_ids(user, Membership.Role.OWNER)
    return (
        AccessRequest.objects.filter(owner_account_id__in=accounts)
        .select_related(*_REQUEST_RELATED)
        .annotate(
            waiting=Case(
                When(state=AccessRequest.State.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("waiting", "-created_at", "-id")
    )


def requests_visible_to(user) -> QuerySet[AccessRequest]:
    """Every request the user may read: their own, their owner accounts', their consumer accounts' (admins), all for governance."""
    if not getattr(user, "is_authenticated", False):
        return AccessRequest.objects.none()
    if user_sees_everything(user):
        return AccessRequest.objects.select_related(*_REQUEST_RELATED)
    from django.db.models import Q

    return AccessRequest.objects.filter(
        Q(requester=user)
        | Q(owner_account_id__in=_account_ids(user, Membership.Role.OWNER))
        | Q(consumer_account_id__in=_account_ids(user, Membership.Role.ACCOUNT_ADMIN))
    ).select_related(*_REQUEST_RELATED)


def owned_accounts(user) -> QuerySet[AwsAccount]:
    """Accounts whose sharing the user manages (owners); every account for governance (read-only)."""
    if user_sees_everything(user):
        return AwsAccount.objects.filter(kind__in=[AwsAccount.Kind.OWNER, AwsAccount.Kind.BOTH])
    return AwsAccount.objects.filter(pk__in=_account_ids(user, Membership.Role.OWNER))


def can_manage_account(user, account: AwsAccount) -> bool:
    return is_owner(user, account)


def shares_of_account(user, account: AwsAccount) -> QuerySet[Share]:
    """The account's shares as the owner (or governance) sees them; nothing for anyone else."""
    if not (is_owner(user, account) or user_sees_everything(user)):
        return Share.objects.none()
    return (
        Share.objects.filter(owner_account=account)
        .exclude(status=Share.Status.DELETED)
        .select_related("owner_account", "consumer_account", "created_by")
        .order_by("consumer_account__name", "region", "level")
    )


def grants_of_account(user, account: AwsAccount) -> QuerySet[Grant]:
    """Live grants the account gives (who asked, who approved, when it ends)."""
    if not (is_owner(user, account) or user_sees_everything(user)):
        return Grant.objects.none()
    return (
        Grant.objects.live()
        .filter(owner_account=account)
        .select_related("owner_account", "consumer_account", "feature_group", "share", "requested_by", "approved_by")
        .order_by("consumer_account__name", "feature_group__name", "region")
    )


def grants_received(user) -> QuerySet[Grant]:
    """Live grants the user's accounts receive."""
    return (
        Grant.objects.live()
        .filter(consumer_account_id__in=_account_ids(user))
        .select_related("owner_account", "consumer_account", "feature_group")
    )


def invitations_inbox(user) -> QuerySet[Invitation]:
    """Invitations received by accounts the user is an ACCOUNT_ADMIN of; pending first."""
    from django.db.models import Case, IntegerField, Value, When

    accounts = _account_ids(user, Membership.Role.ACCOUNT_ADMIN)
    return (
        Invitation.objects.filter(receiver_account_id__in=accounts)
        .select_related("receiver_account", "share", "share__owner_account", "answered_by")
        .prefetch_related("share__grants__feature_group")
        .annotate(
            waiting=Case(
                When(status=Invitation.Status.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("waiting", "-invited_at", "-id")
    )


@dataclass(frozen=True)
class InvitationDetail:
    """What an admin needs to decide: sender, share, resources, permission, expiry."""

    invitation: Invitation
    sender_name: str
    resources: tuple[str, ...]
    permission: str


def invitation_details(invitations) -> list[InvitationDetail]:
    names = dict(AwsAccount.objects.values_list("account_id", "name"))
    out = []
    for invitation in invitations:
        share = invitation.share
        resources: tuple[str, ...] = ()
        permission = ""
        if share is not None:
            resources = tuple(g.resource_label for g in share.grants.all() if g.is_live)
            permission = share.ram_permission_name
        out.append(
            InvitationDetail(
                invitation=invitation,
                sender_name=names.get(invitation.sender_account_id, invitation.sender_account_id),
                resources=resources,
                permission=permission,
            )
        )
    return out


def notifications_of(user) -> QuerySet[Notification]:
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(user=user)


def notifications_unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def sharing_policy_of(account: AwsAccount) -> SharingPolicy:
    return SharingPolicy.for_account(account)


def sharing_audit_events(user) -> QuerySet[AuditEvent]:
    """The sharing workflow's audit trail (every request, decision, share, invitation, revocation).

    Governance and operators read all of it; owners and account admins the rows
    about their accounts; nobody else anything.
    """
    from django.db.models import Q

    rows = AuditEvent.objects.filter(action__in=list(SHARING_ACTIONS))
    if not getattr(user, "is_authenticated", False):
        return rows.none()
    if user_sees_everything(user):
        return rows
    ids = list(AwsAccount.objects.filter(pk__in=_account_ids(user)).values_list("account_id", flat=True))
    return rows.filter(Q(owner_account_id__in=ids) | Q(consumer_account_id__in=ids))


# ---------------------------------------------------------------------------
# Requesting access
# ---------------------------------------------------------------------------


def groups_seen_not_readable(user) -> QuerySet[FeatureGroup]:
    """Live groups the user can find (a shared catalog) but none of their accounts can read."""
    scope = visibility_scope(user)
    if not scope.catalogs:
        return FeatureGroup.objects.none()
    return (
        FeatureGroup.objects.live()
        .filter(scope.catalog_q())
        .exclude(account_id__in=sorted(scope.member_accounts))
        .exclude(pk__in=sorted(scope.granted_groups))
        .select_related("account")
        .order_by("account__name", "name")
    )


def can_request_access(user, group: FeatureGroup, *, scope: VisibilityScope | None = None) -> bool:
    """Whether the "Request access" button shows: the user can see the group and some account of theirs lacks it.

    `scope`: the user's visibility scope when the caller resolved it already.
    """
    if not getattr(user, "is_authenticated", False) or group.is_deleted:
        return False
    scope = scope or visibility_scope(user)
    if group.account_id in scope.member_accounts or not scope.sees(group):
        return False
    accounts = [a for a in scope.member_accounts if a != group.account_id]
    if not accounts:
        return False
    full = set(
        Grant.objects.live()
        .filter(feature_group=group, consumer_account_id__in=accounts, permission=Grant.Permission.ADMIN)
        .values_list("consumer_account_id", flat=True)
    )
    return len(full) < len(accounts)


def request_accounts_for(user, group: FeatureGroup | None = None) -> QuerySet[AwsAccount]:
    """Accounts the user can ask access for (theirs, other than the group's owner)."""
    accounts = AwsAccount.objects.filter(pk__in=_account_ids(user))
    if group is not None:
        accounts = accounts.exclude(pk=group.account_id)
    return accounts.order_by("name")


# ---------------------------------------------------------------------------
# How to read a shared group from the consumer's account
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HowToRead:
    group_arn: str
    region: str
    owner_account_id: str
    consumer_account_id: str | None  # the account the snippets run in (None: the owner's own)
    cross_account: bool
    can_read: bool
    online_snippet: str
    batch_snippet: str
    offline_note: str
    offline_snippet: str


def _best_consumer_grant(account_ids, group: FeatureGroup) -> Grant | None:
    grants = (
        Grant.objects.active()
        .filter(feature_group=group, consumer_account_id__in=account_ids)
        .select_related("consumer_account")
    )
    return max(grants, key=lambda g: Grant.LEVEL_ORDER[Grant.Permission(g.permission)], default=None)


def how_to_read(user, group: FeatureGroup, *, scope: VisibilityScope | None = None) -> HowToRead:
    """The calls that work from the user's account, filled in for the group.

    Cross-account, SageMaker takes the group's full ARN (not its name) in the
    owner's Region. RAM shares the feature group (online store and metadata);
    the offline store is S3 data catalogued in Glue, which RAM does not share:
    the owner grants the S3 prefix (bucket policy) and the Glue table (Lake
    Formation or a Glue resource policy), and the consumer queries it through
    the owner's Data Catalog id or a resource link in its own catalog.
    """
    account_ids = scope.member_accounts if scope is not None else _account_ids(user)
    member = group.account_id in account_ids
    grant = None if member else _best_consumer_grant(account_ids, group)
    consumer_id = grant.consumer_account.account_id if grant is not None else None
    cross = not member
    identifier = group.arn if cross else group.name
    record_id = group.record_identifier_feature or "record_id"
    online = (
        "import boto3\n\n"
        f'runtime = boto3.client("sagemaker-featurestore-runtime", region_name="{group.region}")\n'
        "response = runtime.get_record(\n"
        f'    FeatureGroupName="{identifier}",\n'
        f'    RecordIdentifierValueAsString="...",  # a value of {record_id}\n'
        ")\n"
        'record = {f["FeatureName"]: f["ValueAsString"] for f in response.get("Record", [])}'
    )
    batch = (
        "response = runtime.batch_get_record(\n"
        "    Identifiers=[{\n"
        f'        "FeatureGroupName": "{identifier}",\n'
        '        "RecordIdentifiersValueAsString": ["...", "..."],\n'
        "    }]\n"
        ")\n"
        'records = [r["Record"] for r in response["Records"]]'
    )
    database = group.glue_database or "sagemaker_featurestore"
    table = group.glue_table or group.name
    event_time = group.event_time_feature or "event_time"
    if cross:
        offline_note = (
            "RAM shares the feature group's online store and metadata, not its offline store. The offline store is "
            f"S3 data ({group.offline_s3_uri or 'the owner’s bucket'}) catalogued in the owner's AWS Glue Data Catalog: "
            f"ask the owner account ({group.account.account_id}) to grant your account read on that S3 prefix "
            "(bucket policy) and on the Glue table (AWS Lake Formation, or a Glue resource policy). Then query it "
            "from your account through the owner's catalog id, or create a resource link in your own catalog."
        )
        # Text shown to the reader, never executed by Pantry.
        offline = (
            f"-- Athena in your account, region {group.region}, with the owner's Data Catalog registered as a\n"  # noqa: S608
            f"-- data source (catalog id {group.account.account_id}):\n"
            f'SELECT * FROM "owner_catalog"."{database}"."{table}"\n'
            f'ORDER BY "{event_time}" DESC LIMIT 100;\n\n'
            "-- or, with a Lake Formation resource link in your own Glue catalog:\n"
            f"-- CREATE a resource link 'shared_{table}' → {group.account.account_id}:{database}.{table}\n"
            f'SELECT * FROM "your_database"."shared_{table}" ORDER BY "{event_time}" DESC LIMIT 100;'
        )
    else:
        offline_note = "The offline store is S3 data catalogued in your account's Glue Data Catalog."
        offline = f'SELECT * FROM "{database}"."{table}"\nORDER BY "{event_time}" DESC\nLIMIT 100;'  # noqa: S608
    return HowToRead(
        group_arn=group.arn,
        region=group.region,
        owner_account_id=group.account.account_id,
        consumer_account_id=consumer_id,
        cross_account=cross,
        can_read=member or grant is not None,
        online_snippet=online,
        batch_snippet=batch,
        offline_note=offline_note,
        offline_snippet=offline,
    )


# ---------------------------------------------------------------------------
# Access helpers
# ---------------------------------------------------------------------------


def uuid_or_404(value) -> UUID:
    """A path's id as a UUID; anything else names nothing, so 404 (never a 500)."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise Http404("No such object.") from None


def get_access_request_for_user(user, uuid) -> AccessRequest:
    """A request the user may read, or 404."""
    uuid = uuid_or_404(uuid)
    found = requests_visible_to(user).filter(uuid=uuid).first()
    if found is None:
        raise Http404("No such access request.")
    return found


def get_access_request_to_decide(user, uuid) -> AccessRequest:
    """A request the user sees (else 404) and may decide (else 403), before anything posted is read."""
    access_request = get_access_request_for_user(user, uuid)
    authorise_decision(user, access_request)
    return access_request


def get_invitation_for_admin(user, uuid) -> Invitation:
    """An invitation to an account the user is an admin of; owners of the sending account may re-send too."""
    uuid = uuid_or_404(uuid)
    found = invitations_inbox(user).filter(uuid=uuid).first()
    if found is None:
        owner_ids = list(
            AwsAccount.objects.filter(pk__in=_account_ids(user, Membership.Role.OWNER)).values_list(
                "account_id", flat=True
            )
        )
        found = (
            Invitation.objects.filter(uuid=uuid, sender_account_id__in=owner_ids)
            .select_related("receiver_account", "share")
            .first()
        )
    if found is None:
        raise Http404("No such invitation.")
    return found


def get_grant_for_owner(user, uuid) -> Grant:
    uuid = uuid_or_404(uuid)
    found = (
        Grant.objects.filter(uuid=uuid, owner_account_id__in=_account_ids(user, Membership.Role.OWNER))
        .select_related("owner_account", "consumer_account", "feature_group")
        .first()
    )
    if found is None:
        raise Http404("No such grant.")
    return found


def get_grant_to_revoke(user, uuid) -> Grant:
    """A grant of an account the user owns; governance and operators, who read every grant, get a 403."""
    try:
        return get_grant_for_owner(user, uuid)
    except Http404:
        if user_sees_everything(user) and Grant.objects.filter(uuid=uuid_or_404(uuid)).exists():
            raise PermissionDenied("Only the account's owners revoke its shares.") from None
        raise


def get_share_for_owner(user, uuid) -> Share:
    uuid = uuid_or_404(uuid)
    found = (
        Share.objects.filter(uuid=uuid, owner_account_id__in=_account_ids(user, Membership.Role.OWNER))
        .select_related("owner_account", "consumer_account")
        .first()
    )
    if found is None:
        raise Http404("No such share.")
    return found


__all__ = [
    "HowToRead",
    "can_manage_account",
    "can_request_access",
    "get_access_request_for_user",
    "get_grant_for_owner",
    "get_invitation_for_admin",
    "get_share_for_owner",
    "grants_of_account",
    "grants_received",
    "groups_seen_not_readable",
    "how_to_read",
    "invitation_details",
    "invitations_inbox",
    "is_account_admin",
    "notifications_of",
    "notifications_unread_count",
    "owned_accounts",
    "requests_inbox",
    "requests_of_requester",
    "requests_visible_to",
    "shares_of_account",
    "sharing_audit_events",
    "sharing_policy_of",
]
