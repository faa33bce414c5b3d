"""Stage 5c: a Site -> every output file: pages, host files (publish.py) and the assets pages use.

A page whose key the last builds rendered is taken from the cache: its facts (cited sources,
assets, digests) from one index, its bytes only when the writer asks for them. The others are
rendered, by the pool when many need it. Pages that list where sources are cited come last,
since they show every other page's citations; a source cited on many pages gets a page of its
own (directives.PLACES_LISTED). Each file goes to `write` as soon as it is made: the build
writes it to disk, the dev server keeps it in memory.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field

from .cache import Cache, joined_digest, stable_digest
from .content import Page, PageMeta
from .directives import EVENTS_LISTED, LISTING_DIRECTIVES, PLACES_LISTED, Usage, directives_of
from .errors import BuildError, Problem, has_errors
from .markup import MarkdownConverter
from .pool import parallel_map
from .publish import publish_files
from .records import OutputFile, PageFacts, PageLinks, RenderedPage
from .render import PageRenderer
from .safety import refused_scheme
from .site import Site
from .templates import Layouts

Write = Callable[[OutputFile], None]


@dataclass
class SiteOutput:
    """What rendering the site made besides the files: each HTML page's links (for the link check), cache
    key and ids digest, the pages rendered now rather than taken from the cache, the problems and the
    pages they kept from being made (links to those are not reported as broken)."""

    links: _Links
    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    rendered: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    host_keys: list[str] = field(default_factory=list)
    picture_keys: list[str] = field(default_factory=list)
    body_keys: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)

    def add_problems(self, problems: list[Problem]) -> None:
        """Keep problems; a template syntax error already reported for another page is not repeated
        (a broken base template breaks every page: the first one names it)."""
        for problem in problems:
            message = problem.message.split(" (while rendering ", 1)[0]
            if message.startswith("template syntax error: ") and any(
                    p.source == problem.source and p.message.startswith(message + " (") for p in self.problems):
                continue
            self.problems.append(problem)

    @property
    def has_errors(self) -> bool:
        return has_errors(self.problems)


@dataclass(frozen=True)
class _Made:
    """One page as this build has it: its facts, and its bytes and links when it was rendered now."""

    page: Page
    key: str
    usage: Usage | None
    facts: PageFacts | None  # None: the page has errors
    record: RenderedPage | None
    problems: list[Problem]
    renderer: PageRenderer


def render_site(site: Site, layouts: Layouts, cache: Cache, write: Write, jobs: int | None = None,
                converter: MarkdownConverter | None = None) -> SiteOutput:
    """Make every file of the site and hand each to `write`; problems are in the result. `jobs` is how
    many processes render pages (None: as many as pay, see pool.py); `converter` is the Markdown
    converter to use (the tests give the stock one)."""
    converter = converter or MarkdownConverter()  # one for every language: Markdown is the same in each
    renderers = [PageRenderer(edition, layouts, cache, converter) for edition in site.every_edition]
    known = cache.get("facts", "pages")
    output = _Output(SiteOutput(_Links(cache, hold=not cache.keeps("pages"))), known if isinstance(known, dict) else {})
    made = output.made
    made.add_problems(renderers[0].strings_problems)
    if made.has_errors:
        return made  # every page would fail on the same missing strings
    for renderer in renderers:  # each language's pages place pictures (with their words in that language)
        made.add_problems([problem for problem in renderer.pictures.problems if problem not in made.problems])
        made.picture_keys += [key for key in renderer.pictures.keys if key not in made.picture_keys]
    cited: set[str] = set()
    for renderer in renderers:
        cited |= _render_edition(renderer, output, cache, write, jobs, site)
    if output.kept.keys() != output.known.keys():
        cache.put("facts", "pages", output.kept)
    # A page that failed cited nothing this build: warning about its sources would bury the real problem.
    for source_id, source in site.data.sources.items() if not made.has_errors else ():
        if source_id not in cited:
            made.problems.append(Problem("content/sources.yaml", source.line, f"source '{source_id}' is cited nowhere",
                                         is_warning=True))
    values_used = {key: digest for renderer in renderers for key, digest in renderer.values_used.items()}
    if values_used != renderers[0].values_known:
        cache.put("values", "index", values_used)
    # A picture both languages place has the same files (its words are in the pages): each is written once.
    for file in {file.out_path: file for renderer in renderers for file in renderer.pictures.files}.values():
        write(file)
    for name in sorted(output.assets):
        write(OutputFile(layouts.assets.hashed[name], layouts.assets.data[name], frozenset({f"layouts/assets/{name}"})))
    return made


def _render_edition(renderer: PageRenderer, output: _Output, cache: Cache, write: Write, jobs: int | None,
                    site: Site) -> set[str]:
    """Make the files of one language's pages (and its host files) and hand each to `write`; the ids of the
    sources its pages cite."""
    edition = renderer.site
    output.made.failed.update(page.out_path for page in edition.pages if page.unread)
    readable = [page for page in edition.pages if not page.unread]
    listing = [page for page in readable if set(directives_of(page)) & set(LISTING_DIRECTIVES)]
    ordinary = [page for page in readable if page not in listing] + _year_pages(edition)
    output.place(_pages(renderer, [(page, None) for page in ordinary], cache, output.known, jobs, {}), write, edition)
    usage, digests = _usage(output.citing, cache)
    output.citing = []
    pages: list[tuple[Page, Usage | None]] = [(page, usage) for page in listing]
    pages += [(page, {source_id: usage[source_id]}) for page, source_id in _source_pages(edition, usage, renderer.strings)]
    output.place(_pages(renderer, pages, cache, output.known, jobs, digests), write, edition)
    cited = output.cited | set(usage)
    output.cited = set()
    del usage, pages, digests  # what sources lists showed: no later step needs it
    made = output.made
    host = publish_files(renderer, site)
    made.add_problems(host.problems)
    for file in host.files:
        write(file)
    for out_path, page_links in host.links.items():
        made.links.add(out_path, "", page_links)
        made.keys[out_path] = host.keys[-1]
        made.ids[out_path] = stable_digest(page_links.ids)
    made.host_keys += host.keys
    output.assets |= host.assets
    return cited


class _Output:
    """What render_site gathers as pages are made: the SiteOutput, the facts index, the pages citing
    sources (for the sources lists), the sources listing pages cite, the assets pages use."""

    def __init__(self, made: SiteOutput, known: dict[str, PageFacts]) -> None:
        self.made = made
        self.known = known
        self.kept: dict[str, PageFacts] = {}
        self.citing: list[tuple[Page, PageFacts]] = []
        self.cited: set[str] = set()
        self.assets: set[str] = set()

    def place(self, pages: Generator[_Made], write: Write, site: Site) -> None:
        """Hand each page to `write` and note what later steps need of it."""
        made = self.made
        with closing(pages):  # closed at once when `write` raises: the workers stop
            for item in pages:
                made.add_problems(item.problems)
                if item.facts is None:
                    made.failed.add(item.page.out_path)
                    if item.record is not None:  # drawn despite its errors: its links are checked, never written
                        made.links.add(item.page.out_path, "", _links_to_check(item.record.links))
                    continue
                page, key, facts, record = item.page, item.key, item.facts, item.record
                self.kept[key] = facts
                write(OutputFile(page.out_path, record.html if record else b"",
                                 frozenset({page.source, site.settings.config_source}), facts.digest, _loader(item)))
                made.links.add(page.out_path, key, record.links if record else None)
                made.keys[page.out_path] = key
                made.ids[page.out_path] = facts.ids_digest
                made.body_keys.add(facts.body_key)
                if record is not None:
                    made.rendered.append(page.out_path)
                self.assets.update(facts.assets)
                if facts.citations and item.usage is None:
                    self.citing.append((page, facts))
                elif facts.citations:
                    self.cited.update(source_id for source_id, _, _ in facts.citations)


def _links_to_check(links: PageLinks) -> PageLinks:
    """What the link check reads of a page drawn despite its errors: its ids and its links, less those its
    errors already name (URLs with a refused scheme) and less its markup, where the body's problems show again."""
    kept = [(target, line) for target, line in zip(links.targets, links.lines, strict=True) if not refused_scheme(target)]
    return PageLinks(links.ids, [target for target, _ in kept], [line for _, line in kept])


