"""Raw HTML in content: the allow-list sanitizer's removals are reported, never silently made.

The table follows the classes of the OWASP XSS filter-evasion cheat sheet: case, separators,
entities, nested and broken tags, SVG and MathML, URL schemes, and what a page must not load or
redirect to. Each row is built as a real page, and the problem must name the row's line.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, build_site, copy_site
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.markup import MarkdownConverter
from engine.safety import (
    ALLOWED_TAGS,
    check_layout_output,
    layout_output_problems,
    sanitize,
    sanitizer_keeps_all,
    sanitizer_removals,
    unsafe_markup,
)

_SCRIPT = "raw <script> is not allowed in content"
_EVENT = "the event attribute '{}=' is not allowed in content"
_URL = "a {}: URL is not allowed in content"

EVASIONS = [
    ('<div><img/onerror="alert(1)" src="x.png"></div>', _EVENT.format("onerror")),
    ('<div><p ONMOUSEOVER="alert(1)">x</p></div>', _EVENT.format("onmouseover")),
    ("<div><p\tonclick=alert(1)>x</p></div>", _EVENT.format("onclick")),
    ('<div><a href="&#106;avascript:alert(1)">x</a></div>', _URL.format("javascript")),
    ('<div><a href="&#x6A;&#x61;vascript:alert(1)">x</a></div>', _URL.format("javascript")),
    ('<div><a href=" jav&#x09;ascript:alert(1)">x</a></div>', _URL.format("javascript")),
    ('<div><a href="JaVaScRiPt:alert(1)">x</a></div>', _URL.format("javascript")),
    ('<div><a href="vbscript:msgbox(1)">x</a></div>', _URL.format("vbscript")),
    ('<div><a href="data:text/html;base64,PHNjcmlwdD4=">x</a></div>', _URL.format("data")),
    ("[click](javascript:alert(1))", _URL.format("javascript")),
    ('<div><button formaction="&#106;avascript:alert(1)">x</button></div>', "raw <button> is not allowed in content"),
    ('<object data="javascript:alert(1)"></object>', "raw <object> is not allowed in content"),
    ('<embed src="x.swf">', "raw <embed> is not allowed in content"),
    ('<div><form action="https://example.org/"><input name="q"></form></div>', "raw <form> is not allowed in content"),
    ('<meta http-equiv="refresh" content="0;url=https://example.org/">', "raw <meta> is not allowed in content"),
    ('<base href="https://example.org/">', "raw <base> is not allowed in content"),
    ("<ScRiPt>alert(1)</sCrIpT>", _SCRIPT),
    # An HTML5 tag name runs to the first space, '/' or '>': this is one unknown element, then text.
    ("<div><scr<script>ipt>alert(1)</script></div>", "raw <scr<script> is not allowed in content"),
    ("<iframe src=x></iframe>", "raw <iframe> is not allowed in content"),
    ("<svg onload=alert(1)></svg>", "raw <svg> is not allowed in content"),
    ('<div><svg><a xlink:href="javascript:alert(1)">x</a></svg></div>', "raw <svg> is not allowed in content"),
    ('<math><mtext><img src=x onerror="alert(1)"></mtext></math>', "raw <math> is not allowed in content"),
    ('<div><p style="color:red">x</p></div>', "the style attribute is not allowed in content"),
    ("<style>p { color: red }</style>", "raw <style> is not allowed in content"),
    ('<div><img src="https://tracker.example/x.png" alt="x"></div>',
     "<img src> from another host (tracker.example) is not allowed in content"),
    ('<div><img src="//tracker.example/x.png" alt="x"></div>',
     "<img src> from another host (tracker.example) is not allowed in content"),
]


@pytest.mark.parametrize("markup, message", EVASIONS, ids=[row[0][:40] for row in EVASIONS])
def test_each_evasion_is_refused_at_its_line(markup: str, message: str, tmp_path: Path) -> None:
    site = copy_site("minimal", tmp_path)
    (site / "content" / "evasion.md").write_text(
        f"---\ntitle: Evasion\nsummary: One trick.\n---\nA paragraph.\n\n{markup}\n\nAnother.\n", encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    assert code == 1
    assert f"content/evasion.md:7: {message}" in [line.rsplit(" (", 1)[0] for line in lines], lines
    assert not (site / "output").exists()


@pytest.mark.parametrize("markup", [
    '<div class="note" id="n1"><p title="t">Plain <strong>HTML</strong>, <abbr title="x">ab</abbr>.</p></div>',
    '<figure><img src="../images/map.png" alt="A map" width="300"><figcaption>A map</figcaption></figure>',
    '<a href="https://example.org/a?b=1&amp;c=2">an outside link</a> and <a href="mailto:a@example.org">mail</a>',
    "<details open><summary>More</summary><p>Hidden text.</p></details>",
    '<table><tr><th scope="col" align="right">A</th></tr><tr><td colspan="2">1</td></tr></table>',
    "<!-- a writer's note -->",
])
def test_allowed_html_is_kept_as_written(markup: str) -> None:
    assert list(unsafe_markup(markup)) == []
    assert "example.org" not in markup or "example.org" in sanitize(markup)


def test_mistyped_citations_and_directives_are_refused_at_their_lines(tmp_path: Path) -> None:
    """Markdown would print them as they stand; escaped, in code, or well formed, they are left alone."""
    site = copy_site("minimal", tmp_path)
    (site / "content" / "typos.md").write_text(
        "---\ntitle: Typos\nsummary: Our syntax mistyped.\n---\n"
        "One [@alpha, @beta] and [@ alpha].\n\n"           # 5: a comma, a space
        "Unclosed [@alpha.\n\n"                             # 7
        ":::timeline\n\n"                                   # 9: no space after ':::'
        "  ::: timeline\n\n"                                # 11: indented
        "A line\n:::note\n\n"                              # 14: inside a paragraph
        "Escaped \\[@alpha, @beta] and `[@a, @b]` in code.\n\n"
        "```\n[@a, @b]\n:::x\n```\n", encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    citation = "a citation the build cannot read: it would show as text (write [@id], or [@one; @two] for several)"
    colons = ("a line starting with ':::' that is not a directive: it would show as text (write '::: name' at the "
              "very start of the line, with a space after ':::')")
    assert code == 1
    assert lines[:-1] == [f"content/typos.md:5: {citation}",  # once a line, as every problem
                          f"content/typos.md:7: {citation}", f"content/typos.md:9: {colons}",
                          f"content/typos.md:11: {colons}", f"content/typos.md:14: {colons}"], lines


def test_a_removal_is_reported_once_per_occurrence_at_each_line(tmp_path: Path) -> None:
    site = copy_site("minimal", tmp_path)
    (site / "content" / "two.md").write_text(
        "---\ntitle: Two\nsummary: Two tricks.\n---\n<div onclick=\"a()\">x</div>\n\nText.\n\n"
        "<div onclick=\"b()\">y</div>\n", encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    assert code == 1
    assert [line.split(":", 2)[:2] for line in lines[:-1]] == [["content/two.md", "5"], ["content/two.md", "9"]]


# -- the layouts' output: what any template writes is checked on the rendered page -------------------

_LAYOUT_CASES = [
    ('<a href="java\tscript:alert(1)">x</a>', "a javascript: URL"),
    ('<a href="java\nscript:alert(1)">x</a>', "a javascript: URL"),
    ('<a href="java&#9;script:alert(1)">x</a>', "a javascript: URL"),
    ('<img src="da\tta:image/png;base64,AA" alt="">', "a data: URL"),
    ('<img src="/\t/tracker.example/p.gif" alt="">', "<img src> from another host (tracker.example)"),
    ('<img src="\\\\tracker.example\\p.gif" alt="">', "<img src> from another host (tracker.example)"),
    ('<img src="https:\\\\tracker.example/p.gif" alt="">', "<img src> from another host (tracker.example)"),
    ('<img src="svn+ssh://tracker.example/p" alt="">', "<img src> from another host (tracker.example)"),
    ('<script src="/\n/cdn.example/x.js"></script>', "<script src> from another host (cdn.example)"),
    ('<link rel="stylesheet" href="/\n/cdn.example/x.css">', "<link href> from another host (cdn.example)"),
    ('<link\nrel="icon"\nhref="//cdn.example/i.png">', "<link href> from another host (cdn.example)"),
]


@pytest.mark.parametrize("markup, message", _LAYOUT_CASES, ids=[row[0][:40] for row in _LAYOUT_CASES])
def test_urls_split_by_tabs_newlines_or_backslashes_are_refused_in_the_layouts_output(markup: str,
                                                                                      message: str) -> None:
    """A browser drops tabs and newlines inside a URL and reads '\\' as '/': what it would run or load
    from another host is refused however the template writes it."""
    page = f"<!doctype html>\n<html><body>\n{markup}\n</body></html>\n"
    assert check_layout_output(page) == [(3, f"{message} is not allowed in the layouts' output")]


_URL_PIECES = st.sampled_from(["java", "script", "vb", "da", "ta", ":", "/", "\\", "\t", "\n", " ", "&#9;", "&#x6A;",
                               "&colon;", "&amp;", "http", "s", "tracker.example", "x.png", "#", "?a=1"])
_TAG_SHAPES = st.sampled_from(['<a href="{}">x</a>', '<img src="{}" alt="">', "<img src='{}' alt=''>", "<img src={} alt=x>",
                               '<script src="{}"></script>', '<link rel="stylesheet" href="{}">',
                               '<link\nrel="icon"\thref="{}">', '<form action="{}"></form>', '<video poster="{}"></video>'])


@settings(max_examples=300, deadline=None)
@given(_TAG_SHAPES, st.lists(_URL_PIECES, max_size=8))
def test_the_quick_look_never_skips_a_page_the_full_check_refuses(shape: str, pieces: list[str]) -> None:
    """check_layout_output parses a page only when its tags hold a word a problem needs: it must find
    exactly what reading every element finds."""
    page = f"<!doctype html>\n<html><body>\n{shape.format(''.join(pieces))}\n</body></html>\n"
    assert check_layout_output(page) == layout_output_problems(page)


def test_a_tag_whose_quote_is_never_closed_ends_the_build(tmp_path: Path) -> None:
    """Raw HTML with an attribute's quote left open: the layouts' check reads each tag once. Its pattern
    used to try every split of the tag's text, 2^n ways, and the build never ended."""
    site = copy_site("minimal", tmp_path)
    page = site / "content" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + '\n<div><a title="' + "x" * 200 + "</div>\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "--config", str(site / "site_config.yaml"), "--quiet"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 1) and "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr


