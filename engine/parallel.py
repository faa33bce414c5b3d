"""Stage 5, in parallel: whole pages rendered in the build's worker processes.

A cold build of a large site was bound by its main process, which rendered
every page while the workers only converted Markdown (issue 8). Here a worker
does a page's whole job: convert its body (or read it from the Markdown
cache), render it with the same Renderer, scan its links and write its
page-cache entry. The main process gets back what it keeps of the page: its
problems, citation uses, facts and links, and its bytes only when there is no
page cache to link them from.

The workers are forked from the main process after the Renderer is made, so
they share its site, templates and settings without pickling any of them. A
platform without fork renders in the main process, as before.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from sys import intern
from typing import TYPE_CHECKING, Any, NamedTuple

from . import convert
from .checks import PageLinks, scan_html
from .citations import CitationUse
from .content import Page
from .convert import BodyConverter, conversion_key, convert_in_worker
from .errors import BuildError, Problem
from .pagecache import PageCache, PageFacts, write_entry
from .sitelinks import interned, link_facts, page_details

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .render import OutputFile, Renderer

# The renderer the workers were forked with; set in the main process just before they start.
_FORKED: list[Renderer] = []


def can_fork() -> bool:
    """Whether worker processes can be forked (they inherit the renderer instead of being sent it)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class WorkerPage(NamedTuple):
    """What a worker sends back for one page: None fields when it had problems."""

    problems: list[Problem]
    body_key: str  # the conversion key of the page's body
    data: bytes  # empty when the page-cache entry holds the bytes
    stored: bool
    facts: PageFacts | None
    uses: tuple[CitationUse, ...]
    uses_digest: str
    links: PageLinks | None


class ParallelRenders:
    """Renders pages in the build's worker processes, results in page order."""

    def __init__(self, renderer: Renderer, bodies: BodyConverter, page_cache: PageCache, base_url: str) -> None:
        self.renderer = renderer
        self.bodies = bodies
        self.folder = page_cache.folder if page_cache.memory is None else None
        self.base_url = base_url
        self.body_keys: dict[str, str] = {}  # page source -> conversion key, for pages rendered by workers

    def usable(self, count: int) -> bool:
        """Whether `count` pages are worth sending to workers that can render them."""
        if count < convert.PARALLEL_THRESHOLD or self.bodies.workers < 2 or not can_fork():
            return False
        # Workers started before the renderer was handed over would not have it.
        return self.bodies.pool is None or (bool(_FORKED) and _FORKED[0] is self.renderer)

    def render(self, pages: list[Page], keys: dict[str, str]
               ) -> Iterator[tuple[OutputFile, tuple[CitationUse, ...], str] | None]:
        """For each page in order: its file, citation uses and their digest, or None when it had problems
        (recorded in the renderer's problems, as if it had been rendered here)."""
        from .render import OutputFile

        _FORKED[:] = [self.renderer]
        pool = self.bodies.start_workers(fork=True)
        position = {page.source: index for index, page in enumerate(self.renderer.site.pages)}
        ahead = self.bodies.workers * 8
        pending: deque[tuple[Page, Future[WorkerPage]]] = deque()
        submitted = released = 0
        while submitted < len(pages) or pending:
            while submitted < len(pages) and len(pending) < ahead:
                page = pages[submitted]
                pending.append((page, pool.submit(_render_in_worker, position[page.source], keys[page.source],
                                                  self.folder, self.base_url)))
                submitted += 1
            page, future = pending.popleft()
            result = _result(page, future)
            self.renderer.add_problems(result.problems)
            # Only a one-off build renders in workers, and its main process is done with the body.
            self.body_keys[page.source] = result.body_key
            page.release_body()
            released += 1
            if released % _TRIM_EVERY == 0 or released == len(pages):
                give_back_freed_memory()
            if result.facts is None or result.links is None:
                yield None
                continue
            self.renderer.assets.mark_used(result.facts.assets)
            # Interned: the build keeps every page's uses, and pages repeat their ids and headings.
            uses = tuple(CitationUse(intern(u.source_id), intern(u.heading_id), intern(u.heading_text))
                         for u in result.uses)
            key = keys[page.source]
            cached_file = self.folder / key[:2] / f"{key}.html" if result.stored and self.folder else None
            sources = frozenset({page.source, self.renderer.site.settings.config_source})
            yield (OutputFile(page.out_path, result.data, sources, key, cached_file, result.facts,
                              uses=uses, links=interned(result.links)), uses, result.uses_digest)


def give_back_freed_memory() -> None:
    """Return the free pages inside the C heap to the system (glibc's malloc_trim; elsewhere nothing).

    Released bodies leave holes in the heap that Python's own allocator, which takes memory in
    arenas of its own, never fills again: without this they stay in the build's peak memory."""
    global _TRIM
    if _TRIM is None:
        try:
            import ctypes

            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None
# Pages between two give_back_freed_memory calls (each costs a walk of the heap, about a millisecond).
_TRIM_EVERY = 500


def _result(page: Page, future: Future[WorkerPage]) -> WorkerPage:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:  # a clear error, not a traceback
        raise BuildError([Problem(page.source, 0, "a worker process of the build stopped unexpectedly "
                                  "(out of memory?)", "run the build again")]) from None


def _render_in_worker(position: int, key: str, folder: Path | None, base_url: str) -> WorkerPage:
    """One page's whole job, in a worker: convert, render, scan, and store its page-cache entry."""
    renderer = _FORKED[0]
    page = renderer.site.pages[position]
    body_key = conversion_key(page.body)
    converted = renderer.bodies.cache.get(body_key) or convert_in_worker(page.body, body_key,
                                                                          renderer.bodies.cache.folder)
    before = len(renderer.problems)  # kept, so this worker names a broken template once (add_problems)
    made = renderer.page_output(page, key, None, converted, None)
    problems = renderer.problems[before:]
    if made is None:
        return WorkerPage(problems, body_key, b"", False, None, (), "", None)
    file, uses, uses_digest = made
    assert file.facts is not None
    found = scan_html(file.data)
    ids_digest, external = link_facts(found, base_url)
    stored = folder is not None and write_entry(folder, key, file.data, page_details(file.uses, found))
    facts = file.facts._replace(ids_digest=ids_digest, external=external)
    return WorkerPage(problems, body_key, b"" if stored else file.data, stored, facts, uses or (), uses_digest, found)
