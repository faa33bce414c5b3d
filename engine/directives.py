"""Directives: a `::: name args` line in a page -> the context of the partial template that draws it.

DIRECTIVES maps each name to a function reading only the page, the directive's arguments, the
path back to the site's root and a BodyEnv, the record of everything a page body's finishing may
read (its digest is part of every page's cache key). The partial `layouts/partials/<name>.html`
then draws the context.
"""

from __future__ import annotations

import functools
import html as html_module
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .cache import stable_digest
from .charts import render_chart_svg
from .content import PICTURE_LINE, Page, lines_outside_code
from .data import SiteData, TimelineEvent
from .dates import PartialDate, parse_date
from .errors import Problem, did_you_mean
from .glossary import term_pattern
from .images import PictureSet
from .languages import collation_key
from .markup import BLOCK_DIRECTIVES, BLOCK_END, BLOCK_MARKER, DIRECTIVE_LINE, find_line


class Place(NamedTuple):
    """A page citing a source, as a sources list shows it: the page, where the source is in the page's
    own list, and how many times the page cites it."""

    url: str
    title: str
    number: int
    times: int


# source id -> every page citing it, in reading order, as the fields of a Place (plain tuples hash
# and pickle fastest: a large site's are digested at every build)
Usage = dict[str, tuple[tuple[str, str, int, int], ...]]
# A source cited on more pages than this gets a page of its own listing them (the sources list
# links to it), so that no list grows with the size of the site.
PLACES_LISTED = 12
# A timeline of more events than this is shown a year a page (the timeline page lists the years).
EVENTS_LISTED = 1000


@dataclass(frozen=True, eq=False)
class BodyEnv:
    """Everything the finishing of a page body reads besides the page: the data, the addresses of the
    special pages and of the sections timeline events name, and the glossary's plain definitions."""

    data: SiteData
    special_urls: dict[str, str]  # "timeline", "glossary", "sources", "about" -> URL from the site root
    section_links: dict[str, tuple[str, str]]  # slug of a page events or corrections name -> (title, URL from the root)
    definitions: dict[str, str]  # glossary term id -> its definition as plain text
    pictures: dict[str, PictureSet] = field(default_factory=dict)  # the pictures pages place, with their files
    strings: dict[str, str] = field(default_factory=dict)  # the interface strings of the page's language

    @functools.cached_property
    def digest(self) -> str:
        return stable_digest(self)

    @functools.cached_property
    def terms(self) -> tuple[re.Pattern[str] | None, dict[str, str]]:
        """The pattern matching every glossary term and alias, and which term each spelling is."""
        return term_pattern(self.data.glossary)

    def links(self, root: str) -> dict[str, str]:
        return {name: root + url for name, url in self.special_urls.items()}


DirectiveResult = tuple[dict[str, Any] | None, list[Problem]]


def directive_line(page: Page, name: str, args: str = "") -> int:
    """The file line of a directive (the first with these arguments), looked up only to report a problem with it."""
    named = r"^:::\s+" + re.escape(name) + r"\b"
    with_args = re.compile(named + r"[ \t]+" + re.escape(args.strip()) + r"[ \t]*$")
    for index, line in lines_outside_code(page.body) if args.strip() else ():
        if with_args.search(line):
            return page.body_line + index
    return find_line(page.body, page.body_line, named)


def _chart(page: Page, args: str, root: str, env: BodyEnv, usage: Usage | None) -> DirectiveResult:
    figure = env.data.figures.get(args.strip())
    if figure is None:
        return None, [Problem(page.source, directive_line(page, "chart", args), f"unknown chart '{args.strip()}'",
                              did_you_mean(args.strip(), env.data.figures) or "name a figure from content/figures.yaml")]
    svg, problems = render_chart_svg(figure, f"chart-{figure.id}", env.strings)
    return {"figure": figure, "svg": svg, "sources": env.data.sources}, problems


def _picture(page: Page, args: str, root: str, env: BodyEnv, usage: Usage | None) -> DirectiveResult:
    picture = env.pictures.get(args.strip())
    if picture is None:
        if args.strip() in env.data.pictures:  # its file has a problem, reported on its line of pictures.yaml
            return None, []
        line = find_line(page.body, page.body_line, r"^:::\s+picture\s+" + re.escape(args.strip()) + r"\s*$")
        return None, [Problem(page.source, line, f"unknown picture '{args.strip()}'",
                              did_you_mean(args.strip(), env.data.pictures) or "name a picture from content/pictures.yaml")]
    # The page's first picture loads at once when it comes before the first heading (on the first screen).
    first = PICTURE_LINE.search(page.body)
    eager = first is not None and first.group(1) == args.strip() and not re.search(r"^##", page.body[:first.start()], re.M)
    return {"picture": picture, "lazy": not eager}, []


