"""Hygiene checks on a converted body: markup the site must not ship, and Markdown left unresolved.

Raw HTML is welcome within an allow-list: the nh3 sanitizer (Ammonia, on an HTML5 parser) cleans
a copy of the HTML, and whatever it would remove is reported at its line, never silently dropped:
script, style, frames, forms, objects, meta and base elements, event handlers and style attributes
in any spelling, URLs other than http(s), mailto and relative ones (after entity decoding), and
images from other hosts. HTML whose tags are all of allowed elements with allowed attributes, written
as Markdown writes them, is told apart by one pattern first: the sanitizer would keep it whole, so
it is not cleaned. A footnote reference with no definition, a mistyped citation and a ':::' line
that is not a directive, which Python-Markdown would print as literal text, are refused too.
Inline Markdown in data files gets the same markup checks through `unsafe_markup`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import urlsplit

import nh3
from selectolax.lexbor import LexborHTMLParser, LexborNode

from .content import Page, lines_outside_code
from .errors import Problem
from .records import ConvertedBody

# What a page body may hold: what Markdown writes, our own markers, and plain inline and block HTML.
ALLOWED_TAGS = frozenset([
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "data",
    "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s",
    "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "time", "tr", "u", "ul", "var", "wbr", "cite-marker", "x-directive", "x-block",
])
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang", "dir", "role", "aria-label", "aria-hidden", "aria-describedby"},
    "a": {"href", "hreflang"}, "img": {"src", "alt", "width", "height", "loading"},
    "blockquote": {"cite"}, "q": {"cite"}, "del": {"cite", "datetime"}, "ins": {"cite", "datetime"},
    "time": {"datetime"}, "data": {"value"}, "details": {"open"}, "ol": {"start", "reversed", "type"},
    "li": {"value"}, "col": {"span"}, "colgroup": {"span"},
    "td": {"align", "colspan", "rowspan", "headers"}, "th": {"align", "colspan", "rowspan", "headers", "scope"},
    "cite-marker": {"ids"}, "x-directive": {"name", "args"}, "x-block": {"name", "args"},
}
# `glossary:` links are ours (the glossary step resolves them); `file:` ones are harmless, and the
# link check says what is wrong with them.
URL_SCHEMES = frozenset(["http", "https", "mailto", "tel", "glossary", "file"])
# Attributes whose value is fetched by the browser as the page loads: only from this site.
_FETCHED = {("img", "src")}
_TAG_HINT = "the site's security policy blocks it; use Markdown or a directive instead"
_EVENT_HINT = "inline script is blocked by the site's security policy"
_URL_HINT = "link to an http(s) address or a page"
_CODE = re.compile(r"<(pre|code)\b.*?</\1>", re.S | re.I)
_FOOTNOTE_REFERENCE = re.compile(r"\[\^([^\]\s]+)\]")
# A Markdown link or image whose target has a scheme: `[text](javascript:...)`.
_MARKDOWN_URL = re.compile(r"\]\(\s*<?\s*([a-zA-Z][-+.a-zA-Z0-9]*)\s*:")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3's last word on an allowed attribute: a fetched URL must not name another host."""
    if (tag, attribute) in _FETCHED and urlsplit(value.strip()).netloc:
        return None
    return value


# The allow-list as nh3 takes it (sets).
_NH3_TAGS, _NH3_SCHEMES = set(ALLOWED_TAGS), set(URL_SCHEMES)
_NH3_ATTRIBUTES = {tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()}


def sanitize(html: str) -> str:
    """The HTML as the allow-list keeps it."""
    return nh3.clean(html, tags=_NH3_TAGS, attributes=_NH3_ATTRIBUTES, url_schemes=_NH3_SCHEMES, link_rel=None,
                     strip_comments=False, attribute_filter=_keep_attribute)


# -- the quick look: HTML whose every tag the allow-list keeps whole, as Markdown writes it -----------

