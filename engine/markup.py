"""Stage 3: a page body in Markdown -> ConvertedBody (HTML and headings).

One configured Python-Markdown converter plus our syntax: citations
`[@id; @id]` become <cite-marker> elements and `::: name args` lines become
<x-directive> elements (a block directive's lines, <x-block> markers around its
Markdown), all resolved later against the site's data. The
conversion depends on the body text alone, so its result can be cached.
"""

from __future__ import annotations

import html
import importlib
import re
import xml.etree.ElementTree as etree
from typing import Any

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor

from .content import lines_outside_code
from .quickmarkdown import quicken
from .records import ConvertedBody, Heading

CITATION_PATTERN = r"\[(@[\w-]+(?:\s*;\s*@[\w-]+)*)\]"
DIRECTIVE_LINE = re.compile(r"^:::[ \t]+([A-Za-z][\w-]*)[ \t]*(.*?)[ \t]*$")
# Directives that hold Markdown, from their `::: name args` line to a line `:::` of its own.
BLOCK_DIRECTIVES = ("callout",)
BLOCK_END = re.compile(r"^:::[ \t]*$")
# A block directive's markers around its converted Markdown (each may stand in a paragraph of its own).
BLOCK_MARKER = re.compile(r'<(?:p><)?x-block name="([^"]*)" args="([^"]*)">(?:</p>)?(.*?)<(?:p><)?/x-block>(?:</p>)?',
                          re.S)
CITE_MARKER = re.compile(r'<cite-marker ids="([^"]*)"></cite-marker>')
# Written `<(?:p><)?x-directive`, not `(?:<p>)?<x-directive`: the same matches, but a pattern that
# starts with a literal `<` is searched for quickly, not tried at every character.
DIRECTIVE_MARKER = re.compile(r'<(?:p><)?x-directive name="([^"]*)" args="([^"]*)"></x-directive>(?:</p>)?')


class _CitationProcessor(InlineProcessor):
    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:  # type: ignore[override]
        ids = " ".join(part.strip().lstrip("@") for part in m.group(1).split(";"))
        element = etree.Element("cite-marker", {"ids": ids})
        return element, m.start(0), m.end(0)


class _DirectivePreprocessor(Preprocessor):
    """Turns a `::: name args` line into a stashed marker, after fenced code is stashed. A block
    directive's line and the `:::` line that ends it become an opening and a closing marker, with the
    Markdown between them converted as usual."""

    def run(self, lines: list[str]) -> list[str]:
        result = []
        for line in lines:
            match = DIRECTIVE_LINE.match(line)
            if match and match.group(1) in BLOCK_DIRECTIVES:
                marker = f'<x-block name="{html.escape(match.group(1))}" args="{html.escape(match.group(2))}">'
                result.extend(["", self.md.htmlStash.store(marker), ""])
            elif match:
                marker = f'<x-directive name="{html.escape(match.group(1))}" args="{html.escape(match.group(2))}"></x-directive>'
                result.extend(["", self.md.htmlStash.store(marker), ""])
            elif BLOCK_END.match(line):
                result.extend(["", self.md.htmlStash.store("</x-block>"), ""])
            else:
                result.append(line)
        return result


class _ExplainerExtension(Extension):
    """Our syntax: `[@id]` citations and `::: name args` directive lines."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.inlinePatterns.register(_CitationProcessor(CITATION_PATTERN, md), "citation", 176)
        md.preprocessors.register(_DirectivePreprocessor(md), "directive", 22)


# The converter's own words, in English: render.py gives each page those of its language (the
# strings `permalink_title` and `footnote_backlink`).
PERMALINK_TITLE = "Link to this part"
FOOTNOTE_BACKLINK = "Back to the text"


def in_language(text: str, strings: dict[str, str]) -> str:
    """Converted HTML with the converter's own words in a page's language (the strings table's)."""
    for english, key in ((PERMALINK_TITLE, "permalink_title"), (FOOTNOTE_BACKLINK, "footnote_backlink")):
        if key in strings and f'title="{english}"' in text:
            text = text.replace(f'title="{english}"', f'title="{html.escape(strings[key])}"')
    return text


def markdown_settings() -> dict[str, Any]:
    """The converter's extensions and their settings (bench/floor.py builds its stock converter from them)."""
    return {
        "extensions": ["toc", "tables", "footnotes", "attr_list", "def_list", "smarty", "fenced_code", "abbr"],
        "extension_configs": {
            "toc": {"permalink": "#", "permalink_class": "permalink",
                    "permalink_title": PERMALINK_TITLE, "toc_depth": "2-6"},
            "footnotes": {"BACKLINK_TITLE": FOOTNOTE_BACKLINK},
            # align="right", not style="text-align: right": the site's CSP blocks inline styles.
            "tables": {"use_align_attribute": True},
        },
    }


def stock_markdown() -> markdown.Markdown:
    """Python-Markdown with exactly the engine's extensions and settings, and nothing quickened."""
    config = markdown_settings()
    # Built from their modules, not by name: Markdown looks a name up among the installed entry points
    # first, which imports importlib.metadata and reads every installed package's metadata.
    extensions = [importlib.import_module(f"markdown.extensions.{name}").makeExtension(
        **config["extension_configs"].get(name, {})) for name in config["extensions"]]
    return markdown.Markdown(extensions=[*extensions, _ExplainerExtension()], output_format="html")


class MarkdownConverter:
    """One configured Python-Markdown instance, reset and reused for every body; quickened
    (quickmarkdown.py) when the installed Python-Markdown is the release its tables match."""

    def __init__(self, version: str = markdown.__version__) -> None:
        self.version = version
        self._md = stock_markdown()
        self.is_quick = quicken(self._md, {CITATION_PATTERN: ("[@",)}, version)

    def convert(self, body: str) -> ConvertedBody:
        """Convert a page body; RecursionError is left to the caller to report."""
        self._md.reset()
        output = self._md.convert(body)
        tokens = getattr(self._md, "toc_tokens", [])
        return ConvertedBody(output, tuple(_flatten_headings(tokens)))

    def convert_page(self, body: str) -> ConvertedBody | str:
        """Convert a page body; a body nested too deeply for the converter gives the problem's message."""
        try:
            return self.convert(body)
        except RecursionError:
            self.__init__(self.version)  # type: ignore[misc]  # the converter's state is left half way: start afresh
            return "the Markdown is nested too deeply to convert (lists or quotes hundreds of levels deep)"

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
