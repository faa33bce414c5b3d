"""Stage 5: Site + converted bodies -> OutputFiles, rendered in memory with Jinja.

Directives expand through partial templates, citations are numbered, glossary
terms linked, then each page goes through its layout. Templates autoescape
and fail on undefined variables; their errors name the template line and the
page being rendered.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html as html_module
import io
import math
import pickle
import re
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from . import citations as citations_stage
from .charts import format_number, render_chart_svg
from .checks import PageLinks
from .citations import CitationUse, CitedSource
from .content import Page
from .convert import BodyConverter
from .data import TimelineEvent
from .dates import PartialDate, parse_date
from .errors import BuildError, Problem, did_you_mean
from .fingerprint import Fingerprinter, TemplateGraph, digest, directives_of
from .glossary import TermLinker, term_pattern
from .markup import CITE_MARKER, DIRECTIVE_MARKER, ConvertedBody, Heading, MarkdownConverter, count_words, find_line
from .pagecache import CachedPage, PageCache, PageFacts, store_cache_file
from .safety import check_body_safety
from .site import Site

if TYPE_CHECKING:
    from .parallel import ParallelRenders

DIRECTIVES = ("chart", "timeline", "glossary", "sources")
_TAGS = re.compile(r"<[^>]+>")
_WORDS_PER_MINUTE = 200
# How many macro results `Renderer.cached` keeps before it starts again from none.
_MACRO_MEMO_LIMIT = 4096


@dataclass(frozen=True)
class OutputFile:
    """One file of the built site: where it goes, its bytes, and the inputs it was made from.

    A page whose render key was found in the page cache has `from_cache` set,
    and either its bytes in `data` (the dev server's memory) or empty `data`
    and `cached_file` set: the writer links that file instead. A page rendered
    now carries its citation `uses`, for the page cache.
    """

    out_path: str
    data: bytes
    sources: frozenset[str]
    render_key: str = ""
    cached_file: Path | None = None
    facts: PageFacts | None = field(default=None, compare=False, hash=False)
    from_cache: bool = False
    uses: tuple[CitationUse, ...] = field(default=(), compare=False, hash=False)
    links: PageLinks | None = field(default=None, compare=False, hash=False)  # set when a worker scanned it

    def read_bytes(self) -> bytes:
        return self.cached_file.read_bytes() if self.cached_file is not None else self.data


@dataclass(frozen=True)
class PageBody:
    """A page's finished body HTML with what the layout shows around it."""

    html: Markup
    headings: tuple[Heading, ...]
    cited: tuple[CitedSource, ...]
    uses: tuple[CitationUse, ...]
    word_count: int


class SourceUses:
    """Every place citing one source, in page order, as a sources list shows them: iterating gives
    (page, use) pairs. Two lists, not a pair per place: a site of 10,000 sections has 200,000
    places (issue 8: peak memory)."""

    __slots__ = ("pages", "uses")

    def __init__(self) -> None:
        self.pages: list[Page] = []
        self.uses: list[CitationUse] = []

    def __iter__(self) -> Iterator[tuple[Page, CitationUse]]:
        return zip(self.pages, self.uses, strict=True)

    def __len__(self) -> int:
        return len(self.uses)


# Where a streamed page's sources list goes (streaming.py); a tag, so no later step changes it.
STREAM_MARK = "<x-streamed-list></x-streamed-list>"


class NotStreamable(Exception):
    """A page cannot be written in parts exactly as it would be whole: it is rendered in memory."""


@dataclass
class StreamedList:
    """What prepare_body leaves for streaming.py: the sources list's template context, the term
    linker in its state after the body before the list, and the body after the list, unlinked."""

    context: dict[str, Any] | None = None
    linker: TermLinker | None = None
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Assets:
    """The site's own files in layouts/assets, each with its content-hashed output name."""

    hashed: dict[str, str]
    data: dict[str, bytes]


def load_assets(layouts_dir: Path) -> Assets:
    """Hash every file under layouts/assets; names become name.<hash8>.ext."""
    hashed: dict[str, str] = {}
    data: dict[str, bytes] = {}
    folder = layouts_dir / "assets"
    if folder.is_dir():
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = file.relative_to(folder).as_posix()
            content = file.read_bytes()
            digest = hashlib.sha256(content).hexdigest()[:10]
            stem, dot, ext = name.rpartition(".")
            hashed[name] = f"assets/{stem}.{digest}.{ext}" if dot else f"assets/{name}.{digest}"
            data[name] = content
    return Assets(hashed, data)


class _UsedAssets(dict[str, str]):
    """The hashed-name table, remembering which assets templates asked for."""

    def __init__(self, table: dict[str, str]):
        super().__init__(table)
        self.used: set[str] = set()
        self.recent: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.used.add(name)
        self.recent.add(name)
        return super().__getitem__(name)

    def mark_used(self, names: Iterable[str]) -> None:
        self.used.update(name for name in names if name in self)

    def take_recent(self) -> list[str]:
        """The assets asked for since the last call (what one page needs)."""
        recent, self.recent = sorted(self.recent), set()
        return recent


class _TemplateCodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates under `.cache/jinja/`, so a fresh process does not compile every template again.

    Jinja checks each entry against its template's source; the folder is named after Jinja's
    version and this module's code (which sets the options compiled code depends on), so an
    entry made by other code is never found. A damaged entry is compiled again."""

    def __init__(self, folder: Path):
        salt = hashlib.sha256(jinja2.__version__.encode() + Path(__file__).read_bytes()).hexdigest()[:16]
        target = folder / salt
        with contextlib.suppress(OSError):  # unwritable: every template is compiled, as without a cache
            target.mkdir(parents=True, exist_ok=True)
        super().__init__(str(target))

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = io.BytesIO()
        bucket.write_bytecode(data)
        store_cache_file(Path(self._get_cache_filename(bucket)), data.getvalue())


def make_environment(layouts_dir: Path, cache_dir: Path | None = None, auto_reload: bool = True) -> jinja2.Environment:
    """The Jinja environment: autoescaping HTML and XML, strict about undefined names; with
    `cache_dir`, compiled templates are kept there for the next process. A one-off build passes
    auto_reload=False: its templates do not change under it, and Jinja would otherwise look at a
    template's file each time a page uses it (eight times a page)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(layouts_dir)),
        autoescape=jinja2.select_autoescape(["html", "xml", "svg"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_TemplateCodeCache(cache_dir) if cache_dir is not None else None,
        auto_reload=auto_reload,
    )
    env.filters["number"] = format_number
    return env


def relative_root(url: str) -> str:
    """The relative path from a page at `url` back to the site root: './' or '../../'."""
    depth = url.count("/")
    return "../" * depth if depth else "./"


class Renderer:
    """Renders every output file of a Site; collects problems instead of stopping at the first."""

    def __init__(self, site: Site, bodies: BodyConverter, converter: MarkdownConverter,
                 env: jinja2.Environment, assets: Assets, page_cache: PageCache, graph: TemplateGraph | None = None,
                 memo: RenderMemo | None = None):
        self.site = site
        # The dev server passes its graph along, so templates are not parsed again on every edit.
        self.graph = graph if graph is not None else TemplateGraph(env)
        self.bodies = bodies
        self.page_cache = page_cache
        self.converter = converter
        self.env = env
        self.assets = _UsedAssets(assets.hashed)
        self.asset_data = assets.data
        self.problems: list[Problem] = []
        self.pattern, self.words = term_pattern(site.data.glossary)
        known = memo.definitions if memo is not None else {}
        self.definitions = {t.id: known.get(t.definition) or _plain_text(converter.convert_inline(t.definition))
                            for t in site.data.glossary.values()}
        if memo is not None:  # the dev server converts each definition once, not on every edit
            memo.definitions = {t.definition: self.definitions[t.id] for t in site.data.glossary.values()}
        self._inline_cache: dict[str, Markup] = {}
        self._partials: dict[tuple[str, str, str, bool], str] = {}
        self._macro_results: dict[tuple[Any, ...], Markup] = {}
        self.used_keys: set[str] = set()
        self.memo = memo
        self.fingerprints: Fingerprinter | None = None  # set by render_site
        # The usage index of the citing pages so far, for sources lists: grown, never made again.
        self._usage: dict[str, SourceUses] = {}
        self._usage_pages = 0
        self.parallel: ParallelRenders | None = None  # a one-off build renders in its workers (parallel.py)
        self.stream_to: Path | None = None  # and writes pages that list sources into its page cache (streaming.py)

    # -- bodies -------------------------------------------------------------

    def inline(self, text: str) -> Markup:
        """Inline Markdown from a data file (timeline bodies, definitions), citations left as markers."""
        if text not in self._inline_cache:
            self._inline_cache[text] = Markup(self.converter.convert_inline(text))
        return self._inline_cache[text]

    def cached(self, macro: Callable[..., Markup], *args: Any) -> Markup:
        """A macro's output, made once per build for the same arguments (templates call `cached`).

        Only for macros imported from another template: those see their arguments and nothing
        of the page, so the same arguments always give the same HTML. A source list calls its
        entry macro this way, so each source is drawn once, not once on every page citing it.
        """
        key = (macro, *args)
        try:
            known = self._macro_results.get(key)
        except TypeError:  # an argument that cannot be a key (a list): no shortcut
            return macro(*args)
        if known is None:
            if len(self._macro_results) >= _MACRO_MEMO_LIMIT:
                # A sources list of a large site draws each of its 200,000 uses once: kept, they held
                # ~100 MB to the end of the build (issue 8: peak memory). Entries are cheap to redraw.
                self._macro_results.clear()
            known = self._macro_results[key] = macro(*args)
        return known

    def prepare_body(self, page: Page, converted: ConvertedBody,
                     usage: dict[str, SourceUses] | None,
                     streamed: StreamedList | None = None) -> PageBody:
        """Expand directives, number citations and link glossary terms in one page's body.

        With `streamed`, the sources list is left out: the body holds STREAM_MARK where it goes, and
        `streamed` what streaming.py needs to write the list and the rest of the body after it."""
        html = converted.html
        if page.layout in ("timeline", "glossary", "sources") and not re.search(
                rf'<x-directive name="{page.layout}"', html):
            html += f'<x-directive name="{page.layout}" args=""></x-directive>'
        root = relative_root(page.url)
        html = DIRECTIVE_MARKER.sub(lambda m: self._expand_directive(page, m.group(1), m.group(2), root, usage,
                                                                     streamed), html)
        numbered = citations_stage.number_citations(html, self.site.data.sources, page.source, page.body,
                                                    page.body_line, self.problems)
        html = numbered.html
        glossary_page = self.site.special_pages.get("glossary")
        linker: TermLinker | None = None
        if page.layout != "glossary":
            glossary_url = root + glossary_page.url if glossary_page else ""
            linker = TermLinker(self.site.data.glossary, self.definitions, glossary_url, page.source,
                                page.body, page.body_line, self.problems,
                                self.pattern if glossary_page else None, self.words)
            html = linker.explicit(html)
        if streamed is not None and streamed.context is not None:
            before, mark, after = html.partition(STREAM_MARK)
            if not mark or STREAM_MARK in after:
                raise NotStreamable("the page does not hold the sources list once")
            streamed.linker, streamed.before, streamed.after = linker, before, after
            html = (linker.first_uses(before) if linker else before) + STREAM_MARK
        elif linker is not None:
            html = linker.first_uses(html)
        word_count = count_words(converted.html)
        return PageBody(Markup(html), converted.headings, numbered.cited, numbered.uses, word_count)

    def _expand_directive(self, page: Page, name: str, args: str, root: str,
                          usage: dict[str, SourceUses] | None,
                          streamed: StreamedList | None = None) -> str:
        if name not in DIRECTIVES:
            self.problems.append(Problem(page.source, self._directive_line(page, name),
                                         f"unknown directive '::: {name}'",
                                         did_you_mean(name, DIRECTIVES) or f"known: {', '.join(DIRECTIVES)}"))
            return ""
        # The same directive at the same depth renders the same HTML on every page (the sources
        # list aside: it shows the usage so far), so each is rendered once per build.
        is_full = page.layout == "timeline"
        key = (name, args, root, is_full)
        if key in self._partials:  # remembered only after its arguments were found valid
            return self._partials[key]
        context: dict[str, Any] = {"root": root, "links": self._special_links(root)}
        if name == "chart":
            figure = self.site.data.figures.get(args.strip())
            if figure is None:
                self.problems.append(Problem(page.source, self._directive_line(page, name),
                                             f"unknown chart '{args.strip()}'",
                                             did_you_mean(args.strip(), self.site.data.figures)
                                             or "name a figure from content/figures.yaml"))
                return ""
            context.update(figure=figure, svg=render_chart_svg(figure, f"chart-{figure.id}"),
                           sources=self.site.data.sources)
        elif name == "timeline":
            events = self._timeline_slice(page, args)
            if events is None:
                return ""
            context.update(events=events, categories=self.site.data.categories,
                           is_full=is_full, section_link=self._section_link(root))
        elif name == "glossary":
            context.update(terms=sorted(self.site.data.glossary.values(), key=lambda t: t.term.lower()))
        elif name == "sources":
            if usage is None:
                return ""
            context.update(sources=sorted(self.site.data.sources.values(),
                                          key=lambda s: (s.publisher.lower(), s.title.lower())),
                           usage=usage)
        if name == "sources" and streamed is not None:
            if streamed.context is not None:
                raise NotStreamable("the page holds two sources lists")
            context.setdefault("inline", self.inline)
            context.setdefault("cached", self.cached)
            streamed.context = context
            return STREAM_MARK
        html = self._render_template(f"partials/{name}.html", context, page)
        if html is None:
            return ""
        if name != "sources":
            self._partials[key] = html
        return html

    @staticmethod
    def _directive_line(page: Page, name: str) -> int:
        """The file line of a directive, looked up only to report a problem with it."""
        return find_line(page.body, page.body_line, r"^:::\s+" + re.escape(name) + r"\b")

    def _timeline_slice(self, page: Page, args: str) -> list[Any] | None:
        def problem(message: str, hint: str | None = None) -> None:
            self.problems.append(Problem(page.source, self._directive_line(page, "timeline"), message, hint))

        options: dict[str, str] = {}
        for part in args.split():
            key, equals, value = part.partition("=")
            if not equals or key not in ("category", "from", "to") or not value:
                problem(f"timeline: cannot read '{part}'",
                        "write category=ID, from=YYYY[-MM[-DD]] or to=YYYY[-MM[-DD]]")
                return None
            options[key] = value
        categories = options.get("category", "").split(",") if "category" in options else []
        for category in categories:
            if category not in self.site.data.categories:
                problem(f"unknown timeline category '{category}'", did_you_mean(category, self.site.data.categories))
                return None
        bounds: dict[str, PartialDate] = {}
        for key in ("from", "to"):
            if key in options:
                try:
                    bounds[key] = parse_date(options[key])
                except ValueError as error:
                    problem(f"timeline {key}: {error}")
                    return None
        if "from" in bounds and "to" in bounds and bounds["from"].first_day() > bounds["to"].last_day():
            problem(f"timeline: from={options['from']} is after to={options['to']}, so no event can match",
                    "swap the two dates")
            return None
        events = []
        for event in self.site.data.events:
            if categories and event.category not in categories:
                continue
            if "from" in bounds and event.date.first_day() < bounds["from"].first_day():
                continue
            if "to" in bounds and event.date.first_day() > bounds["to"].last_day():
                continue
            events.append(event)
        return events

    def _section_link(self, root: str) -> Callable[[str], dict[str, str] | None]:
        def link(slug: str) -> dict[str, str] | None:
            target = self.site.page_by_slug(slug) if slug else None
            return {"title": target.meta.title, "url": root + target.url} if target else None
        return link

    def _special_links(self, root: str) -> dict[str, str]:
        links = {layout: root + page.url for layout, page in self.site.special_pages.items()}
        about = self.site.page_by_slug("about")
        if about is not None:
            links["about"] = root + about.url
        return links

    # -- pages --------------------------------------------------------------

    def render_page(self, page: Page, body: PageBody, root: str | None = None) -> str | None:
        """Render one page through its layout; None (with a problem recorded) on a template error."""
        context = self.page_context(page, body, root)
        return self._render_template(f"{page.layout}.html", context, page,
                                     line=page.line_of("layout") if page.meta.layout else 1)

    def page_context(self, page: Page, body: PageBody, root: str | None = None) -> dict[str, Any]:
        """The template variables of one page; `root` prefixes every link (default: relative to the page)."""
        site = self.site
        settings = site.settings
        root = relative_root(page.url) if root is None else root
        previous, following = site.neighbours(page)
        minutes = max(1, math.ceil(body.word_count / _WORDS_PER_MINUTE))

        def page_link(target: Page | None) -> dict[str, Any] | None:
            if target is None:
                return None
            return {"title": target.meta.title, "summary": target.meta.summary, "url": root + target.url if target.url else root,
                    "order": target.meta.order, "is_current": target is page}

        breadcrumbs = [page_link(site.home)] if page.kind != "home" else []
        return {
            "site": {
                "title": settings.title, "tagline": settings.tagline, "description": settings.description,
                "language": settings.language, "author": settings.author, "publisher": settings.publisher,
                "contact": settings.contact, "base_url": settings.base_url,
                "contact_href": settings.contact if "://" in settings.contact else f"mailto:{settings.contact}",
            },
            "page": {
                "title": page.meta.title, "summary": page.meta.summary, "kind": page.kind, "layout": page.layout,
                "url": page.url, "canonical": settings.base_url + page.url, "updated": page.meta.updated,
                "is_draft": page.meta.is_draft, "order": page.meta.order, "section_count": len(site.sections),
                "reading_minutes": minutes, "word_count": body.word_count, "change_note": page.meta.change_note,
                "headings": [h for h in body.headings if h.level == 2],
                "show_toc": page.kind == "section" and sum(1 for h in body.headings if h.level == 2) >= 3,
            },
            "body": body.html,
            "cited": body.cited,
            "root": root,
            "assets": self.assets,
            "nav": [page_link(p) for p in site.nav],
            # Every section's card is built only for templates that show them: on each page it would
            # make large sites quadratic (issue 8).
            "sections": [page_link(p) for p in site.sections] if self._shows_sections(page) else [],
            "previous": page_link(previous),
            "next": page_link(following),
            "breadcrumbs": breadcrumbs,
            "links": self._special_links(root),
            "highlights": list(self._highlights),
            "categories": site.data.categories,
            "section_link": self._section_link(root),
            "inline": self.inline,
        }

    @functools.cached_property
    def _highlights(self) -> tuple[TimelineEvent, ...]:
        """The timeline's highlighted events: found once per build, not on every page."""
        return tuple(e for e in self.site.data.events if e.is_highlight)

    def _shows_sections(self, page: Page) -> bool:
        return "sections" in self.graph.closure([f"{page.layout}.html"])[1]

    def _render_template(self, name: str, context: dict[str, Any], page: Page, line: int = 1) -> str | None:
        context.setdefault("inline", self.inline)
        context.setdefault("cached", self.cached)
        try:
            template = self.env.get_template(name)
            return template.render(context)
        except jinja2.TemplateNotFound as error:
            if error.name == name and "/" not in name:
                self.problems.append(Problem(page.source, line, f"no layout '{name}' in layouts/",
                                             did_you_mean(name, self.env.list_templates())))
            else:
                self.problems.append(Problem(f"layouts/{name}", 0, f"template '{error.name}' not found "
                                             f"(while rendering {page.source})"))
        except jinja2.TemplateSyntaxError as error:
            where = f"layouts/{error.name or name}"
            message = f"template syntax error: {error.message}"
            self.add_problems([Problem(where, error.lineno or 0, f"{message} (while rendering {page.source})")])
        except jinja2.UndefinedError as error:
            where, at_line = _template_frame(name)
            self.problems.append(Problem(where, at_line, f"{error.message} (while rendering {page.source})"))
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as error:
            # Raised by an expression in a template (`title + 1`), not by the engine: report it as input.
            if not _raised_in_template():
                raise
            where, at_line = _template_frame(name)
            self.problems.append(Problem(where, at_line, f"template error: {type(error).__name__}: {error} "
                                         f"(while rendering {page.source})"))
        return None

    def asset_files(self) -> list[OutputFile]:
        """The assets templates asked for, under their hashed names."""
        return [OutputFile(dict.__getitem__(self.assets, name), self.asset_data[name],
                           frozenset({f"layouts/assets/{name}"}))
                for name in sorted(self.assets.used)]

    def render_site(self) -> Generator[OutputFile, None, None]:
        """Every page and used asset, streamed; raises BuildError at the end if anything was wrong.

        Pages whose render key is in the page cache are not rendered again.
        Pages that list sources come last: they need every other page's citations.
        """
        memo = self.memo if self.memo is not None else RenderMemo()
        fingerprints = self.fingerprints = Fingerprinter(self.site, self.graph, dict(self.assets), memo.keys)
        deferred = [p for p in self.site.pages if "sources" in directives_of(p)]
        first = [p for p in self.site.pages if p not in deferred]
        citing: list[tuple[Page, RememberedPage]] = []
        yield from self._render_pages(first, fingerprints, None, memo, citing)
        # Every citing page's address, title and uses (by digest) decide what the usage index holds.
        usage_key = digest([(page.url, page.meta.title, known.uses_digest) for page, known in citing])
        yield from self._render_pages(deferred, fingerprints, usage_key, memo, citing)
        cited = self._cited_sources(usage_key, citing)
        for source_id, source in self.site.data.sources.items():
            if source_id not in cited:
                self.problems.append(Problem("content/sources.yaml", source.line,
                                             f"source '{source_id}' is cited nowhere", is_warning=True))
        from .publish import publish_files  # sitemap, feed, _headers, 404.html (issue 6): a later stage
        yield from publish_files(self)
        memo.forget_all_but(self.used_keys)
        yield from self.asset_files()
        if any(not p.is_warning for p in self.problems):
            raise BuildError(self.problems)

    def add_problems(self, problems: Iterable[Problem]) -> None:
        """Record problems; a template syntax error already recorded for another page is not repeated."""
        for problem in problems:
            # A broken base template breaks every page: name the first page only (issue 9).
            message = problem.message.split(" (while rendering ", 1)[0]
            if message.startswith("template syntax error: ") and any(
                    p.source == problem.source and p.message.startswith(message + " (") for p in self.problems):
                continue
            self.problems.append(problem)

    def error_count(self) -> int:
        return sum(1 for problem in self.problems if not problem.is_warning)

    def _render_pages(self, pages: list[Page], fingerprints: Fingerprinter, usage_key: str | None, memo: RenderMemo,
                      citing: list[tuple[Page, RememberedPage]]) -> Iterator[OutputFile]:
        """Pages in order; with a usage_key, they list sources and are given the usage index of `citing`.

        Up front only the page cache's index is asked which pages it holds; each cached page is
        then looked up in turn, so a build never holds every page's cache entry at once (issue 8)."""
        keys = {page.source: fingerprints.page_key(page, usage_key) for page in pages}
        self.used_keys.update(keys.values())
        # Pages the dev server rendered or loaded in an earlier rebuild are reused as they are.
        to_convert = {page.source for page in pages
                      if keys[page.source] not in memo.pages and not self.page_cache.has(keys[page.source])}
        todo = [page for page in pages if page.source in to_convert]
        # Pages that list sources need the usage index of the others: those are rendered here.
        in_workers = usage_key is None and self.parallel is not None and self.parallel.usable(len(todo))
        if in_workers and self.parallel is not None:
            rendered = self.parallel.render(todo, keys)
        else:
            misses = self.bodies.stream(todo)
        for page in pages:
            key = keys[page.source]
            known = memo.pages.get(key)
            if known is None:
                made: tuple[OutputFile, tuple[CitationUse, ...] | None, str] | None
                if page.source in to_convert and in_workers:
                    made = next(rendered)
                else:
                    hit = None if page.source in to_convert else self.page_cache.get(key)
                    converted: ConvertedBody | str | None = None
                    if hit is None and page.source not in to_convert:  # its file went missing since the index was written
                        converted = next(self.bodies.stream([page]))[1]
                    elif hit is None:
                        converted = next(misses)[1]
                    made = self.page_output(page, key, hit, converted, citing if usage_key is not None else None)
                if made is None:
                    continue  # never cache (or ship) a page that had problems
                file, uses, uses_digest = made
                if self.memo is not None:
                    known = memo.pages[key] = RememberedPage(replace(file, from_cache=True), uses, uses_digest)
                else:  # a one-off build keeps no page's bytes in memory (peak memory, issue 8)
                    known = RememberedPage(replace(file, data=b"", facts=None, cached_file=None, uses=(), links=None),
                                           uses, uses_digest)
                yield file
            else:
                self.assets.mark_used(known.file.facts.assets if known.file.facts else [])
                yield known.file
            if known.uses_digest:
                citing.append((page, known))

    def page_output(self, page: Page, key: str, hit: CachedPage | None, converted: ConvertedBody | str | None,
                     citing: list[tuple[Page, RememberedPage]] | None
                     ) -> tuple[OutputFile, tuple[CitationUse, ...] | None, str] | None:
        """One page from the page cache, or rendered from its converted body (a sources list is given the
        usage index of `citing`), with its citation uses (None: in the page cache) and their digest;
        None when it has problems."""
        sources = frozenset({page.source, self.site.settings.config_source})
        if hit is not None:
            self.assets.mark_used(hit.facts.assets)
            return (OutputFile(page.out_path, hit.data, sources, key, hit.html_file, hit.facts, True),
                    None, hit.facts.uses_digest)
        assert converted is not None
        if isinstance(converted, str):
            self.problems.append(Problem(page.source, page.body_line, converted))
            return None
        if citing is not None and self.stream_to is not None:
            from .streaming import render_streamed  # imports this module

            try:
                return render_streamed(self, page, key, converted, citing, self.stream_to,
                                       self.site.settings.base_url)
            except NotStreamable:
                pass
        errors_before = self.error_count()
        self.assets.take_recent()
        self.problems.extend(check_body_safety(page, converted))
        body = self.prepare_body(page, converted, self.usage_index(citing) if citing is not None else None)
        text = self.render_page(page, body)
        if text is None or self.error_count() > errors_before:
            return None
        uses = tuple(body.uses)
        uses_digest = digest_of_uses(uses)
        facts = PageFacts(uses_digest, "", 0, tuple(self.assets.take_recent()))  # the link check fills in the rest
        return OutputFile(page.out_path, text.encode("utf-8"), sources, key, None, facts, uses=uses), uses, uses_digest

    def usage_index(self, citing: list[tuple[Page, RememberedPage]]) -> dict[str, SourceUses]:
        """source id -> every (page, use) citing it, in page order: what a sources list shows.

        Only asked for when a sources list is rendered, so cached pages' uses are read only then."""
        for page, known in citing[self._usage_pages:]:
            for use in self._uses_of(page, known):
                places = self._usage.get(use.source_id)
                if places is None:
                    places = self._usage[use.source_id] = SourceUses()
                places.pages.append(page)
                places.uses.append(use)
        self._usage_pages = len(citing)
        return self._usage

    def _uses_of(self, page: Page, known: RememberedPage) -> tuple[CitationUse, ...]:
        """A citing page's uses: kept from rendering it, else read from the page cache (or, should its
        entry have gone, found again by preparing its body: the same inputs give the same uses)."""
        if known.uses is not None:
            return known.uses
        details = self.page_cache.details(known.file.render_key)
        uses: tuple[CitationUse, ...] | None = None
        if details is not None:
            try:
                uses = tuple(CitationUse(*use) for use in details["uses"])
            except TypeError:
                uses = None
        if uses is None:
            converted = next(self.bodies.stream([page]))[1]
            problems = len(self.problems)
            uses = self.prepare_body(page, converted, None).uses if not isinstance(converted, str) else ()
            del self.problems[problems:]  # reported when the page itself was rendered
        if self.memo is not None and known.file.render_key in self.memo.pages:
            self.memo.pages[known.file.render_key] = replace(known, uses=uses)
        return uses

    def _cited_sources(self, usage_key: str, citing: list[tuple[Page, RememberedPage]]) -> set[str]:
        """The ids of every cited source: the page cache remembers them by the usage index's digest."""
        known = self.page_cache.cited(usage_key)
        if known is None:
            known = tuple(sorted({use.source_id for page, remembered in citing
                                  for use in self._uses_of(page, remembered)}))
            self.page_cache.note_cited(usage_key, known)
        return set(known)


@dataclass(frozen=True)
class RememberedPage:
    """A page as the last rebuild made it: its file (marked as reused) and its citation uses
    (None until needed when it came from the page cache; `uses_digest` is "" when it cites nothing)."""

    file: OutputFile
    uses: tuple[CitationUse, ...] | None
    uses_digest: str


@dataclass
class RenderMemo:
    """What a Renderer can keep between rebuilds of the same site (the dev server does): render keys
    by their inputs and pages by their render key, so an unchanged page costs a dict lookup."""

    keys: dict[tuple[Any, ...], str] = field(default_factory=dict)
    pages: dict[str, RememberedPage] = field(default_factory=dict)
    host_files: dict[str, Any] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)

    def forget_all_but(self, used: set[str]) -> None:
        """Drop what the last rebuild did not use, so a long session does not grow without end."""
        self.keys = {inputs: key for inputs, key in self.keys.items() if key in used}
        self.pages = {key: page for key, page in self.pages.items() if key in used}
        self.host_files = {key: file for key, file in self.host_files.items() if key in used}


def digest_of_uses(uses: tuple[CitationUse, ...]) -> str:
    """What the usage index keys on for one page's citation uses ("" when it cites nothing)."""
    return digest([(u.source_id, u.heading_id, u.heading_text) for u in uses]) if uses else ""


def _plain_text(html: str) -> str:
    """Definition text for tooltips: no tags, no citation markers."""
    without_markers = re.sub(r"\s*" + CITE_MARKER.pattern, "", html)
    return html_module.unescape(_TAGS.sub("", without_markers)).strip()


def _raised_in_template() -> bool:
    """True when the exception being handled came from template code, not from the engine's own."""
    traceback = sys.exc_info()[2]
    in_template = False
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml")) or "/layouts/" in filename:
            in_template = True
        elif in_template and Path(filename).resolve().parent == Path(__file__).resolve().parent:
            return False  # a template called engine code, which failed: an engine bug
        traceback = traceback.tb_next
    return in_template


def _template_frame(fallback: str) -> tuple[str, int]:
    """The layouts/ file and line where a runtime template error happened, from the traceback."""
    traceback = sys.exc_info()[2]
    where, line = f"layouts/{fallback}", 0
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith(".html") or filename.endswith(".xml") or "/layouts/" in filename:
            marker = filename.rfind("/layouts/")
            where = filename[marker + 1:] if marker >= 0 else filename
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return where, line