# An attribute's value, double-quoted, with <, > and " escaped. A URL's value has no control and no
# space (a URL parser drops them), no entity but &amp; (one could spell a scheme), and an allowed
# scheme or none; a fetched one (img src) has no scheme and names no host.
_QUOTED = r'"(?:[^"<>&]|&[a-zA-Z0-9#]+;)*"'
_QUOTED_URL = (rf'"(?:(?ai:{"|".join(sorted(URL_SCHEMES))}):|(?![a-zA-Z][-+.a-zA-Z0-9]*:))'
               r'(?:[^"<>&\x00-\x20]|&amp;)*"')
_QUOTED_LOCAL_URL = r'"(?![a-zA-Z][-+.a-zA-Z0-9]*:|[/\\]{2})(?:[^"<>&\x00-\x20\\]|&amp;)*"'
_URL_VALUED = frozenset(["href", "src", "cite"])


def _kept_tags(tags: list[str]) -> str:
    """The start tags the allow-list keeps whole of elements that take the same attributes."""
    names = sorted(ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(tags[0], set()))
    kinds = [f"(?:{'|'.join(re.escape(name) for name in names if name not in _URL_VALUED)})={_QUOTED}"]
    kinds += [f"{name}={_QUOTED_LOCAL_URL if (tags[0], name) in _FETCHED else _QUOTED_URL}"
              for name in names if name in _URL_VALUED]
    return f"(?:{'|'.join(map(re.escape, tags))})(?: (?:{'|'.join(kinds)}))*"


def _alike_elements() -> list[list[str]]:
    """The allowed elements grouped by the attributes they take and fetch (most take only the common
    ones), which keeps the pattern short enough to compile quickly."""
    groups: dict[tuple[frozenset[str], frozenset[str]], list[str]] = {}
    for tag in sorted(ALLOWED_TAGS):
        names = frozenset(ALLOWED_ATTRIBUTES.get(tag, ()))
        fetched = frozenset(name for name in names if (tag, name) in _FETCHED)
        groups.setdefault((names, fetched), []).append(tag)
    return list(groups.values())


_KEPT_TAG = re.compile("<(?:" + "|".join(map(_kept_tags, _alike_elements())) + ") ?/?>"
                       "|</(?:" + "|".join(map(re.escape, sorted(ALLOWED_TAGS))) + ")>")


def sanitizer_keeps_all(html: str) -> bool:
    """True only when the sanitizer would remove nothing: every '<' starts a tag of an allowed element
    whose attributes are all allowed, written name="value" as Markdown writes them, with safe URLs.
    Any other HTML goes to the sanitizer itself."""
    return len(_KEPT_TAG.findall(html)) == html.count("<")


# What unsafe_markup finds: patterns that find it in the source, the most precise first; message; hint.
Finding = tuple[tuple[str, ...], str, str]


def unsafe_markup(html: str) -> Iterator[Finding]:
    """What the sanitizer would remove from HTML or Markdown, in document order, and each Markdown
    link to a URL scheme it would refuse."""
    for match in _MARKDOWN_URL.finditer(html):
        scheme = match.group(1).lower()
        if scheme not in URL_SCHEMES:
            yield (rf"\]\(\s*<?\s*{re.escape(scheme)}\s*:",), f"a {scheme}: URL is not allowed in content", _URL_HINT
    if "<" in html and not sanitizer_keeps_all(html):  # else no tag, or only tags the sanitizer keeps whole
        yield from sanitizer_removals(html)


def sanitizer_removals(html: str) -> Iterator[Finding]:
    """What the sanitizer removes from HTML, in document order: elements and attributes aligned on
    parses of the HTML before and after."""
    cleaned = sanitize(html)
    if cleaned == html or unescape(cleaned) == unescape(html):
        return  # nothing removed: Markdown's HTML comes back as it was, or with entities (&rsquo;) as characters
    kept = iter(_elements(cleaned))
    expected = next(kept, None)
    for element in _elements(html):
        tag = element.tag or ""
        if expected is None or tag != expected.tag:
            yield (rf"<{re.escape(tag)}(?![-\w])",), f"raw <{tag}> is not allowed in content", _TAG_HINT
            continue
        remaining = expected.attributes
        for name, value in element.attributes.items():
            if name not in remaining:
                yield _removed_attribute(tag, name, value)
        expected = next(kept, None)


