"""Stage 3: a page body in Markdown -> ConvertedBody (HTML and headings).

One configured Python-Markdown converter plus our syntax: citations
`[@id; @id]` become <cite-marker> elements and `::: name args` lines become
<x-directive> elements, both resolved later against the site's data. The
conversion depends on the body text alone, so its result can be cached.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from typing import Any

import markdown
from markdown import inlinepatterns, treeprocessors, util
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor

from .content import lines_outside_code

# Bump when the converter's output changes: it invalidates every cached conversion.
MARKUP_VERSION = "1"

CITATION_PATTERN = r"\[(@[\w-]+(?:\s*;\s*@[\w-]+)*)\]"
DIRECTIVE_LINE = re.compile(r"^:::[ \t]+([A-Za-z][\w-]*)[ \t]*(.*?)[ \t]*$")
CITE_MARKER = re.compile(r'<cite-marker ids="([^"]*)"></cite-marker>')
# Written `<(?:p><)?x-directive`, not `(?:<p>)?<x-directive`: the same matches, but a pattern that
# starts with a literal `<` is searched for quickly, not tried at every character (~0.4 ms a page).
DIRECTIVE_MARKER = re.compile(r'<(?:p><)?x-directive name="([^"]*)" args="([^"]*)"></x-directive>(?:</p>)?')


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class ConvertedBody:
    """Markdown's HTML output (with our markers still in it) and the headings it found."""

    html: str
    headings: tuple[Heading, ...]


class _CitationProcessor(InlineProcessor):
    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:  # type: ignore[override]
        ids = " ".join(part.strip().lstrip("@") for part in m.group(1).split(";"))
        element = etree.Element("cite-marker", {"ids": ids})
        return element, m.start(0), m.end(0)


class _DirectivePreprocessor(Preprocessor):
    """Turns a `::: name args` line into a stashed marker, after fenced code is stashed."""

    def run(self, lines: list[str]) -> list[str]:
        result = []
        for line in lines:
            match = DIRECTIVE_LINE.match(line)
            if match:
                marker = f'<x-directive name="{html.escape(match.group(1))}" args="{html.escape(match.group(2))}"></x-directive>'
                result.extend(["", self.md.htmlStash.store(marker), ""])
            else:
                result.append(line)
        return result


# Text an inline pattern cannot match without, by the pattern's exact regex source (Python-Markdown
# 3.11's patterns and smarty's; ours). A pattern whose source is not listed is always tried.
_REQUIRED_TEXT: dict[str, tuple[str, ...]] = {
    r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)": ("`",),
    r"\\(.)": ("\\",),
    CITATION_PATTERN: ("[@",),
    r"\[\^([^\]]*)\]": ("[^",),
    r"(?<!\!)\[": ("[",),
    r"\!\[": ("![",),
    r"<([A-Za-z][A-Za-z0-9+.-]*://[^<>]*)>": ("<",),
    r"<([^<> !]+@[^@<> ]+)>": ("<",),
    r"  \n": ("  \n",),
    inlinepatterns.HTML_RE: ("<",),
    r"(&(?:\#[0-9]+|\#x[0-9a-fA-F]+|[a-zA-Z0-9]+);)": ("&",),
    r"\*|_": ("*", "_"),
    r"(?<!-)---(?!-)": ("---",),
    r"(?<!-)--(?!-)": ("--",),
    r"(?<!\.)\.{3}(?!\.)": ("...",),
    # smarty's quotes
    r"""^'(?=[!"#\$\%'()*+,-.\/:;<=>?\@\[\\\]\^_`{|}~]\B)""": ("'",),
    r"""^"(?=[!"#\$\%'()*+,-.\/:;<=>?\@\[\\\]\^_`{|}~]\B)""": ('"',),
    r""""'(?=\w)""": ("\"'",),
    r"""'"(?=\w)""": ("'\"",),
    r"(?<=[^\ \t\r\n\[\{\(\-\u0002\u0003])\'" + '"': ("'\"",),
    r'(?<=[^\ \t\r\n\[\{\(\-\u0002\u0003])\"' + "'": ("\"'",),
    r"(?<!\w)'(?=\d{2}s)": ("'",),
    r"(\s|&nbsp;|--|–|—|&[mn]dash;|&#8211;|&#8212;)'(?=\w)": ("'",),
    r"(?<=[^\ \t\r\n\[\{\(\-\u0002\u0003])'(?!\s|s\b|\d)": ("'",),
    r"'(\s|s\b)": ("'",),
    "'": ("'",),
    r'(\s|&nbsp;|--|–|—|&[mn]dash;|&#8211;|&#8212;)"(?=\w)': ('"',),
    r'"(?=\s)': ('"',),
    r'(?<=[^\ \t\r\n\[\{\(\-\u0002\u0003])"': ('"',),
    '"': ('"',),
}


