"""The sharing tasks are thin, scheduled by beat, and run the services they name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from portal.celery import app
from sharing import tasks
from sharing.models import AccessRequest, Grant, Notification
from tests.factories import FeatureGroupFactory, GrantFactory


def test_beat_runs_reconcile_and_end_dates():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"sharing.tasks.sharing_reconcile", "sharing.tasks.sharing_end_dates"} <= scheduled
    for name in scheduled:
        if name.startswith("sharing."):
            assert name in app.tasks, name


def test_provisioning_task_is_registered_under_the_name_services_queue():
    from sharing.services.requests import PROVISION_TASK

    assert app.tasks[PROVISION_TASK].name == tasks.access_request_provision.name == PROVISION_TASK


@pytest.mark.django_db
def test_end_dates_task_warns_and_ends_grants_without_a_share(org, data_scientist, consumer_admin):
    group = FeatureGroupFactory(account=org.central)
    ending = GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=group,
        permission=Grant.Permission.READ_ONLY,
        requested_by=data_scientist,
        ends_on=timezone.localdate() + timedelta(days=1),
        expires_at=timezone.now() + timedelta(days=1),
    )
    ended = GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=FeatureGroupFactory(account=org.central),
        permission=Grant.Permission.READ_ONLY,
        requested_by=data_scientist,
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    tasks.sharing_end_dates()
    tasks.sharing_end_dates()  # twice: warned once, ended once

    ending.refresh_from_db()
    ended.refresh_from_db()
    assert ending.status == Grant.Status.ACTIVE and ending.warned_at is not None
    assert ended.status == Grant.Status.EXPIRED
    kinds = list(Notification.objects.filter(user=data_scientist).values_list("kind", flat=True))
    assert sorted(kinds) == sorted([Notification.Kind.ACCESS_ENDING, Notification.Kind.ACCESS_ENDED])
    assert Notification.objects.filter(user=consumer_admin).count() == 2


@pytest.mark.django_db
def test_notifications_are_emailed_after_commit(org, data_scientist, owner, django_capture_on_commit_callbacks):
    from sharing import services

    GrantFactory(owner_account=org.central, consumer_account=org.consumer)
    owner.email = "omar@pantry.example"
    owner.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_create(
            user=data_scientist,
            consumer_account=org.consumer,
            feature_group=FeatureGroupFactory(account=org.central, name="customer_value_scores"),
            level=Grant.Permission.READ_ONLY,
            reason="Fraud model",
            ends_on=None,
            terms_accepted=False,
        )
    assert AccessRequest.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["omar@pantry.example"]]
    assert "customer_value_scores" in mail.outbox[0].body
    assert mail.outbox[0].subject == "[Pantry] New access request"


@pytest.mark.django_db
def test_approved_requests_a_killed_worker_left_are_queued_again_by_beat(org, data_scientist, monkeypatch):
    """A worker killed mid-provisioning leaves its message with the broker for up to an hour;
    beat's end-dates run queues provisioning again for requests stuck without progress."""
    from sharing.services import requests as request_services

    queued: list[str] = []

    class _Signature:
        def __init__(self, name, args):
            assert name == request_services.PROVISION_TASK
            self.args = args

        def delay(self):
            queued.extend(self.args)

    monkeypatch.setattr(request_services, "signature", _Signature)
    group = FeatureGroupFactory(account=org.central)
    GrantFactory(owner_account=org.central, consumer_account=org.consumer)

    def make(state, minutes_ago):
        access_request = request_services.access_request_create(
            user=data_scientist,
            consumer_account=org.consumer,
            level="read_only",
            reason="Churn model.",
            ends_on=timezone.localdate() + timedelta(days=30),
            terms_accepted=False,
            feature_group=group if state != AccessRequest.State.PENDING else FeatureGroupFactory(account=org.central),
        )
        AccessRequest.objects.filter(pk=access_request.pk).update(
            state=state, updated_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
        return str(access_request.uuid)

    stuck_provisioning = make(AccessRequest.State.PROVISIONING, 30)
    AccessRequest.objects.filter(uuid=stuck_provisioning).update(feature_group=FeatureGroupFactory(account=org.central))
    stuck_approved = make(AccessRequest.State.APPROVED, 30)
    AccessRequest.objects.filter(uuid=stuck_approved).update(feature_group=FeatureGroupFactory(account=org.central))
    make(AccessRequest.State.PROVISIONING, 1)  # a worker is on it right now
    make(AccessRequest.State.PENDING, 30)  # nobody approved it: nothing to provision

    tasks.sharing_end_dates()

    assert sorted(queued) == sorted([stuck_provisioning, stuck_approved])
