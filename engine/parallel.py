"""Stage 5, in parallel: whole pages rendered in the build's worker processes.

A cold build of a large site was bound by its main process, which rendered
every page while the workers only converted Markdown (issue 8). Here a worker
does a page's whole job: convert its body (or read it from the Markdown
cache), render it with the same Renderer, scan its links and write its
page-cache entry. The main process gets back what it keeps of the page: its
problems, citation uses, facts and links, and its bytes only when there is no
page cache to link them from.

The workers are forked when the pages are handed over, so they already hold the
site, templates, settings and the pages' render keys: nothing is sent to them.
Worker k of n renders pages k, k + n, k + 2n, ... and sends each result down a
pipe of its own; the main process reads the pipes in turn, so results come in
page order, and a full pipe holds a worker back. (concurrent.futures cost the
main process a third of its CPU at 1,000 pages: a message per page each way,
and two threads of its own.) A platform without fork renders in the main
process, as before.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import multiprocessing
import pickle
import signal
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from sys import intern
from typing import TYPE_CHECKING, Any, NamedTuple

from . import convert
from .checks import CheckReport, PageLinks, check_scanned, scan_html
from .citations import CitationUse
from .content import Page, markdown_files, split_front_matter
from .convert import BodyConverter, ConversionCache, conversion_key, convert_in_worker
from .errors import BuildError, Problem
from .pagecache import PageCache, PageFacts, write_entry
from .sitelinks import SiteLinks, link_facts, page_details

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from .render import OutputFile, Renderer


def can_fork() -> bool:
    """Whether worker processes can be forked (they inherit the renderer instead of being sent it)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def can_fork_now() -> bool:
    """can_fork(), and this process runs no other thread (a fork copies a lock another thread may hold)."""
    return can_fork() and threading.active_count() == 1


def fork(name: str, target: Callable[..., None], *args: Any) -> BaseProcess:
    """Start a daemon process forked from this one, running target(*args) with Ctrl-C ignored: Ctrl-C
    is the main process's to handle, and it stops its children."""
    process = multiprocessing.get_context("fork").Process(target=_ignoring_ctrl_c, args=(target, *args),
                                                          name=name, daemon=True)
    process.start()
    return process


def fork_with_pipe(name: str, target: Callable[..., None], *args: Any) -> tuple[BaseProcess, Connection]:
    """fork(), target getting the writing end of a new pipe as its last argument; the reading end is
    returned. The writing end is closed here at once, before anything else is forked: a process that
    dies then leaves its pipe with no writer, and the reader gets the end of it, not a wait for ever."""
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
    process = fork(name, target, *args, writer)
    writer.close()
    return process, reader