def _timeline(page: Page, args: str, root: str, env: BodyEnv, usage: Usage | None) -> DirectiveResult:
    events, problem = _timeline_slice(args, env.data)
    if problem is not None:
        message, hint = problem
        return None, [Problem(page.source, directive_line(page, "timeline", args), message, hint)]
    years: list[tuple[int, int]] = []
    if len(events) > EVENTS_LISTED:  # the events are on a page a year: list the years
        years = sorted(Counter(event.date.year for event in events).items())
        events = []
    return {"events": events, "years": years, "categories": env.data.categories, "is_full": page.layout == "timeline",
            "section_links": {slug: {"title": title, "url": root + url} for slug, (title, url) in env.section_links.items()}}, []


def _glossary(page: Page, args: str, root: str, env: BodyEnv, usage: Usage | None) -> DirectiveResult:
    return {"terms": sorted(env.data.glossary.values(), key=lambda t: collation_key(t.term, env.strings))}, []


def _sources(page: Page, args: str, root: str, env: BodyEnv, usage: Usage | None) -> DirectiveResult:
    if usage is None:  # drawn only once every other page has been rendered
        return None, []
    cited = {source_id: {"pages": len(places), "citations": sum(times for _, _, _, times in places),
                         "places": [Place(*place) for place in places] if len(places) <= PLACES_LISTED else []}
             for source_id, places in usage.items()}
    return {"sources": sorted(env.data.sources.values(), key=lambda s: (s.publisher.lower(), s.title.lower())),
            "cited": cited}, []


def _source(page: Page, args: str, root: str, env: BodyEnv, usage: Usage | None) -> DirectiveResult:
    source = env.data.sources.get(args.strip())
    if source is None:
        return None, [Problem(page.source, directive_line(page, "source", args), f"unknown source id '{args.strip()}'",
                              did_you_mean(args.strip(), env.data.sources))]
    if usage is None:
        return None, []
    return {"source": source, "places": [Place(*place) for place in usage.get(source.id, ())]}, []


def _corrections(page: Page, args: str, root: str, env: BodyEnv, usage: Usage | None) -> DirectiveResult:
    items = [{"correction": correction, "title": env.section_links[correction.page][0],
              "url": root + env.section_links[correction.page][1]}
             for correction in sorted(env.data.corrections, key=lambda c: (-c.date.first_day().toordinal(), c.position))
             if correction.page in env.section_links]
    return {"corrections": items}, []


# A callout's kinds and the heading each gets when its line names none (`::: callout unknown Own heading`),
# in English; a language's strings table gives its own as callout_known, callout_unknown, callout_note.
CALLOUT_HEADINGS = {"known": "What we know", "unknown": "What we don’t know", "note": "Note"}


def _callout(page: Page, args: str, root: str, env: BodyEnv, usage: Usage | None) -> DirectiveResult:
    kind, _, heading = args.strip().partition(" ")
    if kind not in CALLOUT_HEADINGS:
        pattern = r"^:::\s+callout\s+" + re.escape(kind) + r"(\s|$)" if kind else r"^:::\s+callout\s*$"
        line = find_line(page.body, page.body_line, pattern)
        return None, [Problem(page.source, line, f"unknown callout kind '{kind}'" if kind else "a callout needs a kind",
                              did_you_mean(kind, CALLOUT_HEADINGS) or f"write ::: callout {' or '.join(CALLOUT_HEADINGS)}")]
    return {"kind": kind, "heading": heading.strip() or env.strings.get(f"callout_{kind}", CALLOUT_HEADINGS[kind])}, []