def _usage(citing: list[tuple[Page, PageFacts]], cache: Cache) -> tuple[Usage, dict[str, str]]:
    """source id -> every page citing it, in reading order (what sources lists show), and the digest of
    each source's places; the dev server keeps them in memory for the citations they were made from."""
    key = stable_digest([(page.url, page.meta.title, facts.citations) for page, facts in citing])
    known = cache.get("usage", key)
    if isinstance(known, tuple):
        return known
    places: dict[str, list[tuple[str, str, int, int]]] = {}
    for page, facts in citing:
        for source_id, number, times in facts.citations:
            places.setdefault(source_id, []).append((page.url, page.meta.title, number, times))
    usage = {source_id: tuple(items) for source_id, items in places.items()}
    made = usage, {source_id: stable_digest(items) for source_id, items in usage.items()}
    cache.put("usage", key, made, to_disk=False)
    return made


def _source_pages(site: Site, usage: Usage, strings: dict[str, str]) -> list[tuple[Page, str]]:
    """A page for each source cited on more than PLACES_LISTED pages, under the sources page, with the
    source's id."""
    sources_page = site.special_pages.get("sources")
    if sources_page is None:
        return []
    summary = strings.get("source_page_summary", "Every page of this site that cites this source.")
    return [(Page(source="content/sources.yaml", body_line=source.line, kind="page",
                  meta=PageMeta(title=source.title, summary=summary), language=sources_page.language,
                  body=f"::: source {source_id}\n", url=f"{sources_page.url}{source_id}/",
                  digest=joined_digest(site.data.digest, source_id),
                  directives=("source",)),
             source_id)
            for source_id, source in site.data.sources.items() if len(usage.get(source_id, ())) > PLACES_LISTED]


