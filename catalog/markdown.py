"""Markdown → sanitised HTML for Pantry descriptions.

Owners write descriptions in markdown, and markdown lets raw HTML through,
so the rendered HTML goes through nh3 (ammonia) with an allow-list: no
scripts or styles (their content is dropped, not shown), no event-handler or
style attributes, no iframes/forms/images, and links only to http(s) and
mailto. Images are left out on purpose: an `<img>` pointing elsewhere is a
tracking pixel that reports who read the page.
"""

from __future__ import annotations

import re

import markdown as markdown_lib
import nh3

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "dd",
        "del",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
    # fenced_code marks the language as class="language-x"; only that form is
    # kept (see _keep_attribute), since Bootstrap utility classes such as
    # "position-fixed w-100 h-100" would let a description cover the page.
    "code": {"class"},
}
# Anything else (javascript:, data:, vbscript:, file:) drops the href.
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Descriptions are written by owners of other accounts: links leave Pantry
# without handing over window.opener, and search engines get no endorsement.
LINK_REL = "noopener nofollow"
# Tags removed together with their content (the text inside is code, not prose).
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template", "iframe", "object", "embed", "noscript"})

_EXTENSIONS = ["fenced_code", "tables", "sane_lists"]
_LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+-]{1,32}$")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        return value if _LANGUAGE_CLASS.match(value) else None
    return value


def markdown_to_html(text: str) -> str:
    """Render markdown `text` to HTML that is safe to insert into a page as is."""
    if not text or not text.strip():
        return ""
    html = markdown_lib.markdown(text, extensions=_EXTENSIONS, output_format="html")
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
