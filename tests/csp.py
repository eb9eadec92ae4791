"""What the strict Content-Security-Policy forbids, checked in a page's HTML."""

from __future__ import annotations

import re


def assert_csp_clean(html: str) -> None:
    """No inline script (any <script> without src), <style>, style or event-handler attribute, javascript: URL."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"<style\b", html), "inline <style>"
    assert not re.search(r"\sstyle=", html), "style attribute"
    assert not re.search(r"\son[a-z]+=", html), "event-handler attribute"
    assert "javascript:" not in html, "javascript: URL"
