"""The visibility gate's seam: catalog asks, the sharing app answers.

Who sees which feature group follows from memberships and RAM shares, so the
rule (`sharing.visibility.visibility_scope`, which returns a `VisibilityScope`)
lives in `sharing`. Catalog never imports sharing: its selectors take the scope
as an argument, and when a caller has none, `visibility_scope(user)` here asks
the resolver `sharing` registers when Django loads its apps
(`sharing.apps.SharingConfig.ready`).

A scope is any object with the fields and methods of
`sharing.visibility.VisibilityScope` (`everything`, `member_accounts`,
`catalogs`, `admin_groups`, `read_write_groups`, `read_only_groups`,
`granted_groups`, `catalog_q()`, `visible_q()`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# A VisibilityScope (sharing.visibility); typed loosely so catalog needs no import of sharing.
VisibilityScope = Any

_resolver: Callable[[Any], Any] | None = None


def scope_resolver_register(resolver: Callable[[Any], Any]) -> None:
    global _resolver
    _resolver = resolver


def visibility_scope(user) -> VisibilityScope:
    """What `user` may see, from the resolver the sharing app registered."""
    if _resolver is None:
        raise RuntimeError("no visibility resolver registered: is 'sharing' in INSTALLED_APPS?")
    return _resolver(user)
