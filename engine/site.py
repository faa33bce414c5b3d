"""Stage 4: the pages and the data files, read together, resolved into a Site: order, navigation, neighbours, links.

Refuses navigation entries and timeline sections that name no page, two sections with one
`order` (sections are numbered by rank, so the numbers need not run 1, 2, 3), and
checks that data citations name known sources. Nothing is rendered here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .cache import Cache
from .content import Page, load_content
from .corrections import Correction, check_corrections
from .data import GLOSSARY_FILE, TIMELINE_FILE, SiteData, load_data
from .errors import DRAFT_HINT, BuildError, Problem, did_you_mean
from .markup import CITATION_PATTERN, scan_citations
from .settings import Settings

SPECIAL_LAYOUTS = ("timeline", "glossary", "sources")


@dataclass(frozen=True)
class Site:
    """Everything the renderer needs, resolved: pages in reading order and lookups by slug."""

    settings: Settings
    pages: tuple[Page, ...]
    sections: tuple[Page, ...]
    nav: tuple[Page, ...]
    data: SiteData
    special_pages: dict[str, Page]
    # Lookups built once: a search per page would make large sites quadratic.
    by_slug: dict[str, Page] = field(default_factory=dict, compare=False, hash=False)
    section_index: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    # What resolving found, errors and warnings: the names it could not resolve are left out, so the
    # later stages run and one build reports their problems too.
    problems: list[Problem] = field(default_factory=list, compare=False, hash=False)
    # The site in each of its other languages (each with no editions of its own), and for every page in the
    # default language (by source) its address in each language that has it.
    editions: tuple[Site, ...] = ()
    alternates: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def language(self) -> str:
        return self.settings.language

    @property
    def every_edition(self) -> tuple[Site, ...]:
        return (self, *self.editions)

    @property
    def home(self) -> Page:
        return next(page for page in self.pages if page.kind == "home")

    def page_by_slug(self, slug: str) -> Page | None:
        return self.by_slug.get(slug)

    def rank(self, page: Page) -> int | None:
        """A section's place in reading order, from 1 ("Part 2 of 5"); None for other pages."""
        index = self.section_index.get(page.source)
        return None if index is None else index + 1

    def neighbours(self, page: Page) -> tuple[Page | None, Page | None]:
        """The sections before and after a section, in reading order."""
        index = self.section_index.get(page.source, -1)
        if index < 0 or self.sections[index] != page:
            return None, None
        previous = self.sections[index - 1] if index > 0 else None
        following = self.sections[index + 1] if index + 1 < len(self.sections) else None
        return previous, following


def load_inputs(settings: Settings, cache: Cache) -> tuple[list[Page], SiteData, list[Problem]]:
    """Read the pages and the data files, with their problems. A page that cannot be read is a stand-in
    (Page.unread), so the later stages still run; any other error raises one BuildError for both."""
    pages: list[Page] | None
    data: SiteData | None
    try:
        pages, page_problems = load_content(settings, cache)
    except BuildError as error:
        pages, page_problems = None, error.problems
    try:
        data, data_problems = load_data(settings, cache)
    except BuildError as error:
        data, data_problems = None, error.problems
    if pages is None or data is None:
        raise BuildError(page_problems + data_problems)
    return pages, data, page_problems + data_problems


def resolve_site(settings: Settings, pages: list[Page], data: SiteData) -> Site:
    """Order pages, build navigation and check every cross-reference between files, in every language;
    what does not resolve is in the Site's problems and left out (a language without a home page is
    not rendered)."""
    problems: list[Problem] = []
    site = _resolve_edition(settings, [page for page in pages if not page.language], data, problems)
    editions = []
    for language in settings.other_languages:
        own = [page for page in pages if page.language == language]
        if own and not any(page.kind == "home" for page in own):
            problems.append(Problem(f"content/index.{language}.md", 0, f"the '{language}' pages have no home page",
                                    f"translate content/index.md into content/index.{language}.md"))
            continue
        editions.append(_resolve_edition(settings.edition(language), own, data.language(language), problems))
    alternates: dict[str, dict[str, str]] = {}
    for edition in (site, *editions):
        for page in edition.pages:
            alternates.setdefault(page.original, {})[edition.language] = page.url
    editions = [replace(edition, alternates=alternates) for edition in editions]
    return replace(site, editions=tuple(editions), alternates=alternates, problems=site.problems + problems)


