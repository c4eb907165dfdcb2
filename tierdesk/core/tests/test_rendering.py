"""Markdown from people renders as formatting, never as active content."""

from __future__ import annotations

import pytest

from tierdesk.core.rendering import render_markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<div onclick="alert(1)">x</div>',
    "<<script>script>alert(1)<</script>/script>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_render_inert(payload: str) -> None:
    html = str(render_markdown(payload)).lower()
    for needle in ("<script", "onerror", "onclick", "javascript:", "<iframe", "<svg", "<math", "<img", "<style"):
        assert needle not in html


def test_formatting_survives() -> None:
    html = str(render_markdown("**bold** and [docs](https://example.org)\n\n- one\n- two"))
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<li>one</li>" in html
