from django.contrib import admin

from sharing.models import Grant


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = [
        "owner_account",
        "consumer_account",
        "region",
        "resource_type",
        "feature_group",
        "permission",
        "status",
        "source",
    ]
    list_filter = ["resource_type", "permission", "status", "source"]
    raw_id_fields = ["feature_group"]