def _elements(html: str) -> list[LexborNode]:
    """Every element of an HTML fragment in document order."""
    tree = LexborHTMLParser(f"<body>{html}</body>")
    return [node for node in tree.body.traverse(include_text=False) if node.tag != "body"] if tree.body else []


def _removed_attribute(tag: str, name: str, value: str | None) -> Finding:
    """What unsafe_markup says of an attribute the sanitizer removes: where it is, and why it goes."""
    named, in_tag = re.escape(name), rf"<{re.escape(tag)}(?![-\w])[^>]*?"
    where: tuple[str, ...] = (rf"{in_tag}[\s/\"']{named}(?![-\w])", rf"[\s/\"']{named}(?![-\w])")
    if value is not None:  # the most precise first: the value as written, in its tag; a Markdown link; the name
        start = re.escape(value.strip()[:16])
        where = (rf"[\s/\"']{named}\s*=\s*[\"']?\s*{start}", rf"\]\(\s*<?\s*{start}",
                 rf"{in_tag}[\s/\"']{named}\s*=", rf"[\s/\"']{named}\s*=")
    if name.startswith("on"):
        return where, f"the event attribute '{name}=' is not allowed in content", _EVENT_HINT
    if name == "style":
        return where, "the style attribute is not allowed in content", "the site's security policy blocks inline styles"
    allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ALLOWED_ATTRIBUTES["*"]
    if name in allowed and value is not None:
        url = urlsplit(re.sub(r"[\x00-\x20]", "", value))
        if url.scheme and url.scheme.lower() not in URL_SCHEMES:
            return where, f"a {url.scheme.lower()}: URL is not allowed in content", _URL_HINT
        if url.netloc:
            return (where, f"<{tag} {name}> from another host ({url.netloc}) is not allowed in content",
                    "copy the file into the project: the site makes no requests to other hosts")
    return where, f"the attribute '{name}' is not allowed on <{tag}> in content", "remove it"


def check_body_safety(page: Page, converted: ConvertedBody) -> list[Problem]:
    """Problems with the raw HTML and footnotes of one page's converted body, one per source line."""
    html = _CODE.sub("", converted.html)
    found = [*unsafe_markup(html)]
    for match in _FOOTNOTE_REFERENCE.finditer(html):
        label = match.group(1)
        found.append(((r"\[\^" + re.escape(label) + r"\](?!:)",), f"footnote [^{label}] has no definition",
                      f"add a line '[^{label}]: text' at the end of the page"))
    problems: list[Problem] = []
    for patterns, message, hint in dict.fromkeys(found):
        count = found.count((patterns, message, hint))
        lines = next((lines for pattern in patterns if (lines := _lines_matching(page.body, page.body_line, pattern))),
                     [page.body_line])
        problems.extend(Problem(page.source, line, message, hint) for line in lines[:count])
    return problems + _syntax_left_as_text(page, html)


# Our syntax mistyped, which Markdown then prints as it stands: a citation that is not `[@id]` or
# `[@id; @id]` (markup.CITATION_PATTERN), and a ':::' line that is not a directive.
_CITATION_TEXT = re.compile(r"\[\s*@")
_MISTYPED_CITATION = re.compile(r"(?<!\\)\[(?:\s+@|@(?![\w-]+(?:\s*;\s*@[\w-]+)*\]))")
_COLONS_TEXT = re.compile(r"(?:^|>|\n)[ \t]*:::")
_DIRECTIVE = re.compile(r":::(?:[ \t]+[A-Za-z][\w-]*.*|[ \t]*)$")


