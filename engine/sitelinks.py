"""Every page's links for the link check, kept so a rebuild checks only what can have changed.

A build notes each HTML page here: a cached page by its render key (its links are read
from the page cache only if the check needs them), a page rendered now scanned at once, in
the main process or, when a worker rendered it (parallel.py), in that worker, which also
writes its page-cache entry. The link check itself is checks.py; this module decides which pages it must look
at again (issue 8) and remembers the result in `.cache/links.json`.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from sys import intern
from typing import Any

from .checks import CheckReport, PageLinks, check_scanned, scan_html
from .citations import CitationUse
from .errors import BuildError, Problem
from .fingerprint import digest
from .pagecache import PageCache, store_cache_file
from .render import OutputFile
from .settings import Settings


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

    def link_count(self, path: str) -> int | None:
        """How many links the page has, when they are held here (None: they are in the page cache)."""
        links = self._pages[path][3]
        return len(links.targets) if links is not None else None

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
    page_links = scan_html(data).interned()
    ids_digest, external = link_facts(page_links, base_url)
    if file.render_key and not file.from_cache and file.facts is not None:
        page_cache.put(file.render_key, data, file.facts._replace(ids_digest=ids_digest, external=external),
                       page_details(file.uses, page_links))
    links.add(file.out_path, key, ids_digest, external, page_links)


def note_scanned(links: SiteLinks, file: OutputFile, page_cache: PageCache) -> None:
    """Note a page scanned as it was rendered (by a worker, parallel.py, or as it was written, streaming.py),
    indexing the page-cache entry written with it."""
    assert file.facts is not None and file.links is not None
    if file.cached_file is not None:
        page_cache.record(file.render_key, file.facts)
    links.add(file.out_path, file.render_key, file.facts.ids_digest, file.facts.external, file.links)


def link_facts(found: PageLinks, base_url: str) -> tuple[str, int]:
    """What the page cache's index keeps of a page's links: the digest of its ids, its count of external links."""
    external = sum(1 for link, _ in found.each_link() if link.startswith(("http://", "https://"))
                   and not (base_url and link.startswith(base_url)))
    return digest(list(found.ids)), external


def page_details(uses: Iterable[CitationUse], found: PageLinks) -> dict[str, Any]:
    """A page's details file in the page cache: its citation uses and links."""
    return {"uses": [[u.source_id, u.heading_id, u.heading_text] for u in uses],
            "links": {"ids": list(found.ids), "links": found.links, "parse_problems": found.parse_problems}}


def check_links_incrementally(links: SiteLinks, all_paths: set[str], settings: Settings,
                              previous: LinkCheck | None, check: Callable[..., CheckReport] = check_scanned
                              ) -> LinkCheck:
    """Check links, only on pages whose render key changed when no path appeared or disappeared and
    none of those pages changed its ids: every other page's links then resolve exactly as before.

    `check` is check_scanned or what gives the same report (a one-off build's parallel.check_in_two)."""
    paths = digest(sorted(all_paths))
    only: set[str] | None = None
    if previous is not None and previous.paths == paths:
        changed = {path for path in links if not links.key(path) or path not in previous.pages
                   or previous.pages[path][0] != links.key(path)}
        if all(path in previous.pages and previous.pages[path][1] == links.ids_digest(path) for path in changed):
            only = changed
    output_name = settings.output_dir.name
    report = check(links, all_paths, output_name, settings.base_url, only)
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
