"""The rendered-page cache: output bytes and what was learnt while rendering, by render key.

Entries live under `.cache/pages/` and are written once, atomically, so a
build can hard-link them into its output instead of rendering again. The dev
server keeps them in memory as well, so an edit costs no disk reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def store_cache_file(file: Path, data: bytes) -> bool:
    """Write a cache file whole or not at all (a temporary file renamed over it); False when it could not be.

    A cache that cannot be written only makes the next build slower, so failures are not errors."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        temporary = file.with_name(f"{file.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        temporary.replace(file)
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class CachedPage:
    """A cached page: its bytes (held in memory) or the file holding them, and its JSON-able facts."""

    html_file: Path | None
    facts: dict[str, Any]
    data: bytes = b""


class PageCache:
    """Stores page output under its render key; a None folder and no memory disables caching."""

    def __init__(self, folder: Path | None, in_memory: bool = False):
        self.folder = folder
        self.memory: dict[str, CachedPage] | None = {} if in_memory else None

    def _paths(self, key: str) -> tuple[Path, Path]:
        assert self.folder is not None
        base = self.folder / key[:2] / key
        return base.with_suffix(".html"), base.with_suffix(".json")

    def get(self, key: str) -> CachedPage | None:
        if self.memory is not None and key in self.memory:
            return self.memory[key]
        if self.folder is None:
            return None
        html_file, facts_file = self._paths(key)
        try:
            facts = json.loads(facts_file.read_text(encoding="utf-8"))
            if self.memory is None:
                return CachedPage(html_file, facts) if html_file.is_file() else None
            page = CachedPage(None, facts, html_file.read_bytes())
        except (OSError, ValueError):
            return None
        self.memory[key] = page
        return page

    def put(self, key: str, data: bytes, facts: dict[str, Any]) -> None:
        if self.memory is not None:
            self.memory[key] = CachedPage(None, facts, data)
        if self.folder is None:
            return
        html_file, facts_file = self._paths(key)
        if store_cache_file(html_file, data):
            store_cache_file(facts_file, json.dumps(facts).encode("utf-8"))

    def keep_only(self, keys: Iterable[str]) -> None:
        """Forget in-memory entries not in `keys`, so a long serve session does not grow without end."""
        if self.memory is not None:
            wanted = set(keys)
            self.memory = {key: page for key, page in self.memory.items() if key in wanted}