def _syntax_left_as_text(page: Page, html: str) -> list[Problem]:
    """A problem at each line whose citation or directive the body shows as plain text."""
    problems: list[Problem] = []
    if _CITATION_TEXT.search(html):
        problems += [Problem(page.source, page.body_line + index, "a citation the build cannot read: it would show as "
                             "text", "write [@id], or [@one; @two] for several")
                     for index, line in lines_outside_code(page.body) for _ in _MISTYPED_CITATION.finditer(line)]
    if ":::" in html and _COLONS_TEXT.search(html):  # the literal first: the pattern is slow to scan a page
        problems += [Problem(page.source, page.body_line + index, "a line starting with ':::' that is not a directive: "
                             "it would show as text", "write '::: name' at the very start of the line, with a space "
                             "after ':::'")
                     for index, line in lines_outside_code(page.body)
                     if line.lstrip().startswith(":::") and not _DIRECTIVE.match(line)]
    return problems


def _lines_matching(body: str, body_line: int, pattern: str) -> list[int]:
    """File lines (outside code) where a pattern occurs, once per occurrence."""
    compiled = re.compile(pattern, re.I)
    return [body_line + index for index, line in lines_outside_code(body) for _ in compiled.finditer(line)]


# -- the layouts' output: whole pages, where scripts, styles and metadata are the site's own ----------

# What a page's tags must hold before it can hold anything unsafe: only such a page is parsed. Each
# test starts with a literal, so it is searched for quickly.
_UNSAFE_WORDS = ("javascript:", "vbscript:", "data:", "<style", "<base", "<object", "<embed", "<applet", "refresh",
                 "&", "poster")  # an entity may hide a scheme
# Possessive: a tag whose quote is never closed fails at once, not after trying every split of its text.
_TAG = re.compile(r"""<[a-zA-Z][^>"']*+(?:(?:"[^"]*+"|'[^']*+')[^>"']*+)*+>""")
# An event handler or a style attribute. Each pattern starts with a literal, which re finds quickly; the
# character before a match must be one that ends a tag's name or an attribute.
_EVENT_OR_STYLE = (re.compile(r"on[a-z]+\s*="), re.compile(r"style\s*="))
_BEFORE_ATTRIBUTE = re.compile(r"""[\s/"']""")
_INLINE_SCRIPT = re.compile(r"""<script(?![^>]*\s(?:src\s*=|type\s*=\s*["']?application/(?:ld\+)?json))""")
# A browser drops tabs and newlines anywhere in a URL and reads '\' as '/' (the full check drops every
# control and space too): the tests of URLs read a copy of the tags without them and with '/' for '\'.
_SQUEEZED = dict.fromkeys(range(0x21), None) | {ord("\\"): "/"}
_FOREIGN_SOURCE = re.compile(r"""src=["']?(?:[a-z][-+.a-z0-9]*:)?//""")
_FOREIGN_LINK = re.compile(r"""<link(?=[^>]*rel=["']?(?:stylesheet|icon|preload|modulepreload|manifest|apple-touch-icon))"""
                           r"""[^>]*href=["']?(?:[a-z][-+.a-z0-9]*:)?//""")
_URL_ATTRIBUTES = frozenset(["href", "src", "action", "formaction", "data", "poster", "xlink:href", "cite", "background"])
_REFUSED_SCHEMES = frozenset(["javascript", "vbscript", "data"])
# What a page fetches as it loads: these attributes of these elements (a stylesheet or icon <link> too).
_LOADED = frozenset([("img", "src"), ("script", "src"), ("iframe", "src"), ("source", "src"), ("video", "src"),
                     ("audio", "src"), ("video", "poster"), ("embed", "src"), ("input", "src"), ("track", "src")])
_LOADED_LINKS = frozenset(["stylesheet", "icon", "preload", "modulepreload", "manifest", "apple-touch-icon"])


