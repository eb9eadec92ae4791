"""Every write of the sharing workflow (HackSoft-style services, keyword-only).

`SharingError(message, field=None)` is a problem the user can fix; authorisation
failures are `PermissionDenied` (or `Http404` when the object must stay hidden),
checked before any input is validated.
"""

from sharing.services.common import SharingError
from sharing.services.invitations import (
    invitation_accept,
    invitation_reject,
    invitation_resend,
    invitations_expire_due,
)
from sharing.services.policy import notifications_mark_read, sharing_policy_update
from sharing.services.reconcile import sharing_reconcile_account, sharing_reconcile_all
from sharing.services.requests import (
    access_request_approve,
    access_request_create,
    access_request_reject,
    access_request_retry,
    access_request_withdraw,
    access_requests_resume_stalled,
)
from sharing.services.shares import (
    access_request_provision,
    grant_revoke,
    grant_revoke_suggest,
    grants_expire_due,
    grants_warn_ending,
    share_create,
)

__all__ = [
    "SharingError",
    "access_request_approve",
    "access_request_create",
    "access_request_provision",
    "access_request_reject",
    "access_request_retry",
    "access_request_withdraw",
    "access_requests_resume_stalled",
    "grant_revoke",
    "grant_revoke_suggest",
    "grants_expire_due",
    "grants_warn_ending",
    "invitation_accept",
    "invitation_reject",
    "invitation_resend",
    "invitations_expire_due",
    "notifications_mark_read",
    "share_create",
    "sharing_policy_update",
    "sharing_reconcile_account",
    "sharing_reconcile_all",
]
