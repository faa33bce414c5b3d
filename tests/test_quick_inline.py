"""The quicker inline stage (engine/markup.py, issue 8) converts exactly as Python-Markdown's own.

It skips an inline pattern on text that lacks what the pattern needs. These tests check each
claim of the table on generated text, that every pattern the converter runs is in the table
(or the speed-up silently goes), and that whole sites and generated Markdown convert to the
very same HTML with and without the shortcut.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown import treeprocessors

from engine.content import split_front_matter
from engine.markup import _REQUIRED_TEXT, MarkdownConverter, _QuickInlineProcessor

sys.path.insert(0, str(ROOT / "bench"))
from sitegen import make_site  # noqa: E402

_INLINE_STAGES = ("inline", "smarty")


def _stock_converter() -> MarkdownConverter:
    """The same converter with Python-Markdown's own inline loop put back."""
    converter = MarkdownConverter()
    for name in _INLINE_STAGES:
        converter._md.treeprocessors[name].__class__ = treeprocessors.InlineProcessor
    return converter


def test_both_inline_stages_use_the_quick_loop_and_every_pattern_has_an_entry() -> None:
    md = MarkdownConverter()._md
    for name in _INLINE_STAGES:
        stage = md.treeprocessors[name]
        assert type(stage) is _QuickInlineProcessor, name
        missing = [pattern.pattern for pattern in stage.inlinePatterns if pattern.pattern not in _REQUIRED_TEXT]
        assert missing == [], f"patterns of '{name}' that are always tried"


# Characters every pattern in the table cares about, and plain text around them.
_TRICKY = st.text(st.sampled_from(list("`\\[]@^!<>:/&#;*_-.'\"() \n\t\u2013\u2014abcsx019")), max_size=40)


@pytest.mark.parametrize("source", sorted(_REQUIRED_TEXT), ids=lambda source: source[:24])
def test_a_pattern_never_matches_text_without_what_the_table_says_it_needs(source: str) -> None:
    compiled = re.compile(source, re.DOTALL | re.UNICODE)
    needs = _REQUIRED_TEXT[source]

    @settings(max_examples=300, deadline=None)
    @given(_TRICKY)
    def check(text: str) -> None:
        if not any(part in text for part in needs):
            assert compiled.search(text) is None, (source, text)

    check()


def _bodies(folder: Path) -> list[str]:
    bodies = []
    for file in sorted(folder.rglob("*.md")):
        text = file.read_bytes().decode("utf-8", errors="replace")
        try:
            bodies.append(split_front_matter(text).body)
        except ValueError:
            bodies.append(text)
    return bodies


def test_whole_sites_convert_to_the_same_html(tmp_path: Path) -> None:
    bodies = _bodies(ROOT / "content") + _bodies(ROOT / "tests" / "fixtures")
    bodies += _bodies(make_site(tmp_path / "synthetic", 40) / "content")
    quick, stock = MarkdownConverter(), _stock_converter()
    assert len(bodies) > 100
    for body in bodies:
        assert _outcome(quick, body) == _outcome(stock, body)


def _outcome(converter: MarkdownConverter, body: str) -> object:
    try:
        return converter.convert(body)
    except RecursionError:  # the fixture nested too deeply for either (the engine refuses it earlier)
        return RecursionError


_PIECES = st.sampled_from([
    "word", " ", "\n", "\n\n", "  \n", "*", "**", "_", "__", "`", "``", "\\", "\\*", "[", "]", "(", ")", "![",
    "[^1]", "[@src-a]", "[@a; @b]", "<", ">", "<b>", "</b>", "<https://example.org/x>", "<me@example.org>",
    "&amp;", "&#8211;", "&", ";", "'", '"', "--", "---", "...", "- ", "1. ", "> ", "# ", "## Heading\n",
    "[link](https://example.org)", "[ref][r]", "\n[r]: https://example.org/r\n", "*[HTML]: Hyper Text\n",
    "HTML", "{: #id }", "Term\n: Definition\n", "| a | b |\n|---|--:|\n| 1 | 2 |\n", "```\ncode\n```\n", "'90s",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_generated_markdown_converts_to_the_same_html(pieces: list[str]) -> None:
    body = "".join(pieces)
    assert _QUICK.convert(body) == _STOCK.convert(body)


_QUICK, _STOCK = MarkdownConverter(), _stock_converter()
