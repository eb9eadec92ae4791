from django.contrib import admin, messages
from django.db import transaction

from catalog.forms import AwsAccountForm
from catalog.models import AwsAccount, DescriptionEdit, Feature, FeatureGroup, Membership, SyncRun, SyncState
from catalog.services import account_audit
from catalog.services import memberships as membership_services
from catalog.services.accounts import ACCOUNT_FIELDS, account_register, account_update
from catalog.services.sync import sync_request


class MembershipInline(admin.TabularInline):
    """Shown for reference; memberships change on the Memberships page (or below), where each change is audited."""

    model = Membership
    extra = 0
    fields = ["user", "role", "source"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AwsAccount)
class AwsAccountAdmin(admin.ModelAdmin):
    # The same validation as the operator form: account id, role ARN in the
    # same account, real regions, external id never shown back.
    form = AwsAccountForm
    list_display = ["name", "account_id", "kind", "team", "sync_enabled", "metadata_write_allowed"]
    list_filter = ["kind", "sync_enabled"]
    search_fields = ["name", "account_id", "team"]
    inlines = [MembershipInline]
    actions = ["sync_now"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        # A new account's id is generated anyway; only an existing one can be replaced.
        return fields if obj is not None else [f for f in fields if f != "regenerate_external_id"]

    def save_model(self, request, obj, form, change) -> None:
        # The same service as the operator page and the API: validation,
        # first sync of a new account, sync of regions added to one.
        fields = {name: form.cleaned_data[name] for name in ACCOUNT_FIELDS if name in form.cleaned_data}
        if change:
            account_update(account=obj, updated_by=request.user, **fields)
            return
        saved = account_register(registered_by=request.user, **fields)
        # The admin saves the membership inlines against `obj`: make it the saved row.
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    @admin.action(description="Sync the selected accounts now")
    def sync_now(self, request, queryset) -> None:
        runs = []
        for account in queryset:
            with transaction.atomic():
                account_runs = sync_request(account=account, trigger="manual", requested_by=request.user)
                account_audit.sync_requested_audit(account=account, runs=account_runs, actor=request.user)
            runs += account_runs
        self.message_user(request, f"Queued {len(runs)} sync run(s).", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Every change goes through the membership services, so the admin's edits are audited too."""

    list_display = ["user", "account", "role", "source"]
    list_filter = ["role", "source", "account"]
    autocomplete_fields = ["user", "account"]
    fields = ["user", "account", "role"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "account"] if obj else []

    def save_model(self, request, obj, form, change) -> None:
        if change:
            membership_services.membership_update(membership=obj, actor=request.user, role=obj.role)
        else:
            created = membership_services.membership_create(
                user=obj.user, account=obj.account, role=obj.role, actor=request.user
            )
            obj.pk = created.pk

    def delete_model(self, request, obj) -> None:
        membership_services.membership_delete(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset.select_related("user", "account"):
            membership_services.membership_delete(membership=membership, actor=request.user)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Synced from AWS: editing here would be overwritten by the next sync."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FeatureGroup)
class FeatureGroupAdmin(ReadOnlyAdmin):
    list_display = ["name", "account", "region", "status", "feature_count", "aws_modified_at", "deleted_at"]
    list_filter = ["region", "status", "account"]
    search_fields = ["name", "arn"]


@admin.register(Feature)
class FeatureAdmin(ReadOnlyAdmin):
    list_display = ["name", "feature_group", "type"]
    search_fields = ["name", "feature_group__name"]
    list_select_related = ["feature_group"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["account", "region", "status", "trigger", "queued_at", "finished_at", "groups_seen", "error_code"]
    list_filter = ["status", "trigger", "account"]


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    list_display = ["account", "region", "last_success_at", "last_failure_at"]


@admin.register(DescriptionEdit)
class DescriptionEditAdmin(ReadOnlyAdmin):
    list_display = ["feature_group", "feature", "editor", "created_at", "written_to_aws"]
