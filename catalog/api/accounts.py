"""REST API for AWS accounts and sync runs (/api/v1/)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.filters import AwsAccountFilter, SyncRunFilter
from catalog.forms import AwsAccountForm
from catalog.models import AwsAccount, SyncRun
from catalog.permissions import AccountPermission
from catalog.selectors import accounts as selectors
from catalog.selectors import aws_setup
from catalog.selectors.aws_setup import RoleSetup
from catalog.services import account_audit
from catalog.services import accounts as account_services
from catalog.services import sync as services
from portal.api import error_responses


class AwsAccountSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    external_id = serializers.CharField(write_only=True, required=False, max_length=1224)
    regions = serializers.ListField(child=serializers.CharField(max_length=32), allow_empty=False)
    synced = serializers.BooleanField(
        source="is_owner", read_only=True, help_text="False for consumer-only accounts: they hold no feature groups."
    )

    class Meta:
        model = AwsAccount
        # The form's fields (one source of the account's editable shape), plus identity and time.
        fields = ["id", *AwsAccountForm.Meta.fields, "synced", "created_at"]
        read_only_fields = ["created_at"]
        # Every rule lives in AwsAccountForm (called from validate), so one
        # bad request reports all of its bad fields at once.
        extra_kwargs = {f: {"validators": []} for f in ("account_id", "name", "role_arn")}

    def validate(self, attrs: dict) -> dict:
        # One set of validation rules: the form's.
        current = {f: getattr(self.instance, f) for f in AwsAccountForm.Meta.fields} if self.instance else {}
        data = {**current, **attrs}
        data["regions"] = ", ".join(data.get("regions") or [])
        for key in ("metadata_write_allowed", "sync_enabled"):
            data[key] = "on" if data.get(key) else ""
        if self.instance and "external_id" not in attrs:
            data["external_id"] = ""
        form = AwsAccountForm(data=data, instance=self.instance)
        if not form.is_valid():
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        return {k: form.cleaned_data[k] for k in AwsAccountForm.Meta.fields if k in form.cleaned_data}


class AccountSetupSerializer(serializers.Serializer):
    """What the account's owners put into AWS (docs/aws-setup.md): the role's trust policy with the
    external id Pantry generated, and the CloudFormation parameters of `deploy/aws/pantry-role.yaml`."""

    external_id = serializers.CharField()
    principal_arn = serializers.CharField(help_text="Pantry's own role; empty until PANTRY_AWS_PRINCIPAL_ARN is set.")
    role_name = serializers.CharField()
    trust_policy = serializers.JSONField()
    cloudformation_parameters = serializers.DictField(child=serializers.CharField())
    policy_files = serializers.ListField(child=serializers.CharField())

    def to_representation(self, setup: RoleSetup) -> dict:
        return {
            "external_id": setup.external_id,
            "principal_arn": setup.principal_arn,
            "role_name": setup.role_name,
            "trust_policy": json.loads(setup.trust_policy),
            "cloudformation_parameters": setup.cloudformation_parameters,
            "policy_files": list(setup.policy_files),
        }


class SyncRequestSerializer(serializers.Serializer):
    region = serializers.CharField(required=False, allow_blank=True, max_length=32)


class SyncRunSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    account = serializers.UUIDField(source="account.uuid", read_only=True)
    account_id = serializers.CharField(source="account.account_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "account",
            "account_id",
            "account_name",
            "region",
            "status",
            "trigger",
            "queued_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "complete_listing",
            "groups_seen",
            "groups_created",
            "groups_updated",
            "groups_deleted",
            "features_written",
            "api_calls",
            "error_code",
            "error_message",
        ]

    def get_duration_seconds(self, run: SyncRun) -> float | None:
        return run.duration.total_seconds() if run.duration else None


class AwsAccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """AWS accounts Pantry reads. Everyone sees their own accounts; operators register and edit."""

    serializer_class = AwsAccountSerializer
    # Runs before the body is parsed or validated: a non-operator's 403 says
    # nothing about whether the account they sent exists.
    permission_classes = [AccountPermission]
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_class = AwsAccountFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return AwsAccount.objects.none()
        return selectors.accounts_visible_to(user=self.request.user).order_by("name")

    def perform_create(self, serializer) -> None:
        try:
            serializer.instance = account_services.account_register(
                registered_by=self.request.user, trigger=SyncRun.Trigger.API, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc

    def perform_update(self, serializer) -> None:
        try:
            account_services.account_update(
                account=serializer.instance, updated_by=self.request.user, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc

    @extend_schema(request=SyncRequestSerializer, responses={202: SyncRunSerializer(many=True)})
    @action(detail=True, methods=["post"], pagination_class=None)
    def sync(self, request: Request, id=None) -> Response:
        """Queue a sync of this account (all regions, or `region`)."""
        account = self.get_object()  # 404 when invisible, 403 when not allowed (AccountPermission)
        if not account.is_owner:
            raise ValidationError({"detail": AwsAccount.NOT_SYNCED_REASON})
        payload = SyncRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        region = payload.validated_data.get("region") or None
        if region and region not in account.regions:
            raise ValidationError({"region": ["This account is not synced in that region."]})
        with transaction.atomic():
            runs = services.sync_request(
                account=account, region=region, trigger=SyncRun.Trigger.API, requested_by=request.user
            )
            account_audit.sync_requested_audit(account=account, runs=runs, actor=request.user, region=region)
        return Response(SyncRunSerializer(runs, many=True).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: AccountSetupSerializer, **error_responses(401, 403, 404)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def setup(self, request: Request, id=None) -> Response:
        """The role setup of this account: external id, trust policy, CloudFormation parameters.

        Operators and the account's owners and admins only (403 for other people who see the
        account, 404 for those who do not)."""
        account = self.get_object()  # 404 when invisible, 403 when not allowed (AccountPermission)
        return Response(AccountSetupSerializer(aws_setup.account_role_setup(account=account)).data)


class SyncRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Sync runs of the accounts you can see, newest first."""

    serializer_class = SyncRunSerializer
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_class = SyncRunFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SyncRun.objects.none()
        return selectors.sync_runs_visible_to(user=self.request.user).order_by("-queued_at")


def register(router) -> None:
    router.register("accounts", AwsAccountViewSet, basename="account")
    router.register("sync-runs", SyncRunViewSet, basename="syncrun")


extra_urlpatterns: list = []
