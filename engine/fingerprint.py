"""Dependency tracking: for each page, one key that changes whenever its output could.

A page's key hashes its own file, the settings, the data files, the templates
it can reach (its layout, what that extends and includes, the partials of its
directives) and, for each template variable those templates use, the value
that variable depends on: `nav` -> navigation titles and URLs, `sections` ->
every section's card, `previous`/`next` -> the neighbours, and so on. An
unchanged key means the previous output is still exactly right.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import jinja2
from jinja2 import meta

from .content import Page, directive_lines
from .convert import ENGINE_VERSION
from .site import Site

# Directives a special layout adds by itself when its page does not place them.
_LAYOUT_DIRECTIVES = {"timeline": "timeline", "glossary": "glossary", "sources": "sources"}


def digest(*parts: Any) -> str:
    """A stable hash of JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TemplateInfo:
    """What one template reaches: templates it extends or includes, and variables it reads."""

    digest: str
    references: frozenset[str]
    variables: frozenset[str]


class TemplateGraph:
    """Template digests and their static references, read once per build."""

    def __init__(self, env: jinja2.Environment):
        self.env = env
        self._info: dict[str, TemplateInfo] = {}
        self._closures: dict[tuple[str, ...], tuple[dict[str, str], frozenset[str]]] = {}

    def info(self, name: str) -> TemplateInfo:
        if name not in self._info:
            try:
                source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
                tree = self.env.parse(source)
                references = frozenset(n for n in meta.find_referenced_templates(tree) if n)
                variables = frozenset(meta.find_undeclared_variables(tree))
            except (jinja2.TemplateNotFound, jinja2.TemplateSyntaxError):
                source, references, variables = f"missing or broken: {name}", frozenset(), frozenset()
            self._info[name] = TemplateInfo(hashlib.sha256(source.encode("utf-8")).hexdigest(), references, variables)
        return self._info[name]

    def closure(self, names: list[str]) -> tuple[dict[str, str], frozenset[str]]:
        """Every template reachable from `names` with its digest, and the variables they read."""
        known = self._closures.get(tuple(names))
        if known is not None:
            return known
        seen: dict[str, str] = {}
        variables: set[str] = set()
        todo = list(names)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            info = self.info(name)
            seen[name] = info.digest
            variables |= info.variables
            todo.extend(info.references)
        self._closures[tuple(names)] = seen, frozenset(variables)
        return seen, frozenset(variables)


def directives_of(page: Page) -> list[str]:
    """The directive names a page's body uses (including the one its layout adds)."""
    names = set(page.directives if page.directives is not None else _directives_in(page.body))
    if page.layout in _LAYOUT_DIRECTIVES:
        names.add(_LAYOUT_DIRECTIVES[page.layout])
    return sorted(names)


@functools.lru_cache(maxsize=4096)
def _directives_in(body: str) -> tuple[str, ...]:
    # Memoised: every build (and every dev-server edit) asks twice per page; a str keeps its hash.
    return tuple(directive_lines(body))


class Fingerprinter:
    """Computes render keys for the pages of one Site."""

    def __init__(self, site: Site, graph: TemplateGraph, asset_table: dict[str, str],
                 memo: dict[tuple[Any, ...], str] | None = None):
        self.site = site
        self.graph = graph
        # Inputs -> key, kept by the dev server between edits: hashing every page's inputs again
        # made each edit cost O(pages) in JSON encoding (issue 5: 150 ms at 1,000 pages).
        self.memo: dict[tuple[Any, ...], str] = {} if memo is None else memo
        self._templates_digests: dict[tuple[str, ...], str] = {}
        settings_fields = {k: v for k, v in asdict(site.settings).items() if k != "root"}
        data = site.data
        self.common = digest(ENGINE_VERSION, settings_fields, asset_table, data.digests, len(site.sections),
                             [(p.meta.title, p.url) for p in site.nav],
                             {layout: p.url for layout, p in site.special_pages.items()},
                             self._link(site.page_by_slug("about")),
                             sorted({(e.section, self._link(site.page_by_slug(e.section)))
                                     for e in data.events if e.section}, key=str))
        self.values = {
            "sections": digest([self._card(p) for p in site.sections]),
            "breadcrumbs": digest(self._link(site.home) if any(p.kind == "home" for p in site.pages) else None),
        }

    @staticmethod
    def _link(page: Page | None) -> Any:
        return (page.meta.title, page.url) if page else None

    @staticmethod
    def _card(page: Page | None) -> Any:
        return (page.meta.title, page.meta.summary, page.url, page.meta.order) if page else None

    def page_key(self, page: Page, extra: str | None = None) -> str:
        """The render key of one page; `extra` is a digest of inputs known only later (the usage index)."""
        names = (f"{page.layout}.html", *(f"partials/{d}.html" for d in directives_of(page)))
        templates, variables = self.graph.closure(list(names))
        templates_digest = self._templates_digests.get(names)
        if templates_digest is None:  # one digest per set of templates, not one per page
            templates_digest = self._templates_digests[names] = digest(sorted(templates.items()))
        # Two files with the same text still differ in their address (canonical URL, relative links) and kind.
        parts: list[Any] = [self.common, page.digest, page.url, page.kind, templates_digest]
        if "sections" in variables:
            parts.append(self.values["sections"])
        if "previous" in variables or "next" in variables:
            parts.append(tuple(self._card(p) for p in self.site.neighbours(page)))
        if "breadcrumbs" in variables:
            parts.append(self.values["breadcrumbs"])
        parts.append(extra)
        inputs = tuple(parts)
        key = self.memo.get(inputs)
        if key is None:
            key = self.memo[inputs] = digest(*parts)
        return key

