"""The explainer site generator: build(), check() and the dev server's LiveSite are its public surface.

build() is one line of stages, each returning plain data: load the inputs, resolve the site, load
the layouts, render every file into a staging folder, check the links, swap the folder into place.
The stages after reading return their problems and go on with what they could make, so one run
reports them all. The dev server (live.py) runs the same stages and keeps the files in memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from .cache import Cache
from .checks import CheckReport, check_links_of, check_output
from .data import load_data as load_data  # re-exported: tests read the data files
from .errors import BuildError, Problem, UsageError, has_errors, raise_if_errors
from .locate import locate_link_problems
from .pages import forget_unused, render_site
from .settings import Settings, load_settings
from .site import load_inputs, resolve_site
from .templates import load_layouts
from .write import Staging, build_lock, check_output_folder, remove_leftovers

__all__ = ["BuildError", "BuildResult", "Problem", "UsageError", "build", "check", "load_settings"]


@dataclass(frozen=True)
class BuildResult:
    pages: int
    files: int
    seconds: float
    output: Path
    warnings: list[Problem]
    rendered: int


def build(settings: Settings, use_cache: bool = True, strict: bool = False, jobs: int | None = None) -> BuildResult:
    """Build the whole site into settings.output_dir, or raise BuildError leaving it untouched; `jobs`
    is how many processes render pages (None: one per CPU when the site is large enough to gain)."""
    started = time.perf_counter()
    output = check_output_folder(settings)
    cache = Cache(settings.root / ".cache" if use_cache else None)
    pages, data, problems = load_inputs(settings, cache)
    site = resolve_site(settings, pages, data)
    problems += site.problems + ([] if settings.preview else list(settings.placeholders))
    layouts = load_layouts(settings.layouts_dir, cache, settings.root)
    with build_lock(output):
        remove_leftovers(output)
        # A build that already has errors still draws and checks every page, in a folder of its own: the
        # spare, which the next build updates in place, stays as the last good build left it.
        with Staging(output, keep_spare=use_cache and not has_errors(problems)) as staging:
            made = render_site(site, layouts, cache, staging.add, jobs)
            links = check_links_of(made.links, made.keys, made.ids, set(staging.written) | made.failed,
                                   settings.output_dir.name, settings.base_url, cache, made.links.anchors, jobs)
            problems += made.problems + locate_link_problems(links.problems(), settings.output_dir.name, site, layouts)
            if strict:
                problems = [replace(problem, is_warning=False) for problem in problems]
            warnings = raise_if_errors(problems)
            files = staging.commit()
    forget_unused(cache, site, made, layouts)
    if cache.note:
        warnings.append(Problem(".cache", 0, cache.note, is_warning=True))
    not_found = sum(path.endswith("404.html") for path in made.links)  # one per language, not pages
    return BuildResult(len(made.links) - not_found, files, time.perf_counter() - started, output, warnings,
                       len(made.rendered))


def check(settings: Settings) -> CheckReport:
    """Check the links of an already built output folder."""
    output = settings.output_dir
    if not output.is_dir():
        raise UsageError(f"there is no built site at {output}; run a build first")
    return check_output(output, settings.base_url)