def check_layout_output(html: str) -> list[tuple[int, str]]:
    """(line, message) for what a rendered page must not hold, whichever template wrote it: event
    handlers, inline scripts and styles, javascript:/vbscript:/data: URLs, <base>, <object>, a
    refresh, and anything loaded from another host (the site makes no third-party requests). Only a
    page whose tags hold a word or pattern such a problem needs is parsed."""
    return layout_output_problems(html) if _may_be_unsafe(html) else []


def layout_output_problems(html: str) -> list[tuple[int, str]]:
    """What check_layout_output finds, every element of the page read."""
    found: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    tree = LexborHTMLParser(html)
    for node in tree.root.traverse(include_text=False) if tree.root else ():
        tag = node.tag or ""
        seen[tag] = seen.get(tag, 0) + 1
        for message in _layout_element_problems(tag, node.attributes, bool((node.text(deep=False) or "").strip())):
            found.append((_line_of_tag(html, tag, seen[tag]), f"{message} in the layouts' output"))
    return found


def _may_be_unsafe(page: str) -> bool:
    """False only when a page can hold nothing check_layout_output refuses: its tags, in lower case
    (and for URLs without controls and spaces), hold none of the words and patterns that anything
    refused needs."""
    tags = " ".join(_TAG.findall(page)).lower()
    squeezed = tags.translate(_SQUEEZED)
    if any(word in squeezed for word in _UNSAFE_WORDS):
        return True
    if any(_BEFORE_ATTRIBUTE.match(tags, match.start() - 1) for pattern in _EVENT_OR_STYLE for match in pattern.finditer(tags)):
        return True
    return bool(_INLINE_SCRIPT.search(tags) or _FOREIGN_SOURCE.search(squeezed) or _FOREIGN_LINK.search(squeezed))


def _layout_element_problems(tag: str, attributes: dict[str, str | None], has_text: bool) -> Iterator[str]:
    """What is wrong with one element of a rendered page."""
    if tag in ("base", "object", "embed", "applet"):
        yield f"<{tag}> is not allowed"
    if tag == "style" or (tag == "script" and "src" not in attributes and has_text and _is_script(attributes)):
        yield f"an inline <{tag}> is not allowed"
    if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
        yield "a <meta> refresh is not allowed"
    loaded_link = tag == "link" and bool(set((attributes.get("rel") or "").lower().split()) & _LOADED_LINKS)
    for name, value in attributes.items():
        if name.startswith("on"):
            yield f"the event attribute '{name}=' is not allowed"
        elif name == "style":
            yield "the style attribute is not allowed"
        elif name in _URL_ATTRIBUTES and value is not None:
            if scheme := refused_scheme(value):
                yield f"a {scheme}: URL is not allowed"
            elif (host := urlsplit(value.translate(_SQUEEZED)).netloc) and \
                    ((tag, name) in _LOADED or (loaded_link and name == "href")):
                yield f"<{tag} {name}> from another host ({host}) is not allowed"


def refused_scheme(url: str) -> str:
    """The scheme of a URL no page may hold (javascript:, vbscript:, data:), read as a browser reads it; "" for
    any other URL."""
    match = _SCHEME.match(url.translate(_SQUEEZED))
    return match.group(1).lower() if match and match.group(1).lower() in _REFUSED_SCHEMES else ""


_SCHEME = re.compile(r"([a-zA-Z][-+.a-zA-Z0-9]*):")


def _is_script(attributes: dict[str, str | None]) -> bool:
    """Whether a <script> runs (JSON-LD and other data blocks do not, and the policy lets them be)."""
    kind = (attributes.get("type") or "").strip().lower()
    return kind in ("", "module") or "javascript" in kind or "ecmascript" in kind


def _line_of_tag(html: str, tag: str, occurrence: int) -> int:
    """The line of the n-th start tag of this name in the page (1 when the parser implied it)."""
    position = -1
    for match in re.finditer(rf"<{re.escape(tag)}(?![-\w])", html, re.I):
        occurrence -= 1
        if occurrence == 0:
            position = match.start()
            break
    return html.count("\n", 0, position) + 1 if position >= 0 else 1
