"""Shortcuts the renderer takes for speed give what the plain way gives."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import build_site
from hypothesis import given
from hypothesis import strategies as st

from engine import glossary
from engine.content import Page, PageMeta
from engine.data import GlossaryTerm
from engine.markup import DIRECTIVE_MARKER, count_words

_TERMS = {"widget": GlossaryTerm("widget", "widget", "A small thing.", 1, ("widgets", "blue widget")),
          "gadget": GlossaryTerm("gadget", "gadget", "A different thing.", 2),
          "blue": GlossaryTerm("blue", "blue", "A colour (and the start of a longer term).", 3)}
_HTML_PIECES = st.sampled_from([
    "widget", "widgets", "blue widget", "gadget", "x", "-", " ", "\n", "’", "&amp;", "<p>", "</p>",
    '<a href="x">', "</a>", "<A>", "</A >", "<code>", "</code>", "<br/>", "<sup/>", '<h2 id="widget">', "</h2>",
    '<span title="widget">', "</span>", "<>", "<abbrx>", "</abbr>", "<timex>", "<svg/>", "<", ">", "<!-- ", " -->",
])


_PAGE = Page("content/x.md", PageMeta("X", "A page."), "", 1, "page", "x/", "0" * 64)


def test_a_directive_used_on_many_pages_follows_each_page(make_site) -> None:  # type: ignore[no-untyped-def]
    # The renderer keeps each directive's HTML for the rest of the build; the key must hold
    # everything that shapes it: the page's depth (its links) and whether it is the timeline page.
    site = make_site("features")
    for name, directive in (("index.md", "::: timeline category=two from=2019"), ("second.md", "::: timeline")):
        page = site / "content" / name
        page.write_text(page.read_text(encoding="utf-8") + f"\n{directive}\n", encoding="utf-8")
    code, errors = build_site(site)
    assert code == 0, errors
    output = site / "output"
    home, first = (output / "index.html").read_text(), (output / "first" / "index.html").read_text()
    second, timeline = (output / "second" / "index.html").read_text(), (output / "timeline" / "index.html").read_text()
    assert '<p class="timeline-more"><a href="./timeline/">' in home
    assert '<p class="timeline-more"><a href="../timeline/">' in first
    assert 'class="timeline timeline-slice"' in second and 'class="timeline timeline-slice"' not in timeline
    assert "data-timeline-filter" in timeline and "data-timeline-filter" not in second


_MARKER_PIECES = st.sampled_from(["<p>", "</p>", "<", "p", ">", '<x-directive name="chart" args="a b">',
                                  "</x-directive>", '<x-directive name="" args="">', "x", "\n"])


@given(st.lists(_MARKER_PIECES, max_size=20))
def test_directive_markers_match_as_the_plainly_written_pattern_does(pieces: list[str]) -> None:
    html = "".join(pieces)
    plain = re.compile(r'(?:<p>)?<x-directive name="([^"]*)" args="([^"]*)"></x-directive>(?:</p>)?')
    assert [(m.span(), m.groups()) for m in DIRECTIVE_MARKER.finditer(html)] == \
        [(m.span(), m.groups()) for m in plain.finditer(html)]


@given(st.lists(st.one_of(st.sampled_from(["<p>", "</p>", '<a href="x-y">', "&rsquo;", "’", "don't", "-", "_"]),
                          st.text(max_size=8)), max_size=20))
def test_words_are_counted_as_the_word_pattern_counts_them(pieces: list[str]) -> None:
    html = "".join(pieces)
    assert count_words(html) == len(re.findall(r"[\w’'-]+", re.sub(r"<[^>]+>", " ", html)))


def test_each_cited_source_shows_its_own_entry_on_every_page(built_site: Path) -> None:
    # Source entries are drawn once per build through `cached`: each page must still list its own.
    for out_path in ("first/index.html", "second/index.html", "index.html"):
        html = (built_site / out_path).read_text(encoding="utf-8")
        hidden = re.findall(r'href="#source-(\d+)">\d+<span class="visually-hidden">: ([^<]*)</span>', html)
        listed = dict(re.findall(r'<li id="source-(\d+)">\s*<cite class="source-title"><a [^>]*>([^<]*)</a>', html))
        assert hidden and listed
        for number, label in hidden:
            assert label.endswith(f"“{listed[number]}”"), (out_path, number)
        # Backlinks are drawn once per (number, anchors): each entry links back to its own markers.
        for number in listed:
            markers = re.findall(rf'<a id="(cite-{number}-\d+)" href="#source-{number}">', html)
            entry = html.split(f'<li id="source-{number}">', 1)[1].split("</li>", 1)[0]
            assert re.findall(r'<a href="#(cite-[\d-]+)" aria-label="Back to citation \d+ of source (\d+)"', entry) \
                == [(marker, number) for marker in markers], (out_path, number)


_WORD_PIECES = st.sampled_from(["widget", "widgets", "blue widget", "blue", "gadget", "gadgets", "x", "-", " ", "’",
                                "&rsquo;", "Widget", "w", "s", "<b>"])


@given(st.lists(_WORD_PIECES, max_size=25))
def test_the_term_pattern_matches_as_one_longest_first_alternation_does(pieces: list[str]) -> None:
    text = "".join(pieces)
    pattern, words = glossary.term_pattern(_TERMS)
    assert pattern is not None
    ordered = sorted(words, key=lambda w: (-len(w), w))
    plain = re.compile(rf"(?<![\w-])(?:{'|'.join(map(re.escape, ordered))})(?![\w-])")
    assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in plain.finditer(text)]


@given(st.lists(_WORD_PIECES, max_size=25))
def test_term_matches_found_by_str_find_are_the_patterns_own(pieces: list[str]) -> None:
    text = "".join(pieces)
    pattern, words = glossary.term_pattern(_TERMS)
    assert pattern is not None
    assert [m.span() for m in glossary._term_matches(pattern, words, text)] == [m.span() for m in pattern.finditer(text)]
