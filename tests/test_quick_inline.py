"""The quicker inline stage, block tests and table of contents (engine/markup.py, issue 8) convert
exactly as Python-Markdown's own.

The inline stage skips a pattern on text that lacks what the pattern needs; a block processor
fails its test at once on a block that lacks what its regex needs. These tests check each claim
of both tables on generated text, that every inline pattern the converter runs is in its table
and every block entry still names a processor (or the speed-up silently goes), and that whole
sites and generated Markdown convert to the very same HTML with and without the shortcuts.
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
from engine.markup import (
    _BLOCK_REQUIRED_TEXT,
    _REQUIRED_TEXT,
    MarkdownConverter,
    _QuickInlineProcessor,
    block_regex_source,
)

sys.path.insert(0, str(ROOT / "bench"))
from sitegen import make_site  # noqa: E402

_INLINE_STAGES = ("inline", "smarty")


def _stock_converter() -> MarkdownConverter:
    """The same converter with Python-Markdown's own inline loop and block tests put back."""
    converter = MarkdownConverter()
    for name in _INLINE_STAGES:
        converter._md.treeprocessors[name].__class__ = treeprocessors.InlineProcessor
    for processor in converter._md.parser.blockprocessors:
        processor.__dict__.pop("test", None)  # the quick test shadows the class's method
    for name in ("run", "build_toc_div", "replace_marker"):  # and the table of contents is built again
        converter._md.treeprocessors["toc"].__dict__.pop(name)
    return converter


def test_every_block_entry_names_a_processor_whose_test_it_quickens() -> None:
    quickened = {block_regex_source(processor): processor.__dict__.get("test")
                 for processor in MarkdownConverter()._md.parser.blockprocessors}
    missing = [source for source in _BLOCK_REQUIRED_TEXT if quickened.get(source) is None]
    assert missing == [], "entries whose processor's regex changed: the shortcut is lost for them"


# Characters the block table cares about, and plain text around them.
_BLOCK_TRICKY = st.text(st.sampled_from(list(">#=-_*:[]^()'\"\\ \n\tax1.")), max_size=40)


@pytest.mark.parametrize("source", sorted(_BLOCK_REQUIRED_TEXT), ids=lambda source: source[:24])
def test_a_block_regex_never_matches_a_block_without_what_the_table_says_it_needs(source: str) -> None:
    regex = next(getattr(p, "SEARCH_RE", None) or p.RE for p in MarkdownConverter()._md.parser.blockprocessors
                 if block_regex_source(p) == source)  # compiled as Python-Markdown compiles it (flags and all)
    _never_matches_without(regex, _BLOCK_REQUIRED_TEXT[source], _BLOCK_TRICKY)


def _never_matches_without(regex: re.Pattern[str], needs: tuple[str, ...], texts: st.SearchStrategy[str]) -> None:
    """A table's claim: the regex finds nothing in any generated text that lacks all of `needs`."""

    @settings(max_examples=300, deadline=None)
    @given(texts)
    def check(text: str) -> None:
        if not any(part in text for part in needs):
            assert regex.search(text) is None, (regex.pattern, text)

    check()


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
    _never_matches_without(re.compile(source, re.DOTALL | re.UNICODE), _REQUIRED_TEXT[source], _TRICKY)


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
    "[^1]: A note.\n", "Title\n=====\n", "Title\n-----\n", "***\n", "_ _ _\n", "    indented\n", ":",
    "\n\n[TOC]\n\n", "[TOC]",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_generated_markdown_converts_to_the_same_html(pieces: list[str]) -> None:
    body = "".join(pieces)
    assert _QUICK.convert(body) == _STOCK.convert(body)


_QUICK, _STOCK = MarkdownConverter(), _stock_converter()


def test_a_page_with_the_toc_marker_still_gets_its_table() -> None:
    body = "Intro.\n\n[TOC]\n\n## One\n\nText.\n\n### Two\n\nMore [TOC] text.\n"
    quick = _QUICK.convert(body)
    assert quick == _STOCK.convert(body)
    assert '<div class="toc">' in quick.html and 'href="#one"' in quick.html and "[TOC]" in quick.html
    assert _QUICK.convert("## One\n\nNo marker here.\n") == _STOCK.convert("## One\n\nNo marker here.\n")
