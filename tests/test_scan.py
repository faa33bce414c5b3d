"""The link scanner against an html.parser reference: the same ids, links, lines and problems.

`scan_html` is a regex tokenizer written to read markup as html.parser does; the
reference below is the HTMLParser scanner it replaced, kept here so every change
to the fast one is checked against it: on every page our builds produce, on
hand-written raw HTML, and on generated tag soup.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT, build_site, copy_site
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.records import PageLinks
from engine.scan import scan_html

# -- the reference: the HTMLParser scanner the fast one replaced ---------------------------------

_LINK_ATTRIBUTES = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"), ("source", "src"),
                    ("use", "href"), ("iframe", "src"), ("form", "action")}
_VOID = frozenset(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"])
_URL_METAS = frozenset(["og:image", "og:url", "twitter:image"])


class _ReferenceParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, int]] = []
        self.problems: list[tuple[int, str]] = []
        self.open_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line: int = self.getpos()[0]
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            if (tag, name) in _LINK_ATTRIBUTES:
                self.links.append((value, line))
        if tag == "meta":
            values = dict(attrs)
            if (values.get("property") or values.get("name")) in _URL_METAS and values.get("content"):
                self.links.append((values["content"] or "", line))
        if tag not in _VOID:
            self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self.open_tags and self.open_tags[-1] == tag:
            self.open_tags.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if tag in self.open_tags:
            while self.open_tags and self.open_tags.pop() != tag:
                pass
        elif tag not in ("p", "li"):
            self.problems.append((self.getpos()[0], f"closing </{tag}> has no matching opening tag"))


def page_links(ids: set[str] | list[str], links: list[tuple[str, int]],
               problems: list[tuple[int, str]] | None = None) -> PageLinks:
    """A PageLinks from (target, line) pairs, as a reader writes them."""
    return PageLinks(ids, [target for target, _ in links], [line for _, line in links], problems or [])


def reference_scan(data: bytes) -> PageLinks:
    parser = _ReferenceParser()
    parser.feed(data.decode("utf-8", errors="replace"))
    parser.close()
    return page_links(parser.ids, parser.links, parser.problems)


def assert_same_as_reference(html: str | bytes) -> None:
    data = html.encode("utf-8") if isinstance(html, str) else html
    assert scan_html(data) == reference_scan(data)


# -- (a) every page our builds produce ---------------------------------------------------------

@pytest.fixture(scope="module")
def built_pages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every HTML file of the fixture sites and of the real explainer, built once for this module."""
    pages: list[Path] = []
    for name in ("features", "deploy", "minimal"):
        site = copy_site(name, tmp_path_factory.mktemp(name))
        code, lines = build_site(site, "--no-cache")
        assert code == 0, lines
        pages += sorted((site / "output").rglob("*.html"))
    explainer = tmp_path_factory.mktemp("explainer")
    for folder in ("content", "layouts"):
        shutil.copytree(ROOT / folder, explainer / folder)
    shutil.copy(ROOT / "site_config.yaml", explainer / "site_config.yaml")
    code, lines = build_site(explainer, "--no-cache")
    assert code == 0, lines
    return pages + sorted((explainer / "output").rglob("*.html"))


def test_built_pages_scan_as_the_reference_does(built_pages: list[Path]) -> None:
    assert len(built_pages) > 20
    for page in built_pages:
        data = page.read_bytes()
        assert scan_html(data) == reference_scan(data), page
    assert any(scan_html(page.read_bytes()).targets for page in built_pages)


# -- (b) hand-written raw HTML -----------------------------------------------------------------

