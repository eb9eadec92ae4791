"""Labels of the sharing workflow's audit actions (portal.audit)."""

from portal.audit import audit_actions_register

SHARING_ACTIONS = {
    "access_request.create": "Access requested",
    "access_request.approve": "Access request approved",
    "access_request.reject": "Access request rejected",
    "access_request.withdraw": "Access request withdrawn",
    "access_request.fail": "Sharing failed in AWS",
    "access_request.retry": "Sharing retried",
    "share.create": "RAM share created",
    "share.extend": "RAM share extended",
    "share.delete": "RAM share gone from AWS",
    "grant.activate": "Access active",
    "grant.revoke": "Access revoked",
    "grant.expire": "Access ended (end date)",
    "grant.revoke_suggest": "Revoking suggested to the owners",
    "invitation.accept": "RAM invitation accepted",
    "invitation.reject": "RAM invitation rejected",
    "invitation.resend": "RAM invitation re-sent",
    "invitation.expire": "RAM invitation expired",
    "sharing_policy.update": "Sharing policy changed",
}

audit_actions_register(SHARING_ACTIONS)
