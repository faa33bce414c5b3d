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
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import jinja2

from .content import Page, check_pages, decode_utf8, parse_page, read_source_bytes
from .convert import BodyConverter, ConversionCache, conversion_key
from .data import FIGURES_FILE, GLOSSARY_FILE, SOURCES_FILE, TIMELINE_FILE, SiteData, load_data
from .errors import BuildError, Problem, raise_if_errors
from .fingerprint import TemplateGraph
from .markup import MarkdownConverter
from .pagecache import PageCache
from .render import Assets, Renderer, RenderMemo, load_assets, make_environment
from .settings import Settings, load_settings
from .site import resolve_site
from .sitelinks import LinkCheck, SiteLinks, check_links_incrementally, note_links

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
