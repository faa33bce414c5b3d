"""The site kept in memory for the dev server: rebuild only what a change needs.

Inputs are read again only when they change; pages whose render key (the hash
of everything they show, see fingerprint.py) did not change are reused from
memory, so editing one section's body re-renders that section alone. The
result is always byte-identical to a full build of the same sources.
Refuses nothing itself: content errors raise BuildError and leave `files` as
they were.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from sys import intern
from types import MappingProxyType
from typing import TYPE_CHECKING

import jinja2

from .checks import PageLinks, check_scanned, scan_html
from .content import Page, check_pages, decode_utf8, parse_page, read_source_bytes
from .convert import BodyConverter, ConversionCache, conversion_key
from .data import FIGURES_FILE, GLOSSARY_FILE, SOURCES_FILE, TIMELINE_FILE, SiteData, load_data
from .errors import BuildError, Problem, raise_if_errors
from .fingerprint import TemplateGraph, digest
from .markup import MarkdownConverter
from .pagecache import PageCache, PageFacts, store_cache_file, write_entry
from .render import Assets, OutputFile, Renderer, RenderMemo, load_assets, make_environment
from .settings import Settings, load_settings
from .site import resolve_site

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

DATA_FILES = (SOURCES_FILE, TIMELINE_FILE, GLOSSARY_FILE, FIGURES_FILE)


@dataclass(frozen=True)
class RebuildReport:
    """What one rebuild did: the out_paths it rendered again, how long it took, its warnings."""

    rendered: tuple[str, ...]
    seconds: float
    warnings: list[Problem]


@dataclass(frozen=True)
class _PageInput:
    """One content file as last read: its page (None when it has errors or is a hidden draft) and problems."""

    page: Page | None
    problems: tuple[Problem, ...]


class LiveSite:
    """The site kept in memory for the dev server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._overrides: dict[str, str] | None = None
        self._inputs: dict[str, _PageInput] | None = None
        self._data: tuple[SiteData, list[Problem]] | BuildError | None = None
        self._layouts: tuple[jinja2.Environment, Assets, TemplateGraph] | None = None
        self._settings_loaded = False
        self._converter = MarkdownConverter()
        # Memory first; the disk cache of earlier builds makes the first build of a session fast.
        cache = settings.root / ".cache"
        self._conversions = ConversionCache(cache / "markdown", in_memory=True)
        self._pages = PageCache(cache / "pages", in_memory=True)
        self._files: dict[str, bytes] = {}
        self._memo = RenderMemo()
        # The last successful link check: each page's ids and links, and the problems per page.
        self._scanned = SiteLinks(self._pages)
        self._link_check: LinkCheck | None = None

    @property
    def files(self) -> Mapping[str, bytes]:
        """out_path -> bytes: the complete current site (read-only)."""
        return MappingProxyType(self._files)

    def rebuild(self, changed: Iterable[str] | None = None) -> RebuildReport:
        """Bring the site up to date after `changed` inputs (project-relative POSIX paths; None: all).

        Raises BuildError with every problem on bad content; `files` then stays as it was.
        """
        started = time.perf_counter()
        self._forget(None if changed is None else list(changed))
        settings = self._load_settings()
        inputs = self._read_pages(settings)
        problems = [problem for entry in inputs.values() for problem in entry.problems]
        pages = [entry.page for entry in inputs.values() if entry.page is not None]
        check_pages(pages, problems)
        data = self._read_data(settings, problems)
        raise_if_errors(problems)
        site = resolve_site(settings, pages, data)
        env, assets, graph = self._read_layouts(settings)
        bodies = BodyConverter(self._conversions, self._converter)
        renderer = Renderer(site, bodies, self._converter, env, assets, self._pages, graph, self._memo)
        files: dict[str, bytes] = {}
        scanned = SiteLinks(self._pages)
        rendered: list[str] = []
        try:
            for file in renderer.render_site():
                if file.out_path in files:
                    raise BuildError([Problem(sorted(file.sources)[0] if file.sources else file.out_path, 0,
                                              f"two inputs would write {file.out_path}")])
                data_bytes = file.read_bytes()
                files[file.out_path] = data_bytes
                if file.out_path.endswith(".html"):
                    # Same render key, or the very bytes object of last time (host files the memo kept).
                    same = (file.from_cache and self._scanned.key(file.out_path) == file.render_key) or \
                        self._files.get(file.out_path) is data_bytes
                    if not (same and scanned.add_from(self._scanned, file.out_path)):
                        # Host pages (404.html) have no render key: their bytes stand in for one.
                        note_links(scanned, file, self._pages, settings.base_url, data_bytes,
                                   file.render_key or "sha256:" + hashlib.sha256(data_bytes).hexdigest())
                if (file.render_key and not file.from_cache) or \
                        (not file.render_key and self._files.get(file.out_path) != data_bytes):
                    rendered.append(file.out_path)
        finally:
            bodies.close()
            problems.extend(renderer.problems)
        link_check = check_links_incrementally(scanned, set(files), settings, self._link_check)
        problems.extend(link_check.problems())
        self._link_check = None  # until this rebuild has succeeded
        warnings = raise_if_errors(problems)
        self._forget_unused(renderer.used_keys, pages)
        self._files, self._scanned, self._link_check = files, scanned, link_check
        self._pages.save_index()  # what this session rendered, for the next build
        return RebuildReport(tuple(sorted(rendered)), time.perf_counter() - started, warnings)

    # -- what a change invalidates --------------------------------------------

    def _forget(self, changed: list[str] | None) -> None:
        """Drop what the changed inputs invalidate; anything unrecognised means a full reload."""
        if changed is None or self._inputs is None:
            self._reset()
            return
        settings = self.settings
        layouts_prefix = settings.layouts.strip("/").removeprefix("./") + "/"
        for source in changed:
            if source == settings.config_source:
                self._reset()
                return
            if source in DATA_FILES:
                self._data = None
            elif source.startswith(layouts_prefix):
                self._layouts = None
            elif source.startswith("content/") and source.endswith(".md"):
                self._inputs[source] = self._read_page(settings, source)
                if self._inputs[source].page is None and not self._inputs[source].problems:
                    del self._inputs[source]  # deleted, or a draft that is not shown
            else:  # a folder renamed, a file we do not know: read everything again
                self._reset()
                return

    def _reset(self) -> None:
        self._inputs = None
        self._data = None
        self._layouts = None
        self._settings_loaded = False

    # -- loading --------------------------------------------------------------

    def _load_settings(self) -> Settings:
        """The settings, read again from the file after a reset, keeping command-line overrides."""
        if self._settings_loaded:
            return self.settings
        given = self.settings
        config_file = given.root / given.config_source
        if self._overrides is None:
            from_file = load_settings(config_file, include_drafts=given.include_drafts)
            self._overrides = {name: getattr(given, name) for name in ("base_url", "output")
                               if getattr(given, name) != getattr(from_file, name)}
            fresh = from_file
        else:
            fresh = load_settings(config_file, include_drafts=given.include_drafts)
        self.settings = replace(fresh, **self._overrides)  # type: ignore[arg-type]
        self._settings_loaded = True
        return self.settings

    def _read_pages(self, settings: Settings) -> dict[str, _PageInput]:
        if self._inputs is None:
            content_dir = settings.content_dir
            if not content_dir.is_dir():
                raise BuildError([Problem("content", 0, "there is no content/ folder beside the settings file")])
            self._inputs = {}
            for file in sorted(content_dir.rglob("*.md")):
                source = file.relative_to(settings.root).as_posix()
                self._inputs[source] = self._read_page(settings, source)
        # The order load_content uses: sorted by path parts.
        return dict(sorted(self._inputs.items(), key=lambda item: item[0].split("/")))  # = Path.parts here

    def _read_page(self, settings: Settings, source: str) -> _PageInput:
        file = settings.root / source
        if not file.exists() and not file.is_symlink():
            return _PageInput(None, ())
        problems: list[Problem] = []
        page: Page | None = None
        raw = read_source_bytes(file, settings.root, source, problems)
        text = decode_utf8(raw, source, problems) if raw is not None else None
        if text is not None:
            page = parse_page(text, source, file.relative_to(settings.content_dir), problems)
        if page is not None and page.meta.is_draft and not settings.include_drafts:
            page = None
        return _PageInput(page, tuple(problems))

    def _read_data(self, settings: Settings, problems: list[Problem]) -> SiteData:
        """The data files, read again only after one changed; their problems join the pages' ones."""
        if self._data is None:
            try:
                self._data = load_data(settings)
            except BuildError as error:
                self._data = error
        if isinstance(self._data, BuildError):
            problems.extend(self._data.problems)
            return SiteData()
        problems.extend(self._data[1])
        return self._data[0]

    def _forget_unused(self, render_keys: set[str], pages: list[Page]) -> None:
        """Let go of cached pages and bodies nothing uses any more, once they pile up."""
        self._pages.keep_only(render_keys)
        memory = self._conversions.memory
        if memory is not None and len(memory) > 2 * len(pages) + 16:
            self._conversions.keep_only(conversion_key(page.body) for page in pages)

    def _read_layouts(self, settings: Settings) -> tuple[jinja2.Environment, Assets, TemplateGraph]:
        if self._layouts is None:
            env = make_environment(settings.layouts_dir, settings.root / ".cache" / "jinja")
            self._layouts = (env, load_assets(settings.layouts_dir), TemplateGraph(env))
        return self._layouts


