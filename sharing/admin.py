"""Admin views of the sharing tables: read and search; changes go through the services (audited)."""

from django.contrib import admin

from sharing.models import AccessRequest, Grant, Invitation, Notification, Share, SharingPolicy


class ReadOnlyAdmin(admin.ModelAdmin):
    """Every change must be audited, and only the services write the audit log: no edits here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = [
        "owner_account",
        "consumer_account",
        "region",
        "resource_type",
        "feature_group",
        "permission",
        "status",
        "source",
        "ends_on",
    ]
    list_filter = ["resource_type", "permission", "status", "source"]
    raw_id_fields = ["feature_group"]
    search_fields = ["feature_group__name", "resource_share_arn", "consumer_account__name"]


@admin.register(Share)
class ShareAdmin(ReadOnlyAdmin):
    list_display = ["name", "owner_account", "consumer_account", "region", "level", "status", "made_outside_pantry"]
    list_filter = ["level", "status", "made_outside_pantry"]
    search_fields = ["name", "resource_share_arn"]


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ["requester", "feature_group", "consumer_account", "owner_account", "level", "state", "created_at"]
    list_filter = ["state", "level"]
    search_fields = ["requester__username", "feature_group__name", "reason"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = [
        "resource_share_name",
        "sender_account_id",
        "receiver_account",
        "status",
        "invited_at",
        "expires_at",
    ]
    list_filter = ["status"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["user", "kind", "message", "created_at", "read_at"]
    list_filter = ["kind"]


@admin.register(SharingPolicy)
class SharingPolicyAdmin(ReadOnlyAdmin):
    list_display = ["account", "default_days", "max_days", "updated_at"]