def _resolve_edition(settings: Settings, pages: list[Page], data: SiteData, problems: list[Problem]) -> Site:
    """The Site of one language. The references between files are checked in the default language: another
    language's navigation leaves out the pages it lacks."""
    is_default = settings.language == settings.default_language
    sections = tuple(sorted((p for p in pages if p.kind == "section"),
                            key=lambda p: (p.meta.order or 0, p.source)))
    others = sorted((p for p in pages if p.kind == "page"), key=lambda p: (p.meta.title.lower(), p.source))
    _check_orders(sections, problems)
    home = [p for p in pages if p.kind == "home"]
    ordered = (*home, *sections, *others)
    by_slug = {page.slug: page for page in ordered}

    special: dict[str, Page] = {}
    for page in ordered:
        if page.layout in SPECIAL_LAYOUTS:
            if page.layout in special:
                problems.append(Problem(page.source, page.line_of("layout"),
                                        f"a second page with layout '{page.layout}' (the first is "
                                        f"{special[page.layout].source})"))
            else:
                special[page.layout] = page

    nav = []
    for slug in settings.nav:
        if slug in by_slug:
            nav.append(by_slug[slug])
        elif is_default:
            problems.append(Problem(settings.config_source, settings.nav_line,
                                    f"'nav' names '{slug}', but no page has that slug",
                                    did_you_mean(slug, by_slug) or DRAFT_HINT))
    if not settings.nav:
        nav = [*sections, *(p for p in others)]
    warnings = _missing_from_nav(settings, sections) + _lists_with_nothing(special, data) if is_default else []
    reported = len(problems)
    _check_data_references(data, by_slug if is_default else None, special, problems)
    if len(problems) > reported:
        data = _without_unknown_citations(data)
    # A correction belongs to the language of the text it corrects: a translation made from the corrected
    # text never said what the correction takes back.
    data = replace(data, corrections=tuple(correction for correction in data.corrections
                                           if (correction.language or settings.default_language) == settings.language))
    dates = [page.meta.published for page in ordered if page.meta.published is not None]
    problems += [problem for problem in check_corrections(data.corrections, {page.slug: page.meta.published
                                                                             for page in ordered},
                                                          min(dates) if dates else None) if problem not in problems]
    first_by_slug: dict[str, Page] = {}
    for page in ordered:
        first_by_slug.setdefault(page.slug, page)
    return Site(settings, ordered, sections, tuple(nav), data, special, first_by_slug,
                {page.source: index for index, page in enumerate(sections)}, warnings)


def _check_data_references(data: SiteData, by_slug: dict[str, Page] | None, special: dict[str, Page],
                           problems: list[Problem]) -> None:
    """Citations in the data's texts name known sources (in every language); timeline sections name pages
    and the data have their pages (`by_slug` given: in the default language)."""
    for event in data.events:
        if by_slug is not None and event.section and event.section not in by_slug:
            problems.append(Problem(TIMELINE_FILE, event.section_line, f"unknown section '{event.section}'",
                                    did_you_mean(event.section, by_slug) or DRAFT_HINT))
        _check_cited_ids(event.body, TIMELINE_FILE, event.body_line, data, problems)
    for term in data.glossary.values():
        _check_cited_ids(term.definition, GLOSSARY_FILE, term.line, data, problems)
    if by_slug is None or any(page.unread for page in by_slug.values()):
        return  # a page that could not be read may be the one with the layout
    if data.events and "timeline" not in special:
        problems.append(Problem(TIMELINE_FILE, 1, "there are timeline events but no page with 'layout: timeline'",
                                "add content/timeline.md with layout: timeline"))
    if data.glossary and "glossary" not in special:
        problems.append(Problem(GLOSSARY_FILE, 1, "there are glossary terms but no page with 'layout: glossary'",
                                "add content/glossary.md with layout: glossary"))
    if data.sources and "sources" not in special:
        problems.append(Problem("content/sources.yaml", 1, "there are sources but no page with 'layout: sources'",
                                "add content/sources.md with layout: sources"))