@dataclass(frozen=True)
class LinkCheck:
    """One link check, remembered so the next can skip pages that cannot have changed: a digest of
    the site's paths and, per page, (render key, digest of its ids, its problems, its external links)."""

    paths: str
    pages: dict[str, tuple[str, str, list[Problem], int]]

    def problems(self) -> list[Problem]:
        return [problem for path in sorted(self.pages) for problem in self.pages[path][2]]

    @property
    def external_links(self) -> int:
        return sum(entry[3] for entry in self.pages.values())


class SiteLinks(Mapping[str, PageLinks]):
    """out_path -> PageLinks of every HTML page of a build, with each page's render key and ids digest.

    A cached page's links are read from the page cache only when the link check asks for them
    (a changed page, or the target of a changed page's #fragment link), and only the most recent
    few are kept: a rebuild of a large site neither reads nor holds every page's (issue 8).
    """

    _RECENT = 256

    def __init__(self, page_cache: PageCache) -> None:
        self.page_cache = page_cache
        # path -> (render key, ids digest, external links, links or None)
        self._pages: dict[str, tuple[str, str, int, PageLinks | None]] = {}
        self._recent: OrderedDict[str, PageLinks] = OrderedDict()

    def add(self, path: str, key: str, ids_digest: str, external: int, links: PageLinks | None = None) -> None:
        """Note a page; without `links`, they are read from the page cache under `key` when needed."""
        self._pages[path] = (key, ids_digest, external, links)

    def add_from(self, other: SiteLinks, path: str) -> bool:
        """Note a page as another build noted it; False when it has no such page."""
        entry = other._pages.get(path)
        if entry is None:
            return False
        self._pages[path] = entry
        return True

    def key(self, path: str) -> str:
        """A page's render key ("" for a page without one, which is always checked again)."""
        entry = self._pages.get(path)
        return entry[0] if entry is not None else ""

    def ids_digest(self, path: str) -> str:
        return self._pages[path][1]

    def external(self, path: str) -> int:
        """How many of the page's links are external (not into base_url)."""
        return self._pages[path][2]

    def __getitem__(self, path: str) -> PageLinks:
        key, _, _, links = self._pages[path]
        if links is not None:
            return links
        links = self._recent.get(path)
        if links is not None:
            self._recent.move_to_end(path)
            return links
        links = _read_links(self.page_cache, key, path)
        self._recent[path] = links
        if len(self._recent) > self._RECENT:
            self._recent.popitem(last=False)
        return links

    def __contains__(self, path: object) -> bool:
        return path in self._pages

    def __iter__(self) -> Iterator[str]:
        return iter(self._pages)

    def __len__(self) -> int:
        return len(self._pages)


