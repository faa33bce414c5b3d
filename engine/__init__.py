"""The explainer site generator: build(), check() and serve() are its whole public surface.

build() is one line of stages: load_settings -> load_content -> resolve ->
render -> check -> write. Each stage returns plain frozen data; rendering
streams pages into a staging folder that replaces output/ only when the
whole site is built and its links check out.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .checks import CheckReport, check_links, read_tree
from .content import ParseCache
from .convert import BodyConverter, ConversionCache, conversion_key
from .data import load_data as load_data  # re-exported: the explainer tests read the data files
from .data import load_inputs
from .errors import BuildError, Problem, UsageError, raise_if_errors
from .live import LiveSite, RebuildReport
from .markup import MarkdownConverter
from .pagecache import PageCache
from .parallel import ConversionAhead, ParallelRenders, can_fork, check_in_two
from .render import Renderer, load_assets, make_environment
from .settings import Settings, load_settings
from .site import resolve_site
from .sitelinks import (
    SiteLinks,
    check_links_incrementally,
    load_link_check,
    note_links,
    note_scanned,
    store_link_check,
)
from .write import Staging, build_lock, check_output_folder, remove_leftovers

__all__ = ["BuildError", "BuildResult", "LiveSite", "Problem", "RebuildReport", "UsageError", "build", "check",
           "load_settings"]


@dataclass(frozen=True)
class BuildResult:
    pages: int
    files: int
    seconds: float
    output: Path
    warnings: list[Problem]
    external_links: int
    rendered: int


def build(settings: Settings, use_cache: bool = True, strict: bool = False) -> BuildResult:
    """Build the whole site into settings.output_dir, or raise BuildError leaving it untouched."""
    started = time.perf_counter()
    output = check_output_folder(settings)
    cache_root = settings.root / ".cache" if use_cache else None
    # While this process reads the site, another converts bodies into the Markdown cache (parallel.py).
    ahead = ConversionAhead.start(settings.content_dir, cache_root / "markdown" if cache_root else None)
    try:
        return _build(settings, output, cache_root, ahead, use_cache, strict, started)
    finally:
        if ahead is not None:
            ahead.stop()


def _build(settings: Settings, output: Path, cache_root: Path | None, ahead: ConversionAhead | None,
           use_cache: bool, strict: bool, started: float) -> BuildResult:
    parsed = ParseCache(cache_root / "content.marshal" if cache_root else None)
    pages, data, warnings = load_inputs(settings, parsed)
    parsed.save()
    site = resolve_site(settings, pages, data)
    problems: list[Problem] = [*warnings]
    converter = MarkdownConverter()
    bodies = BodyConverter(ConversionCache(cache_root / "markdown" if cache_root else None), converter)
    page_cache = PageCache(cache_root / "pages" if cache_root else None)
    env = make_environment(settings.layouts_dir, cache_root / "jinja" if cache_root else None, auto_reload=False)
    renderer = Renderer(site, bodies, converter, env,
                        load_assets(settings.layouts_dir), page_cache)
    if can_fork():
        renderer.parallel = ParallelRenders(renderer, bodies, page_cache, settings.base_url)
    renderer.stream_to = page_cache.folder
    links = SiteLinks(page_cache)
    rendered = 0
    with build_lock(output), bodies:
        remove_leftovers(output)
        with Staging(output, keep_spare=use_cache) as staging:
            if ahead is not None:
                ahead.stop()  # the workers take over, on both cores
            # Closed at once when a problem stops the loop: the render workers it started are stopped then.
            try:
                with closing(renderer.render_site()) as site_files:
                    for file in site_files:
                        staging.add(file)
                        if file.links is not None:  # rendered and scanned by a worker
                            note_scanned(links, file, page_cache)
                        elif file.out_path.endswith(".html"):
                            note_links(links, file, page_cache, settings.base_url)
                        rendered += file.out_path.endswith(".html") and not file.from_cache and file.out_path != "404.html"
            finally:
                problems.extend(renderer.problems)
                page_cache.save_index()  # pages rendered before a problem are good entries too
            # Only pages that changed are checked again when the rest resolve as before (issue 8).
            check_file = cache_root / "links.json" if cache_root else None
            link_check = check_links_incrementally(links, set(staging.written), settings,
                                                   load_link_check(check_file) if check_file else None,
                                                   check_in_two)
            if check_file:
                store_link_check(check_file, link_check)
            problems.extend(link_check.problems())
            if strict:
                problems = [Problem(p.source, p.line, p.message, p.hint) for p in problems]
            warnings = raise_if_errors(problems)
            files = staging.commit()
    if page_cache.prune(renderer.used_keys):
        rendered_by_workers = renderer.parallel.body_keys if renderer.parallel else {}
        bodies.cache.prune(rendered_by_workers.get(page.source) or conversion_key(page.body) for page in pages)
    return BuildResult(len(links) - ("404.html" in links), files, time.perf_counter() - started, output, warnings,
                       link_check.external_links, rendered)


def check(settings: Settings) -> CheckReport:
    """Check the links of an already built output folder."""
    output = settings.output_dir
    if not output.is_dir():
        raise UsageError(f"there is no built site at {output}; run a build first")
    return check_links(read_tree(output), output.name, settings.base_url)
