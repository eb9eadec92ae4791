"""Labels of usage's audited actions (the operators' audit log filter offers them)."""

from portal.audit import audit_actions_register

audit_actions_register(
    {
        "trail_source.created": "CloudTrail source added",
        "trail_source.updated": "CloudTrail source changed",
        "trail_source.deleted": "CloudTrail source removed",
        "trail_source.replay_requested": "CloudTrail replay requested",
        "trail_source.replayed": "CloudTrail date range replayed",
    }
)