def _read_links(page_cache: PageCache, key: str, path: str) -> PageLinks:
    """A cached page's links from its details, else scanned from its cached bytes."""
    details = page_cache.details(key)
    if details is not None:
        try:
            stored = details["links"]
            return PageLinks([intern(i) for i in stored["ids"]], [(intern(link), line) for link, line in stored["links"]],
                             [(line, message) for line, message in stored["parse_problems"]])
        except (KeyError, TypeError, ValueError):
            pass  # a damaged entry: read the page itself
    data = page_cache.read_html(key)
    if data is None:  # another build pruned the cache under this one
        raise BuildError([Problem(".cache/pages", 0, f"the page cache lost {path} during the build",
                                  "run the build again")])
    return scan_html(data)


def note_links(links: SiteLinks, file: OutputFile, page_cache: PageCache, base_url: str, data: bytes | None = None,
               key: str | None = None) -> None:
    """Note a page's links: a cached page's by its render key (read only if the check needs them), a
    page rendered now scanned at once and stored in the page cache with its facts.

    Strings are interned: every page repeats most of its links and many ids, and a build keeps
    every rendered page's links until the link check (issue 8: peak memory)."""
    key = file.render_key if key is None else key
    facts = page_cache.facts(file.render_key) if file.from_cache and file.render_key else None
    if facts is not None and facts.ids_digest:
        links.add(file.out_path, key, facts.ids_digest, facts.external)
        return
    data = file.read_bytes() if data is None else data
    scanned = scan_html(data)
    page_links = PageLinks([intern(i) for i in scanned.ids], [(intern(link), line) for link, line in scanned.links],
                           scanned.parse_problems)
    ids_digest = digest(list(page_links.ids))
    external = sum(1 for link in page_links.links if link[0].startswith(("http://", "https://"))
                   and not (base_url and link[0].startswith(base_url)))
    if file.render_key and not file.from_cache and file.facts is not None:
        page_cache.put(file.render_key, data, file.facts._replace(ids_digest=ids_digest, external=external), {
            "uses": [[u.source_id, u.heading_id, u.heading_text] for u in file.uses],
            "links": {"ids": list(page_links.ids), "links": page_links.links,
                      "parse_problems": page_links.parse_problems}})
    links.add(file.out_path, key, ids_digest, external, page_links)


