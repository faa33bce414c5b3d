"""The rendered-page cache: output bytes and what was learnt while rendering, by render key.

Entries live under `.cache/pages/`: each page's bytes (`KEY.html`, written once,
atomically, so a build can hard-link it into its output instead of rendering
again) and its details (`KEY.json`: citation uses and links, read only when
needed). What every build needs of every cached page (its assets and the
digests of its uses and ids) sits in one index file read once per build, so an
unchanged page costs no file read (issue 8). The dev server keeps entries in
memory as well, so an edit costs no disk reads.
"""

from __future__ import annotations

import json
import marshal
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

INDEX_FILE = "index.marshal"
# Bump when the index's layout changes: an index of another format is ignored.
_INDEX_FORMAT = "pages-1"
# The cache is pruned once it holds more than twice the entries a build uses, plus this many.
PRUNE_MARGIN = 64


def store_cache_file(file: Path, data: bytes) -> bool:
    """Write a cache file whole or not at all (a temporary file renamed over it); False when it could not be.

    A cache that cannot be written only makes the next build slower, so failures are not errors.
    Written with os calls: a cold build writes three cache files a page, and pathlib's file
    objects cost a third of each write (issue 8)."""
    temporary = f"{file}.{os.getpid()}.tmp"
    try:
        try:
            handle = os.open(temporary, _NEW_FILE, 0o666)
        except FileNotFoundError:  # the folder is made only when missing: a mkdir per file cost ~0.2 ms
            file.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(temporary, _NEW_FILE, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view):]
        finally:
            os.close(handle)
        os.replace(temporary, file)
    except OSError:
        return False
    return True


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


def prune_folder(folder: Path, wanted: set[str]) -> int:
    """Delete the entries of a key-sharded cache folder (`xx/KEY.*`) whose key is not wanted; return how many.

    Output files are hard links to page-cache files: unlinking the cache's name leaves them as they are."""
    removed = 0
    try:
        shards = [entry for entry in os.scandir(folder) if len(entry.name) == 2 and entry.is_dir(follow_symlinks=False)]
    except OSError:
        return 0
    for shard in shards:
        try:
            names = [entry.name for entry in os.scandir(shard.path)]
        except OSError:
            continue
        for name in names:
            if name.split(".", 1)[0] not in wanted:
                try:
                    os.unlink(os.path.join(shard.path, name))
                    removed += 1
                except OSError:
                    pass  # gone already (another build pruned it), or not ours to remove: only space is lost
    return removed


def write_entry(folder: Path, key: str, data: bytes, details: dict[str, Any]) -> bool:
    """Write one page's files (its bytes, then its details); True when both were written.

    A module function, not a method, so worker processes can write entries too; only the
    main process indexes them (PageCache.record)."""
    shard = folder / key[:2]
    return store_cache_file(shard / f"{key}.html", data) and \
        store_cache_file(shard / f"{key}.json", json.dumps(details).encode("utf-8"))


class PageFacts(NamedTuple):
    """What every build needs of a cached page: the digest of its citation uses ("" when it cites
    nothing), the digest of its ids and its count of external links (for the link check), and the
    assets its templates asked for."""

    uses_digest: str
    ids_digest: str
    external: int
    assets: tuple[str, ...]


@dataclass(frozen=True)
class CachedPage:
    """A cached page: its bytes (held in memory) or the file holding them, and its facts."""

    html_file: Path | None
    facts: PageFacts
    data: bytes = b""


