from django.urls import path

from sharing import views

app_name = "sharing"

urlpatterns = [
    # Data scientists
    path("access/seen/", views.seen_list, name="seen_list"),
    path("access/requests/", views.request_list, name="requests_mine"),
    path("groups/<uuid:group_uuid>/request-access/", views.request_create, name="request_create"),
    path(
        "aws-accounts/<uuid:account_uuid>/catalogs/<str:region>/request-discovery/",
        views.catalog_request_create,
        name="catalog_request_create",
    ),
    path("access/requests/<uuid:request_uuid>/", views.request_detail, name="request_detail"),
    path("access/requests/<uuid:request_uuid>/withdraw/", views.request_withdraw, name="request_withdraw"),
    # Owners
    path("access/inbox/", views.request_inbox, name="requests_inbox"),
    path("access/requests/<uuid:request_uuid>/approve/", views.request_approve, name="request_approve"),
    path("access/requests/<uuid:request_uuid>/reject/", views.request_reject, name="request_reject"),
    path("access/requests/<uuid:request_uuid>/retry/", views.request_retry, name="request_retry"),
    path("sharing/accounts/", views.account_index, name="account_index"),
    path("sharing/accounts/<uuid:account_uuid>/", views.account_sharing, name="account_sharing"),
    path("sharing/accounts/<uuid:account_uuid>/share/", views.share_create, name="share_create"),
    path("sharing/accounts/<uuid:account_uuid>/policy/", views.policy_edit, name="policy_edit"),
    path("sharing/grants/<uuid:grant_uuid>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("sharing/grants/<uuid:grant_uuid>/suggest-revoke/", views.grant_revoke_suggest, name="grant_revoke_suggest"),
    # Consumer account admins
    path("sharing/invitations/", views.invitation_inbox, name="invitation_inbox"),
    path("sharing/invitations/<uuid:invitation_uuid>/accept/", views.invitation_accept, name="invitation_accept"),
    path("sharing/invitations/<uuid:invitation_uuid>/reject/", views.invitation_reject, name="invitation_reject"),
    path("sharing/invitations/<uuid:invitation_uuid>/resend/", views.invitation_resend, name="invitation_resend"),
    # Everyone
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    # Governance
    path("sharing/audit/", views.sharing_audit, name="audit_list"),
    path("sharing/audit.csv", views.sharing_audit_csv, name="audit_csv"),
]
