"""The admin site's user form, audited like the operators' pages.

Operators normally grant operator rights and governance on a person's page
(`/operators/people/…`); the admin's user form can do the same, so its
saves write the same audit events. The admin's change view runs in one
transaction, so the records commit with the change.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from catalog.models import GOVERNANCE_GROUP
from portal.audit import audit_log

User = get_user_model()


def _rights(user) -> dict:
    return {
        "operator": user.is_staff,
        "superuser": user.is_superuser,
        "active": user.is_active,
        "governance": user.groups.filter(name=GOVERNANCE_GROUP).exists() if user.pk else False,
    }


_ACTIONS = {
    ("operator", True): "user.operator_granted",
    ("operator", False): "user.operator_revoked",
    ("governance", True): "user.governance_granted",
    ("governance", False): "user.governance_revoked",
    ("active", True): "user.reactivated",
    ("active", False): "user.deactivated",
    ("superuser", True): "user.superuser_granted",
    ("superuser", False): "user.superuser_revoked",
}


class AuditedUserAdmin(UserAdmin):
    def save_model(self, request, obj, form, change) -> None:
        stored = User.objects.filter(pk=obj.pk).first() if change else None
        request._pantry_rights_before = _rights(stored) if stored else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        before = getattr(request, "_pantry_rights_before", None)
        if before is None:
            return
        user = form.instance
        after = _rights(user)
        for key in ("operator", "governance", "superuser", "active"):
            if before[key] != after[key]:
                audit_log(
                    actor=request.user,
                    action=_ACTIONS[(key, after[key])],
                    object_type="user",
                    object_id=user.get_username(),
                    object_label=user.get_full_name() or user.get_username(),
                    before={key: before[key]},
                    after={key: after[key], "source": "manual"},
                    note="changed in the admin site",
                )


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
