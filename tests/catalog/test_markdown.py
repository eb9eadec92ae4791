"""The markdown sanitiser: descriptions written by owners of other accounts must not run code."""

import pytest
from django.template import Context, Template

from catalog.markdown import markdown_to_html


def test_markdown_renders_headings_lists_tables_and_code():
    html = markdown_to_html(
        "# Customer features\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('hi')\n```"
    )
    assert "<h1>Customer features</h1>" in html
    assert "<li>one</li>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert '<code class="language-python">' in html


def test_empty_or_blank_markdown_renders_nothing():
    assert markdown_to_html("") == ""
    assert markdown_to_html("   \n ") == ""


def test_script_tags_are_dropped_with_their_content():
    html = markdown_to_html("Hello <script>alert('x')</script> world")
    assert "<script" not in html
    assert "alert" not in html
    assert "Hello" in html and "world" in html


def test_event_handler_attributes_are_stripped():
    html = markdown_to_html(
        '<img src="x" onerror="alert(1)"> <b onclick="steal()">bold</b> <a href="https://ok.example" onmouseover="x()">l</a>'
    )
    assert "onerror" not in html
    assert "onclick" not in html
    assert "onmouseover" not in html
    assert "alert" not in html


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        '<a href="javascript:alert(1)">click</a>',
        '<a href="&#106;avascript:alert(1)">click</a>',
        "[click](vbscript:msgbox(1))",
    ],
)
def test_javascript_links_lose_their_href(source):
    html = markdown_to_html(source)
    assert "href" not in html
    assert "script:" not in html.lower()
    assert "click" in html


def test_iframes_are_removed():
    html = markdown_to_html('before <iframe src="https://evil.example/"></iframe> after')
    assert "iframe" not in html
    assert "evil.example" not in html
    assert "before" in html and "after" in html


@pytest.mark.parametrize(
    "source",
    [
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<a href="data:text/html,<script>alert(1)</script>">data</a>',
        "![pixel](data:image/png;base64,iVBORw0KGgo=)",
    ],
)
def test_data_uris_are_removed(source):
    html = markdown_to_html(source)
    assert "data:" not in html
    assert "<img" not in html


def test_links_get_noopener_nofollow_and_keep_https_and_mailto():
    html = markdown_to_html("[docs](https://docs.example/x) and [mail](mailto:team@example.com)")
    assert '<a href="https://docs.example/x" rel="noopener nofollow">docs</a>' in html
    assert 'href="mailto:team@example.com"' in html


def test_style_attributes_and_style_tags_are_removed():
    html = markdown_to_html('<p style="position:fixed">x</p><style>body{display:none}</style>')
    assert "style" not in html
    assert "display:none" not in html


def test_only_language_classes_survive_so_descriptions_cannot_restyle_the_page():
    html = markdown_to_html('<code class="position-fixed top-0 w-100 h-100">x</code>')
    assert "class" not in html


def test_forms_and_svg_are_removed():
    html = markdown_to_html(
        '<form action="https://evil.example"><input name="p"></form><svg onload="alert(1)"></svg>ok'
    )
    assert "<form" not in html and "<input" not in html and "<svg" not in html
    assert "ok" in html


def test_template_filter_renders_sanitised_markdown():
    rendered = Template("{% load pantry_markdown %}{{ text|markdown }}").render(
        Context({"text": "**bold** <script>alert(1)</script>"})
    )
    assert "<strong>bold</strong>" in rendered
    assert "<script" not in rendered
