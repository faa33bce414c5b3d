"""Stage 5b: one page -> RenderedPage, and the page's cache key.

A page body is finished (directives drawn, citations numbered, glossary terms linked) and
rendered through its layout. Everything a PageRenderer reads is given to it when it is made; a
page's key is the digest of what the page's rendering receives: its file, the BodyEnv, the
templates it reaches, the settings and strings tables, and the values of its template variables,
which are made from the page, the SiteView, the settings and the strings tables alone.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from markupsafe import Markup

from .cache import Cache, joined_digest, stable_digest
from .citations import CitedSource, number_citations
from .content import Page, load_body
from .corrections import Correction, last_change
from .directives import (
    DIRECTIVES,
    DRAWN_PER_PAGE,
    EVENTS_LISTED,
    LAYOUT_DIRECTIVES,
    BodyEnv,
    Usage,
    directive_line,
    directives_of,
    draw_blocks,
)
from .errors import Problem, did_you_mean
from .glossary import link_terms, plain_text
from .images import placed_pictures, prepare_pictures
from .languages import locale_of, strings_of, translations_of
from .markup import DIRECTIVE_MARKER, MarkdownConverter, count_words, in_language
from .records import Citation, ConvertedBody, Heading, PageLinks, RenderedPage
from .safety import check_body_safety, check_layout_output
from .scan import scan_html
from .site import Site, corrections_by_page
from .templates import Layouts, UsedAssets, language_env, render_template

_WORDS_PER_MINUTE = 200
# Names templates call rather than read: pure functions, so their results follow from the other values.
TOOLS = frozenset({"inline", "cached"})
# How many macro results `cached` keeps before it starts again from none.
_MACRO_MEMO_LIMIT = 4096


class PageHead(NamedTuple):
    """What a page shows of another page: its address and the words that name it."""

    source: str
    url: str
    title: str
    summary: str
    order: int | None  # a section's rank among the sections (1, 2, …), whatever numbers its `order` uses


@dataclass(frozen=True, eq=False)
class SiteView:
    """All a page's template values may read of the site besides the page itself: its navigation,
    sections, neighbours and home as PageHeads, the special pages' addresses and the assets."""

    nav: tuple[PageHead, ...]
    sections: tuple[PageHead, ...]
    neighbours: dict[str, tuple[PageHead | None, PageHead | None]]
    home: PageHead | None
    special_urls: dict[str, str]
    assets: dict[str, str]
    alternates: dict[str, dict[str, str]]  # a page's source in the default language -> language -> its URL
    corrections: dict[str, tuple[Correction, ...]]  # page source -> its corrections, in the file's order

    @functools.cached_property
    def digest(self) -> str:
        return stable_digest(self)


def _head(page: Page, rank: int | None) -> PageHead:
    return PageHead(page.source, page.url, page.meta.title, page.meta.summary, rank)


@dataclass(frozen=True)
class PageBody:
    """A page's finished body HTML with what the layout shows around it."""

    html: Markup
    headings: tuple[Heading, ...]
    cited: tuple[CitedSource, ...]
    word_count: int


def markdown_key(body: str) -> str:
    """The cache key of a converted body: its text (the converter is the engine's code, in every key)."""
    return stable_digest(body)


def relative_root(url: str) -> str:
    """The relative path from a page at `url` back to the site root: './' or '../../'."""
    depth = url.count("/")
    return "../" * depth if depth else "./"


