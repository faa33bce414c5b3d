"""Citation markers in a page's HTML -> numbered links and the page's source list.

Numbers follow first use on the page. Each marker links to the page's source
list and carries the source's name as visually hidden text for screen
readers; each list entry links back to every marker that cites it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from .data import Source
from .errors import Problem, did_you_mean
from .markup import CITE_MARKER, find_line


@dataclass(frozen=True)
class CitedSource:
    """A source as listed at the end of one page: its number and the markers that cite it."""

    number: int
    source: Source
    backlinks: tuple[str, ...]


@dataclass(frozen=True)
class NumberedCitations:
    html: str
    cited: tuple[CitedSource, ...]
    problems: tuple[Problem, ...]


def number_citations(html: str, sources: dict[str, Source], page_source: str, body: str,
                     body_line: int, language: str = "", default_language: str = "",
                     label: str = ": {publisher}, “{title}”") -> NumberedCitations:
    """Replace every <cite-marker> with numbered links; report unknown ids with their line. A source whose
    title is in another language than the page's (`language`; a source without one is in `default_language`)
    has its title marked with its own; `label` is the hidden text after the number, in the page's language."""
    numbers: dict[str, int] = {}
    backlinks: dict[str, list[str]] = {}
    problems: list[Problem] = []
    hidden_words: dict[str, str] = {}  # a source's hidden text, the same at each of its markers
    escaped_label = str(escape(label))

    def replace(match: re.Match[str]) -> str:
        links = []
        for source_id in match.group(1).split():
            source = sources.get(source_id)
            if source is None:
                line = find_line(body, body_line, r"@" + re.escape(source_id) + r"(?![\w-])")
                problems.append(Problem(page_source, line, f"unknown source id '{source_id}'",
                                        did_you_mean(source_id, sources)))
                continue
            number = numbers.setdefault(source_id, len(numbers) + 1)
            anchor = f"cite-{number}-{len(backlinks.setdefault(source_id, [])) + 1}"
            backlinks[source_id].append(anchor)
            hidden = hidden_words.get(source_id)
            if hidden is None:
                title: Markup | str = source.title
                own = source.language or default_language
                if own != language:
                    title = Markup('<span lang="{}">{}</span>').format(own, source.title)
                publisher: Markup | str = source.publisher
                if (source.publisher_language or language) != language:
                    publisher = Markup('<span lang="{}">{}</span>').format(source.publisher_language, source.publisher)
                hidden = hidden_words[source_id] = escaped_label.format(publisher=escape(publisher),
                                                                         title=escape(title))
            links.append(f'<a id="{anchor}" href="#source-{number}">{number}'
                         f'<span class="visually-hidden">{hidden}</span></a>')
        if not links:
            return ""
        return '<sup class="cite">[' + ", ".join(links) + "]</sup>"

    new_html = CITE_MARKER.sub(replace, html)
    cited = tuple(
        CitedSource(number, sources[source_id], tuple(backlinks[source_id]))
        for source_id, number in sorted(numbers.items(), key=lambda item: item[1])
    )
    return NumberedCitations(new_html, cited, tuple(problems))
