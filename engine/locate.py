"""Stage 6b: link problems found in the built pages -> the writer's file and line that made each link.

The link check reads the built HTML, so it knows a bad link's line there. Each such problem is moved to
where the address was typed: the page's Markdown body (`](addr`, `]: addr`, `href="addr"`), else a
data file's Markdown (a timeline event, a glossary definition), else the line of a template the page's
layout reaches whose literal text around `{{ … }}` ends the address. The converter copies a link's
address as typed, so searching the writer's text finds it without making the converter track source
lines (its speed-up, quickmarkdown.py, would have to track them too); the n-th bad use of an address
in a page maps to its n-th use in the Markdown. A link found nowhere keeps its place in the built file.
A closing tag that closes nothing is moved to the line of the page's Markdown where the scanner, reading
that Markdown as HTML, finds one too; one that only the layouts make keeps its place in the built file.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from .content import Page, lines_outside_code, load_body
from .data import GLOSSARY_FILE, TIMELINE_FILE
from .errors import Problem
from .scan import scan_html
from .site import Site
from .templates import Layouts

_QUOTED = re.compile(r"'([^']+)'")
# What comes right before an address written in Markdown or in raw HTML.
_OPENERS = ("](", "](<", "]: ", "]:", 'href="', "href='", 'src="', "src='", "<")
_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_ATTRIBUTE = re.compile(r"""\b(?:href|src)=(["'])(.*?)\1""")
_STRAY = re.compile(r"closing </[^>\s]+> has no matching opening tag")


def locate_link_problems(problems: Iterable[Problem], output_name: str, site: Site, layouts: Layouts) -> list[Problem]:
    """The problems, each link problem in a built page moved to the file and line its link comes from."""
    pages = {page.out_path: page for page in site.pages}
    data_files = _data_files(site)
    seen: Counter[tuple[str, str]] = Counter()
    located: list[Problem] = []
    prefix = output_name + "/"
    bodies: dict[str, Page] = {}
    in_templates: dict[tuple[tuple[str, ...], str], tuple[str, int] | None] = {}  # one template search per link

    def body_of(out_path: str, page: Page) -> Page:
        if out_path not in bodies:
            bodies[out_path] = load_body(page, site.settings.root)[0]  # a file that changed: not found
        return bodies[out_path]

    for problem in problems:
        quoted = _QUOTED.search(problem.message)
        inside, out_path = problem.source.startswith(prefix), problem.source[len(prefix):]
        page = pages.get(out_path) if inside else None
        if page is not None and _STRAY.fullmatch(problem.message):
            seen[out_path, problem.message] += 1
            where = _stray_in_markdown(body_of(out_path, page), problem.message, seen[out_path, problem.message])
            located.append(problem if where is None else replace(problem, source=where[0], line=where[1]))
            continue
        if not inside or quoted is None:
            located.append(problem)
            continue
        address = html.unescape(quoted.group(1))
        seen[out_path, address] += 1
        where = None
        if page is not None:
            where = _in_markdown(body_of(out_path, page).body, address, seen[out_path, address], page.source,
                                 page.body_line)
        templates = [f"partials/{name}.html" for name in page.directives] if page is not None else []
        templates.append(f"{page.layout if page is not None else out_path.removesuffix('.html')}.html")
        if where is None:
            where = _in_data_files(data_files, address)
        if where is None:
            search = (tuple(templates), address)
            if search not in in_templates:
                in_templates[search] = _in_templates(layouts, templates, address)
            where = in_templates[search]
        located.append(problem if where is None else replace(problem, source=where[0], line=where[1]))
    return located


def _in_markdown(text: str, address: str, nth: int, source: str, first_line: int) -> tuple[str, int] | None:
    """The file and line of the nth place `address` is written as a link's address in Markdown text
    (the last one, when it is written fewer times: the same link drawn twice)."""
    places = sorted({index for opener in _OPENERS for index in _find_all(text, opener + address)
                     if _ends_address(text, index + len(opener) + len(address))})
    if not places:
        return None
    index = places[min(nth, len(places)) - 1]
    return source, first_line + text.count("\n", 0, index)


def _stray_in_markdown(page: Page, message: str, nth: int) -> tuple[str, int] | None:
    """The line of a page's Markdown holding its nth closing tag that closes nothing, as the scanner finds
    it there (outside fenced code), or None."""
    outside = {index + 1 for index, _ in lines_outside_code(page.body)}
    found = [line for line, text in scan_html(page.body.encode("utf-8")).parse_problems
             if text == message and line in outside]
    return (page.source, page.body_line - 1 + found[min(nth, len(found)) - 1]) if found else None


def _find_all(text: str, needle: str) -> Iterable[int]:
    start = text.find(needle)
    while start >= 0:
        yield start
        start = text.find(needle, start + 1)


def _ends_address(text: str, end: int) -> bool:
    """True when the address found stops there (`../a/` must not match the start of `../a/b/`)."""
    return end >= len(text) or text[end] in ")>\"' \t\n"


def _data_files(site: Site) -> list[tuple[str, str]]:
    """The data files whose Markdown becomes links on pages: (source, text)."""
    files = []
    for source in (TIMELINE_FILE, GLOSSARY_FILE):
        path = site.settings.root / source
        if path.is_file():
            files.append((source, path.read_text(encoding="utf-8", errors="replace")))
    return files


def _in_data_files(files: list[tuple[str, str]], address: str) -> tuple[str, int] | None:
    for source, text in files:
        where = _in_markdown(text, address, 1, source, 1)
        if where is not None:
            return where
    return None


def _in_templates(layouts: Layouts, names: list[str], address: str) -> tuple[str, int] | None:
    """The template line whose href or src, with its `{{ … }}` parts taken out, ends the address: the
    longest such literal wins, the first reached of equal ones (the page's directives' partials, then
    its layout and what that reaches)."""
    best: tuple[int, str, int] | None = None
    for name in _reached(layouts, names):
        for number, line in enumerate(layouts.sources[name].split("\n"), 1):
            for match in _ATTRIBUTE.finditer(line):
                literal = _EXPRESSION.split(match.group(2))[-1]
                if literal and address.endswith(literal) and (best is None or len(literal) > best[0]):
                    best = (len(literal), f"layouts/{name}", number)
    return None if best is None else (best[1], best[2])


def _reached(layouts: Layouts, names: list[str]) -> list[str]:
    """The templates and those they extend, include or import, in the order they are first reached."""
    order: list[str] = []
    todo = list(names)
    while todo:
        current = todo.pop(0)
        if current in order or current not in layouts.sources:
            continue
        order.append(current)
        references = layouts.parsed.get(current, (frozenset(), frozenset()))[0]
        todo.extend(sorted(reference for reference in references if reference is not None))
    return order
