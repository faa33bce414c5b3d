"""The quickened converter (engine/quickmarkdown.py) converts exactly as stock Python-Markdown does.

The quick inline stage skips a pattern on text that lacks what the pattern needs; a block
processor fails its test at once on a block that lacks what its regex needs. These tests check
each claim of both tables on generated text, that every inline pattern the converter runs is in
its table and every block entry still names a processor (or the speed-up silently goes), and
that the stock path (another Python-Markdown release: `MarkdownConverter(version=...)`) gives the
same HTML on every fixture page, on generated Markdown and on a whole built site.
"""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest
from conftest import FIXTURES, ROOT, add_generated_pages, build_site, copy_site
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cache import Cache
from engine.content import split_front_matter
from engine.limits import costly_markdown
from engine.markup import MarkdownConverter, stock_markdown
from engine.pages import render_site
from engine.quickmarkdown import BLOCK_NEEDS, INLINE_NEEDS, QUICKENED_FOR, _QuickInlineProcessor, block_regex_source
from engine.settings import load_settings
from engine.site import load_inputs, resolve_site
from engine.templates import load_layouts

_INLINE_STAGES = ("inline", "smarty")
# The converter every comparison below holds the quick one against: no table, no private method.
_QUICK, _STOCK = MarkdownConverter(), MarkdownConverter(version="0.0")


def test_the_installed_markdown_is_the_release_the_tables_were_made_for() -> None:
    """requirements.txt pins it; on another release the stock path runs, and these tests compare nothing quick."""
    assert markdown.__version__ == QUICKENED_FOR
    assert _QUICK.is_quick is True


def test_another_markdown_release_gets_the_stock_converter() -> None:
    assert _STOCK.is_quick is False
    stock = stock_markdown()
    assert [type(stage) for stage in _STOCK._md.treeprocessors] == [type(stage) for stage in stock.treeprocessors]
    assert not any("test" in vars(processor) for processor in _STOCK._md.parser.blockprocessors)


def test_every_block_entry_names_a_processor_whose_test_it_quickens() -> None:
    quickened = {block_regex_source(processor): vars(processor).get("test")
                 for processor in _QUICK._md.parser.blockprocessors}
    missing = [source for source in BLOCK_NEEDS if quickened.get(source) is None]
    assert missing == [], "entries whose processor's regex changed: the shortcut is lost for them"


# Characters the block table cares about, and plain text around them.
_BLOCK_TRICKY = st.text(st.sampled_from(list(">#=-_*:[]^()'\"\\ \n\tax1.")), max_size=40)


@pytest.mark.parametrize("source", sorted(BLOCK_NEEDS), ids=lambda source: source[:24])
def test_a_block_regex_never_matches_a_block_without_what_the_table_says_it_needs(source: str) -> None:
    regex = next(getattr(p, "SEARCH_RE", None) or p.RE for p in _QUICK._md.parser.blockprocessors  # type: ignore[attr-defined]
                 if block_regex_source(p) == source)  # compiled as Python-Markdown compiles it (flags and all)
    _never_matches_without(regex, BLOCK_NEEDS[source], _BLOCK_TRICKY)


def _never_matches_without(regex: re.Pattern[str], needs: tuple[str, ...], texts: st.SearchStrategy[str]) -> None:
    """A table's claim: the regex finds nothing in any generated text that lacks all of `needs`."""

    @settings(max_examples=200, deadline=None)
    @given(texts)
    def check(text: str) -> None:
        if not any(part in text for part in needs):
            assert regex.search(text) is None, (regex.pattern, text)

    check()


def test_both_inline_stages_use_the_quick_loop_and_every_pattern_has_an_entry() -> None:
    for name in _INLINE_STAGES:
        stage = _QUICK._md.treeprocessors[name]
        assert type(stage) is _QuickInlineProcessor, name
        patterns = [pattern.pattern for pattern in stage.inlinePatterns]  # type: ignore[attr-defined]
        missing = [pattern for pattern in patterns if pattern not in stage.needs]
        assert missing == [], f"patterns of '{name}' that are always tried"


# Characters every pattern in the table cares about, and plain text around them.
_TRICKY = st.text(st.sampled_from(list("`\\[]@^!<>:/&#;*_-.'\"() \n\t\u2013\u2014abcsx019")), max_size=40)


@pytest.mark.parametrize("source", sorted(INLINE_NEEDS), ids=lambda source: source[:24])
def test_a_pattern_never_matches_text_without_what_the_table_says_it_needs(source: str) -> None:
    _never_matches_without(re.compile(source, re.DOTALL | re.UNICODE), INLINE_NEEDS[source], _TRICKY)


def _bodies(folder: Path) -> list[str]:
    """Every page body under folder that the engine would convert (it refuses those too slow to)."""
    bodies = []
    for file in sorted(folder.rglob("*.md")):
        text = file.read_bytes().decode("utf-8", errors="replace")
        try:
            body = split_front_matter(text).body
        except ValueError:
            body = text
        if costly_markdown(body) is None:
            bodies.append(body)
    return bodies


