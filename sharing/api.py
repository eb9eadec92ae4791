"""REST API of the sharing workflow (/api/v1/): access requests, decisions, shares, grants, invitations, notifications.

Views are thin: an access helper from `sharing.selectors` fetches the object
(404 for what the caller cannot see), a service does the work (403 for what
they see but may not do, checked before the input), and a `SharingError` is a
400 naming the field to fix.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import AwsAccount, FeatureGroup
from portal.api import error_responses
from sharing import selectors, services
from sharing.models import AccessRequest, Grant, Invitation, Notification, Share
from sharing.services import SharingError
from sharing.services.common import is_owner

# ---------------------------------------------------------------------------
# Serializers
# ---------------------------------------------------------------------------


def _raise(exc: SharingError):
    raise ValidationError({exc.field: [exc.message]} if exc.field else {"detail": exc.message}) from exc


def _answer(serializer_class, service, **kwargs) -> Response:
    """Run a sharing service and answer 200 with what it returns; a `SharingError` is a 400."""
    try:
        done = service(**kwargs)
    except SharingError as exc:
        _raise(exc)
    return Response(serializer_class(done).data)


class AccessRequestSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    requester = serializers.CharField(source="requester.username", read_only=True)
    consumer_account_id = serializers.CharField(source="consumer_account.account_id", read_only=True)
    consumer_account_name = serializers.CharField(source="consumer_account.name", read_only=True)
    owner_account_id = serializers.CharField(source="owner_account.account_id", read_only=True)
    owner_account_name = serializers.CharField(source="owner_account.name", read_only=True)
    feature_group = serializers.UUIDField(source="feature_group.uuid", read_only=True, allow_null=True)
    feature_group_arn = serializers.CharField(source="feature_group.arn", read_only=True, allow_null=True)
    resource = serializers.CharField(source="resource_label", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True)
    resource_share_arn = serializers.CharField(source="share.resource_share_arn", read_only=True, allow_null=True)
    # Blank until an owner decides (declared: a read-only model field would not say it can be "").
    granted_level = serializers.ChoiceField(
        choices=Grant.Permission.choices,
        allow_blank=True,
        read_only=True,
        help_text="The level granted, once decided (an owner may grant less than asked); empty before.",
    )

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "requester",
            "consumer_account_id",
            "consumer_account_name",
            "owner_account_id",
            "owner_account_name",
            "region",
            "feature_group",
            "feature_group_arn",
            "resource",
            "level",
            "granted_level",
            "reason",
            "ends_on",
            "terms_accepted",
            "state",
            "state_label",
            "decided_by",
            "decided_at",
            "decision_note",
            "aws_error",
            "resource_share_arn",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccessRequestCreateSerializer(serializers.Serializer):
    feature_group = serializers.UUIDField(required=False, allow_null=True, help_text="The group (omit for a catalog).")
    owner_account_id = serializers.RegexField(
        r"^\d{12}$", required=False, help_text="For a catalog (discoverability) request: the owner account."
    )
    region = serializers.CharField(required=False, max_length=32, help_text="For a catalog request.")
    consumer_account_id = serializers.RegexField(r"^\d{12}$", help_text="Your account that gets the access.")
    level = serializers.ChoiceField(choices=Grant.Permission.choices)
    reason = serializers.CharField(max_length=4096, trim_whitespace=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    terms_accepted = serializers.BooleanField(default=False)


class DecisionSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=Grant.Permission.choices, required=False)
    ends_on = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4096)


class RejectSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4096)


class RevokeSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=4096)


class ShareSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    owner_account_id = serializers.CharField(source="owner_account.account_id", read_only=True)
    consumer_account_id = serializers.CharField(source="consumer_account.account_id", read_only=True)
    consumer_account_name = serializers.CharField(source="consumer_account.name", read_only=True)

    class Meta:
        model = Share
        fields = [
            "id",
            "owner_account_id",
            "consumer_account_id",
            "consumer_account_name",
            "region",
            "level",
            "resource_share_arn",
            "name",
            "status",
            "made_outside_pantry",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ShareCreateSerializer(serializers.Serializer):
    owner_account_id = serializers.RegexField(r"^\d{12}$")
    consumer_account_id = serializers.RegexField(r"^\d{12}$")
    region = serializers.CharField(max_length=32)
    level = serializers.ChoiceField(choices=Grant.Permission.choices, required=False, default="read_only")
    feature_groups = serializers.ListField(child=serializers.UUIDField(), required=False, default=list, max_length=500)
    catalog = serializers.BooleanField(default=False)
    ends_on = serializers.DateField(required=False, allow_null=True)


class GrantSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    owner_account_id = serializers.CharField(source="owner_account.account_id", read_only=True)
    consumer_account_id = serializers.CharField(source="consumer_account.account_id", read_only=True)
    consumer_account_name = serializers.CharField(source="consumer_account.name", read_only=True)
    feature_group_arn = serializers.CharField(source="feature_group.arn", read_only=True, allow_null=True)
    resource = serializers.CharField(source="resource_label", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, allow_null=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Grant
        fields = [
            "id",
            "owner_account_id",
            "consumer_account_id",
            "consumer_account_name",
            "region",
            "resource_type",
            "feature_group_arn",
            "resource",
            "permission",
            "status",
            "resource_share_arn",
            "requested_by",
            "approved_by",
            "ends_on",
            "expires_at",
            "created_at",
        ]
        read_only_fields = fields


class InvitationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    receiver_account_id = serializers.CharField(source="receiver_account.account_id", read_only=True)
    receiver_account_name = serializers.CharField(source="receiver_account.name", read_only=True)
    expired = serializers.BooleanField(source="has_expired", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "invitation_arn",
            "sender_account_id",
            "receiver_account_id",
            "receiver_account_name",
            "resource_share_arn",
            "resource_share_name",
            "status",
            "expired",
            "invited_at",
            "expires_at",
        ]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    read = serializers.BooleanField(source="is_read", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "url", "read", "read_at", "created_at"]
        read_only_fields = fields


class NotificationsReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=1000, help_text="Omit to mark all read."
    )


class CountSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------


class AccessRequestFilter(django_filters.FilterSet):
    box = django_filters.ChoiceFilter(
        choices=[("mine", "My requests"), ("inbox", "Requests to my accounts")], method="filter_box"
    )
    state = django_filters.ChoiceFilter(choices=AccessRequest.State.choices)

    class Meta:
        model = AccessRequest
        fields = ["box", "state"]

    def filter_box(self, queryset, name, value):
        user = self.request.user
        if value == "mine":
            return queryset.filter(requester=user)
        return queryset.filter(pk__in=selectors.requests_inbox(user).values("pk"))


class InvitationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Invitation.Status.choices)

    class Meta:
        model = Invitation
        fields = ["status"]


class GrantFilter(django_filters.FilterSet):
    owner_account_id = django_filters.CharFilter(field_name="owner_account__account_id")
    consumer_account_id = django_filters.CharFilter(field_name="consumer_account__account_id")

    class Meta:
        model = Grant
        fields = ["owner_account_id", "consumer_account_id"]


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


class AccessRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Access requests you made, to accounts you own, to accounts you admin (governance: all, read-only)."""

    serializer_class = AccessRequestSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_class = AccessRequestFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AccessRequest.objects.none()
        return selectors.requests_visible_to(self.request.user).order_by("-created_at", "-id")

    # 404: a group (or owner account) the body names that you cannot see, as for one in a path.
    @extend_schema(
        request=AccessRequestCreateSerializer, responses={201: AccessRequestSerializer, **error_responses(404)}
    )
    def create(self, request: Request) -> Response:
        """Ask for access to a feature group (or a catalog's discoverability) for one of your accounts."""
        payload = AccessRequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        # Authorise first: the account must be yours (403), the group visible (404).
        consumer = AwsAccount.objects.filter(
            account_id=data["consumer_account_id"], memberships__user=request.user
        ).first()
        if consumer is None:
            raise PermissionDenied("You can only ask for access for an account you belong to.")
        group = owner = None
        if data.get("feature_group"):
            group = get_object_or_404(
                FeatureGroup.objects.visible_to(request.user).select_related("account"), uuid=data["feature_group"]
            )
        else:
            # Unknown and unseen accounts answer alike: the service's 404 "No such account." for both.
            owner = AwsAccount.objects.filter(account_id=data.get("owner_account_id") or "").first()
        try:
            created = services.access_request_create(
                user=request.user,
                consumer_account=consumer,
                feature_group=group,
                owner_account=owner,
                region=data.get("region"),
                level=data["level"],
                reason=data["reason"],
                ends_on=data.get("ends_on"),
                terms_accepted=data["terms_accepted"],
            )
        except SharingError as exc:
            _raise(exc)
        return Response(AccessRequestSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses={200: AccessRequestSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, id=None) -> Response:
        """Approve (optionally at a lower level or an earlier end date); Pantry then shares it in AWS RAM."""
        access_request = selectors.get_access_request_to_decide(request.user, id)
        payload = DecisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return _answer(
            AccessRequestSerializer,
            services.access_request_approve,
            access_request=access_request,
            approver=request.user,
            **payload.validated_data,
        )

    @extend_schema(request=RejectSerializer, responses={200: AccessRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, id=None) -> Response:
        access_request = selectors.get_access_request_to_decide(request.user, id)
        payload = RejectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return _answer(
            AccessRequestSerializer,
            services.access_request_reject,
            access_request=access_request,
            approver=request.user,
            note=payload.validated_data["note"],
        )

    @extend_schema(request=None, responses={200: AccessRequestSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, id=None) -> Response:
        access_request = selectors.get_access_request_for_user(request.user, id)
        return _answer(
            AccessRequestSerializer, services.access_request_withdraw, access_request=access_request, user=request.user
        )

    @extend_schema(request=None, responses={200: AccessRequestSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, id=None) -> Response:
        """Share a failed request in AWS again."""
        access_request = selectors.get_access_request_for_user(request.user, id)
        return _answer(
            AccessRequestSerializer, services.access_request_retry, access_request=access_request, actor=request.user
        )


class ShareViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """RAM shares of the accounts you own (governance: all, read-only)."""

    serializer_class = ShareSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Share.objects.none()
        accounts = selectors.owned_accounts(self.request.user)
        return (
            Share.objects.filter(owner_account__in=accounts)
            .exclude(status=Share.Status.DELETED)
            .select_related("owner_account", "consumer_account")
            .order_by("owner_account__name", "consumer_account__name", "region", "level")
        )

    @extend_schema(request=ShareCreateSerializer, responses={201: ShareSerializer})
    def create(self, request: Request) -> Response:
        """Share your account's catalog and/or chosen feature groups with a consumer account, now."""
        # Authorise before validating: only owners of the named account get further.
        owner_id = request.data.get("owner_account_id") if hasattr(request.data, "get") else None
        owner = AwsAccount.objects.filter(account_id=str(owner_id or "")[:12]).first()
        if owner is None or not is_owner(request.user, owner):
            raise PermissionDenied("Only the account's owners share it.")
        payload = ShareCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        consumer = AwsAccount.objects.filter(account_id=data["consumer_account_id"]).first()
        if consumer is None:
            raise ValidationError({"consumer_account_id": ["Pantry knows no account with that id."]})
        groups = list(FeatureGroup.objects.filter(uuid__in=data["feature_groups"], account=owner).live())
        if len(groups) != len(set(data["feature_groups"])):
            raise ValidationError({"feature_groups": ["Some of these groups are not this account's."]})
        try:
            share = services.share_create(
                actor=request.user,
                owner_account=owner,
                consumer_account=consumer,
                region=data["region"],
                level=data["level"],
                feature_groups=groups,
                catalog=data["catalog"],
                ends_on=data.get("ends_on"),
            )
        except SharingError as exc:
            _raise(exc)
        return Response(ShareSerializer(share).data, status=status.HTTP_201_CREATED)


class GrantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Live grants your owned accounts give (governance: all, read-only)."""

    serializer_class = GrantSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_class = GrantFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Grant.objects.none()
        accounts = selectors.owned_accounts(self.request.user)
        return (
            Grant.objects.live()
            .filter(owner_account__in=accounts)
            .select_related("owner_account", "consumer_account", "feature_group", "requested_by", "approved_by")
            .order_by("owner_account__name", "consumer_account__name", "id")
        )

    @extend_schema(request=RevokeSerializer, responses={200: GrantSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, id=None) -> Response:
        """Revoke: take the resource out of its RAM share and end the grant."""
        # 404 when the caller cannot see the grant, 403 to governance and operators, who only read it.
        grant = selectors.get_grant_to_revoke(request.user, id)
        payload = RevokeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return _answer(
            GrantSerializer,
            services.grant_revoke,
            grant=grant,
            actor=request.user,
            note=payload.validated_data.get("note", ""),
        )


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """RAM invitations received by accounts you admin."""

    serializer_class = InvitationSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_class = InvitationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invitation.objects.none()
        return selectors.invitations_inbox(self.request.user)

    def _answer(self, request: Request, id, service) -> Response:
        invitation = selectors.get_invitation_for_admin(request.user, id)
        return _answer(InvitationSerializer, service, invitation=invitation, actor=request.user)

    @extend_schema(request=None, responses={200: InvitationSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, id=None) -> Response:
        return self._answer(request, id, services.invitation_accept)

    @extend_schema(request=None, responses={200: InvitationSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, id=None) -> Response:
        return self._answer(request, id, services.invitation_reject)

    @extend_schema(request=None, responses={200: InvitationSerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, id=None) -> Response:
        """Invite the account again after the invitation expired (the new invitation is returned)."""
        return self._answer(request, id, services.invitation_resend)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your notifications, newest first."""

    serializer_class = NotificationSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return selectors.notifications_of(self.request.user)

    @extend_schema(request=NotificationsReadSerializer, responses={200: CountSerializer})
    @action(detail=False, methods=["post"], url_path="read")
    def mark_read(self, request: Request) -> Response:
        """Mark notifications read (all, or those listed in `ids`)."""
        payload = NotificationsReadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        count = services.notifications_mark_read(user=request.user, uuids=payload.validated_data.get("ids"))
        return Response({"updated": count})


def register(router) -> None:
    router.register("access-requests", AccessRequestViewSet, basename="access-request")
    router.register("shares", ShareViewSet, basename="share")
    router.register("grants", GrantViewSet, basename="grant")
    router.register("invitations", InvitationViewSet, basename="invitation")
    router.register("notifications", NotificationViewSet, basename="notification")
