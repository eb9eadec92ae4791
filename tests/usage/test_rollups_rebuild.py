"""`manage.py usage_rollups_rebuild`: the derived rollups say again what the base rollups say."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from tests.usage.dashboard_data import rollups_rebuild, usage_world
from tests.usage.trail_helpers import derived_rollups_match
from usage.models import UsageLastUse, UsagePairDaily, UsagePrincipalDaily

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    world = usage_world(org)
    rollups_rebuild()
    return world


def _damage() -> None:
    """What a back-fill that raced an old worker leaves: rows missing, counts short, a stale last day."""
    UsagePairDaily.objects.filter(pk__in=UsagePairDaily.objects.values("pk")[:3]).delete()
    UsagePrincipalDaily.objects.update(calls=1)
    UsageLastUse.objects.update(last_day=timezone.localdate() - timedelta(days=400))


def test_the_rebuild_puts_back_what_the_base_rollups_say(world):
    derived_rollups_match()
    _damage()
    with pytest.raises(AssertionError):
        derived_rollups_match()

    out = StringIO()
    call_command("usage_rollups_rebuild", stdout=out)

    derived_rollups_match()
    assert f"usage_usagepairdaily: {UsagePairDaily.objects.count():,} rows" in out.getvalue()


def _pairs() -> dict:
    return {(p.day, p.feature_group_arn, p.consumer_account_id): p.calls for p in UsagePairDaily.objects.all()}


def test_since_rewrites_only_the_days_from_then_and_the_whole_last_use(world):
    today = timezone.localdate()
    since = today - timedelta(days=3)
    right = _pairs()
    assert any(day < since for day, *_ in right), "the world has calls before the rebuilt days"
    UsagePairDaily.objects.update(calls=999)
    UsageLastUse.objects.update(last_day=today - timedelta(days=400))

    call_command("usage_rollups_rebuild", "--since", since.isoformat(), stdout=StringIO())

    # Days before `since` are left as they were (999); from `since` on, what the base rollups say.
    assert _pairs() == {key: (calls if key[0] >= since else 999) for key, calls in right.items()}
    assert not UsageLastUse.objects.filter(last_day__lt=today - timedelta(days=100)).exists()


def test_a_bad_day_is_a_clear_error():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("usage_rollups_rebuild", "--since", "yesterday", stdout=StringIO())
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("usage_rollups_rebuild", since="2026-13-01", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_a_batch_in_flight_makes_the_rebuild_wait_and_then_give_up_changing_nothing(org, monkeypatch):
    from usage import rollups

    usage_world(org)
    rollups_rebuild()
    UsagePairDaily.objects.update(calls=7)  # damage the rebuild would repair
    monkeypatch.setattr(rollups, "REBUILD_LOCK_TIMEOUT", "300ms")
    holding, release = threading.Event(), threading.Event()

    def batch() -> None:
        # An ingestion batch: it holds its write lock on the base rollups until it commits.
        with connections["default"].cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "UPDATE usage_usagedaily SET calls = calls WHERE id = (SELECT min(id) FROM usage_usagedaily)"
            )
            holding.set()
            release.wait(10)
            cursor.execute("COMMIT")
        connections["default"].close()

    worker = threading.Thread(target=batch)
    worker.start()
    try:
        assert holding.wait(10)
        with pytest.raises(CommandError, match="stayed as they were"):
            call_command("usage_rollups_rebuild", stdout=StringIO())
        assert set(UsagePairDaily.objects.values_list("calls", flat=True)) == {7}
    finally:
        release.set()
        worker.join(10)
    call_command("usage_rollups_rebuild", stdout=StringIO())
    derived_rollups_match()