class PageCache:
    """Stores page output under its render key; a None folder and no memory disables caching."""

    def __init__(self, folder: Path | None, in_memory: bool = False):
        self.folder = folder
        self.memory: dict[str, CachedPage] | None = {} if in_memory else None
        self._details: dict[str, dict[str, Any]] = {}  # in memory only
        self._index: dict[str, PageFacts] | None = None  # read on first use
        self._index_was_read = False
        self._cited: dict[str, tuple[str, ...]] = {}
        self._dirty = False

    def _html_file(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.html"

    def _details_file(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def _load_index(self) -> dict[str, PageFacts]:
        if self._index is None:
            self._index = {}
            if self.folder is not None:
                record = _read_index(self.folder / INDEX_FILE)
                if record is not None:
                    self._index, self._cited = record
                    self._index_was_read = True
        return self._index

    def has(self, key: str) -> bool:
        """Whether the cache holds `key` (by the index: the page's file is looked at only by get)."""
        return (self.memory is not None and key in self.memory) or key in self._load_index()

    def facts(self, key: str) -> PageFacts | None:
        if self.memory is not None and key in self.memory:
            return self.memory[key].facts
        return self._load_index().get(key)

    def get(self, key: str) -> CachedPage | None:
        if self.memory is not None and key in self.memory:
            return self.memory[key]
        facts = self._load_index().get(key)
        if facts is None:
            return None
        html_file = self._html_file(key)
        if self.memory is None:
            return CachedPage(html_file, facts) if os.path.isfile(html_file) else None
        try:
            page = CachedPage(None, facts, html_file.read_bytes())
        except OSError:
            return None
        self.memory[key] = page
        return page

    def details(self, key: str) -> dict[str, Any] | None:
        """A cached page's citation uses and links ({"uses": ..., "links": ...}), or None when unreadable."""
        known = self._details.get(key)
        if known is not None or self.folder is None:
            return known
        try:
            record = json.loads(self._details_file(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or "uses" not in record or "links" not in record:
            return None
        if self.memory is not None:
            self._details[key] = record
        return record

    def read_html(self, key: str) -> bytes | None:
        """A cached page's bytes, or None when they are gone."""
        page = self.memory.get(key) if self.memory is not None else None
        if page is not None and page.html_file is None:
            return page.data
        if self.folder is None:
            return None
        try:
            return self._html_file(key).read_bytes()
        except OSError:
            return None

    def put(self, key: str, data: bytes, facts: PageFacts, details: dict[str, Any]) -> None:
        if self.memory is not None:
            self.memory[key] = CachedPage(None, facts, data)
            self._details[key] = details
        if self.folder is not None and write_entry(self.folder, key, data, details):
            self.record(key, facts)

    def record(self, key: str, facts: PageFacts) -> None:
        """Index an entry whose files are written (by `put`, or by a worker process through write_entry)."""
        self._load_index()[key] = facts
        self._dirty = True

    def cited(self, usage_key: str) -> tuple[str, ...] | None:
        """The ids of every source the site cites, for a usage index digest, when a build noted them."""
        self._load_index()
        return self._cited.get(usage_key)

    def note_cited(self, usage_key: str, source_ids: Iterable[str]) -> None:
        self._load_index()
        self._cited = {usage_key: tuple(sorted(source_ids))}  # only the latest is ever asked for again
        self._dirty = True

    def save_index(self) -> None:
        """Write the index when it changed; a cache that cannot be written only costs time."""
        if self.folder is None or not self._dirty or self._index is None:
            return
        record = (_INDEX_FORMAT, {key: tuple(facts) for key, facts in self._index.items()}, self._cited)
        if store_cache_file(self.folder / INDEX_FILE, marshal.dumps(record)):
            self._dirty = False

    def prune(self, used: set[str]) -> bool:
        """After a successful build, drop the entries it did not use once they clearly outnumber those it
        did (or when no index said what the folder holds), so the cache stays bounded; True when it did."""
        index = self._load_index()
        if self.folder is None or (self._index_was_read and len(index) <= 2 * len(used) + PRUNE_MARGIN):
            return False
        prune_folder(self.folder, used)
        self._index = {key: facts for key, facts in index.items() if key in used}
        self._index_was_read = True
        self._dirty = True
        self.save_index()
        return True

    def keep_only(self, keys: Iterable[str]) -> None:
        """Forget in-memory entries not in `keys`, so a long serve session does not grow without end."""
        if self.memory is not None:
            wanted = set(keys)
            self.memory = {key: page for key, page in self.memory.items() if key in wanted}
            self._details = {key: details for key, details in self._details.items() if key in wanted}


def _read_index(file: Path) -> tuple[dict[str, PageFacts], dict[str, tuple[str, ...]]] | None:
    """The index a build stored, or None when there is none or it is unreadable or of another format."""
    try:
        record = marshal.loads(file.read_bytes())
        form, pages, cited = record
        if form != _INDEX_FORMAT or not isinstance(pages, dict) or not isinstance(cited, dict):
            return None
        index = {key: PageFacts(uses, ids, external, assets) for key, (uses, ids, external, assets) in pages.items()
                 if isinstance(key, str) and isinstance(uses, str) and isinstance(ids, str)
                 and isinstance(external, int) and isinstance(assets, tuple) and all(isinstance(a, str) for a in assets)}
        return index, {key: tuple(ids) for key, ids in cited.items()
                       if isinstance(key, str) and isinstance(ids, tuple) and all(isinstance(i, str) for i in ids)}
    except (OSError, ValueError, EOFError, TypeError):
        return None