class WorkerScans:
    """Pages rendered now, scanned for links in the build's worker processes (which also write their
    page-cache entry), so the main process, which renders, has less to do (issue 8: a cold build was
    bound by it). Results are noted in page order by finish()."""

    def __init__(self, pool: Executor, links: SiteLinks, page_cache: PageCache, base_url: str) -> None:
        self.pool = pool
        self.links = links
        self.page_cache = page_cache
        self.base_url = base_url
        self._pending: deque[tuple[str, str, PageFacts, Future[tuple[PageLinks, str, int, bool]]]] = deque()

    def submit(self, file: OutputFile) -> None:
        assert file.facts is not None
        uses = [[u.source_id, u.heading_id, u.heading_text] for u in file.uses]
        folder = self.page_cache.folder if self.page_cache.memory is None else None
        future = self.pool.submit(_scan_in_worker, file.data, file.render_key, uses, self.base_url, folder)
        self.links.add(file.out_path, file.render_key, "", 0, _NO_LINKS)  # holds the page's place in order
        self._pending.append((file.out_path, file.render_key, file.facts, future))
        while self._pending and self._pending[0][3].done():  # note what is done, so little waits in memory
            self._note(*self._pending.popleft())

    def finish(self) -> None:
        """Wait for every scan and note its result."""
        while self._pending:
            self._note(*self._pending.popleft())

    def _note(self, path: str, key: str, facts: PageFacts, future: Future[tuple[PageLinks, str, int, bool]]) -> None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            found, ids_digest, external, stored = future.result()
        except BrokenProcessPool:  # a clear error, not a traceback
            raise BuildError([Problem(path, 0, "a worker process of the build stopped unexpectedly (out of memory?)",
                                      "run the build again")]) from None
        if stored:
            self.page_cache.record(key, facts._replace(ids_digest=ids_digest, external=external))
        self.links.add(path, key, ids_digest, external, _interned(found))


