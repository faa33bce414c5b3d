"""The floors of any generator on our stack, measured by bench/run.py beside the real builds.

    python bench/floor.py CONTENT_DIR [SHARD COUNT]
    python bench/floor.py --loop OUT_DIR CONTENT_DIR [SHARD COUNT]
    python bench/floor.py --stock-pool OUT_DIR CONTENT_DIR [PROCESSES]

The first form is Python-Markdown alone: read each page, cut off its front
matter by its fences, convert the body; nothing else, nothing written. It
prints the number of characters of HTML.

The second (--loop) is the minimal read/convert/render/write loop, the floor
the cold build's first target is measured against: per page, read the file,
split off the front matter and parse it with yaml.safe_load's loader (PyYAML's
CSafeLoader, the libyaml one, when PyYAML has it; else SafeLoader), convert
the body, render a small Jinja2 template (autoescape on: doctype, <title> from
the front matter, the body inside <main>) and write it UTF-8 to
OUT_DIR/<stem>/index.html (index.md -> OUT_DIR/index.html), the layout of our
engine's pretty URLs. It prints the number of pages written.

Both use the engine's Markdown extensions (engine/markup.py; bench/run.py
saves them to bench/.work/markdown-settings.json first, so the engine is not
imported), without the engine's own extension, and one converter reused for
every page. Files are taken in sorted order; with SHARD and COUNT only every
COUNT-th file starting at SHARD, so COUNT processes side by side give the
COUNT-process floor.

The third (--stock-pool) is the same loop on the "stock same-extensions"
converter, engine.markup.stock_markdown(): Python-Markdown with exactly the
engine's extension set, its own citation and directive extension included,
and none of the engine's speed shortcuts. The pages go to PROCESSES workers
(default 2) through multiprocessing.Pool.imap_unordered, one page at a time,
so a worker slowed by other work on the machine takes fewer pages: what a
plain generator on stock Python-Markdown would do with two cores. It prints
the number of pages written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import markdown

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = ROOT / "bench" / ".work" / "markdown-settings.json"
PAGE_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
</head>
<body>
<main>
{{ body | safe }}
</main>
</body>
</html>
"""


def markdown_settings() -> dict[str, Any]:
    """The engine's Markdown settings, from the JSON file bench/run.py writes (SETTINGS_FILE), so this
    process imports Python-Markdown alone; without that file, from the engine itself."""
    if SETTINGS_FILE.is_file():
        return json.loads(SETTINGS_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    sys.path.insert(0, str(ROOT))
    from engine.markup import markdown_settings as engine_settings

    return engine_settings()


def make_converter() -> markdown.Markdown:
    """One Python-Markdown converter with the engine's extensions and their settings, to reset and reuse."""
    settings = markdown_settings()
    return markdown.Markdown(extensions=settings["extensions"], extension_configs=settings["extension_configs"],
                             output_format="html")


def convert_folder(folder: Path, shard: int = 0, count: int = 1) -> int:
    """Read and convert every Markdown file in folder; return the number of characters of HTML."""
    converter = make_converter()
    total = 0
    for file in sorted(folder.glob("*.md"))[shard::count]:
        text = file.read_text(encoding="utf-8")
        body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
        total += len(converter.reset().convert(body))
    return total


def loop_folder(out_dir: Path, folder: Path, shard: int = 0, count: int = 1) -> int:
    """The minimal loop: read, parse the front matter, convert, render, write each page; return the pages written."""
    import jinja2  # here, not at the top: the Python-Markdown-alone floor imports nothing else
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    template = jinja2.Environment(autoescape=True).from_string(PAGE_TEMPLATE)
    converter = make_converter()
    files = sorted(folder.glob("*.md"))[shard::count]
    for file in files:
        text = file.read_text(encoding="utf-8")
        front, body = text[4:].split("\n---\n", 1) if text.startswith("---\n") else ("", text)
        meta = yaml.load(front, Loader=loader) or {}  # yaml.safe_load, with libyaml when it is there
        html = template.render(title=meta.get("title", file.stem), body=converter.reset().convert(body))
        target = out_dir / "index.html" if file.stem == "index" else out_dir / file.stem / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    return len(files)


_stock_worker: tuple[Path, Any, Any, Any] | None = None  # out_dir, converter, template, YAML loader


def _start_stock_worker(out_dir: Path) -> None:
    """Each worker makes its own converter and template once, then reuses them for its pages."""
    global _stock_worker
    import jinja2
    import yaml

    from engine.markup import stock_markdown

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _stock_worker = (out_dir, stock_markdown(), jinja2.Environment(autoescape=True).from_string(PAGE_TEMPLATE), loader)


def _write_stock_page(file: Path) -> int:
    """One page of the stock loop in a worker: read, parse the front matter, convert, render, write."""
    import yaml

    assert _stock_worker is not None, "the pool's initializer sets the worker up"
    out_dir, converter, template, loader = _stock_worker
    text = file.read_text(encoding="utf-8")
    front, body = text[4:].split("\n---\n", 1) if text.startswith("---\n") else ("", text)
    meta = yaml.load(front, Loader=loader) or {}
    html = template.render(title=meta.get("title", file.stem), body=converter.reset().convert(body))
    target = out_dir / "index.html" if file.stem == "index" else out_dir / file.stem / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return 1


def stock_pool_folder(out_dir: Path, folder: Path, processes: int = 2) -> int:
    """The minimal loop on the stock same-extensions converter in a pool; return the pages written."""
    import multiprocessing

    sys.path.insert(0, str(ROOT))
    import engine.markup  # noqa: F401  imported once here, so the forked workers start with it loaded

    files = sorted(folder.glob("*.md"))
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_start_stock_worker, initargs=(out_dir,)) as pool:
        return sum(pool.imap_unordered(_write_stock_page, files))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[0] == "--stock-pool":
        processes = int(arguments[3]) if len(arguments) > 3 else 2
        print(stock_pool_folder(Path(arguments[1]), Path(arguments[2]), processes))
        sys.exit(0)
    loop_out = Path(arguments[1]) if arguments[0] == "--loop" else None
    if loop_out is not None:
        arguments = arguments[2:]
    shard, count = (int(arguments[1]), int(arguments[2])) if len(arguments) > 2 else (0, 1)
    if loop_out is None:
        print(convert_folder(Path(arguments[0]), shard, count))
    else:
        print(loop_folder(loop_out, Path(arguments[0]), shard, count))
