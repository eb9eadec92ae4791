"""Which CloudTrail events Pantry keeps, and how each operation counts (read, write, sharing).

Used by the ingestion (what to keep) and by the dashboards (reads vs writes, grants wider than
their use). The operation names are CloudTrail's `eventName`s.
"""

from __future__ import annotations

SAGEMAKER_SOURCE = "sagemaker.amazonaws.com"
RAM_SOURCE = "ram.amazonaws.com"

# Feature Store data events (advanced event selectors on AWS::SageMaker::FeatureGroup).
DATA_READ_OPERATIONS = frozenset({"GetRecord", "BatchGetRecord"})
DATA_WRITE_OPERATIONS = frozenset({"PutRecord", "DeleteRecord"})
DATA_OPERATIONS = DATA_READ_OPERATIONS | DATA_WRITE_OPERATIONS

# Feature Store management events.
MANAGEMENT_READ_OPERATIONS = frozenset(
    {"DescribeFeatureGroup", "DescribeFeatureMetadata", "ListFeatureGroups", "Search"}
)
MANAGEMENT_WRITE_OPERATIONS = frozenset(
    {"CreateFeatureGroup", "DeleteFeatureGroup", "UpdateFeatureGroup", "UpdateFeatureMetadata"}
)

READ_OPERATIONS = DATA_READ_OPERATIONS | MANAGEMENT_READ_OPERATIONS
WRITE_OPERATIONS = DATA_WRITE_OPERATIONS | MANAGEMENT_WRITE_OPERATIONS
FEATURE_STORE_OPERATIONS = READ_OPERATIONS | WRITE_OPERATIONS

# What each RAM access level allows (docs/architecture.md): "wider than its use" compares the
# operations seen with these.
READ_ONLY_OPERATIONS = frozenset({"DescribeFeatureGroup", "DescribeFeatureMetadata", "GetRecord", "BatchGetRecord"})
READ_WRITE_EXTRA_OPERATIONS = frozenset({"PutRecord", "DeleteRecord"})
ADMIN_EXTRA_OPERATIONS = frozenset({"UpdateFeatureGroup", "UpdateFeatureMetadata"})

# RAM sharing events (requests/approvals/shares over time on the governance dashboard).
SHARING_OPERATIONS = frozenset(
    {
        "CreateResourceShare",
        "DeleteResourceShare",
        "AssociateResourceShare",
        "DisassociateResourceShare",
        "AcceptResourceShareInvitation",
        "RejectResourceShareInvitation",
    }
)

KEPT_OPERATIONS_BY_SOURCE = {SAGEMAKER_SOURCE: FEATURE_STORE_OPERATIONS, RAM_SOURCE: SHARING_OPERATIONS}

# errorCode values that mean "not allowed" (CloudTrail writes the service's own code: the
# runtime answers AccessForbidden, the control plane AccessDenied / AccessDeniedException).
DENIED_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AccessForbidden",
        "UnauthorizedOperation",
        "Client.UnauthorizedOperation",
        "UnauthorizedException",
        "NotAuthorized",
    }
)


def operation_kind(operation: str) -> str:
    """'read', 'write', 'sharing' or 'other' for a CloudTrail eventName."""
    if operation in READ_OPERATIONS:
        return "read"
    if operation in WRITE_OPERATIONS:
        return "write"
    if operation in SHARING_OPERATIONS:
        return "sharing"
    return "other"


def outcome_for(error_code: str | None) -> str:
    """CloudTrail's errorCode → 'success', 'denied' or 'failed'."""
    if not error_code:
        return "success"
    if error_code in DENIED_ERROR_CODES or "AccessDenied" in error_code:
        return "denied"
    return "failed"
