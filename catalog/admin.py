from django.contrib import admin, messages

from catalog.forms import AwsAccountForm
from catalog.models import AwsAccount, DescriptionEdit, Feature, FeatureGroup, Membership, SyncRun, SyncState
from catalog.services.accounts import ACCOUNT_FIELDS, account_register, account_update
from catalog.services.sync import sync_request


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


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
            runs += sync_request(account=account, trigger="manual", requested_by=request.user)
        self.message_user(request, f"Queued {len(runs)} sync run(s).", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role"]
    list_filter = ["role", "account"]
    autocomplete_fields = ["user", "account"]


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