def _ignoring_ctrl_c(target: Callable[..., None], *args: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    target(*args)


class WorkerPage(NamedTuple):
    """What a worker sends back for one page: None fields when it had problems."""

    problems: list[Problem]
    body_key: str  # the conversion key of the page's body
    data: bytes  # empty when the page-cache entry holds the bytes
    stored: bool
    facts: PageFacts | None
    uses: tuple[tuple[str, str, str], ...]  # CitationUse fields: plain tuples pickle several times faster
    uses_digest: str
    links: PageLinks | None


class _WorkerFailed(NamedTuple):
    """Sent instead of a WorkerPage when rendering raised: the traceback, to raise in the main process."""

    details: str


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
        return count >= convert.PARALLEL_THRESHOLD and self.bodies.workers >= 2 and can_fork()

    def render(self, pages: list[Page], keys: dict[str, str]
               ) -> Iterator[tuple[OutputFile, tuple[CitationUse, ...], str] | None]:
        """For each page in order: its file, citation uses and their digest, or None when it had problems
        (recorded in the renderer's problems, as if it had been rendered here)."""
        from .render import OutputFile

        workers = _start_workers(self, pages, keys)
        try:
            for index, page in enumerate(pages):
                result = _receive(workers[index % len(workers)][1], page)
                if index + 1 == len(pages):
                    _stop(workers, early=False)  # now, not whenever this generator is collected
                self.renderer.add_problems(result.problems)
                # Only a one-off build renders in workers, and its main process is done with the body.
                self.body_keys[page.source] = result.body_key
                page.release_body()
                if (index + 1) % _TRIM_EVERY == 0 or index + 1 == len(pages):
                    give_back_freed_memory()
                if result.facts is None or result.links is None:
                    yield None
                    continue
                self.renderer.assets.mark_used(result.facts.assets)
                # Interned: the build keeps every page's uses, and pages repeat their ids and headings.
                uses = tuple(CitationUse(intern(source_id), intern(heading_id), intern(heading_text))
                             for source_id, heading_id, heading_text in result.uses)
                key = keys[page.source]
                cached_file = self.folder / key[:2] / f"{key}.html" if result.stored and self.folder else None
                sources = frozenset({page.source, self.renderer.site.settings.config_source})
                yield (OutputFile(page.out_path, result.data, sources, key, cached_file, result.facts,
                                  uses=uses, links=result.links.interned()), uses, result.uses_digest)
        finally:  # stopped early (a problem elsewhere, Ctrl-C): no worker outlives the build
            _stop(workers, early=True)


def _stop(workers: list[tuple[BaseProcess, Connection]], early: bool) -> None:
    """Close the pipes and wait for the workers, stopping them first when the build stops early; the
    list is emptied, so this happens once. (A worker whose pages all came back ends by itself.)"""
    for process, reader in workers:
        reader.close()
        if early and process.is_alive():
            process.terminate()
        process.join()
    workers.clear()


def _start_workers(job: ParallelRenders, pages: list[Page], keys: dict[str, str]
                   ) -> list[tuple[BaseProcess, Connection]]:
    """Fork the workers, each with the reading end of its pipe; worker k renders pages[k::count]."""
    count = min(job.bodies.workers, len(pages))
    workers: list[tuple[BaseProcess, Connection]] = []
    # Everything made so far is left out of the workers' garbage collection: their collections
    # then neither walk nor touch (and so copy) the pages they share with this process.
    gc.freeze()
    for shard in range(count):
        workers.append(fork_with_pipe(f"build-worker-{shard}", _render_shard, job, pages[shard::count], keys))
    gc.unfreeze()
    return workers


def _render_shard(job: ParallelRenders, pages: list[Page], keys: dict[str, str], writer: Connection) -> None:
    """A worker's life: render its pages in order and send each result as soon as it is made."""
    try:
        for page in pages:
            result: WorkerPage | _WorkerFailed = _render_in_worker(job, page, keys[page.source])
            writer.send_bytes(pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
    except BrokenPipeError:
        return  # the main process stopped reading: the build is over
    except Exception:  # a bug: shown by the main process, as it would be had it rendered the page
        writer.send_bytes(pickle.dumps(_WorkerFailed(traceback.format_exc()), pickle.HIGHEST_PROTOCOL))


def _receive(reader: Connection, page: Page) -> WorkerPage:
    """The next result from a worker's pipe; a clear error if the worker died."""
    try:
        result = pickle.loads(reader.recv_bytes())
    except (EOFError, OSError):  # a clear error, not a traceback
        raise BuildError([Problem(page.source, 0, "a worker process of the build stopped unexpectedly "
                                  "(out of memory?)", "run the build again")]) from None
    if isinstance(result, _WorkerFailed):
        raise RuntimeError(f"a worker process failed while rendering {page.source}:\n{result.details}")
    return result  # type: ignore[no-any-return]


class ConversionAhead:
    """Markdown converted in a forked process while the main process reads the site (issue 8).

    Until the workers are forked, a cold build's main process reads and parses every page
    alone while the second core stands idle. This process spends that time converting
    bodies, in page order, into the Markdown cache, where the workers then find the first
    pages' bodies. It reads and splits each file as the content stage does; a body it reads
    differently only has a key nobody asks for. stop() ends it between two pages."""

    def __init__(self, process: BaseProcess, stopping: Any) -> None:
        self.process = process
        self.stopping = stopping

    @classmethod
    def start(cls, content_dir: Path, folder: Path | None) -> ConversionAhead | None:
        """Start converting when the build has a Markdown cache folder that does not exist yet (a cold
        build; a rebuild finds its bodies cached, and reading every file again only costs it time)
        and enough pages to be worth it."""
        if folder is None or folder.exists() or not can_fork_now():
            return None
        names = [name for name, is_symlink in markdown_files(content_dir) if not is_symlink]
        if len(names) < convert.PARALLEL_THRESHOLD:
            return None
        stopping = multiprocessing.get_context("fork").Event()
        return cls(fork("build-convert-ahead", _convert_ahead, content_dir, names, folder, stopping), stopping)

    def stop(self) -> None:
        """Stop after the page being converted; a page that takes long (a pathological body) is cut short."""
        self.stopping.set()
        self.process.join(timeout=0.1)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def _convert_ahead(content_dir: Path, names: list[str], folder: Path, stopping: Any) -> None:
    cache = ConversionCache(folder)
    for name in names:
        if stopping.is_set():
            return
        try:
            body = split_front_matter((content_dir / name).read_bytes().decode("utf-8-sig")).body
        except (OSError, ValueError):  # UnicodeDecodeError is a ValueError: the content stage reports these
            continue
        key = conversion_key(body)
        if not cache.has(key):
            convert_in_worker(body, key, folder)


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


def _render_in_worker(job: ParallelRenders, page: Page, key: str) -> WorkerPage:
    """One page's whole job, in a worker: convert, render, scan, and store its page-cache entry."""
    renderer, folder = job.renderer, job.folder
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
    ids_digest, external = link_facts(found, job.base_url)
    stored = folder is not None and write_entry(folder, key, file.data, page_details(file.uses, found))
    facts = file.facts._replace(ids_digest=ids_digest, external=external)
    plain_uses = tuple((use.source_id, use.heading_id, use.heading_text) for use in uses or ())
    return WorkerPage(problems, body_key, b"" if stored else file.data, stored, facts, plain_uses, uses_digest, found)


def check_in_two(scanned: SiteLinks, all_paths: set[str], output_name: str = "output",
                 base_url: str = "", only: set[str] | None = None) -> CheckReport:
    """checks.check_scanned, with the later pages, half of the links, checked by a forked process meanwhile.

    The link check ran on one core while the other stood idle: 0.15 s at 1,000 pages and
    3.3 s at 10,000 (issue 8). The report is the one check_scanned gives: pages are checked
    in order, so the halves' problems follow one another, and its memos only save work. A
    process that fails leaves its half to be checked here."""
    paths = sorted(scanned if only is None else only & scanned.keys())
    if len(paths) < CHECK_IN_TWO_FROM or not can_fork_now():
        return check_scanned(scanned, all_paths, output_name, base_url, only)
    middle = _middle_link(scanned, paths)
    first, later = set(paths[:middle]), set(paths[middle:])
    gc.freeze()  # as for the page workers: the process's collections leave the shared pages alone
    try:
        process, reader = fork_with_pipe("build-link-check", _check_part, scanned, all_paths, output_name, base_url,
                                         later)
    except OSError:  # no process to be had (out of memory, too many processes): one check does it all
        return check_scanned(scanned, all_paths, output_name, base_url, only)
    finally:
        gc.unfreeze()
    try:
        report = check_scanned(scanned, all_paths, output_name, base_url, first)
        try:
            later_report: CheckReport | None = pickle.loads(reader.recv_bytes())
        except (EOFError, OSError):
            later_report = None
    finally:
        reader.close()
        if process.is_alive():
            process.terminate()
        process.join()
    if later_report is None:
        later_report = check_scanned(scanned, all_paths, output_name, base_url, later)
    external = Counter(report.external)
    external.update(later_report.external)  # in the order one check would have met them
    return CheckReport(report.problems + later_report.problems, external, report.pages)


def _middle_link(scanned: SiteLinks, paths: list[str]) -> int:
    """Where to cut `paths` so both sides hold about as many links (a sources list alone can hold a
    fifth of a site's). A page whose links are in the page cache counts as an average one."""
    counts = [scanned.link_count(path) for path in paths]
    known = [count for count in counts if count is not None]
    average = sum(known) // len(known) if known else 1
    weights = list(itertools.accumulate(average if count is None else count for count in counts))
    return min(max(bisect.bisect_left(weights, weights[-1] / 2), 1), len(paths) - 1)


# The fewest pages check_in_two splits between two processes (forking one costs a few milliseconds).
CHECK_IN_TWO_FROM = 256


def _check_part(scanned: SiteLinks, all_paths: set[str], output_name: str, base_url: str,
                only: set[str], writer: Connection) -> None:
    try:
        report = check_scanned(scanned, all_paths, output_name, base_url, only)
    except Exception:  # the main process checks this half itself, and reports what it finds
        return
    try:
        writer.send_bytes(pickle.dumps(report, pickle.HIGHEST_PROTOCOL))
    except BrokenPipeError:
        return
