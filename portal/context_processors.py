from django.conf import settings
from django.http import HttpRequest
from django.urls import get_script_prefix, get_urlconf, reverse

from catalog.models import user_sees_everything

# The navigation bar's links (templates/base.html), by the name the template uses: `nav_urls.<key>`
# for the URL name with ":" and "-" written "__" and "_".
NAV_URL_NAMES = (
    "catalog:catalog_list",
    "catalog:account_list",
    "catalog:syncrun_list",
    "usage:dashboard",
    "sharing:requests_mine",
    "sharing:seen_list",
    "sharing:requests_inbox",
    "sharing:account_index",
    "sharing:invitation_inbox",
    "sharing:audit_list",
    "api-docs",
    "identity:token_list",
    "catalog:lineage_events",
    "identity:people_list",
    "identity:membership_list",
    "identity:mapping_list",
    "identity:token_all",
    "identity:audit_list",
    "usage:source_list",
    "admin:index",
    "sharing:notification_list",
    "logout",
)
# The links depend only on the URL configuration and the script prefix: reversed once per process
# and configuration, not twenty-odd reverse() calls on every page.
_nav_urls: dict[tuple, dict[str, str]] = {}


def nav_urls() -> dict[str, str]:
    key = (get_script_prefix(), get_urlconf(), settings.ROOT_URLCONF)
    urls = _nav_urls.get(key)
    if urls is None:
        urls = {name.replace(":", "__").replace("-", "_"): reverse(name) for name in NAV_URL_NAMES}
        _nav_urls[key] = urls
    return urls


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return {
        "nav_is_operator": authenticated and user.is_staff,
        "nav_sees_everything": authenticated and user_sees_everything(user),
        "nav_urls": nav_urls() if authenticated else {},
    }