TRICKY = [
    '<a href="x>y" id="q>">t</a>',                      # '>' inside quoted values
    "<a href='x>y' title='\"'>t</a>",
    "<A HREF=\"Up.html\" ID=Top>t</A>",                 # html.parser lowercases names
    "<IMG SRC=pic.png><Img src = 'b.png' / >",
    "<a href=bare/>t</a><br/><div/><p/>",               # self-closing, and a bare value ending in '/'
    '<a name="old-anchor"></a><a name=x id=y></a>',
    '<meta property="og:image" content="https://x/i.png"><meta name=twitter:image content=y>',
    '<meta property="og:image:alt" content="not a URL"><meta name="og:url"><meta property="og:url" content="">',
    '<meta content="c" property="og:url" name="twitter:image">',
    '<a href="a?x=1&amp;y=2&lt;3">t</a><a href="&#x41;&#66;&copy">t</a>',
    "<!-- <a href='in-comment'> </div> -->\n<a href=after>t</a>",
    "<!----><!-- -- --><!--x-- >\n</b>",
    '<script>document.write("</div><a href=x>")</script>\n</div>',
    "<SCRIPT type=text/javascript>if (a < b) {}</ScRiPt >\n<a href=y></a>",
    "<style>a[href='</p>'] { }</style><style/>\n</style>",
    "<script src=s.js></script><script src=t.js/>",
    "<script>never closed <a href=x>",
    "<div>\n<span>\n</div>\n</span>\n</p></li></br></img>",
    "<ul><li>one<li>two</ul></li>\n</ul>",
    "</ div>\n</div junk='>'>\n</>\n</3>\n</\ndiv>",
    "<!doctype html><!DOCTYPE x><?php echo 1 ?><!x><![CDATA[ <a href=no> ]]><![if x]><a href=yes><![endif]>",
    '<a href="unterminated>t</a> <a href="next">',
    "<a\nhref\n=\n'multi\nline'\nid\n=\nm\n>t</a>",
    '<a href="x" href="y" id="1" id="2">t</a>',           # repeated attributes: each counts
    '<div id="a"/><span id=""></span><p id>x</p>',
    '<use href="#icon"/><iframe src="f.html"></iframe><form action="go"></form><source src=v.mp4>',
    '<link rel=stylesheet href="s.css"><a href="">empty</a><a href>none</a>',
    "a < b and c<d <3 <\n<a href=z>",
    '<a href="x"\x00 id=q>t</a>',
    '<a b="c"d=e f=\'g\'h>t</a><a =x href=y>t</a><a/href=z>t</a>',
    "<x-y id=custom></x-y><svg><use href='#u'/></svg>",
    "<a href=\"caf\u00e9\" id=\"\u00fcber\">\u00e9</a>\r\n<a href=\"r\">x</a>",
    "<table><tr><td>1</td></tr></table></table>",
    "<div>",
    "<",
    "</",
    "<a",
    '<a href="x"',
    '<div id="d">x</div>\n<a <a href=y <a\n<a id=z ',  # nothing closes the last tags: they are text
    '<p id="p"><a href="x">t</a>\n<a x=\'<a x="<a/ <a ',
]


@pytest.mark.parametrize("html", TRICKY)
def test_tricky_html_scans_as_the_reference_does(html: str) -> None:
    assert_same_as_reference(html)


