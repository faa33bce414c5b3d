"""Stage 5c: a Site -> every output file: pages, host files (publish.py) and the assets pages use.

A page whose key is in the cache is taken from there; the others are rendered, by the pool when
many need it. Pages that list sources come last, since they show every other page's citations.
Each file goes to `write` as soon as it is made: the build writes it to disk, the dev server
keeps it in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field

from .cache import Cache, stable_digest
from .content import Page
from .directives import PageRef, SourceUses, directives_of
from .errors import Problem
from .pool import parallel_map
from .publish import publish_files
from .records import OutputFile, PageLinks, RenderedPage
from .render import PageRenderer, markdown_key
from .site import Site
from .templates import Layouts

Write = Callable[[OutputFile], None]


@dataclass
class SiteOutput:
    """What rendering the site made, besides the files: every HTML page's links (for the link check),
    each page's cache key, the pages rendered now rather than taken from the cache, and problems."""

    links: dict[str, PageLinks] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    rendered: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

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
        return any(not problem.is_warning for problem in self.problems)


def render_site(site: Site, layouts: Layouts, cache: Cache, write: Write, jobs: int | None = None) -> SiteOutput:
    """Make every file of the site and hand each to `write`; problems are in the result. `jobs` is how
    many processes render pages (None: as many as pay, see pool.py)."""
    renderer = PageRenderer(site, layouts, cache)
    output = SiteOutput()
    assets: set[str] = set()
    citing: list[tuple[Page, RenderedPage]] = []
    listing = [page for page in site.pages if "sources" in directives_of(page)]
    ordinary = [page for page in site.pages if page not in listing]
    for pages, lists_sources in ((ordinary, False), (listing, True)):
        usage = _usage_index(citing) if lists_sources else None
        usage_digest = stable_digest([(PageRef(page.url, page.meta.title), record.uses)
                                      for page, record in citing]) if lists_sources else ""
        with closing(_pages(renderer, pages, cache, usage, usage_digest, jobs)) as made:
            for page, key, record, problems, is_fresh in made:  # closed at once when `write` raises
                output.add_problems(problems)
                if record is None:
                    continue
                write(OutputFile(page.out_path, record.html, frozenset({page.source, site.settings.config_source}),
                                 record.digest))
                output.links[page.out_path] = record.links
                output.keys[page.out_path] = key
                if is_fresh:
                    output.rendered.append(page.out_path)
                assets.update(record.assets)
                if record.uses:
                    citing.append((page, record.without_html()))
    cited = {use.source_id for _, record in citing for use in record.uses}
    for source_id, source in site.data.sources.items():
        if source_id not in cited:
            output.problems.append(Problem("content/sources.yaml", source.line, f"source '{source_id}' is cited nowhere",
                                           is_warning=True))
    files, links, used, problems = publish_files(renderer, site)
    output.add_problems(problems)
    for file in files:
        write(file)
    output.links.update(links)
    for name in sorted(assets | used):
        write(OutputFile(layouts.assets.hashed[name], layouts.assets.data[name], frozenset({f"layouts/assets/{name}"})))
    return output


def _usage_index(citing: list[tuple[Page, RenderedPage]]) -> dict[str, SourceUses]:
    """source id -> every place citing it, in page order: what a sources list shows."""
    usage: dict[str, SourceUses] = {}
    for page, record in citing:
        where = PageRef(page.url, page.meta.title)
        for use in record.uses:
            places = usage.setdefault(use.source_id, SourceUses())
            places.pages.append(where)
            places.uses.append(use)
    return usage


def _pages(renderer: PageRenderer, pages: list[Page], cache: Cache, usage: dict[str, SourceUses] | None,
           usage_digest: str, jobs: int | None) -> Generator[tuple[Page, str, RenderedPage | None, list[Problem], bool]]:
    """Each page in order with its key, its record (None when it has problems), its problems and whether
    it was rendered now."""
    keys = [renderer.key(page, usage_digest) for page in pages]
    todo = [index for index, key in enumerate(keys) if not cache.has("pages", key)]

    def render(number: int) -> tuple[RenderedPage | None, list[Problem]]:
        page, key = pages[todo[number]], keys[todo[number]]
        record, problems = renderer.render(page, usage)
        if record is not None:
            cache.put("pages", key, record)
        return record, problems

    with closing(parallel_map(render, len(todo), jobs)) as made:  # a problem elsewhere stops the workers at once
        yield from _in_order(pages, keys, todo, made, renderer, cache, usage)


def _in_order(pages: list[Page], keys: list[str], todo: list[int],
              made: Iterator[tuple[RenderedPage | None, list[Problem]]], renderer: PageRenderer, cache: Cache,
              usage: dict[str, SourceUses] | None) -> Iterator[tuple[Page, str, RenderedPage | None, list[Problem], bool]]:
    waiting = set(todo)
    for index, page in enumerate(pages):
        record: RenderedPage | None = None
        problems: list[Problem] = []
        is_fresh = index in waiting
        if is_fresh:
            record, problems = next(made)
            if record is not None:
                cache.put("pages", keys[index], record, to_disk=False)  # a worker stored it on disk
        else:
            record = cache.get("pages", keys[index])
            if not isinstance(record, RenderedPage):  # damaged since it was looked for: render it again
                record, problems = renderer.render(page, usage)
                is_fresh = True
                if record is not None:
                    cache.put("pages", keys[index], record)
        yield page, keys[index], record, problems, is_fresh


def forget_unused(cache: Cache, pages: list[Page], page_keys: Iterable[str], compiled: set[str]) -> None:
    """Let the cache drop what this build did not use, once unused entries clearly outnumber used ones."""
    keys = list(page_keys)
    cache.prune("pages", lambda: keys, len(keys))
    cache.prune("markdown", lambda: (markdown_key(page.body) for page in pages), len(pages))
    cache.prune("jinja", lambda: compiled, len(compiled))