# -- the body check's quick look: HTML the sanitizer keeps whole is not cleaned -------------------

_BODY_TAGS = ["p", "a", "img", "em", "blockquote", "q", "td", "th", "ol", "li", "cite-marker", "h2", "script", "style",
              "svg", "iframe", "meta", "P", "A", "x-y", "abbr", "time", "details"]
_BODY_ATTRIBUTES = ["href", "src", "cite", "id", "class", "title", "alt", "ids", "align", "start", "onclick", "onerror",
                    "style", "data-x", "lang", "datetime", "open", "HREF", "name"]
_BODY_VALUES = [
    "x", "#fn:1", "../a/", "https://example.org/a?b=1&amp;c=2", "HTTPS://example.org", "mailto:a@example.org",
    "glossary:term", "file:///x", "javascript:alert(1)", "JavaScript:x", "java&#115;cript:x", "java&#x09;script:x",
    "java\tscript:x", " javascript:x", "vbscript:x", "data:text/html,x", "a:b", "./a:b", "//tracker.example/x.png",
    "/\\tracker.example/x.png", "\\\\tracker.example/x", "https://tracker.example/x.png", "x.png", "a b", "&lt;&gt;",
    "&quot;", "&#58;", "&colon;", "\u017ftp:x", "", "1", "right",
]