class _QuickInlineProcessor(treeprocessors.InlineProcessor):
    """Python-Markdown's inline stage, but a pattern is not even tried on text that lacks what it needs.

    Python-Markdown tries every inline pattern (about 30 with smarty) on every run of text,
    through a Python call each, though most text has no backtick, `<` or `&`: a third of
    a page's conversion time. Skipping a pattern whose required text is absent gives the very
    same result as trying it and finding no match; tests/test_quick_inline.py compares
    the two converters on whole sites and on generated Markdown.
    """

    def run(self, tree: etree.Element, ancestors: list[str] | None = None) -> etree.Element:
        # (pattern, first required text, second one): None for a pattern that is always tried.
        self._patterns = [(pattern, *_needs(pattern)) for pattern in self.inlinePatterns]
        return super().run(tree, ancestors)

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802, N803
        """Overrides the private loop of the base class (it calls itself through this name)."""
        if isinstance(data, util.AtomicString):
            return data
        patterns = self._patterns
        apply = self._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        start = 0
        count = len(patterns)
        while patternIndex < count:
            pattern, need, other_need = patterns[patternIndex]
            # Written out, not any(...) over a tuple: this test runs ~2,500 times a page.
            if need is not None and need not in data and (other_need is None or other_need not in data):
                patternIndex += 1
                start = 0
                continue
            data, matched, start = apply(pattern, data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


# Text a block processor's test cannot pass without, by the exact source of the regex it searches
# (Python-Markdown 3.11's processors and its extensions'). Most start with `(^|\n)` or `^` under
# re.M, which the regex engine tries at every character of every block: ~0.4 ms a page. The
# reference, abbreviation and footnote processors pass every test and search in `run`, which puts
# the block back and returns False when nothing matches: to the parser, the same as failing the test.
_BLOCK_REQUIRED_TEXT: dict[str, tuple[str, ...]] = {
    r"(^|\n)[ ]{0,3}>[ ]?(.*)": (">",),  # block quote
    r"(?:^|\n)(?P<level>#{1,6})(?P<header>(?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*(?:\n|$)": ("#",),  # # heading
    r"^.*?\n(?:=+|-+)[ ]*(\n|$)": ("\n=", "\n-"),  # underlined heading
    r"^[ ]{0,3}(?=(?P<atomicgroup>(-+[ ]{0,2}){3,}|(_+[ ]{0,2}){3,}|(\*+[ ]{0,2}){3,}))(?P=atomicgroup)[ ]*$":
        ("-", "_", "*"),  # horizontal rule
    r"(^|\n)[ ]{0,3}:[ ]{1,3}(.*?)(\n|$)": (":",),  # definition list
    r'^[ ]{0,3}\[([^\[\]]*)\]:[ ]*(?:\n[ ]*)?([^\s]+)[ ]*(?:\n[ ]*)?((["\'])(.*)\4[ ]*|\((.*)\)[ ]*)?$':
        ("]:",),  # link reference
    r"^[*]\[(?P<abbr>[^\\]*?)\][ ]?:[ ]*\n?[ ]*(?P<title>.*)$": ("*[",),  # abbreviation
    r"^[ ]{0,3}\[\^([^\]]*)\]:[ ]*(.*)$": ("[^",),  # footnote
}


def block_regex_source(processor: Any) -> str | None:
    """The source of the regex a block processor searches a block with, if it has one."""
    regex = getattr(processor, "SEARCH_RE", None) or getattr(processor, "RE", None)
    source = getattr(regex, "pattern", None)
    return source if isinstance(source, str) else None


def _quicken_block_tests(md: markdown.Markdown) -> None:
    """Make each block processor in _BLOCK_REQUIRED_TEXT fail its test at once on a block that lacks
    what its regex needs, instead of searching the block."""
    for processor in md.parser.blockprocessors:
        source = block_regex_source(processor)
        needs = _BLOCK_REQUIRED_TEXT.get(source) if source is not None else None
        if needs:
            processor.test = _quick_test(processor.test, needs)  # type: ignore[method-assign]


def _quick_test(test: Any, needs: tuple[str, ...]) -> Any:
    def quick(parent: etree.Element, block: str) -> bool:
        return any(need in block for need in needs) and bool(test(parent, block))

    return quick


def _quicken_toc(md: markdown.Markdown) -> None:
    """Let the table-of-contents stage skip the table itself on a page without its marker.

    The stage numbers headings and adds their permalinks (kept), then builds the table as
    HTML for `md.toc` and searches the page for a `[TOC]` paragraph to replace with it: an
    eighth of a page's conversion. The converter reads only `md.toc_tokens`, so on a page
    whose text never holds the marker the table is left empty and the search is skipped;
    a page with the marker gets its table as before."""
    if "toc" not in md.treeprocessors:
        return
    stage: Any = md.treeprocessors["toc"]  # the toc extension's TocTreeprocessor
    run, build_table, replace_marker = stage.run, stage.build_toc_div, stage.replace_marker
    marked = [True]

    def quick_run(doc: etree.Element) -> None:
        marker = stage.marker
        marked[0] = bool(marker) and any(el.text is not None and marker in el.text for el in doc.iter())
        run(doc)

    def quick_build_table(toc_list: list[Any]) -> etree.Element:
        return build_table(toc_list) if marked[0] else etree.Element("div")

    def quick_replace_marker(root: etree.Element, elem: etree.Element) -> None:
        if marked[0]:
            replace_marker(root, elem)

    stage.run, stage.build_toc_div, stage.replace_marker = quick_run, quick_build_table, quick_replace_marker


def _needs(pattern: Any) -> tuple[str | None, str | None]:
    """The one or two texts a pattern cannot match without; (None, None) when it is always tried."""
    needs = _REQUIRED_TEXT.get(pattern.pattern) if isinstance(pattern, inlinepatterns.InlineProcessor) else None
    if needs is None:
        return None, None
    assert 1 <= len(needs) <= 2, "the quick inline loop tests at most two required texts"
    return needs[0], needs[1] if len(needs) == 2 else None


class _ExplainerExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.inlinePatterns.register(_CitationProcessor(CITATION_PATTERN, md), "citation", 176)
        md.preprocessors.register(_DirectivePreprocessor(md), "directive", 22)
        _quicken_block_tests(md)  # the extensions before this one have registered their processors
        _quicken_toc(md)
        # Both inline stages (Markdown's own and smarty's) run the quicker loop over the same patterns.
        for name in ("inline", "smarty"):
            if name in md.treeprocessors:
                index = md.treeprocessors.get_index_for_name(name)
                priority = md.treeprocessors._priority[index].priority  # type: ignore[attr-defined]
                quick = _QuickInlineProcessor(md)
                quick.inlinePatterns = md.treeprocessors[name].inlinePatterns  # type: ignore[attr-defined]
                md.treeprocessors.register(quick, name, priority)


def markdown_settings() -> dict[str, Any]:
    """The converter's configuration; part of every cache key."""
    return {
        "extensions": ["toc", "tables", "footnotes", "attr_list", "def_list", "smarty", "fenced_code", "abbr"],
        "extension_configs": {
            "toc": {"permalink": "#", "permalink_class": "permalink",
                    "permalink_title": "Link to this part", "toc_depth": "2-6"},
            "footnotes": {"BACKLINK_TITLE": "Back to the text"},
            # align="right", not style="text-align: right": the site's CSP blocks inline styles (issue 6).
            "tables": {"use_align_attribute": True},
        },
    }


class MarkdownConverter:
    """One configured Python-Markdown instance, reset and reused for every body."""

    def __init__(self) -> None:
        config = markdown_settings()
        self._md = markdown.Markdown(
            extensions=[*config["extensions"], _ExplainerExtension()],
            extension_configs=config["extension_configs"],
            output_format="html",
        )

    def convert(self, body: str) -> ConvertedBody:
        """Convert a page body; RecursionError is left to the caller to report."""
        self._md.reset()
        output = self._md.convert(body)
        tokens = getattr(self._md, "toc_tokens", [])
        return ConvertedBody(output, tuple(_flatten_headings(tokens)))

    def convert_inline(self, text: str) -> str:
        """Convert a one-paragraph Markdown snippet (data fields) without its <p> wrapper."""
        output = self.convert(text).html
        if output.startswith("<p>") and output.endswith("</p>") and output.count("<p>") == 1:
            output = output[3:-4]
        return output


def _flatten_headings(tokens: list[dict[str, Any]]) -> list[Heading]:
    headings: list[Heading] = []
    for token in tokens:
        headings.append(Heading(int(token["level"]), str(token["id"]), html.unescape(str(token["name"]))))
        headings.extend(_flatten_headings(token.get("children", [])))
    return headings


_WORD = re.compile(r"[\w’'-]+")
_TAG = re.compile(r"<[^>]+>")
# ASCII bytes: word characters (\w, ' and -) -> "a", everything else -> " ".
_ASCII_WORD_TABLE = bytes(ord("a") if chr(code).isascii() and (chr(code).isalnum() or chr(code) in "_'-") else ord(" ")
                          for code in range(256))


def count_words(html: str) -> int:
    """How many words the text of an HTML body holds (the reading time shown on a page)."""
    text = _TAG.sub(" ", html)
    if text.isascii():  # a byte table and a count: a quarter of the time the pattern takes
        return (b" " + text.encode("ascii").translate(_ASCII_WORD_TABLE)).count(b" a")
    return len(_WORD.findall(text))


def scan_citations(body: str) -> list[tuple[int, tuple[str, ...]]]:
    """Every citation outside code as (0-based line index, source ids), in reading order."""
    found = []
    for index, line in lines_outside_code(body):
        for match in re.finditer(CITATION_PATTERN, line):
            ids = tuple(part.strip().lstrip("@") for part in match.group(1).split(";"))
            found.append((index, ids))
    return found


def find_line(body: str, body_line: int, pattern: str, flags: int = 0) -> int:
    """The file line of the first match of a pattern outside code, or the body's first line."""
    compiled = re.compile(pattern, flags)
    for index, line in lines_outside_code(body):
        if compiled.search(line):
            return body_line + index
    return body_line