def _without_unknown_citations(data: SiteData) -> SiteData:
    """The data with each citation naming an unknown source left out of the timeline's and the glossary's
    texts: the problem is reported at the data's line, not again at each page that shows the text."""
    def known(text: str) -> str:
        return re.sub(CITATION_PATTERN, lambda match: match.group(0) if all(
            part.strip().lstrip("@") in data.sources for part in match.group(1).split(";")) else "", text)

    return replace(data, events=tuple(replace(event, body=known(event.body)) for event in data.events),
                   glossary={term_id: replace(term, definition=known(term.definition))
                             for term_id, term in data.glossary.items()})


def _lists_with_nothing(special: dict[str, Page], data: SiteData) -> list[Problem]:
    """A warning for a timeline, glossary or sources page whose data file holds nothing (emptied by a bad save or
    merge, say): the page would be published with an empty list."""
    files = {"timeline": (TIMELINE_FILE, data.events), "glossary": (GLOSSARY_FILE, data.glossary),
             "sources": ("content/sources.yaml", data.sources)}
    return [Problem(page.source, page.line_of("layout"), f"this page lists what {files[layout][0]} holds, and it holds "
                    "nothing", f"add entries to {files[layout][0]}, or remove the page", is_warning=True)
            for layout, page in sorted(special.items()) if not files[layout][1]]


# Sections a `nav` leaves out that get a warning each; the rest are counted in one line, so a large site
# whose menu names only a few sections is not buried in warnings.
_MISSING_LISTED = 5


def _missing_from_nav(settings: Settings, sections: tuple[Page, ...]) -> list[Problem]:
    """A warning for each section an explicit `nav` leaves out: it would silently stay out of the menu."""
    missing = [page for page in sections if settings.nav and page.slug not in settings.nav]
    warnings = [Problem(page.source, page.line_of("order"), f"section '{page.slug}' is not in the site's 'nav'",
                        f"add it to 'nav' in {settings.config_source}", is_warning=True)
                for page in missing[:_MISSING_LISTED]]
    if len(missing) > _MISSING_LISTED:
        warnings.append(Problem(settings.config_source, settings.nav_line,
                                f"{len(missing) - _MISSING_LISTED} more sections are not in 'nav'", is_warning=True))
    return warnings


def _check_orders(sections: tuple[Page, ...], problems: list[Problem]) -> None:
    """Two sections with the same `order` would have no reading order between them."""
    first: dict[int, Page] = {}
    for page in sections:
        order = page.meta.order or 0
        if order in first:
            problems.append(Problem(page.source, page.line_of("order"),
                                    f"order {order} is also the order of {first[order].source}",
                                    "give each section its own order"))
        else:
            first[order] = page


def _check_cited_ids(text: str, source: str, line: int, data: SiteData, problems: list[Problem]) -> None:
    for _, ids in scan_citations(text):
        for source_id in ids:
            if source_id in data.sources:
                continue
            problem = Problem(source, line, f"unknown source id '{source_id}'", did_you_mean(source_id, data.sources))
            if problem not in problems:
                problems.append(problem)


def corrections_by_page(site: Site) -> dict[str, tuple[Correction, ...]]:
    """Each corrected page's source -> its corrections, in the file's order."""
    by_page: dict[str, list[Correction]] = {}
    for correction in site.data.corrections:
        page = site.page_by_slug(correction.page)
        if page is not None:
            by_page.setdefault(page.source, []).append(correction)
    return {source: tuple(corrections) for source, corrections in by_page.items()}