def test_the_body_check_skips_the_sanitizer_only_where_it_removes_nothing_on_every_single_attribute() -> None:
    """unsafe_markup cleans a body only when a tag is not one the allow-list keeps whole: what it finds
    must be the sanitizer's removals, read in full. Every element, attribute and value of the lists."""
    for tag in _BODY_TAGS:
        for name in _BODY_ATTRIBUTES:
            for value in _BODY_VALUES:
                html = f'<{tag} {name}="{value}">text</{tag}>'
                assert list(unsafe_markup(html)) == list(sanitizer_removals(html)), html


@st.composite
def _body_tags(draw: st.DrawFn) -> str:
    tag = draw(st.sampled_from(_BODY_TAGS))
    attributes = "".join(f' {draw(st.sampled_from(_BODY_ATTRIBUTES))}="{draw(st.sampled_from(_BODY_VALUES))}"'
                         for _ in range(draw(st.integers(0, 3))))
    ending = draw(st.sampled_from([">", " />", "/>", "  >", ">text", f">text</{tag}>"]))
    return f"<{tag}{attributes}{ending}"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_body_tags(), st.sampled_from(["text", "<", "&lt;", "<!-- c -->", "</p>", "</x-y>", "\n"])),
                min_size=1, max_size=6))
def test_the_body_check_skips_the_sanitizer_only_where_it_removes_nothing(pieces: list[str]) -> None:
    """The same on tags in a row, with several attributes, other endings, text, comments and stray '<'."""
    html = "".join(pieces)
    assert list(unsafe_markup(html)) == list(sanitizer_removals(html))


def test_markdown_written_html_takes_the_quick_look() -> None:
    """Markdown's own HTML (links, pictures, tables, footnotes, headings, lists) is recognized as kept
    whole, so a build cleans only bodies with raw HTML of other kinds."""
    body = ("## A heading\n\nA [link](https://example.org/a?b=1&c=2 \"Title\"), ![a map](../images/map.png), "
            "*emphasis*, `code`, \"quotes\" -- and a note.[^1]\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n"
            "> A quote.\n\n1. one\n2. two\n\nTerm\n: Definition\n\n[^1]: The note, with [a link](#top).\n")
    html = MarkdownConverter().convert(body).html
    assert all(tag in html for tag in ('<a href="https:', "<img ", "<table>", "<sup ", "<h2 ", "<blockquote>", "<dl>"))
    assert sanitizer_keeps_all(html)
    assert not sanitizer_keeps_all(html.replace("<blockquote>", '<blockquote onclick="x">'))
    assert "cite-marker" in ALLOWED_TAGS and sanitizer_keeps_all('<p>x<cite-marker ids="src-a"></cite-marker></p>')
