"""Python-Markdown, quickened: a pattern or block test is skipped on text that lacks what it needs.

Python-Markdown tries every inline pattern (about 30 with smarty) on every run of text, and most
block processors search every block with a regex, though most text has no backtick, `<`, `&`
or `>`. Skipping a pattern whose required text is absent gives the same result as trying it and
finding no match. The tables below are keyed by each regex's exact source, as Python-Markdown
QUICKENED_FOR has them; a pattern not listed is always tried. The inline stage is replaced
through a private method of Python-Markdown's InlineProcessor, so `quicken` does nothing on any
other version: the stock converter then runs, with the same HTML, slower. The toc stage, which
searches every paragraph for its `[TOC]` marker, gets its own `marker` option emptied for a
document whose lines do not hold the marker: it then searches none.
tests/test_quick_markdown.py compares the two converters on whole sites and generated Markdown.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree
from typing import Any

import markdown
from markdown import inlinepatterns, treeprocessors, util

# The Python-Markdown release whose pattern sources and private inline loop the tables match.
QUICKENED_FOR = "3.11.3"

# Text an inline pattern cannot match without (one or two alternatives), by the pattern's regex source.
INLINE_NEEDS: dict[str, tuple[str, ...]] = {
    r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)": ("`",),
    r"\\(.)": ("\\",),
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

# Text a block processor's test cannot pass without, by the source of the regex it searches. Most
# start with `(^|\n)` or `^` under re.M, which the regex engine tries at every character of every
# block. The reference, abbreviation and footnote processors pass every test and search in `run`,
# which puts the block back and returns False when nothing matches: to the parser, a failed test.
BLOCK_NEEDS: dict[str, tuple[str, ...]] = {
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


def quicken(md: markdown.Markdown, own_needs: dict[str, tuple[str, ...]],
            version: str = markdown.__version__) -> bool:
    """Make a fully configured converter skip what cannot match (`own_needs` adds the caller's inline
    patterns to INLINE_NEEDS); True when done, False (the converter left stock) when `version` is
    not QUICKENED_FOR."""
    if version != QUICKENED_FOR:
        return False
    for processor in md.parser.blockprocessors:
        block_needs = BLOCK_NEEDS.get(block_regex_source(processor) or "")
        if block_needs:
            processor.test = _quick_test(processor.test, block_needs)  # type: ignore[method-assign]
    inline_table = {**INLINE_NEEDS, **own_needs}
    # Both inline stages (Markdown's own and smarty's) run the quick loop over the same patterns.
    for name in ("inline", "smarty"):
        if name in md.treeprocessors:
            index = md.treeprocessors.get_index_for_name(name)
            priority = md.treeprocessors._priority[index].priority  # type: ignore[attr-defined]
            quick = _QuickInlineProcessor(md)
            quick.needs = inline_table
            quick.inlinePatterns = md.treeprocessors[name].inlinePatterns  # type: ignore[attr-defined]
            md.treeprocessors.register(quick, name, priority)
    if "toc" in md.treeprocessors:
        toc = md.treeprocessors["toc"]
        toc.run = _quick_toc(toc)  # type: ignore[method-assign]
    return True


def block_regex_source(processor: Any) -> str | None:
    """The source of the regex a block processor searches a block with, if it has one."""
    regex = getattr(processor, "SEARCH_RE", None) or getattr(processor, "RE", None)
    source = getattr(regex, "pattern", None)
    return source if isinstance(source, str) else None


def _quick_test(test: Any, needs: tuple[str, ...]) -> Any:
    def quick(parent: etree.Element, block: str) -> bool:
        return any(need in block for need in needs) and bool(test(parent, block))

    return quick


def _quick_toc(toc: Any) -> Any:
    """The toc stage with its own `marker` option left empty (no paragraph is searched for the marker)
    for a document whose lines do not hold the marker: no paragraph's text can then equal it."""
    run, marker = toc.run, toc.marker

    def quick(doc: etree.Element) -> None:
        toc.marker = marker if marker and any(marker in line for line in toc.md.lines) else ""
        run(doc)

    return quick


def inline_needs(pattern: Any, table: dict[str, tuple[str, ...]]) -> tuple[str | None, str | None]:
    """The one or two texts a pattern cannot match without; (None, None) when it is always tried."""
    needs = table.get(pattern.pattern) if isinstance(pattern, inlinepatterns.InlineProcessor) else None
    if needs is None:
        return None, None
    return needs[0], needs[1] if len(needs) == 2 else None


class _QuickInlineProcessor(treeprocessors.InlineProcessor):
    """Python-Markdown's inline stage, with each pattern skipped on text that lacks what it needs."""

    needs: dict[str, tuple[str, ...]] = INLINE_NEEDS

    def run(self, tree: etree.Element, ancestors: list[str] | None = None) -> etree.Element:
        self._patterns = [(pattern, *inline_needs(pattern, self.needs)) for pattern in self.inlinePatterns]
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
            # Written out, not any(...): this test runs thousands of times a page.
            if need is not None and need not in data and (other_need is None or other_need not in data):
                patternIndex += 1
                start = 0
                continue
            data, matched, start = apply(pattern, data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data