def test_every_fixture_page_converts_to_the_same_html(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    add_generated_pages(site, 20)
    bodies = _bodies(ROOT / "content") + _bodies(FIXTURES) + _bodies(site / "content")
    assert len(bodies) > 100
    quick, stock = MarkdownConverter(), MarkdownConverter(version="0.0")
    for body in bodies:
        outcome = _outcome(quick, body)
        assert outcome == _outcome(stock, body)
        if outcome is RecursionError:  # a converter is not trusted after one (see the test below)
            quick, stock = MarkdownConverter(), MarkdownConverter(version="0.0")


def _outcome(converter: MarkdownConverter, body: str) -> object:
    try:
        return converter.convert(body)
    except RecursionError:  # the fixture nested too deeply for either (the engine refuses it earlier)
        return RecursionError


@pytest.mark.parametrize("version", [QUICKENED_FOR, "0.0"], ids=["quick", "stock"])
def test_a_body_too_deep_to_convert_leaves_the_converter_as_it_was(version: str) -> None:
    """convert_page reports a body nested too deeply as a problem; the converter goes on to convert the
    next bodies of the build (and fill the Markdown cache with them) exactly as a fresh one does."""
    converter = MarkdownConverter(version=version)
    message = converter.convert_page("Text.\n\n" + "- " * 3000 + "x\n")
    assert isinstance(message, str) and "nested too deeply" in message
    for body in ("A paragraph.\n", "## Heading\n\n- item\n\n> quote\n"):
        assert converter.convert(body) == MarkdownConverter(version=version).convert(body)


_PIECES = st.sampled_from([
    "word", " ", "\n", "\n\n", "  \n", "*", "**", "_", "__", "`", "``", "\\", "\\*", "[", "]", "(", ")", "![",
    "[^1]", "[@src-a]", "[@a; @b]", "<", ">", "<b>", "</b>", "<https://example.org/x>", "<me@example.org>",
    "&amp;", "&#8211;", "&", ";", "'", '"', "--", "---", "...", "- ", "1. ", "> ", "# ", "## Heading\n",
    "[link](https://example.org)", "[ref][r]", "\n[r]: https://example.org/r\n", "*[HTML]: Hyper Text\n",
    "HTML", "{: #id }", "Term\n: Definition\n", "| a | b |\n|---|--:|\n| 1 | 2 |\n", "```\ncode\n```\n", "'90s",
    "[^1]: A note.\n", "Title\n=====\n", "Title\n-----\n", "***\n", "_ _ _\n", "    indented\n", ":",
    "\n\n[TOC]\n\n", "[TOC]", "\\[TOC\\]", "&#91;TOC&#93;", "[TO", "C]", "::: chart counts\n", "\n::: sources\n",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_generated_markdown_converts_to_the_same_html(pieces: list[str]) -> None:
    body = "".join(pieces)
    assert _QUICK.convert(body) == _STOCK.convert(body)


def test_a_page_with_the_toc_marker_still_gets_its_table() -> None:
    """A `[TOC]` paragraph has always become the page's table of contents (Python-Markdown's default)."""
    body = "Intro.\n\n[TOC]\n\n## One\n\nText.\n\n### Two\n\nMore [TOC] text.\n"
    quick = _QUICK.convert(body)
    assert quick == _STOCK.convert(body)
    assert '<div class="toc">' in quick.html and 'href="#one"' in quick.html and "<p>More [TOC] text.</p>" in quick.html
    assert "<p>[TOC]</p>" not in quick.html


def test_the_toc_marker_is_searched_for_in_each_document_that_holds_it() -> None:
    """The marker option is set anew for every document: one without the marker leaves it on for the next."""
    converter = MarkdownConverter()
    with_marker = "[TOC]\n\n## One\n"
    for body in ("## Plain\n", with_marker, "## Plain\n\n[TOC] in a sentence\n", with_marker):
        assert converter.convert(body) == _STOCK.convert(body)
    assert '<div class="toc">' in converter.convert(with_marker).html


def _render_every_page(site_folder: Path, converter: MarkdownConverter) -> dict[str, bytes]:
    """out_path -> bytes of every page, as render_site makes them with `converter` and no cache."""
    settings = load_settings(site_folder / "site_config.yaml")
    cache = Cache(None)
    pages, data, _ = load_inputs(settings, cache)
    site = resolve_site(settings, pages, data)
    made: dict[str, bytes] = {}
    output = render_site(site, load_layouts(settings.layouts_dir, cache), cache,
                         lambda file: made.__setitem__(file.out_path, file.content()), jobs=1, converter=converter)
    assert not output.has_errors, output.problems
    return {path: data for path, data in made.items() if path.endswith("index.html")}


@pytest.mark.parametrize("fixture", ["features", "deploy"])
def test_a_site_rendered_with_the_stock_converter_is_the_built_site(tmp_path: Path, fixture: str) -> None:
    site = copy_site(fixture, tmp_path)
    if fixture == "features":
        add_generated_pages(site, 10)
    assert build_site(site, "--no-cache")[0] == 0
    stock = _render_every_page(site, MarkdownConverter(version="0.0"))
    quick = _render_every_page(site, MarkdownConverter())
    built = {path: (site / "output" / path).read_bytes() for path in quick}
    assert quick == built, "rendering page by page no longer gives the build's pages"
    assert stock == built
