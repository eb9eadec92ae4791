"""Cross-account access questions the SageMaker extension asks, answered from AWS RAM state.

:mod:`sandbox.featurestore` calls :func:`has_access` before it lets another account use a
feature group ARN and :func:`discoverable_owners` for ``Search`` with
``CrossAccountFilterOption=CrossAccount``; both read the shares, permissions and invitations in
:mod:`sandbox.ram`, so access follows exactly what RAM says is in effect (an accepted
invitation, or membership of the owner's organisation with sharing enabled).

:func:`set_discoverable` and :func:`set_feature_group_access` back the control routes
``POST /_sandbox/discoverable`` and ``POST /_sandbox/feature-group-access``: they make real RAM
shares on the owner's behalf (named ``sandbox-...``, tagged ``sandbox-control=true``) and accept
any invitation on the consumer's behalf, so a test can grant access in one call and still see it
in ``GetResourceShares``.
"""

from __future__ import annotations

from typing import Any

from . import ram

READ_ONLY = ram.READ_ONLY
READ_WRITE = ram.READ_WRITE
ADMIN = ram.ADMIN
_LEVELS = ram.LEVELS
# The action that stands for each level the SageMaker extension checks: the managed
# permissions are nested, so holding it means holding the level.
_LEVEL_ACTION = {
    READ_ONLY: "sagemaker:DescribeFeatureGroup",
    READ_WRITE: "sagemaker:PutRecord",
    ADMIN: "sagemaker:UpdateFeatureGroup",
}
CONTROL_TAG = {"key": "sandbox-control", "value": "true"}


def has_access(arn: str, consumer_account: str, needed: str = READ_ONLY) -> bool:
    """Whether ``consumer_account`` holds (at least) ``needed`` on feature group ``arn`` via RAM."""
    return _LEVEL_ACTION[needed] in ram.feature_group_actions(arn, str(consumer_account))


def allows(arn: str, consumer_account: str, action: str) -> bool:
    """Whether a RAM share in effect lets ``consumer_account`` call ``action`` (``sagemaker:PutRecord``)."""
    return action in ram.feature_group_actions(arn, str(consumer_account))


def discoverable_owners(consumer_account: str, region: str) -> list[str]:
    """Owner accounts whose catalog in ``region`` is discoverable by ``consumer_account``."""
    return ram.catalog_owners(str(consumer_account), region)


# --------------------------------------------------------------------------- control routes


def _backend(account_id: str, region: str) -> ram.RamBackend:
    from moto.ram.models import ram_backends

    return ram_backends[str(account_id)][region]  # type: ignore[return-value]


def _control_share(owner: str, region: str, name: str) -> ram.ResourceShare | None:
    with ram.WORLD.lock:
        for share in ram.WORLD.shares.values():
            if (share.owner, share.region, share.name, share.status) == (owner, region, name, "ACTIVE"):
                if CONTROL_TAG in share.tags:
                    return share
    return None


def _accept_for(consumer: str, share: ram.ResourceShare) -> None:
    invitation = share.pending_invitation(consumer)
    if invitation is not None:
        _backend(consumer, share.region).accept_resource_share_invitation(
            {"resourceShareInvitationArn": invitation.arn}
        )


def _ensure_share(
    owner: str, region: str, name: str, resource: str, permission: ram.ManagedPermission, consumers: list[str]
) -> ram.ResourceShare:
    backend = _backend(owner, region)
    share = _control_share(owner, region, name)
    if share is None:
        arn = backend.create_resource_share(
            {
                "name": name,
                "resourceArns": [resource],
                "principals": consumers,
                "permissionArns": [permission.arn],
                "tags": [CONTROL_TAG],
            }
        )["resourceShare"]["resourceShareArn"]
        return ram.WORLD.shares[arn]
    wanted = [c for c in consumers if c not in share.principals or share.principals[c].status == "DISASSOCIATED"]
    params: dict[str, Any] = {"resourceShareArn": share.arn}
    if resource not in {a.entity for a in share.live_resources()}:
        params["resourceArns"] = [resource]
    if wanted:
        params["principals"] = wanted
    if len(params) > 1:
        backend.associate_resource_share(params)
    return share


def set_discoverable(owner_account: str, region: str, consumer_accounts: Any) -> None:
    """Make ``owner_account``'s catalog in ``region`` discoverable by exactly these consumers.

    Only the control share changes; shares made through the RAM API keep their own principals.
    """
    owner = str(owner_account)
    consumers = sorted({str(a) for a in consumer_accounts} - {owner})
    name = "sandbox-catalog-discovery"
    catalog = f"arn:aws:sagemaker:{region}:{owner}:sagemaker-catalog/{ram.CATALOG_NAME}"
    share = _control_share(owner, region, name)
    if share is not None:
        gone = [p for p, a in share.principals.items() if a.status != "DISASSOCIATED" and p not in consumers]
        if gone:
            _backend(owner, region).disassociate_resource_share({"resourceShareArn": share.arn, "principals": gone})
    if not consumers:
        return
    share = _ensure_share(owner, region, name, catalog, ram.catalog_permission(), consumers)
    for consumer in consumers:
        _accept_for(consumer, share)


def set_feature_group_access(arn: str, consumer_account: str, permission: str | None) -> None:
    """Grant ``ReadOnly`` / ``ReadWrite`` / ``Admin`` on one feature group (``None`` revokes).

    Each level lives in its own control share per owner, Region and consumer, so changing the
    level moves the group from one share to the other.
    """
    if permission is not None and permission not in _LEVELS:
        raise ValueError(f"permission must be one of {', '.join(sorted(_LEVELS))}")
    match = ram._FG_ARN_RE.match(arn or "")
    if not match:
        raise ram.MalformedArnException(f"The specified resource ARN {arn} is not a feature group ARN.")
    region, owner = match.group(1), match.group(2)
    arn = f"arn:aws:sagemaker:{region}:{owner}:feature-group/{match.group(3).lower()}"
    consumer = str(consumer_account)
    for level in _LEVELS:
        share = _control_share(owner, region, f"sandbox-access-{level}-{consumer}")
        if share is not None and level != permission and share.resources.get(arn, None) is not None:
            if share.resources[arn].status == "ASSOCIATED":
                _backend(owner, region).disassociate_resource_share(
                    {"resourceShareArn": share.arn, "resourceArns": [arn]}
                )
    if permission is None:
        return
    share = _ensure_share(
        owner, region, f"sandbox-access-{permission}-{consumer}", arn, ram.permission_for_level(permission), [consumer]
    )
    _accept_for(consumer, share)


def snapshot() -> dict:
    """What is in effect now: discoverable catalogs and per-group access, from every share."""
    return ram.effective_grants()


def reset() -> None:
    ram.reset_world()
