"""Labels of the identity app's audit actions (offered as filters on the audit page)."""

from portal.audit import audit_actions_register

audit_actions_register(
    {
        "user.created": "Person created at first sign-in",
        "user.operator_granted": "Operator rights granted",
        "user.operator_revoked": "Operator rights revoked",
        "user.governance_granted": "Governance granted",
        "user.governance_revoked": "Governance revoked",
        "user.deactivated": "Person deactivated",
        "user.reactivated": "Person reactivated",
        "user.superuser_granted": "Superuser granted (admin site)",
        "user.superuser_revoked": "Superuser revoked (admin site)",
        "auth.local_sign_in": "Local (break-glass) sign-in",
        "role_mapping.created": "Role mapping added",
        "role_mapping.updated": "Role mapping changed",
        "role_mapping.deleted": "Role mapping removed",
        "token.created": "API token issued",
        "token.revoked": "API token revoked",
    }
)