def _year_pages(site: Site) -> list[Page]:
    """A page a year under the timeline page, for a timeline of more than EVENTS_LISTED events."""
    timeline = site.special_pages.get("timeline")
    if timeline is None or len(site.data.events) <= EVENTS_LISTED:
        return []
    return [Page(source="content/timeline.yaml", body_line=1, kind="page", url=f"{timeline.url}{year}/",
                 language=timeline.language,
                 meta=PageMeta(title=f"{timeline.meta.title}: {year}", summary=timeline.meta.summary, layout="timeline"),
                 body=f"::: timeline from={year} to={year}\n", digest=joined_digest(timeline.digest, str(year)),
                 directives=("timeline",))
            for year in sorted({event.date.year for event in site.data.events})]


def _pages(renderer: PageRenderer, pages: list[tuple[Page, Usage | None]], cache: Cache, known: dict[str, PageFacts],
           jobs: int | None, digests: dict[str, str]) -> Generator[_Made]:
    """Each page in order, from the cache's facts when its key is known, else rendered (the pool
    renders the ones no cache entry holds). A page listing citations is keyed by the places it is
    given, through `digests`, each source's places hashed once."""
    keys = [renderer.key(page, stable_digest(sorted((source_id, digests[source_id]) for source_id in usage))
                         if usage is not None else "") for page, usage in pages]
    todo = [index for index, key in enumerate(keys) if key not in known and not cache.has("pages", key)]

    def render(number: int) -> tuple[RenderedPage | None, list[Problem]]:
        (page, usage), key = pages[todo[number]], keys[todo[number]]
        record, problems = renderer.render(page, usage)
        if record is not None and not has_errors(problems):
            cache.put("pages", key, record)
        return record, problems

    with closing(parallel_map(render, len(todo), jobs)) as made:  # a problem elsewhere stops the workers at once
        yield from _in_order(pages, keys, set(todo), made, renderer, cache, known)


def _in_order(pages: list[tuple[Page, Usage | None]], keys: list[str], todo: set[int],
              made: Iterator[tuple[RenderedPage | None, list[Problem]]], renderer: PageRenderer, cache: Cache,
              known: dict[str, PageFacts]) -> Iterator[_Made]:
    for index, (page, usage) in enumerate(pages):
        key = keys[index]
        if index in todo:
            record, problems = next(made)
            facts = record.facts if record is not None and not has_errors(problems) else None
            if facts is not None:
                cache.put("pages", key, record, to_disk=False)  # a worker stored it on disk
            yield _Made(page, key, usage, facts, record, problems, renderer)
        elif key in known:
            yield _Made(page, key, usage, known[key], None, [], renderer)
        else:
            record = _record(renderer, cache, page, key, usage)
            yield _Made(page, key, usage, record.facts, None, [], renderer)


