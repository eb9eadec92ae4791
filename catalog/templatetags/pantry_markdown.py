"""`{{ text|markdown }}`: a description rendered through Pantry's sanitiser."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from catalog.markdown import markdown_to_html

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> SafeString:
    # Safe to mark: markdown_to_html passes everything through nh3's allow-list.
    return mark_safe(markdown_to_html(text or ""))  # noqa: S308
