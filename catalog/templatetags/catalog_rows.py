"""Rows the catalog's busiest pages repeat, written in Python: search results and a group's schema.

Every keystroke in the search box asks for the results fragment again (htmx), and its rows are
most of it; a group page shows up to a page of schema rows. In the template language each row
cost ~0.1–0.25 ms of CPU (a tag, filter and variable lookup per field), here a few
microseconds. The markup is what the templates wrote; every value is escaped by `format_html`,
and the filters the templates used are called as Python (`Truncator.chars` is `truncatechars`).
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from catalog.paths import CatalogPaths

register = template.Library()

_GROUP = (
    '\n        <li class="card mb-2"><div class="card-body py-2">\n'
    '          <h3 class="h6 mb-1" id="result-{uuid}"><a href="{url}">{name}</a>\n'
    "            {access}</h3>\n"
    '          <div class="small text-body-secondary">{account} ({account_id}) · {region} · '
    "{features} feature{plural}{status}</div>\n"
    "          {description}\n"
    "          {tags}\n"
    "          {request}\n"
    "        </div></li>\n        "
)
_FEATURE = (
    '\n        <li class="card mb-2"><div class="card-body py-2">\n'
    '          <h3 class="h6 mb-1"><a class="font-mono" href="{url}">{name}</a>\n'
    '            <span class="badge text-bg-secondary">{type}{collection}</span></h3>\n'
    '          <div class="small text-body-secondary">in <a href="{group_url}">{group}</a> · {account} · {region}</div>\n'
    "          {description}\n"
    "        </div></li>\n        "
)
_EMPTY = {
    "groups": "\n        <li>No feature groups match. Try fewer words or remove a filter.</li>\n        ",
    "features": "\n        <li>No features match. Try fewer words or remove a filter.</li>\n        ",
}


@register.simple_tag
def search_result_list(results, kind: str) -> SafeString:
    """The `<ul>` of one page of results: feature rows when `kind` is "features", else group rows."""
    rows = results.results
    paths = CatalogPaths()
    if kind == "features":
        body = "".join(_feature(f, paths) for f in rows) or _EMPTY["features"]
    else:
        body = "".join(_group(g, paths) for g in rows) or _EMPTY["groups"]
    return mark_safe(f'<ul class="list-unstyled">{body}</ul>')  # noqa: S308 - every row is built by format_html


def _description(item, length: int, css: str) -> SafeString | str:
    text = item.pantry_description or item.description
    if not text:
        return ""
    return format_html('<p class="{}">{}</p>', css, Truncator(text).chars(length))


def _group(g, paths: CatalogPaths) -> SafeString:
    tags = ""
    if g.tags:
        tags = format_html(
            '<ul class="list-inline mb-0" aria-label="Tags">{}</ul>',
            format_html_join(
                "",
                '<li class="list-inline-item"><span class="badge text-bg-light">{}={}</span></li>',
                g.tags.items(),
            ),
        )
    request = ""
    if getattr(g, "offers_request", False):
        request = format_html(
            '<a class="btn btn-sm btn-outline-primary mt-1" href="{}" aria-describedby="result-{}">Request access</a>',
            reverse("sharing:request_create", args=[g.uuid]),
            g.uuid,
        )
    access = getattr(g, "access_label", "")
    return format_html(
        _GROUP,
        uuid=g.uuid,
        url=paths.group(g.uuid),
        name=g.name,
        access=format_html('<span class="badge text-bg-info">{}</span>', access) if access else "",
        account=g.account.name,
        account_id=g.account.account_id,
        region=g.region,
        features=g.feature_count,
        plural="" if g.feature_count == 1 else "s",
        status=format_html(" · {}", g.status) if g.status else "",
        description=_description(g, 280, "mb-1 small"),
        tags=tags,
        request=request,
    )


def _feature(f, paths: CatalogPaths) -> SafeString:
    group = f.feature_group
    return format_html(
        _FEATURE,
        url=paths.feature(group.uuid, f.name),
        name=f.name,
        type=f.type,
        collection=format_html(" {}", f.collection_type) if f.collection_type else "",
        group_url=paths.group(group.uuid),
        group=group.name,
        account=group.account.name,
        region=group.region,
        description=_description(f, 240, "mb-0 small"),
    )


_SCHEMA_ROW = (
    "\n      <tr>\n"
    '        <td class="font-mono text-break"><a href="{}">{}</a>{}</td>\n'
    "        <td>{}</td>\n"
    "        <td>{}{}</td>\n"
    '        <td class="text-break">{}</td>\n'
    '        <td class="small text-break">{}</td>\n'
    "      </tr>\n      "
)
_RECORD_ID = ' <span class="badge text-bg-light border">record id</span>'
_EVENT_TIME = ' <span class="badge text-bg-light border">event time</span>'


@register.simple_tag
def schema_rows(group, features) -> SafeString:
    """The group page's schema table rows (`catalog.views.groups._schema_rows` prepared each feature)."""
    return format_html_join("", _SCHEMA_ROW, (_schema_row(group, f) for f in features))


def _schema_row(group, f) -> tuple:
    if f.name == group.record_identifier_feature:
        badge = mark_safe(_RECORD_ID)  # noqa: S308 - constant markup
    elif f.name == group.event_time_feature:
        badge = mark_safe(_EVENT_TIME)  # noqa: S308 - constant markup
    else:
        badge = ""
    parameters = f.parameters.items() if isinstance(f.parameters, dict) else ()
    return (
        f.schema_url,
        f.name,
        badge,
        f.type,
        f.collection_type,
        format_html(" ({})", f.schema_dimension) if f.schema_dimension else "",
        f.schema_summary,
        format_html_join(mark_safe("<br>"), '<span class="font-mono">{}</span>={}', parameters),  # noqa: S308
    )