DIRECTIVES: dict[str, Callable[[Page, str, str, BodyEnv, Usage | None], DirectiveResult]] = {
    "chart": _chart, "picture": _picture, "timeline": _timeline, "glossary": _glossary, "sources": _sources,
    "source": _source, "corrections": _corrections, "callout": _callout,
}
# Directives that show where sources are cited: their pages are drawn after every other page.
LISTING_DIRECTIVES = ("sources", "source")
# Directives whose HTML depends on the page beyond its depth and layout, drawn for each page that places
# them: sources lists show the citations so far, and a picture that opens its page loads at once.
DRAWN_PER_PAGE = (*LISTING_DIRECTIVES, "picture")
# A page with one of these layouts shows the directive of that name even when its body does not place it.
LAYOUT_DIRECTIVES = ("timeline", "glossary", "sources")


def directives_of(page: Page) -> tuple[str, ...]:
    """The directive names a page shows: those its body places and the one its layout adds."""
    names = set(page.directives)
    if page.layout in LAYOUT_DIRECTIVES:
        names.add(page.layout)
    return tuple(sorted(names))


_HEADING_OPEN = re.compile(r"<h([1-6])[\s>]")


def draw_blocks(html: str, page: Page, draw: Callable[[str, str, str, int, int], str]) -> tuple[str, list[Problem]]:
    """Each block directive in a body's HTML drawn by `draw(name, args, inner HTML, its number in the page,
    its heading's level: one below the heading before it)`; an unclosed block or a stray `:::` is a problem."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        levels = _HEADING_OPEN.findall(html, 0, match.start())
        level = min(int(levels[-1]) + 1, 6) if levels else 2
        return draw(match.group(1), html_module.unescape(match.group(2)), match.group(3), count, level)

    if "x-block" not in html:  # most bodies hold no block: skip the pattern's search
        return html, []
    drawn = BLOCK_MARKER.sub(replace, html)
    if "<x-block" not in drawn and "</x-block>" not in drawn:
        return drawn, []
    return re.sub(r"(?:<p>)?</?x-block[^>]*>(?:</p>)?", "", drawn), _unpaired_blocks(page)


def _unpaired_blocks(page: Page) -> list[Problem]:
    """A problem for each block directive line without its `:::`, and each `:::` line that closes none."""
    problems = []
    opened: tuple[int, str] | None = None
    for index, line in lines_outside_code(page.body):
        match = DIRECTIVE_LINE.match(line)
        if (match and match.group(1) in BLOCK_DIRECTIVES) or (BLOCK_END.match(line) and opened is None):
            if opened is not None:
                problems.append(Problem(page.source, page.body_line + opened[0], f"'::: {opened[1]}' is never closed",
                                        "end it with a line ':::' of its own; blocks cannot hold blocks"))
            if match:
                opened = (index, match.group(1))
            else:
                problems.append(Problem(page.source, page.body_line + index, "a ':::' line closes no block",
                                        "start the block with a line such as '::: callout unknown'"))
        elif BLOCK_END.match(line):
            opened = None
    if opened is not None:
        problems.append(Problem(page.source, page.body_line + opened[0], f"'::: {opened[1]}' is never closed",
                                "end it with a line ':::' of its own"))
    return problems


def _timeline_slice(args: str, data: SiteData) -> tuple[list[TimelineEvent], tuple[str, str | None] | None]:
    """The events `category=a,b from=YYYY[-MM[-DD]] to=...` selects, or (message, hint) saying why none can be."""
    options: dict[str, str] = {}
    for part in args.split():
        name, equals, value = part.partition("=")
        if not equals or name not in ("category", "from", "to") or not value:
            return [], (f"timeline: cannot read '{part}'", "write category=ID, from=YYYY[-MM[-DD]] or to=YYYY[-MM[-DD]]")
        options[name] = value
    categories = options["category"].split(",") if "category" in options else []
    for category in categories:
        if category not in data.categories:
            return [], (f"unknown timeline category '{category}'", did_you_mean(category, data.categories))
    bounds: dict[str, PartialDate] = {}
    for name in ("from", "to"):
        if name in options:
            try:
                bounds[name] = parse_date(options[name])
            except ValueError as error:
                return [], (f"timeline {name}: {error}", None)
    if "from" in bounds and "to" in bounds and bounds["from"].first_day() > bounds["to"].last_day():
        return [], (f"timeline: from={options['from']} is after to={options['to']}, so no event can match",
                    "swap the two dates")
    return [event for event in data.events
            if (not categories or event.category in categories)
            and ("from" not in bounds or event.date.first_day() >= bounds["from"].first_day())
            and ("to" not in bounds or event.date.first_day() <= bounds["to"].last_day())], None

