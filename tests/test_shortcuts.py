"""Shortcuts the renderer takes for speed (issue 8) give what the plain way gives."""

from __future__ import annotations

import pytest

from engine.safety import unsafe_markup

_JAVASCRIPT_MESSAGE = "a javascript: URL is not allowed in content"


@pytest.mark.parametrize("html, found", [
    ('<a href="javascript:alert(1)">x</a>', True),
    ('<a href="JavaScript:alert(1)">x</a>', True),
    ("[x](javascript:alert(1))", True),
    # Non-ASCII text takes the pattern path: re.I folds ſ (long s) to s.
    ('<a href="javaſcript:alert(1)">México</a>', True),
    ('<a href="https://example.org/">javascript: the language</a>', False),
    ("<p>No script here, México.</p>", False),
])
def test_javascript_urls_are_found_with_or_without_the_quick_test(html: str, found: bool) -> None:
    assert any(message == _JAVASCRIPT_MESSAGE for _, message, _ in unsafe_markup(html)) is found
