"""REST API for AWS accounts and sync runs (/api/v1/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import permissions as catalog_permissions
from catalog.filters import AwsAccountFilter, SyncRunFilter
from catalog.forms import AwsAccountForm
from catalog.models import AwsAccount, SyncRun
from catalog.selectors import accounts as selectors
from catalog.services import sync as services


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
    lookup_field = "uuid"
    lookup_url_kwarg = "id"
    filterset_class = AwsAccountFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return AwsAccount.objects.none()
        return selectors.accounts_visible_to(user=self.request.user).order_by("name")

    def _require_operator(self) -> None:
        if not catalog_permissions.can_manage_accounts(self.request.user):
            raise PermissionDenied("Only operators register and edit AWS accounts.")

    def perform_create(self, serializer) -> None:
        self._require_operator()
        account = serializer.save()
        services.sync_request(account=account, trigger=SyncRun.Trigger.API, requested_by=self.request.user)

    def perform_update(self, serializer) -> None:
        self._require_operator()
        serializer.save()

    @extend_schema(
        request=inline_serializer("SyncRequest", {"region": serializers.CharField(required=False)}),
        responses={202: SyncRunSerializer(many=True)},
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, id=None) -> Response:
        """Queue a sync of this account (all regions, or `region`)."""
        account = self.get_object()
        if not catalog_permissions.can_trigger_sync(request.user, account):
            raise PermissionDenied("Only operators and this account's owners and admins can sync it.")
        if not account.is_owner:
            raise ValidationError({"detail": AwsAccount.NOT_SYNCED_REASON})
        region = request.data.get("region") or None
        if region and region not in account.regions:
            raise ValidationError({"region": ["This account is not synced in that region."]})
        runs = services.sync_request(
            account=account, region=region, trigger=SyncRun.Trigger.API, requested_by=request.user
        )
        return Response(SyncRunSerializer(runs, many=True).data, status=status.HTTP_202_ACCEPTED)


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
