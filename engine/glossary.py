"""Glossary terms in a page's HTML -> a link to the glossary entry on first use.

Each linked term is followed by its definition in a tooltip that shows on
hover and keyboard focus (CSS only) and is announced through
aria-describedby, so it works without JavaScript and for screen readers.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

from markupsafe import escape

from .content import Page
from .data import GlossaryTerm
from .errors import Problem, did_you_mean
from .markup import CITE_MARKER, find_line

# Opening and closing tags of the elements whose text never gets a term link.
_SKIPPED_TAG = re.compile(r"<(/?)(?:a|h[1-6]|code|pre|sup|svg|script|style|title|button|summary|figcaption|th|abbr"
                          r"|dt|time)(?=[\s/>])[^>]*>", re.I)
_EXPLICIT = re.compile(r'<a href="glossary:([^"]*)">(.*?)</a>', re.S)


def term_pattern(glossary: dict[str, GlossaryTerm]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One regex matching every term and alias as a whole word, longest first."""
    words = {}
    for term in glossary.values():
        for word in (term.term, *term.aliases):
            for form in _html_forms(word):
                words[form] = term.id
    if not words:
        return None, {}
    ordered = sorted(words, key=lambda w: (-len(w), w))
    if "" in words:
        return re.compile(rf"(?<![\w-])(?:{'|'.join(re.escape(w) for w in ordered)})(?![\w-])"), words
    # Grouped by first character, with the whole-word test after it: the same matches as
    # `(?<![\w-])(?:longest|...)`, but a pattern that opens with a choice of characters is
    # only tried where one of them stands, which halves the time of a page's scan.
    groups: dict[str, list[str]] = {}
    for word in ordered:
        groups.setdefault(word[0], []).append(word[1:])
    alternatives = "|".join(f"{re.escape(first)}(?<![\\w-]{re.escape(first)})(?:{'|'.join(map(re.escape, rests))})"
                            for first, rests in groups.items())
    return re.compile(rf"(?:{alternatives})(?![\w-])"), words


def _html_forms(word: str) -> set[str]:
    """The ways a term can appear in converted HTML: escaped, and with smart or straight apostrophes."""
    escaped = str(escape(word)).replace("&#39;", "'")
    return {escaped, *(escaped.replace(a, b) for a in ("'", "’") for b in ("&rsquo;", "’", "'"))}


@dataclass(frozen=True)
class LinkedTerms:
    html: str
    problems: tuple[Problem, ...]


def link_terms(html: str, glossary: dict[str, GlossaryTerm], definitions: dict[str, str], glossary_url: str,
               pattern: re.Pattern[str] | None, words: dict[str, str], page: Page) -> LinkedTerms:
    """Resolve explicit `glossary:id` links (the first of each term gets its definition), then link the
    first plain use of each term not linked yet; `pattern` None links no plain uses."""
    problems: list[Problem] = []
    used: set[str] = set()

    def explicit(match: re.Match[str]) -> str:
        term_id = match.group(1)
        if term_id not in glossary:
            line = find_line(page.body, page.body_line, r"\(glossary:" + re.escape(term_id) + r"\)")
            problems.append(Problem(page.source, line, f"unknown glossary term '{term_id}'", did_you_mean(term_id, glossary)))
            return match.group(2)
        first = term_id not in used
        used.add(term_id)
        return _term_link(term_id, match.group(2), definitions, glossary_url, with_tip=first)

    if "glossary:" in html:
        html = _EXPLICIT.sub(explicit, html)
    if pattern is not None:
        html = _link_first_uses(html, pattern, words, used, definitions, glossary_url)
    return LinkedTerms(html, tuple(problems))


def _link_first_uses(html: str, pattern: re.Pattern[str], words: dict[str, str], used: set[str],
                     definitions: dict[str, str], glossary_url: str) -> str:
    """Link the first use of each term not in `used`, unless it stands inside a tag's angle brackets or
    inside a skipped element (a link, a heading, code...).

    Python sees only the term matches and the skipped tags before them, not every piece of text
    between tags."""
    pieces: list[str] = []
    done = 0  # html[:done] is in pieces
    skipped = _SKIPPED_TAG.finditer(html)
    next_tag = next(skipped, None)
    depth = 0  # skipped elements open at the current match
    for match in _term_matches(pattern, words, html):
        term_id = words[match.group(0)]
        if term_id in used:
            continue
        start = match.start()
        while next_tag is not None and next_tag.start() < start:
            if not next_tag.group(0).endswith("/>"):
                depth = max(depth + (-1 if next_tag.group(1) else 1), 0)
            next_tag = next(skipped, None)
        if depth or html.rfind("<", 0, start) > html.rfind(">", 0, start):
            continue
        used.add(term_id)
        pieces += (html[done:start], _term_link(term_id, match.group(0), definitions, glossary_url, with_tip=True))
        done = match.end()
    if not pieces:
        return html
    pieces.append(html[done:])
    return "".join(pieces)


# Up to this many spellings, _term_matches looks for each with str.find before trying the pattern.
_FIND_LIMIT = 64


def _term_matches(pattern: re.Pattern[str], words: dict[str, str], html: str) -> Iterator[re.Match[str]]:
    """What pattern.finditer(html) gives. For a glossary of few spellings, the pattern is tried only where
    str.find (in C) finds one, not wherever the letter a term begins with stands."""
    if len(words) > _FIND_LIMIT or "" in words:
        yield from pattern.finditer(html)
        return
    starts: set[int] = set()
    for word in words:
        position = html.find(word)
        while position >= 0:
            starts.add(position)
            position = html.find(word, position + 1)
    end = 0
    for start in sorted(starts):
        if start >= end and (match := pattern.match(html, start)):
            yield match
            end = match.end()


def _term_link(term_id: str, inner_html: str, definitions: dict[str, str], glossary_url: str,
               with_tip: bool) -> str:
    href = f"{glossary_url}#term-{term_id}"
    if not with_tip:
        return f'<a class="term" href="{href}">{inner_html}</a>'
    return (f'<span class="term-wrap"><a class="term" href="{href}" aria-describedby="tip-{term_id}">'
            f'{inner_html}</a><span class="term-tip" role="tooltip" id="tip-{term_id}" aria-hidden="true">'
            f"{escape(definitions[term_id])}</span></span>")


_TAGS = re.compile(r"<[^>]+>")


def plain_text(html_text: str) -> str:
    """A definition as plain text, for tooltips: no tags, no citation markers."""
    without_markers = re.sub(r"\s*" + CITE_MARKER.pattern, "", html_text)
    return html.unescape(_TAGS.sub("", without_markers)).strip()