def test_a_long_run_of_unclosed_tags_is_scanned_in_linear_time() -> None:
    """A layout can print thousands of '<a ' that no '>' ever closes. Read to the end of the page once
    for each '<', this page takes many minutes; the scan runs in a child process, so that fails at the
    timeout instead of hanging the suite."""
    script = ("from engine.scan import scan_html\n"
              "page = scan_html(b'<div id=\"top\">' + b'<a href=x ' * 40_000)\n"
              "print(sorted(page.ids), list(page.each_link()), list(page.parse_problems))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True)
    assert done.stdout.strip() == "['top'] [] []"


def test_what_the_scanner_reads_from_tricky_html() -> None:
    """A few answers written out, so a change to both scanners at once still shows."""
    page = scan_html(b'<A HREF="a?x=1&amp;y=2">t</A>\n<a name=top></a>\n<div id="d>"></div>')
    assert page == page_links({"top", "d>"}, [("a?x=1&y=2", 1)])
    page = scan_html(b'<script>\n"</div><a href=x>"\n</script>\n<!-- <a href=y> -->\n</div>')
    assert page == page_links(set(), [], [(5, "closing </div> has no matching opening tag")])
    page = scan_html(b'<meta property="og:image" content="https://x/i.png">\n<img src=p.png/>')
    assert list(page.each_link()) == [("https://x/i.png", 1), ("p.png/", 2)]


@pytest.mark.parametrize(("html", "problems"), [
    ("<div>\n</span>\n</div>", [(2, "closing </span> has no matching opening tag")]),
    ("<p>one</p></p>\n</li>\n</br>", []),
    ("<section>\n<div>\n</section>\n</div>", [(4, "closing </div> has no matching opening tag")]),
    ("</DIV >", [(1, "closing </div> has no matching opening tag")]),
    # elements holding text alone, read with their end tag as one token
    ('<span class="a">x\n</span></span>', [(2, "closing </span> has no matching opening tag")]),
    ("<span/>x</span>\n<em>y</EM></em>", [(1, "closing </span> has no matching opening tag"),
                                          (2, "closing </em> has no matching opening tag")]),
    ('<div><a href="a">x</a></div>\n<img src="i">alt</img></div>', [(2, "closing </div> has no matching opening tag")]),
])
def test_closing_tags_without_an_opening_tag_are_reported_with_their_line(
        html: str, problems: list[tuple[int, str]]) -> None:
    assert list(scan_html(html.encode()).parse_problems) == problems
    assert_same_as_reference(html)


def test_a_stray_closing_tag_in_content_fails_the_build_at_its_line(make_site) -> None:  # type: ignore[no-untyped-def]
    """Each is reported where the writer typed it: the stray one of two `</div>`, and the `</abbr>` of a
    start tag whose quote is left open (Markdown shows that tag as text)."""
    site = make_site("minimal")
    page = site / "content" / "index.md"
    text = page.read_text(encoding="utf-8") + '\nAn <abbr title="Open quote>OQ</abbr> here.\n\n<div>\nText.\n</div>\n</div>\n'
    page.write_text(text, encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1
    abbr = text.split("\n").index('An <abbr title="Open quote>OQ</abbr> here.') + 1
    assert f"content/index.md:{abbr}: closing </abbr> has no matching opening tag" in lines, lines
    assert f"content/index.md:{text.count(chr(10))}: closing </div> has no matching opening tag" in lines, lines


def test_a_stray_closing_tag_a_layout_makes_stays_in_the_built_page(make_site) -> None:  # type: ignore[no-untyped-def]
    """The page's Markdown closes its own <span>: the stray </span> is the layout's, reported in the built file."""
    site = make_site("minimal")
    page = site / "content" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nA <span>balanced</span> span.\n", encoding="utf-8")
    base = site / "layouts" / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("</footer>", "</footer></span>", 1), encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1
    assert any(line.startswith("output/index.html:") and line.endswith(": closing </span> has no matching opening tag")
               for line in lines), lines
    assert not any(line.startswith("content/") for line in lines), lines


# -- (c) generated tag soup ---------------------------------------------------------------------

_NAMES = st.sampled_from(["a", "A", "div", "DIV", "p", "li", "span", "img", "meta", "link", "script", "Script",
                          "style", "br", "x-y", "svg", "use", "form", "iframe", "source", "table", "td"])
_ATTRIBUTE_NAMES = st.sampled_from(["href", "HREF", "id", "ID", "name", "src", "action", "property", "content",
                                    "class", "data-x", "Id"])
_VALUES = st.sampled_from(["x", "#top", "a&amp;b", "&lt;&#62;", "a>b", "a<b", "", "og:image", "twitter:image",
                           "og:url", "two words", "line\nbreak", "q'", 'q"', "/", "=", "caf\u00e9", "&copy"])
_SPACES = st.sampled_from([" ", "  ", "\n", "\t", " / ", "/"])


@st.composite
def _start_tags(draw: st.DrawFn) -> str:
    parts = ["<", draw(_NAMES)]
    for _ in range(draw(st.integers(0, 3))):
        parts += [draw(_SPACES), draw(_ATTRIBUTE_NAMES)]
        if draw(st.booleans()):
            value = draw(_VALUES)
            quote = draw(st.sampled_from(['"', "'", ""]))
            if quote == "" and any(c in value for c in " \n\"'<>=") or quote and quote in value:
                quote = '"' if '"' not in value else "'"
            parts += [draw(st.sampled_from(["=", " = ", "=="])), quote, value, quote]
    parts.append(draw(st.sampled_from([">", "/>", " >", " />"])))
    return "".join(parts)


_PIECES = st.one_of(
    _start_tags(),
    st.builds(lambda name, space: f"</{name}{space}>", _NAMES, st.sampled_from(["", " ", "\n", " junk"])),
    st.sampled_from(["text", " ", "\n", "&amp;", "<", ">", "</", "<!--", "-->", "<!-- <a href=c> -->", "<!doctype html>",
                     "<![CDATA[<a href=d>]]>", "<?x?>", "</script>", "</style>", "<!", "=", '"', "'", "/", "</>",
                     "a < b", "\u00e9", "\r\n"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_tag_soup_scans_as_the_reference_does(pieces: list[str]) -> None:
    html = "".join(pieces)
    try:
        expected = reference_scan(html.encode("utf-8"))
    except AssertionError:
        # html.parser gives up on a '<![' without a known keyword; scan_html reads it as text
        # up to the next '>' (see _TOKEN in engine/scan.py).
        assume(False)
    assert scan_html(html.encode("utf-8")) == expected


@given(st.lists(st.sampled_from(["#", "#a", "#b", "#missing", "#a%20b", "#a b", "#a\tb", "#x?y", "#a#b", "?q#a",
                                 "../p/#a", "../p/#zz", "p/#a", "../../#a", "../", "x", "#%7A", "p#a", "p/#", "p/#%7A",
                                 "q/#a", "../r/#b", "../r/#a", "../../r/s/#b", "../../../#a", "./#a", ".#a", "r/s/#a",
                                 "p/index.html#a", "p/q/#b c", "../p/q/#b", "~x/#a", "r/#a:b", "p/#a\n"]), max_size=12),
       st.sampled_from(["index.html", "p/index.html", "p/q/index.html", "r/s/index.html"]))
def test_the_link_check_shortcuts_decide_as_the_long_way(links: list[str], path: str) -> None:
    """check_links answers a page's own #fragments directly, remembers links that climb to the root
    by their depth, and where a link's page part leads; the problems must be those of _check_link on
    every link in turn."""
    from collections import Counter

    from engine.checks import _check_link, check_links

    ids = {"index.html": ["a", "a b", "z"], "p/index.html": ["a"], "p/q/index.html": ["a", "b"],
           "r/index.html": ["b"], "r/s/index.html": []}
    pages = {page: page_links(names, [(link, n + 1) for n, link in enumerate(links)]) for page, names in ids.items()}
    pages[path] = page_links(ids[path], [(link, n + 1) for n, link in enumerate(reversed(links))])
    paths = set(pages)
    report = check_links(pages, paths)
    for page in pages:
        expected = [(line, *verdict) for link, line in pages[page].each_link()
                    if (verdict := _check_link(page, link, paths, pages, Counter())) is not None]
        assert [(p.line, p.message, p.hint) for p in report.problems if p.source == f"output/{page}"] == expected


def test_scanned_links_hold_one_copy_of_each_string() -> None:
    """A build holds every page's links until the link check: ids and targets are interned, ids sorted."""
    page = scan_html(b'<a href="x/" id="i">t</a><p id="a"></p>\n<a href="x/">u</a></div>')
    assert page.ids == ("a", "i") and list(page.lines) == [1, 2]
    assert page.parse_problems == ((2, "closing </div> has no matching opening tag"),)
    assert all(text is sys.intern(text) for text in (*page.ids, *page.targets))
    assert page == page_links(["i", "a"], [("x/", 1), ("x/", 2)], [(2, "closing </div> has no matching opening tag")])
