from django.http import HttpRequest

from catalog.models import user_sees_everything


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return {
        "nav_is_operator": authenticated and user.is_staff,
        "nav_sees_everything": authenticated and user_sees_everything(user),
    }
