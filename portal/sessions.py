"""Session expiry: idle and absolute (docs/deploy.md#sessions).

A session ends after `PANTRY_SESSION_IDLE_SECONDS` without a request and
`PANTRY_SESSION_ABSOLUTE_SECONDS` after sign-in, whichever comes first; the
next request runs signed out (pages send the person to the login page). The
cookie's own age (`SESSION_COOKIE_AGE`) is the absolute limit too, but Django
pushes it forward whenever the session changes, so the sign-in time is kept
in the session and checked here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

SIGNED_IN_AT = "pantry_signed_in_at"
SEEN_AT = "pantry_seen_at"
# The last-seen time is rewritten at most this often, not on every request (a session write each).
SEEN_RESOLUTION_SECONDS = 60


@receiver(user_logged_in)
def _stamp_sign_in(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SIGNED_IN_AT] = now
        request.session[SEEN_AT] = now


class SessionExpiryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        # `_auth_user_id` in the session, not request.user: no database read for the check.
        if session is not None and session.get("_auth_user_id"):
            now = int(time.time())
            signed_in = session.get(SIGNED_IN_AT, now)
            seen = session.get(SEEN_AT, now)
            if (
                now - seen > settings.PANTRY_SESSION_IDLE_SECONDS
                or now - signed_in > settings.PANTRY_SESSION_ABSOLUTE_SECONDS
            ):
                logout(request)
            else:
                if SIGNED_IN_AT not in session:
                    session[SIGNED_IN_AT] = signed_in
                if now - seen >= SEEN_RESOLUTION_SECONDS or SEEN_AT not in session:
                    session[SEEN_AT] = now
        return self.get_response(request)