class PageRenderer:
    """Renders the pages of one Site through one set of Layouts; converted bodies go through the cache."""

    def __init__(self, site: Site, layouts: Layouts, cache: Cache, converter: MarkdownConverter | None = None) -> None:
        self.site = site
        self.layouts = layouts
        self.cache = cache
        self.converter = converter or MarkdownConverter()
        self.tables, self.strings_problems = layouts.strings(site.settings.languages)
        # The settings but where files lie and the lines problems name, and every language's strings (a page
        # names the other languages in their own words): the rest of what a page's rendering reads.
        self.inputs_digest = stable_digest(replace(site.settings, root=Path(), output="", layouts="", config_source="",
                                                   nav_line=0, placeholders=()), self.tables)
        self.strings = strings_of(self.tables, site.language)
        self.env = language_env(layouts.env, site.language, self.strings, site.settings.default_language)
        self.env.globals["inline"] = self.inline  # for the macros of partials, which see only globals
        special = {layout: page.url for layout, page in site.special_pages.items()}
        about = site.page_by_slug("about")
        if about is not None:
            special["about"] = about.url
        sections = {event.section for event in site.data.events if event.section} \
            | {correction.page for correction in site.data.corrections}
        # the pictures pages place, resized once here (the cache keeps the files) before any page renders
        self.pictures = prepare_pictures(site.settings.root, site.data.pictures, *placed_pictures(site.pages), cache)
        self.body_env = BodyEnv(
            site.data, special,
            {slug: (page.meta.title, page.url) for slug in sorted(sections) if (page := site.page_by_slug(slug))},
            {term.id: self._definition(term.definition) for term in site.data.glossary.values()},
            self.pictures.sets, self.strings)
        self.highlights = tuple(event for event in site.data.events if event.is_highlight)
        heads = {page.source: _head(page, site.rank(page)) for page in site.pages}
        self.view = SiteView(
            tuple(heads[page.source] for page in site.nav), tuple(heads[page.source] for page in site.sections),
            {page.source: (heads[previous.source] if previous else None, heads[following.source] if following else None)
             for page in site.sections for previous, following in (site.neighbours(page),)},
            heads[site.home.source] if any(page.kind == "home" for page in site.pages) else None, special,
            layouts.assets.hashed, site.alternates, corrections_by_page(site))
        self._inline: dict[str, Markup] = {}
        self._macros: dict[tuple[Any, ...], Markup] = {}
        self._partials: dict[tuple[str, str, str, bool], str] = {}
        self._shared_values: dict[str, Any] = {}
        self._shared_digest = ""
        # Digests of pages' template values by what made them (values_digest): the cache's, and this build's.
        known = cache.get("values", "index")
        self.values_known: dict[str, str] = known if isinstance(known, dict) else {}
        self.values_used: dict[str, str] = {}

    def _definition(self, text: str) -> str:
        """A glossary definition as plain text for tooltips (the dev server keeps them in memory)."""
        key = stable_digest(text)
        known = self.cache.get("definitions", key)
        if not isinstance(known, str):
            known = plain_text(self.converter.convert_inline(text))
            self.cache.put("definitions", key, known, to_disk=False)
        return known

    # -- keys ---------------------------------------------------------------

    def key(self, page: Page, usage_digest: str = "", root: str | None = None) -> str:
        """The page's cache key: what its rendering receives, hashed (`usage_digest` for a sources list,
        `root` for a page whose links start elsewhere than its own folder).

        The values are made from the page and the SiteView alone, so their digest is kept by those
        (values_digest)."""
        names = (f"{page.layout}.html", *(f"partials/{name}.html" for name in directives_of(page)))
        templates, _ = self.layouts.reach(names)
        values_digest = self.values_digest(page, relative_root(page.url) if root is None else root)
        return joined_digest(templates, self.body_env.digest, self._shared_digest, usage_digest, page.source, page.url,
                             page.kind, page.digest, values_digest, self.inputs_digest)

    def values_digest(self, page: Page, root: str) -> str:
        """The digest of the page's template values other than the shared ones, kept by all values() reads:
        the page's file and address, its layout's templates, the shared values, the SiteView, inputs_digest."""
        layout = self.layouts.reach((f"{page.layout}.html",))[0]
        shared = self._shared()
        made_from = joined_digest(page.source, page.digest, page.url, page.kind, root, layout, self._shared_digest,
                                  self.view.digest, self.inputs_digest)
        digest = self.values_known.get(made_from)
        if digest is None:
            values = self.values(page, root)
            digest = stable_digest({name: value for name, value in values.items() if name not in TOOLS and name not in shared})
        self.values_used[made_from] = digest
        return digest

    # -- rendering ----------------------------------------------------------

    def convert(self, page: Page) -> ConvertedBody | str:
        """The page's body as HTML (from the cache when converted before), or the problem that stopped it."""
        key = markdown_key(page.body)
        converted = self.cache.get("markdown", key)
        if isinstance(converted, ConvertedBody):
            return converted
        outcome = self.converter.convert_page(page.body)
        if isinstance(outcome, ConvertedBody):
            self.cache.put("markdown", key, outcome)
        return outcome

    def render(self, page: Page, usage: Usage | None = None) -> tuple[RenderedPage | None, list[Problem]]:
        """Convert, finish and render one page, and scan it for links; None only when it cannot be drawn."""
        page, problem = load_body(page, self.site.settings.root)
        if problem is not None:
            return None, [problem]
        converted = self.convert(page)
        if isinstance(converted, str):
            return None, [Problem(page.source, page.body_line, converted)]
        problems = check_body_safety(page, converted)
        body, body_problems = self.finish_body(page, converted, usage)
        problems += body_problems
        values = self.values(page, relative_root(page.url))
        text, template_problems = self.render_layout(page, body, values)
        problems += template_problems
        if text is None:
            return None, problems
        return rendered_page(text, body.cited, values["assets"], markdown_key(page.body)), problems

    def render_layout(self, page: Page, body: PageBody, values: dict[str, Any]) -> tuple[str | None, list[Problem]]:
        """Render a page with a finished body through its layout, given the page's `values`."""
        headings = [heading for heading in body.headings if heading.level == 2]
        context = {**values, "body": body.html, "cited": body.cited, "page": {
            **values["page"], "reading_minutes": max(1, math.ceil(body.word_count / _WORDS_PER_MINUTE)),
            "word_count": body.word_count, "headings": headings,
            "show_toc": page.kind == "section" and len(headings) >= 3, "share_image": self._share_image(page)}}
        return render_template(self.env, f"{page.layout}.html", context, page.source,
                               line=page.line_of("layout") if page.meta.layout else 1)

    def _share_image(self, page: Page) -> dict[str, Any] | None:
        """The link-preview image of a page whose first picture has one (a raster picture): its address
        from the site's root, size and alt text."""
        picture = self.body_env.pictures.get(page.pictures[0]) if page.pictures else None
        if picture is None or picture.share is None:
            return None
        return {"path": picture.share.path, "width": picture.share.width, "height": picture.share.height,
                "alt": picture.picture.alt}

    def values(self, page: Page, root: str) -> dict[str, Any]:
        """The template variables of a page that do not depend on its body (`root` prefixes every link);
        `sections` is made only for layouts that read it (every section's card on every page would make
        a large site quadratic)."""
        names = self.layouts.reach((f"{page.layout}.html",))[1]
        view, settings = self.view, self.site.settings

        def link(target: PageHead | None) -> dict[str, Any] | None:
            if target is None:
                return None
            return {"title": target.title, "summary": target.summary, "url": root + target.url if target.url else root,
                    "order": target.order, "is_current": target.source == page.source}

        previous, following = view.neighbours.get(page.source, (None, None))
        corrections = view.corrections.get(page.source, ())
        changed = last_change(page.meta.updated, corrections)
        return {
            **self._shared(),
            "page": {"title": page.meta.title, "summary": page.meta.summary, "kind": page.kind, "layout": page.layout,
                     "url": page.url, "canonical": settings.canonical_url + page.url, "is_draft": page.meta.is_draft,
                     "order": self.site.rank(page), "section_count": len(view.sections), "published": page.meta.published,
                     "updated": changed, "modified": changed.iso() if changed else "", "change_note": page.meta.change_note},
            "corrections": corrections,
            "root": root,
            "assets": UsedAssets(view.assets),
            "nav": [{"title": target.title, "url": root + target.url if target.url else root,
                     "is_current": target.source == page.source} for target in view.nav],
            "sections": [link(target) for target in view.sections] if names is None or "sections" in names else [],
            "previous": link(previous),
            "next": link(following),
            "breadcrumbs": [link(view.home)] if page.kind != "home" else [],
            "links": {name: root + url for name, url in view.special_urls.items()},
            "translations": translations_of(self.view.alternates, page.original,
                                            self.site.home.original if view.home else "", self.site.settings,
                                            self.tables, root),
            "inline": self.inline,
            "cached": self.cached,
        }

    def _shared(self) -> dict[str, Any]:
        """The template variables that are the same on every page, made (and hashed) once."""
        if not self._shared_values:
            settings = self.site.settings
            self._shared_values.update(site={
                "title": settings.title, "tagline": settings.tagline, "description": settings.description,
                "language": settings.language, "author": settings.author, "publisher": settings.publisher,
                "contact": settings.contact, "base_url": settings.base_url, "is_preview": settings.preview,
                "contact_href": settings.contact if "://" in settings.contact else f"mailto:{settings.contact}",
                "locale": locale_of(self.tables, settings.language), "default_language": settings.default_language,
                "prefix": settings.url_prefix},
                strings=self.strings,
                categories=self.site.data.categories, highlights=list(self.highlights),
                timeline_by_year=len(self.site.data.events) > EVENTS_LISTED)
            self._shared_digest = stable_digest(self._shared_values)
        return self._shared_values

    def finish_body(self, page: Page, converted: ConvertedBody,
                    usage: Usage | None) -> tuple[PageBody, list[Problem]]:
        """Draw the directives, number the citations and link the glossary terms of one page's body."""
        problems: list[Problem] = []
        html = in_language(converted.html, self.strings)
        if page.layout in LAYOUT_DIRECTIVES and f'<x-directive name="{page.layout}"' not in html:
            html += f'<x-directive name="{page.layout}" args=""></x-directive>'
        root = relative_root(page.url)

        def draw(match: re.Match[str]) -> str:
            text, directive_problems = self.directive(page, match.group(1), match.group(2), root, usage)
            problems.extend(directive_problems)
            return text

        def draw_block(name: str, args: str, inner: str, number: int, level: int) -> str:
            context, block_problems = DIRECTIVES[name](page, args, root, self.body_env, usage)
            problems.extend(block_problems)
            extra = {"body": Markup(inner), "id": f"{name}-{number}", "level": level}
            return "" if context is None else self.draw_partial(page, name, {**context, **extra}, root, problems)

        html, block_problems = draw_blocks(html, page, draw_block)
        problems += block_problems
        html = DIRECTIVE_MARKER.sub(draw, html)
        data = self.body_env.data
        settings = self.site.settings
        label = self.strings.get("citation_hidden_label", ": {publisher}, “{title}”")
        numbered = number_citations(html, data.sources, page.source, page.body, page.body_line, settings.language,
                                    settings.default_language, label)
        problems += numbered.problems
        html = numbered.html
        if page.layout != "glossary":
            glossary_url = self.body_env.special_urls.get("glossary")
            pattern, words = self.body_env.terms
            linked = link_terms(html, data.glossary, self.body_env.definitions,
                                root + glossary_url if glossary_url is not None else "",
                                pattern if glossary_url is not None else None, words, page)
            html = linked.html
            problems += linked.problems
        body = PageBody(Markup(html), converted.headings, numbered.cited, count_words(converted.html))
        return body, problems

    def directive(self, page: Page, name: str, args: str, root: str,
                  usage: Usage | None) -> tuple[str, list[Problem]]:
        """One directive's HTML. The same directive at the same depth draws the same HTML on every page
        (but those DRAWN_PER_PAGE), so each is drawn once per build."""
        if name not in DIRECTIVES:
            return "", [Problem(page.source, directive_line(page, name), f"unknown directive '::: {name}'",
                                did_you_mean(name, DIRECTIVES) or f"known: {', '.join(DIRECTIVES)}")]
        memo_key = (name, args, root, page.layout == "timeline")
        if memo_key in self._partials and name not in DRAWN_PER_PAGE:
            return self._partials[memo_key], []
        context, problems = DIRECTIVES[name](page, args, root, self.body_env, usage)
        if context is None:
            return "", problems
        text = self.draw_partial(page, name, context, root, problems)
        if name not in DRAWN_PER_PAGE and not problems:
            self._partials[memo_key] = text
        return text, problems

    def draw_partial(self, page: Page, name: str, context: dict[str, Any], root: str, problems: list[Problem]) -> str:
        """A directive's partial drawn with its context; a template problem goes into `problems`."""
        context = {"root": root, "links": self.body_env.links(root), "inline": self.inline, "cached": self.cached,
                   **context}
        text, template_problems = render_template(self.env, f"partials/{name}.html", context, page.source)
        problems += template_problems
        return text or ""

    # -- tools for templates ------------------------------------------------

    def inline(self, text: str) -> Markup:
        """Inline Markdown from a data file (timeline bodies, definitions), citations left as markers."""
        if text not in self._inline:
            self._inline[text] = Markup(self.converter.convert_inline(text))
        return self._inline[text]

    def cached(self, macro: Callable[..., Markup], *args: Any) -> Markup:
        """A macro's output, made once per build for the same arguments (templates call `cached`).

        Only for macros imported from another template: those see their arguments and nothing of
        the page, so the same arguments always give the same HTML."""
        key = (macro, *args)
        try:
            known = self._macros.get(key)
        except TypeError:  # an argument that cannot be a key (a list): no shortcut
            return macro(*args)
        if known is None:
            if len(self._macros) >= _MACRO_MEMO_LIMIT:
                self._macros.clear()  # entries are cheap to draw again; a sources list has thousands
            known = self._macros[key] = macro(*args)
        return known


def rendered_page(text: str, cited: tuple[CitedSource, ...], assets: UsedAssets, body_key: str) -> RenderedPage:
    """The record of a rendered page: its bytes, its links, the sources it cites, the assets it asked for
    and the cache key of its converted body."""
    html = text.encode("utf-8")
    citations: tuple[Citation, ...] = tuple((item.source.id, item.number, len(item.backlinks)) for item in cited)
    links = scan_html(html)
    if unsafe := check_layout_output(text):
        links = PageLinks(links.ids, links.targets, links.lines, sorted([*links.parse_problems, *unsafe]))
    return RenderedPage.of(html, citations, links, tuple(sorted(assets.used)), body_key)

