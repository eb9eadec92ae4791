"""Who may do what with people, memberships, mappings, tokens and the audit log."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from identity.models import ApiToken


def is_operator(user) -> bool:
    """Operators (staff) manage people, memberships, role mappings and everyone's tokens, and read the audit log."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def operator_required(view):
    """Signed in, then operators only (403 for everyone else, before anything is looked up)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_operator(request.user):
            raise PermissionDenied("Only operators manage people, role mappings and the audit log.")
        return view(request, *args, **kwargs)

    return wrapper


def get_token_for_user(user, token_uuid) -> ApiToken:
    """A token its owner or an operator may see; 404 for anyone else (a token's existence is not theirs to learn)."""
    queryset = ApiToken.objects.select_related("user")
    if not is_operator(user):
        queryset = queryset.filter(user=user)
    token = queryset.filter(uuid=token_uuid).first()
    if token is None:
        raise Http404("No such token.")
    return token