def _record(renderer: PageRenderer, cache: Cache, page: Page, key: str, usage: Usage | None) -> RenderedPage:
    """A page's record from the cache, or rendered again when the entry has gone: the same inputs give
    the same bytes."""
    record = cache.get("pages", key)
    if isinstance(record, RenderedPage):
        return record
    record, problems = renderer.render(page, usage)
    if record is None or has_errors(problems):
        raise BuildError(problems)
    cache.put("pages", key, record)
    return record


def _loader(item: _Made) -> Callable[[], bytes]:
    """The page's bytes on demand, from the cache: the loader holds the page's inputs, never its
    rendered record (the dev server keeps one loader per page, so it is one small object, not a closure
    of four cells that the garbage collector would walk at every rebuild)."""
    return functools.partial(_page_bytes, item.renderer, item.page, item.key, item.usage)


def _page_bytes(renderer: PageRenderer, page: Page, key: str, usage: Usage | None) -> bytes:
    return _record(renderer, renderer.cache, page, key, usage).html


class _Links(Mapping[str, PageLinks]):
    """out_path -> PageLinks of every HTML page. With a disk cache, a page's links are read from its entry
    when the link check asks (the few most recent kept), not held: a site of 10,000 pages has 1.5
    million links; without one (`hold`), they are held. `anchors` holds every page's ids."""

    _RECENT = 256

    def __init__(self, cache: Cache, hold: bool) -> None:
        self.cache = cache
        self.hold = hold
        self._pages: dict[str, tuple[str, PageLinks | None]] = {}
        self._recent: OrderedDict[str, PageLinks] = OrderedDict()
        self.anchors = _Anchors(self)

    def add(self, out_path: str, key: str, links: PageLinks | None) -> None:
        """Note a page: its links as just made, or (None) to be read from the cache under `key`."""
        self._pages[out_path] = (key, links if self.hold or not key else None)
        if links is not None:
            self.anchors.ids[out_path] = PageLinks(links.ids) if not self.hold else links

    def __getitem__(self, out_path: str) -> PageLinks:
        key, links = self._pages[out_path]
        if links is not None:
            return links
        if out_path not in self._recent:
            record = self.cache.get("pages", key)
            if not isinstance(record, RenderedPage):  # gone since this build wrote it (pruned by another build)
                raise BuildError([Problem(".cache/pages", 0, f"the page cache lost {out_path} during the build",
                                          "build again")])
            self._recent[out_path] = record.links
            if len(self._recent) > self._RECENT:
                self._recent.popitem(last=False)
        self._recent.move_to_end(out_path)
        return self._recent[out_path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pages)

    def __len__(self) -> int:
        return len(self._pages)

    def __contains__(self, out_path: object) -> bool:
        return out_path in self._pages


class _Anchors(Mapping[str, PageLinks]):
    """out_path -> a page's ids (as PageLinks without links), for links to its #fragments: held for the
    pages made now, read once from the cache for the others."""

    def __init__(self, links: _Links) -> None:
        self.links = links
        self.ids: dict[str, PageLinks] = {}

    def __getitem__(self, out_path: str) -> PageLinks:
        if out_path not in self.ids:
            self.ids[out_path] = PageLinks(self.links[out_path].ids)
        return self.ids[out_path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.links)

    def __len__(self) -> int:
        return len(self.links)

    def __contains__(self, out_path: object) -> bool:
        return out_path in self.links


def forget_unused(cache: Cache, site: Site, made: SiteOutput, layouts: Layouts, on_disk: bool = True) -> None:
    """Let the cache drop what this build did not use, once unused entries clearly outnumber used ones
    (`on_disk` False: in memory only, as the dev server does after each save)."""
    keys = list(made.keys.values())
    cache.prune("pages", lambda: keys, len(keys), on_disk)
    cache.prune("markdown", lambda: made.body_keys, len(made.body_keys), on_disk)
    cache.prune("host", lambda: made.host_keys, len(made.host_keys), on_disk)
    cache.prune("pictures", lambda: made.picture_keys, len(made.picture_keys), on_disk)
    cache.prune("data", lambda: [site.data.digest], 1, on_disk)
    cache.prune("jinja", lambda: layouts.compiled, len(layouts.compiled), on_disk)
    cache.prune("templates", lambda: (stable_digest(source) for source in layouts.sources.values()), len(layouts.sources),
                on_disk)
