"""The rendered-page cache: output bytes and what was learnt while rendering, by render key.

Entries live under `.cache/pages/` and are written once, atomically, so a
build can hard-link them into its output instead of rendering again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CachedPage:
    """A cached page: the file holding its bytes and the JSON-able facts stored beside it."""

    html_file: Path
    facts: dict[str, Any]


class PageCache:
    """Stores page output under its render key; a None folder disables caching."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def _paths(self, key: str) -> tuple[Path, Path]:
        assert self.folder is not None
        base = self.folder / key[:2] / key
        return base.with_suffix(".html"), base.with_suffix(".json")

    def get(self, key: str) -> CachedPage | None:
        if self.folder is None:
            return None
        html_file, facts_file = self._paths(key)
        try:
            facts = json.loads(facts_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return CachedPage(html_file, facts) if html_file.is_file() else None

    def put(self, key: str, data: bytes, facts: dict[str, Any]) -> None:
        if self.folder is None:
            return
        html_file, facts_file = self._paths(key)
        try:
            html_file.parent.mkdir(parents=True, exist_ok=True)
            for target, content in ((html_file, data), (facts_file, json.dumps(facts).encode("utf-8"))):
                temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
                temporary.write_bytes(content)
                temporary.replace(target)
        except OSError:
            pass  # A cache that cannot be written only makes the next build slower.
