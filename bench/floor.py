"""The floor of any generator on our stack: read each page and convert it with Python-Markdown, nothing else.

    python bench/floor.py CONTENT_DIR [SHARD COUNT]

Uses the same Markdown extensions as the engine (engine/markup.py; bench/run.py
saves them to bench/.work/markdown-settings.json first), one
converter reused for every page, front matter cut off by its fences. With
SHARD and COUNT it converts only every COUNT-th file starting at SHARD, so
two processes side by side give the 2-process floor.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import markdown

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = ROOT / "bench" / ".work" / "markdown-settings.json"


def markdown_settings() -> dict[str, Any]:
    """The engine's Markdown settings, from the JSON file bench/run.py writes (SETTINGS_FILE), so this
    process imports Python-Markdown alone; without that file, from the engine itself."""
    if SETTINGS_FILE.is_file():
        return json.loads(SETTINGS_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    sys.path.insert(0, str(ROOT))
    from engine.markup import markdown_settings as engine_settings

    return engine_settings()


def convert_folder(folder: Path, shard: int = 0, count: int = 1) -> int:
    """Read and convert every Markdown file in folder; return the number of characters of HTML."""
    settings = markdown_settings()
    converter = markdown.Markdown(extensions=settings["extensions"], extension_configs=settings["extension_configs"],
                                  output_format="html")
    total = 0
    for file in sorted(folder.glob("*.md"))[shard::count]:
        text = file.read_text(encoding="utf-8")
        body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
        total += len(converter.reset().convert(body))
    return total


if __name__ == "__main__":
    shard, count = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (0, 1)
    print(convert_folder(Path(sys.argv[1]), shard, count))
