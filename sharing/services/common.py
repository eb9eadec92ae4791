"""What every sharing service shares: the error type, who may do what, notifications."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.urls import NoReverseMatch, reverse

from catalog.models import AwsAccount, Membership
from sharing.models import Notification

logger = logging.getLogger(__name__)


class SharingError(Exception):
    """A problem the user can fix (shown on the form, or as a 400/409 by the API).

    `field` names the form field it belongs to, when it belongs to one.
    """

    def __init__(self, message: str, field: str | None = None, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def __str__(self) -> str:
        return self.message


def is_owner(user, account: AwsAccount) -> bool:
    """Feature owners of `account` approve, share and revoke for it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Membership.objects.filter(user=user, account=account, role=Membership.Role.OWNER).exists()


def authorise_decision(user, access_request) -> None:
    """Raise PermissionDenied unless `user` may approve or reject `access_request`.

    The one rule, for the service and for the views' early check: owners of the account that
    holds the group decide, and nobody decides on their own request.
    """
    if not is_owner(user, access_request.owner_account):
        raise PermissionDenied("Only the owners of the account that holds it decide.")
    if access_request.requester_id == user.pk:
        raise PermissionDenied("Nobody decides on their own request.")


def is_account_admin(user, account: AwsAccount) -> bool:
    """Account admins of `account` answer the RAM invitations it receives."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Membership.objects.filter(user=user, account=account, role=Membership.Role.ACCOUNT_ADMIN).exists()


def is_member(user, account: AwsAccount) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Membership.objects.filter(user=user, account=account).exists()


def people_of(account: AwsAccount, role: str):
    from django.contrib.auth import get_user_model

    return (
        get_user_model().objects.filter(memberships__account=account, memberships__role=role, is_active=True).distinct()
    )


def url_for(name: str, *args) -> str:
    """A page's path for a notification; '' while the page does not exist."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def notify(users: Iterable, *, kind: str, message: str, url: str = "", exclude=None) -> list[Notification]:
    """An in-app notification per person, and an e-mail each once the transaction commits."""
    rows = []
    seen = set()
    for user in users:
        if user is None or user.pk in seen or (exclude is not None and user.pk == exclude.pk):
            continue
        seen.add(user.pk)
        rows.append(Notification(user=user, kind=kind, message=message[:1024], url=url))
    Notification.objects.bulk_create(rows)
    recipients = [r.user.email for r in rows if r.user.email]
    if recipients:
        transaction.on_commit(lambda: _email(recipients, kind=kind, message=message, url=url))
    return rows


def _email(recipients: list[str], *, kind: str, message: str, url: str) -> None:
    subject = f"[Pantry] {Notification.Kind(kind).label}"
    base = getattr(settings, "PANTRY_BASE_URL", "").rstrip("/")
    body = message + (f"\n\n{base}{url}" if url else "") + "\n"
    for address in recipients:
        try:
            send_mail(subject, body, None, [address])
        except Exception:  # noqa: BLE001 - an unsent e-mail must not undo the change; the in-app row stays
            logger.exception("could not e-mail a %s notification", kind)