_NO_LINKS = PageLinks()


def _interned(found: PageLinks) -> PageLinks:
    """The same links with their strings interned in this process (see note_links)."""
    return PageLinks([intern(i) for i in found.ids], [(intern(link), line) for link, line in found.links],
                     found.parse_problems)


def _scan_in_worker(data: bytes, key: str, uses: list[list[str]], base_url: str,
                    folder: Path | None) -> tuple[PageLinks, str, int, bool]:
    """note_links' work for a page rendered now, in a worker: scan it, and write its page-cache entry."""
    found = scan_html(data)
    ids_digest = digest(list(found.ids))
    external = sum(1 for link, _ in found.links if link.startswith(("http://", "https://"))
                   and not (base_url and link.startswith(base_url)))
    stored = folder is not None and write_entry(folder, key, data, {
        "uses": uses, "links": {"ids": list(found.ids), "links": found.links,
                                "parse_problems": found.parse_problems}})
    return found, ids_digest, external, stored


def check_links_incrementally(links: SiteLinks, all_paths: set[str], settings: Settings,
                              previous: LinkCheck | None) -> LinkCheck:
    """Check links, only on pages whose render key changed when no path appeared or disappeared and
    none of those pages changed its ids: every other page's links then resolve exactly as before."""
    paths = digest(sorted(all_paths))
    only: set[str] | None = None
    if previous is not None and previous.paths == paths:
        changed = {path for path in links if not links.key(path) or path not in previous.pages
                   or previous.pages[path][0] != links.key(path)}
        if all(path in previous.pages and previous.pages[path][1] == links.ids_digest(path) for path in changed):
            only = changed
    output_name = settings.output_dir.name
    report = check_scanned(links, all_paths, output_name, settings.base_url, only)
    found: dict[str, list[Problem]] = {path: [] for path in (links if only is None else only)}
    for problem in report.problems:
        found.setdefault(problem.source.removeprefix(output_name + "/"), []).append(problem)
    pages = dict(previous.pages) if only is not None and previous is not None else {}
    for path, page_problems in found.items():
        if path in links:
            pages[path] = (links.key(path), links.ids_digest(path), page_problems, links.external(path))
    return LinkCheck(paths, {path: entry for path, entry in pages.items() if path in links})


def load_link_check(file: Path) -> LinkCheck | None:
    """The link check a previous build stored in the cache, or None when there is none or it is unreadable."""
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
        return LinkCheck(record["paths"], {
            path: (key, ids, [Problem(*problem) for problem in problems], external)
            for path, (key, ids, problems, external) in record["pages"].items()})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_link_check(file: Path, check: LinkCheck) -> None:
    """Keep a link check for the next build; a cache that cannot be written only costs time."""
    record = {"paths": check.paths, "pages": {
        path: [key, ids, [[p.source, p.line, p.message, p.hint, p.is_warning] for p in problems], external]
        for path, (key, ids, problems, external) in check.pages.items()}}
    store_cache_file(file, json.dumps(record).encode("utf-8"))
