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
def group_sharing(user, group, scope=None) -> dict:
    """The group page's sharing context for `user`.

    The catalog's own level for the group (`access_level`) saves the queries
    when the group is the user's own: nothing to ask for there. `scope`: the
    visibility scope the page already resolved (the user's accounts and grants
    are not read again).
    """
    authenticated = getattr(user, "is_authenticated", False)
    mine = getattr(group, "access_level", None) == MINE
    if mine or not authenticated:
        return {
            "can_request_catalog": False,
            "can_request": False,
            "open_request": None,
            "how": selectors.how_to_read(user, group, scope=scope),
        }
    scope = scope or visibility_scope(user)
    open_request = (
        AccessRequest.objects.filter(requester=user, feature_group=group, state__in=AccessRequest.OPEN_STATES)
        .select_related("consumer_account")
        .order_by("-created_at")
        .first()
    )
    # Discoverability of the owner's whole catalog, for someone who reads this group without it.
    can_request_catalog = bool(
        not group.is_deleted
        and (group.account_id, group.region) not in scope.catalogs
        and scope.member_accounts - {group.account_id}
    )
    return {
        "can_request_catalog": can_request_catalog,
        "can_request": selectors.can_request_access(user, group, scope=scope),
        "open_request": open_request,
        "how": selectors.how_to_read(user, group, scope=scope),
    }
