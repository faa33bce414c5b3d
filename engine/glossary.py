"""Glossary terms in a page's HTML -> a link to the glossary entry on first use.

Each linked term is followed by its definition in a tooltip that shows on
hover and keyboard focus (CSS only) and is announced through
aria-describedby, so it works without JavaScript and for screen readers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from markupsafe import escape

from .content import Page
from .data import GlossaryTerm
from .errors import Problem, did_you_mean
from .markup import find_line

_TOKEN = re.compile(r"(<[^>]+>)")
_SKIP_TAGS = frozenset({"a", "h1", "h2", "h3", "h4", "h5", "h6", "code", "pre", "sup", "svg", "script",
                        "style", "title", "button", "summary", "figcaption", "th", "abbr", "dt", "time"})
_TAG_NAME = re.compile(r"^</?([a-zA-Z][\w-]*)")
_EXPLICIT = re.compile(r'<a href="glossary:([^"]*)">(.*?)</a>', re.S)
# A `<` whose tag has not closed when the next `<` comes: such HTML takes the slow, tag-by-tag path.
_NESTED_OPEN = re.compile(r"<[^>]*<")


def _skipped_tag_pattern() -> re.Pattern[str]:
    """Opening or closing tags of _SKIP_TAGS, named in any ASCII case (what `.lower() in` accepts)."""
    def any_case(text: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in text)

    # Grouped by first letter (a(bbr)?|b(utton)|...): fewer tries at each `<` than one name after another.
    groups: dict[str, list[str]] = {}
    for name in sorted(_SKIP_TAGS, key=lambda name: (-len(name), name)):
        groups.setdefault(name[0], []).append(name[1:])
    names = (any_case(first) + "(?:" + "|".join(any_case(rest) for rest in rests if rest) + ")" + ("?" if "" in rests else "")
             if any(rests) else any_case(first) for first, rests in sorted(groups.items()))
    return re.compile(rf"<(/?)(?:{'|'.join(names)})(?![\w-])[^>]*>")


_SKIPPED_TAG = _skipped_tag_pattern()


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
        if _NESTED_OPEN.search(html) is None:
            html = _link_first_uses_in_html(html, pattern, words, used, definitions, glossary_url)
        else:
            html = _map_text(html, lambda text: _link_first_uses(text, pattern, words, used, definitions, glossary_url))
    return LinkedTerms(html, tuple(problems))


def _link_first_uses_in_html(html: str, pattern: re.Pattern[str], words: dict[str, str], used: set[str],
                             definitions: dict[str, str], glossary_url: str) -> str:
    """What `_map_text` with `_link_first_uses` returns, from one scan of the whole page.

    Only for HTML where every `<` closes with `>` before the next `<`: then each tag
    is one `<...>` span, no term (which holds neither `<` nor `>`) straddles a tag,
    and a tag's edges look like the ends of a text piece to the term pattern's
    lookarounds. Python then visits the term matches and the skipped tags only,
    not every piece of text.
    """
    pieces: list[str] = []
    done = 0  # html[:done] is in pieces
    skipped = _SKIPPED_TAG.finditer(html)
    next_tag = next(skipped, None)
    depth = 0
    for match in _term_matches(pattern, words, html):
        term_id = words[match.group(0)]
        if term_id in used:
            continue
        start = match.start()
        if html.rfind("<", 0, start) > html.rfind(">", 0, start) and html.find(">", start) >= 0:
            continue  # inside a tag's attributes
        while next_tag is not None and next_tag.start() < start:
            tag = next_tag.group(0)
            if not tag.endswith("/>"):
                depth = max(depth + (-1 if next_tag.group(1) else 1), 0)
            next_tag = next(skipped, None)
        if depth:
            continue
        used.add(term_id)
        pieces.append(html[done:start])
        pieces.append(_term_link(term_id, match.group(0), definitions, glossary_url, with_tip=True))
        done = match.end()
    if not pieces:
        return html
    pieces.append(html[done:])
    return "".join(pieces)


# Up to this many term spellings, _term_matches looks for each with str.find before trying the pattern.
_FIND_LIMIT = 64


def _term_matches(pattern: re.Pattern[str], words: dict[str, str], html: str) -> Iterator[re.Match[str]]:
    """What pattern.finditer(html) gives, tried only where some spelling of a term starts.

    The pattern can only match where one of `words` starts, and str.find finds those in C, many
    times faster than the regex engine trying the pattern at every character. Tried in order from the
    end of the last match, as finditer does."""
    if len(words) > _FIND_LIMIT:
        yield from pattern.finditer(html)
        return
    starts: set[int] = set()
    for word in words:
        if not word:
            yield from pattern.finditer(html)  # an empty spelling matches anywhere
            return
        position = html.find(word)
        while position >= 0:
            starts.add(position)
            position = html.find(word, position + 1)
    end = 0
    for start in sorted(starts):
        if start < end:
            continue
        match = pattern.match(html, start)
        if match is not None:
            end = max(match.end(), start + 1)
            yield match


def _link_first_uses(text: str, pattern: re.Pattern[str], words: dict[str, str], used: set[str],
                     definitions: dict[str, str], glossary_url: str) -> str:
    def replace(match: re.Match[str]) -> str:
        term_id = words[match.group(0)]
        if term_id in used:
            return match.group(0)
        used.add(term_id)
        return _term_link(term_id, match.group(0), definitions, glossary_url, with_tip=True)

    return pattern.sub(replace, text)


def _term_link(term_id: str, inner_html: str, definitions: dict[str, str], glossary_url: str,
               with_tip: bool) -> str:
    href = f"{glossary_url}#term-{term_id}"
    if not with_tip:
        return f'<a class="term" href="{href}">{inner_html}</a>'
    return (f'<span class="term-wrap"><a class="term" href="{href}" aria-describedby="tip-{term_id}">'
            f'{inner_html}</a><span class="term-tip" role="tooltip" id="tip-{term_id}">'
            f"{escape(definitions[term_id])}</span></span>")


def _map_text(html: str, transform: Callable[[str], str]) -> str:
    """Apply `transform` to text outside tags, skipping links, headings, code and the like."""
    parts = _TOKEN.split(html)
    skip_depth = 0
    for index, part in enumerate(parts):
        if index % 2 == 1:
            name_match = _TAG_NAME.match(part)
            if name_match and name_match.group(1).lower() in _SKIP_TAGS and not part.endswith("/>"):
                skip_depth += -1 if part.startswith("</") else 1
                skip_depth = max(skip_depth, 0)
        elif part and skip_depth == 0:
            parts[index] = transform(part)
    return "".join(parts)
