"""Stage 3b: page bodies -> ConvertedBody, from the cache or converted in parallel.

The cache is keyed by the body's text, the converter's settings and the
engine's version, so a stale entry can never be used; a page whose body did
not change is never converted again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .content import Page
from .markup import MARKUP_VERSION, ConvertedBody, Heading, MarkdownConverter, markdown_settings
from .pagecache import prune_folder, store_cache_file

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

ENGINE_VERSION = "0.1.0"
# Below this many pages to convert, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 48

_WORKER_CONVERTER: list[MarkdownConverter] = []


def conversion_key(body: str) -> str:
    """The cache key of a body: its text plus everything that shapes the HTML."""
    return hashlib.sha256((_key_salt(ENGINE_VERSION, MARKUP_VERSION) + "\0" + body).encode("utf-8")).hexdigest()


@functools.cache
def _key_salt(engine_version: str, markup_version: str) -> str:
    """What shapes the HTML besides the body (made once: a build asks for a key per page, some twice)."""
    return json.dumps([engine_version, markup_version, markdown_settings()], sort_keys=True)


class ConversionCache:
    """ConvertedBody records stored as small JSON files under `.cache/markdown/`, and in memory
    for the dev server."""

    def __init__(self, folder: Path | None, in_memory: bool = False):
        self.folder = folder
        self.memory: dict[str, ConvertedBody] | None = {} if in_memory else None

    def _file(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def has(self, key: str) -> bool:
        if self.memory is not None and key in self.memory:
            return True
        return self.folder is not None and self._file(key).is_file()

    def get(self, key: str) -> ConvertedBody | None:
        if self.memory is not None and key in self.memory:
            return self.memory[key]
        if self.folder is None:
            return None
        try:
            record = json.loads(self._file(key).read_text(encoding="utf-8"))
            converted = ConvertedBody(record["html"], tuple(Heading(*h) for h in record["headings"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if self.memory is not None:
            self.memory[key] = converted
        return converted

    def keep_only(self, keys: Iterable[str]) -> None:
        """Forget in-memory entries not in `keys` (bodies that no longer exist)."""
        if self.memory is not None:
            wanted = set(keys)
            self.memory = {key: body for key, body in self.memory.items() if key in wanted}

    def prune(self, keys: Iterable[str]) -> int:
        """Delete stored bodies not in `keys`; return how many. The build calls it when it prunes the
        page cache: every stored body was converted for a page that was then cached, so this folder
        grows no faster than that one."""
        wanted = set(keys)
        self.keep_only(wanted)
        return prune_folder(self.folder, wanted) if self.folder is not None else 0

    def put(self, key: str, converted: ConvertedBody, stored: bool = False) -> None:
        """Keep a conversion; `stored` when a worker process already wrote its file."""
        if self.memory is not None:
            self.memory[key] = converted
        if self.folder is not None and not stored:
            _store(self.folder, key, converted)


def _store(folder: Path, key: str, converted: ConvertedBody) -> None:
    record = {"html": converted.html, "headings": [[h.level, h.id, h.text] for h in converted.headings]}
    store_cache_file(folder / key[:2] / f"{key}.json", json.dumps(record).encode("utf-8"))


def convert_in_worker(body: str, key: str, folder: Path | None) -> ConvertedBody | str:
    """Convert in a worker process, and write the cache entry there too (the main process is the busy one)."""
    if not _WORKER_CONVERTER:
        _WORKER_CONVERTER.append(MarkdownConverter())
    outcome = _convert_safely(_WORKER_CONVERTER[0], body)
    if folder is not None and not isinstance(outcome, str):
        _store(folder, key, outcome)
    return outcome


def _convert_safely(converter: MarkdownConverter, body: str) -> ConvertedBody | str:
    try:
        return converter.convert(body)
    except RecursionError:
        return "the Markdown is nested too deeply to convert (lists or quotes hundreds of levels deep)"


class BodyConverter:
    """Yields ConvertedBody for pages in order: from the cache, or converted (in worker processes
    when many pages need it, so the caller renders page N while workers convert the next ones).

    The worker processes stay up until close(). (A one-off build forks workers of its own that
    render whole pages, parallel.py; `workers` says how many.)"""

    def __init__(self, cache: ConversionCache, converter: MarkdownConverter, workers: int | None = None):
        self.cache = cache
        self.converter = converter
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
        self.pool: ProcessPoolExecutor | None = None

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def __enter__(self) -> BodyConverter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start_workers(self) -> ProcessPoolExecutor:
        """The worker processes, started on first use."""
        if self.pool is None:
            # Imported here: loading concurrent.futures costs start-up time that small builds never repay.
            from concurrent.futures import ProcessPoolExecutor
            self.pool = ProcessPoolExecutor(max_workers=self.workers)
        return self.pool

    def _converted_by_workers(self, todo: list[str], bodies: dict[str, str]) -> Iterator[ConvertedBody | str]:
        """Outcomes in the order of `todo`, with a bounded number submitted ahead: other work sent to
        the same workers then waits behind a few conversions, not all of them, and finished
        conversions do not pile up in memory while the main process renders."""
        pool, folder = self.start_workers(), self.cache.folder
        ahead = self.workers * 4
        submitted: deque[Future[ConvertedBody | str]] = deque()
        position = 0
        while position < len(todo) or submitted:
            while position < len(todo) and len(submitted) < ahead:
                key = todo[position]
                submitted.append(pool.submit(convert_in_worker, bodies[key], key, folder))
                position += 1
            yield submitted.popleft().result()

    def stream(self, pages: list[Page]) -> Iterator[tuple[Page, ConvertedBody | str]]:
        keys = [conversion_key(page.body) for page in pages]
        todo = [key for key in dict.fromkeys(keys) if not self.cache.has(key)]
        pending = set(todo)
        known: dict[str, ConvertedBody | str] = {}
        bodies = {key: page.body for page, key in zip(pages, keys, strict=False)}
        fresh: Iterator[ConvertedBody | str]
        in_workers = len(todo) >= PARALLEL_THRESHOLD and self.workers > 1
        if in_workers:
            fresh = self._converted_by_workers(todo, bodies)
        else:
            fresh = (_convert_safely(self.converter, bodies[key]) for key in todo)
        repeated = {key for key, count in Counter(keys).items() if count > 1}
        for page, key in zip(pages, keys, strict=False):
            outcome = known.get(key)
            if outcome is None and key not in pending:
                outcome = self.cache.get(key) or _convert_safely(self.converter, page.body)
            elif outcome is None:
                pending.discard(key)
                outcome = next(fresh)
                if not isinstance(outcome, str):
                    self.cache.put(key, outcome, stored=in_workers)
                if key in repeated:
                    known[key] = outcome
            yield page, outcome
