"""The site kept for the dev server: the build's stages, with the files kept instead of written.

Every rebuild runs the same stages as build(); what makes it quick is the cache, which keeps the
indexes every rebuild reads in memory: a page whose inputs did not change costs a lookup, so
editing one section's body renders that section (and the pages listing its sources) again. A
page's bytes are read from the page cache when the browser asks for it, not held (a site of
10,000 pages has 300 MB of them). The result is always the bytes a full build of the same
sources gives. Bad content raises BuildError and leaves `files` as they were.
"""

from __future__ import annotations

import gc
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from .cache import Cache
from .checks import check_links_of
from .errors import Problem, raise_if_errors
from .locate import locate_link_problems
from .pages import forget_unused, render_site
from .records import OutputFile
from .settings import Settings, load_settings
from .site import load_inputs, resolve_site
from .templates import load_layouts

# The cache entries kept in memory between rebuilds: the indexes and small records every rebuild reads,
# written to disk only when a later `make build` gains from them. Rendered pages are not among them:
# the served files are in memory already, and a page's links are read from the disk cache only when
# the link check needs them.
MEMORY_KINDS = frozenset({"jinja", "templates", "host"})
MEMORY_ONLY_KINDS = frozenset({"facts", "parsed", "data", "links", "definitions", "usage", "values", "strings",
                               "signatures"})
# Younger collections before a full one, in a process that holds a site (Python's default: 10).
FULL_COLLECTION_PACE = 100


def pace_collector() -> None:
    """Set this process's garbage collector for a site held between rebuilds.

    Each rebuild leaves a few objects per page that outlive it (its output record, loader and
    sources); on a large site, at Python's default pace, they set off full collections of the whole
    heap at every rebuild. At this pace a full collection comes every few rebuilds, and the cyclic
    garbage of old rebuilds waits that much longer to be freed."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_PACE)


@dataclass(frozen=True)
class RebuildReport:
    """What one rebuild did: the out_paths it rendered again, how long it took, its warnings."""

    rendered: tuple[str, ...]
    seconds: float
    warnings: list[Problem]


class LiveSite:
    """The site kept in memory for the dev server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._overrides: dict[str, str] | None = None
        self.cache = Cache(settings.root / ".cache", in_memory=MEMORY_KINDS, memory_only=MEMORY_ONLY_KINDS)
        self._files: dict[str, OutputFile] = {}
        self._digests: dict[str, str] = {}

    @property
    def files(self) -> Mapping[str, bytes]:
        """out_path -> bytes: the complete current site (read-only)."""
        return _Served(self._files)

    def rebuild(self, changed: Iterable[str] | None = None) -> RebuildReport:
        """Bring the site up to date (`changed`, the inputs that changed, only names what prompted it).

        Raises BuildError with every problem on bad content; `files` then stays as it was."""
        started = time.perf_counter()
        settings = self.settings = self._load_settings()
        pages, data, problems = load_inputs(settings, self.cache)
        site = resolve_site(settings, pages, data)
        problems += site.problems
        layouts = load_layouts(settings.layouts_dir, self.cache, settings.root)
        files: dict[str, OutputFile] = {}

        def keep(file: OutputFile) -> None:
            if file.out_path in files:
                raise file.clash(files[file.out_path])
            if file.load is not None and self.cache.keeps("pages"):  # read again when asked for
                file = OutputFile(file.out_path, b"", file.sources, file.digest, file.load)
            files[file.out_path] = file

        made = render_site(site, layouts, self.cache, keep)
        links = check_links_of(made.links, made.keys, made.ids, set(files) | made.failed, settings.output_dir.name,
                               settings.base_url, self.cache, made.links.anchors)
        warnings = raise_if_errors(problems + made.problems + locate_link_problems(
            links.problems(), settings.output_dir.name, site, layouts))
        # What this rebuild changed besides the pages it rendered: host files (the first rebuild of a
        # session counts them all as new) and pages whose bytes differ from those served before.
        changed = [path for path, file in files.items() if not path.startswith("assets/") and path not in made.rendered
                   and (path not in made.keys if not self._files else self._digests.get(path) != file.content_digest())]
        self._files = files
        self._digests = {path: file.content_digest() for path, file in files.items()}
        forget_unused(self.cache, site, made, layouts, on_disk=False)
        return RebuildReport(tuple(sorted([*made.rendered, *changed])), time.perf_counter() - started, warnings)

    def _load_settings(self) -> Settings:
        """The settings, read again from their file, keeping what the command line overrode."""
        given = self.settings
        fresh = load_settings(given.root / given.config_source, include_drafts=given.include_drafts)
        if self._overrides is None:
            self._overrides = {name: getattr(given, name) for name in ("base_url", "canonical_url", "output")
                               if getattr(given, name) != getattr(fresh, name)}
        return replace(fresh, **self._overrides)  # type: ignore[arg-type]


class _Served(Mapping[str, bytes]):
    """out_path -> bytes of the files of one rebuild; a page's bytes are read from the page cache when
    asked for, the last few kept (a browser asks for a page and then for its assets)."""

    _RECENT = 32

    def __init__(self, files: dict[str, OutputFile]) -> None:
        self._files = files
        self._recent: OrderedDict[str, bytes] = OrderedDict()

    def __getitem__(self, out_path: str) -> bytes:
        file = self._files[out_path]
        if file.data or file.load is None:
            return file.data
        if out_path not in self._recent:
            self._recent[out_path] = file.content()
            if len(self._recent) > self._RECENT:
                self._recent.popitem(last=False)
        return self._recent[out_path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, out_path: object) -> bool:
        return out_path in self._files
