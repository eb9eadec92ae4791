"""Reads about AWS accounts and their syncs: visibility and health summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from catalog.models import AwsAccount, FeatureGroup, SyncRun, SyncState, user_sees_everything
from catalog.scope import VisibilityScope
from portal.aws import error_summary


def accounts_visible_to(*, user) -> QuerySet[AwsAccount]:
    """Operators and governance see every account; others the accounts they belong to."""
    if user_sees_everything(user):
        return AwsAccount.objects.all()
    return AwsAccount.objects.filter(memberships__user=user).distinct()


def account_pks_seen(*, scope: VisibilityScope) -> frozenset[int] | None:
    """Accounts whose name the user may read, or None for every account.

    Their own accounts, and the owner of any group they can see (a result row
    names its account). Labels for anything else, hidden or nonexistent alike,
    must come from what the user typed, never from the database.
    """
    if scope.everything:
        return None
    granted = (
        FeatureGroup.objects.filter(pk__in=sorted(scope.granted_groups)).values_list("account_id", flat=True)
        if scope.granted_groups
        else []
    )
    return frozenset(scope.member_accounts) | {account for account, _ in scope.catalogs} | set(granted)


def account_names_seen(*, scope: VisibilityScope, account_ids) -> dict[str, str]:
    """{12-digit id: name} for those of `account_ids` the user may see named."""
    accounts = AwsAccount.objects.filter(account_id__in=list(account_ids))
    seen = account_pks_seen(scope=scope)
    if seen is not None:
        accounts = accounts.filter(pk__in=sorted(seen))
    return dict(accounts.values_list("account_id", "name"))


def get_account_for_user(*, user, account_uuid) -> AwsAccount:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(accounts_visible_to(user=user), uuid=account_uuid)


def sync_runs_visible_to(*, user) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(account__in=accounts_visible_to(user=user)).select_related("account", "requested_by")


@dataclass(frozen=True)
class RegionHealth:
    region: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str
    last_run: SyncRun | None
    active_run: SyncRun | None

    @property
    def healthy(self) -> bool:
        if self.last_success_at is None:
            return False
        return self.last_failure_at is None or self.last_success_at >= self.last_failure_at

    @property
    def problem(self) -> str:
        """What is wrong, in a few words ("credentials expired", "access denied"), when not healthy."""
        if self.healthy or self.last_run is None:
            return ""
        if self.last_run.status == SyncRun.Status.ABANDONED:
            return "worker stopped"
        return error_summary(self.last_run.error_code)


@dataclass(frozen=True)
class AccountHealth:
    account: AwsAccount
    regions: list[RegionHealth]
    group_count: int


def account_health_list(*, accounts: QuerySet[AwsAccount]) -> list[AccountHealth]:
    """Sync health per account and region, in a fixed number of queries."""
    accounts = list(
        accounts.annotate(
            live_groups=Count("feature_groups", filter=Q(feature_groups__deleted_at__isnull=True))
        ).order_by("name")
    )
    states = {
        (s.account_id, s.region): s for s in SyncState.objects.filter(account__in=accounts).select_related("last_run")
    }
    active = {
        (r.account_id, r.region): r
        for r in SyncRun.objects.filter(
            account__in=accounts, status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
        )
    }
    result = []
    for account in accounts:
        regions = []
        for region in account.regions:
            state = states.get((account.pk, region))
            regions.append(
                RegionHealth(
                    region=region,
                    last_success_at=state.last_success_at if state else None,
                    last_failure_at=state.last_failure_at if state else None,
                    last_error=state.last_error if state else "",
                    last_run=state.last_run if state else None,
                    active_run=active.get((account.pk, region)),
                )
            )
        result.append(AccountHealth(account=account, regions=regions, group_count=account.live_groups))
    return result
