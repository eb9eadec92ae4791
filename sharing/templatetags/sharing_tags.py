"""What catalog pages show of sharing, without catalog importing sharing.

The catalog's group page and the navigation bar load these tags: the unread
notification count, and a group's "Request access" button, the user's open
request for it, and the filled-in "How to read it" snippets (templates may
compose any app; catalog's Python modules never import sharing).
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from catalog.selectors.access import MINE
from sharing import selectors
from sharing.models import AccessRequest
from sharing.visibility import visibility_scope

register = template.Library()


@register.filter
def code_text(value) -> SafeString:
    """Text for a <pre><code> block: <, > and & escaped, quotes kept readable (they need no escaping there)."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return mark_safe(text)  # noqa: S308 - escaped above; only quotes are left as typed


@register.simple_tag
def notifications_unread(user) -> int:
    """One small indexed count per page."""
    return selectors.notifications_unread_count(user)


@register.simple_tag
def group_sharing(user, group) -> dict:
    """The group page's sharing context for `user`.

    The catalog's own level for the group (`access_level`) saves the queries
    when the group is the user's own: nothing to ask for there.
    """
    mine = getattr(group, "access_level", None) == MINE
    open_request = (
        AccessRequest.objects.filter(requester=user, feature_group=group, state__in=AccessRequest.OPEN_STATES)
        .order_by("-created_at")
        .first()
        if getattr(user, "is_authenticated", False) and not mine
        else None
    )
    # Discoverability of the owner's whole catalog, for someone who reads this group without it.
    scope = visibility_scope(user) if getattr(user, "is_authenticated", False) and not mine else None
    can_request_catalog = bool(
        scope is not None
        and not group.is_deleted
        and (group.account_id, group.region) not in scope.catalogs
        and scope.member_accounts - {group.account_id}
    )
    return {
        "can_request_catalog": can_request_catalog,
        "can_request": not mine and selectors.can_request_access(user, group),
        "open_request": open_request,
        "how": selectors.how_to_read(user, group),
    }
