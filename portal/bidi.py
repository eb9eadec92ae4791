"""Bidirectional control characters never reach a page as themselves.

Descriptions, tag values, parameters, account and lineage names come from
owners, AWS and OpenLineage emitters. An explicit bidi control in them (an
override such as U+202E, an embedding, an isolate, or a directional mark) makes
a browser draw text in a different order than it is stored — "Trojan Source"
— and, in a line of inline text, reorders what comes after it on the page too
("Approved by ‮…" turning the rest of the line around).

Pantry neutralises them at one place, for every HTML response: each one is
replaced by a visible `[U+202E]` marker, so a reader sees that something was
hidden there and nothing reorders. Two exceptions, both deliberate:

- the contents of `<textarea>` (the description editor) are left as stored,
  so editing and saving a description does not rewrite text the owner did
  not touch; the preview beside it shows the markers;
- JSON API responses carry the data as stored (clients render it themselves);
  Pantry's own script that draws API data (the lineage graph) applies the
  same markers (static/pantry/lineage.js).

Legitimate right-to-left text (Arabic, Hebrew) needs none of these
characters: the Unicode bidi algorithm orders it from the letters themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# U+061C ARABIC LETTER MARK, U+200E/U+200F LRM/RLM, U+202A–U+202E LRE, RLE,
# PDF, LRO, RLO, U+2066–U+2069 LRI, RLI, FSI, PDI.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
BIDI_RE = re.compile(f"[{BIDI_CONTROLS}]")
# The same characters in UTF-8, to test a response body without decoding it.
_BIDI_BYTES_RE = re.compile(rb"\xd8\x9c|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]")
_TEXTAREA_RE = re.compile(r"(<textarea\b[^>]*>.*?</textarea>)", re.IGNORECASE | re.DOTALL)


def bidi_controls_visible(text: str) -> str:
    """Replace every bidi control character with a visible `[U+XXXX]` marker."""
    return BIDI_RE.sub(lambda m: f"[U+{ord(m.group(0)):04X}]", text)


def html_bidi_controls_visible(html: str) -> str:
    """`bidi_controls_visible` over an HTML document, except inside `<textarea>` elements.

    The markers are plain letters, digits and brackets, so replacing inside
    attribute values, titles or text can never change the markup.
    """
    parts = _TEXTAREA_RE.split(html)
    # split() with one group: text at even indexes, the textareas at odd ones.
    return "".join(part if i % 2 else bidi_controls_visible(part) for i, part in enumerate(parts))


class BidiControlMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            getattr(response, "streaming", False)
            or not response.get("Content-Type", "").startswith("text/html")
            or response.has_header("Content-Encoding")
            or not _BIDI_BYTES_RE.search(response.content)
        ):
            return response
        charset = response.charset or "utf-8"
        response.content = html_bidi_controls_visible(response.content.decode(charset)).encode(charset)
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
