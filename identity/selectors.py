"""Reads for the identity pages: people, memberships, mappings, tokens, the audit log."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog.models import GOVERNANCE_GROUP, Membership
from identity.models import ApiToken, RoleMapping
from portal.models import AuditEvent

User = get_user_model()


def people_list(*, query: str = "") -> QuerySet:
    governance = User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name=GOVERNANCE_GROUP)
    people = (
        User.objects.select_related("oidc_identity")
        .annotate(membership_count=Count("memberships", distinct=True), is_governance=Exists(governance))
        .order_by("username")
    )
    if query:
        people = people.filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(email__icontains=query)
        )
    return people


def memberships_list(*, account=None, role: str = "", source: str = "", query: str = "") -> QuerySet:
    memberships = Membership.objects.select_related("user", "account").order_by("account__name", "user__username")
    if account is not None:
        memberships = memberships.filter(account=account)
    if role:
        memberships = memberships.filter(role=role)
    if source:
        memberships = memberships.filter(source=source)
    if query:
        memberships = memberships.filter(
            Q(user__username__icontains=query)
            | Q(user__first_name__icontains=query)
            | Q(user__last_name__icontains=query)
        )
    return memberships


def role_mappings_list() -> QuerySet:
    return RoleMapping.objects.select_related("account").order_by("group", "grants", "account__name")


def tokens_of(*, user) -> QuerySet:
    return ApiToken.objects.filter(user=user).select_related("user", "revoked_by").order_by("-created_at")


def tokens_all(*, username: str = "", status: str = "active") -> QuerySet:
    now = timezone.now()
    tokens = ApiToken.objects.select_related("user", "revoked_by").order_by("-created_at")
    if username:
        tokens = tokens.filter(user__username=username)
    if status == "active":
        tokens = tokens.filter(revoked_at__isnull=True, expires_at__gt=now)
    elif status == "expired":
        tokens = tokens.filter(revoked_at__isnull=True, expires_at__lte=now)
    elif status == "revoked":
        tokens = tokens.filter(revoked_at__isnull=False)
    return tokens


def audit_events(
    *,
    action: str = "",
    actor: str = "",
    object_type: str = "",
    account: str = "",
    query: str = "",
    since=None,
    until=None,
) -> QuerySet:
    events = AuditEvent.objects.all()
    if action:
        events = events.filter(action=action)
    if actor:
        events = events.filter(actor_username=actor)
    if object_type:
        events = events.filter(object_type=object_type)
    if account:
        events = events.filter(Q(owner_account_id=account) | Q(consumer_account_id=account))
    if query:
        events = events.filter(Q(object_label__icontains=query) | Q(object_id__icontains=query))
    if since:
        events = events.filter(at__gte=datetime.combine(since, time.min, tzinfo=timezone.get_current_timezone()))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())
        events = events.filter(at__lt=end)
    return events.order_by("-at", "-id")
