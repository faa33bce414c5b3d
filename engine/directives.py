"""Directives: a `::: name args` line in a page -> the context of the partial template that draws it.

DIRECTIVES maps each name to a function reading only the page, the directive's arguments, the
path back to the site's root and a BodyEnv, the record of everything a page body's finishing may
read (its digest is part of every page's cache key). The partial `layouts/partials/<name>.html`
then draws the context.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .cache import stable_digest
from .charts import render_chart_svg
from .content import Page
from .data import SiteData, TimelineEvent
from .dates import PartialDate, parse_date
from .errors import Problem, did_you_mean
from .glossary import term_pattern
from .markup import find_line
from .records import CitationUse


@dataclass(frozen=True)
class PageRef:
    """What a sources list shows of a page that cites a source."""

    url: str
    title: str


class SourceUses:
    """Every place citing one source, in page order: iterating gives (page, use) pairs."""

    __slots__ = ("pages", "uses")

    def __init__(self) -> None:
        self.pages: list[PageRef] = []
        self.uses: list[CitationUse] = []

    def __iter__(self) -> Iterator[tuple[PageRef, CitationUse]]:
        return zip(self.pages, self.uses, strict=True)

    def __len__(self) -> int:
        return len(self.uses)


@dataclass(frozen=True, eq=False)
class BodyEnv:
    """Everything the finishing of a page body reads besides the page: the data, the addresses of the
    special pages and of the sections timeline events name, and the glossary's plain definitions."""

    data: SiteData
    special_urls: dict[str, str]  # "timeline", "glossary", "sources", "about" -> URL from the site root
    section_links: dict[str, tuple[str, str]]  # slug -> (title, URL from the site root)
    definitions: dict[str, str]  # glossary term id -> its definition as plain text

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


def directive_line(page: Page, name: str) -> int:
    """The file line of a directive, looked up only to report a problem with it."""
    return find_line(page.body, page.body_line, r"^:::\s+" + re.escape(name) + r"\b")


def _chart(page: Page, args: str, root: str, env: BodyEnv, usage: dict[str, SourceUses] | None) -> DirectiveResult:
    figure = env.data.figures.get(args.strip())
    if figure is None:
        return None, [Problem(page.source, directive_line(page, "chart"), f"unknown chart '{args.strip()}'",
                              did_you_mean(args.strip(), env.data.figures) or "name a figure from content/figures.yaml")]
    return {"figure": figure, "svg": render_chart_svg(figure, f"chart-{figure.id}"), "sources": env.data.sources}, []


def _timeline(page: Page, args: str, root: str, env: BodyEnv, usage: dict[str, SourceUses] | None) -> DirectiveResult:
    events, problem = _timeline_slice(args, env.data)
    if problem is not None:
        message, hint = problem
        return None, [Problem(page.source, directive_line(page, "timeline"), message, hint)]
    return {"events": events, "categories": env.data.categories, "is_full": page.layout == "timeline",
            "section_links": {slug: {"title": title, "url": root + url} for slug, (title, url) in env.section_links.items()}}, []


def _glossary(page: Page, args: str, root: str, env: BodyEnv, usage: dict[str, SourceUses] | None) -> DirectiveResult:
    return {"terms": sorted(env.data.glossary.values(), key=lambda t: t.term.lower())}, []


def _sources(page: Page, args: str, root: str, env: BodyEnv, usage: dict[str, SourceUses] | None) -> DirectiveResult:
    if usage is None:  # drawn only once every other page has been rendered
        return None, []
    return {"sources": sorted(env.data.sources.values(), key=lambda s: (s.publisher.lower(), s.title.lower())),
            "usage": usage}, []


DIRECTIVES: dict[str, Callable[[Page, str, str, BodyEnv, dict[str, SourceUses] | None], DirectiveResult]] = {
    "chart": _chart, "timeline": _timeline, "glossary": _glossary, "sources": _sources,
}
# A page with one of these layouts shows the directive of that name even when its body does not place it.
LAYOUT_DIRECTIVES = ("timeline", "glossary", "sources")


def directives_of(page: Page) -> tuple[str, ...]:
    """The directive names a page shows: those its body places and the one its layout adds."""
    names = set(page.directives)
    if page.layout in LAYOUT_DIRECTIVES:
        names.add(page.layout)
    return tuple(sorted(names))


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

