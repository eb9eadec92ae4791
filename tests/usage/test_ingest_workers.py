"""Exactly once with several workers, and with workers that die between files or mid-file."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from django.db import connection

from tests.aws_fixtures import wait_until, worker_children
from tests.usage.trail_helpers import CONSUMER, OTHER, at, caller, group_arn, ingest_all, usage_counts
from usage import services
from usage.models import TrailFile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("usage-ingest")]


def many_files(trail_org, files: int, reads_per_file: int) -> dict:
    """`files` deliveries (each: a file per account), every call a cross-account read."""
    expected: dict = {}
    for n in range(files):
        calls = [
            {
                "operation": "GetRecord" if i % 3 else "BatchGetRecord",
                "caller": caller(CONSUMER if i % 2 else OTHER),
                "feature_groups": [group_arn("orders")] if i % 3 else [group_arn("orders"), group_arn("payments")],
                "at": at(n + i / 100),
            }
            for i in range(reads_per_file)
        ]
        trail_org.calls(calls, delivered_minutes=n + 5)
        for c in calls:
            for arn in c["feature_groups"]:
                key = (c["operation"], c["caller"]["account_id"], arn.rsplit("/", 1)[-1], "success")
                expected[key] = expected.get(key, 0) + 1
    return expected


def test_two_workers_at_once_split_the_files_and_count_each_once(trail_org, settings):
    settings.PANTRY_USAGE_BATCH_FILES = 2
    expected = many_files(trail_org, files=8, reads_per_file=30)
    services.trail_sources_list()
    done_by: dict[str, int] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while (batch := services.trail_files_ingest(worker=name)).files:
                done_by[name] = done_by.get(name, 0) + batch.done
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(done_by.values()) == TrailFile.objects.count() == 24
    assert len(done_by) == 2  # both took part
    assert usage_counts() == expected


def test_an_error_mid_file_commits_nothing_and_the_retry_counts_once(trail_org, monkeypatch):
    expected = many_files(trail_org, files=3, reads_per_file=10)
    services.trail_sources_list()
    calls = []

    def crash(stage: str) -> None:
        calls.append(stage)
        if stage == "counted" and len(calls) == 2:
            raise RuntimeError("worker dies after the rollups, before the ledger row")

    monkeypatch.setattr(services, "fault_hook", crash)
    with pytest.raises(RuntimeError):
        services.trail_files_ingest(worker="doomed")
    assert usage_counts() == {}
    assert not TrailFile.objects.filter(state__in=["claimed", "done"]).exists()  # given back
    ingest_all(worker="survivor")
    assert usage_counts() == expected


@pytest.fixture
def celery_worker_env():
    # One file per transaction, so the worker can be killed between files.
    return {"PANTRY_USAGE_BATCH_FILES": "1", "PANTRY_USAGE_INGEST_TASK_SECONDS": "600"}


def test_a_killed_worker_between_files_leaves_nothing_half_counted(trail_org, celery_worker_process):
    from sandbox import control
    from usage import tasks

    expected = many_files(trail_org, files=20, reads_per_file=20)
    services.trail_sources_list()
    # Each S3 read takes half a second, so the worker is still busy when it is killed (a fast
    # worker could otherwise finish all 20 files between two polls).
    control.add_latency(trail_org.url, 0.5, service="s3")
    tasks.trail_files_ingest.delay()
    wait_until(lambda: TrailFile.objects.filter(state="done").count() >= 3, timeout=120, message="some files done")
    for pid in worker_children(celery_worker_process):
        os.kill(pid, signal.SIGKILL)
    celery_worker_process.kill()
    celery_worker_process.wait()
    control.clear_faults(trail_org.url)
    done = TrailFile.objects.filter(state="done").count()
    assert 3 <= done < TrailFile.objects.count()
    services.trail_claims_sweep(stale_seconds=0)
    ingest_all(worker="survivor")
    assert set(TrailFile.objects.values_list("state", flat=True)) == {"done"}
    assert usage_counts() == expected


def test_a_worker_killed_mid_file_is_swept_and_the_file_counted_once(trail_org, celery_worker_process):
    from usage import tasks

    info = trail_org.bad_file("huge", size_mb=40)
    services.trail_sources_list()
    tasks.trail_files_ingest.delay()
    # The file's transaction is open (its ledger row is locked) while it streams: kill then.
    wait_until(_ledger_row_locked, timeout=120, interval=0.05, message="the worker inside the file's transaction")
    for pid in worker_children(celery_worker_process):
        os.kill(pid, signal.SIGKILL)
    celery_worker_process.kill()
    celery_worker_process.wait()
    assert usage_counts() == {}
    file = TrailFile.objects.get(key=info["key"])
    assert file.state == "claimed"
    wait_until(lambda: services.trail_claims_sweep(stale_seconds=0) == 1, timeout=30, message="claim swept")
    ingest_all(worker="survivor")
    file.refresh_from_db()
    assert file.state == "done" and file.events_kept == info["valid_records"]
    assert sum(usage_counts().values()) == info["valid_records"]


def _ledger_row_locked() -> bool:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM usage_trailfile WHERE state = 'claimed' AND id NOT IN "
            "(SELECT id FROM usage_trailfile WHERE state = 'claimed' FOR UPDATE SKIP LOCKED)"
        )
        return cur.fetchone()[0] > 0


def test_a_file_that_kills_its_worker_is_quarantined_alone_not_the_batch_claimed_ahead(
    trail_org, settings, monkeypatch
):
    """The next batch is claimed while the current one commits. A worker killed on the current
    batch again and again must not use up the attempts of the files it had claimed ahead."""

    class Killed(BaseException):
        """What the process sees of a SIGKILL: nothing after it runs (no release, no cleanup)."""

    settings.PANTRY_USAGE_BATCH_FILES = 1
    settings.PANTRY_USAGE_MAX_ATTEMPTS = 3
    expected = many_files(trail_org, files=2, reads_per_file=3)
    services.trail_sources_list()
    first, *ahead = TrailFile.objects.order_by("delivered_at", "id")

    def killed_on_the_first_file(stage: str) -> None:
        if stage == "staged" and TrailFile.objects.filter(pk=first.pk, claimed_by="doomed").exists():
            raise Killed

    monkeypatch.setattr(services, "fault_hook", killed_on_the_first_file)
    monkeypatch.setattr(services, "_release", lambda *args, **kwargs: None)  # a dead worker gives nothing back
    for _ in range(settings.PANTRY_USAGE_MAX_ATTEMPTS):
        with pytest.raises(Killed):
            services.trail_files_ingest_for(seconds=60, worker="doomed")
        assert TrailFile.objects.filter(pk=ahead[0].pk, state="claimed", claimed_by="doomed").exists()  # claimed ahead
        services.trail_claims_sweep(stale_seconds=0)

    first.refresh_from_db()
    assert first.state == "quarantined" and first.attempts == settings.PANTRY_USAGE_MAX_ATTEMPTS
    assert set(TrailFile.objects.filter(pk__in=[f.pk for f in ahead]).values_list("state", "attempts")) == {
        ("pending", 0)
    }
    # The files claimed ahead go to the next worker, the quarantined one does not. (Not ingested
    # here: the simulated kill leaves this process's S3 connections mid-read, which a real
    # killed process does not share with anyone.)
    assert [f.id for f in services.trail_files_claim(worker="survivor")] == [ahead[0].pk]
    assert expected  # the deliveries held calls to count
