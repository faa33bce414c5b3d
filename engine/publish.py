"""Stage 5b: the rendered site -> the files a host needs besides the pages (issue 6).

sitemap.xml, feed.xml (Atom), robots.txt, _headers (Netlify, Cloudflare
Pages), .nojekyll (GitHub Pages) and 404.html. Every date comes from the
pages' `updated` front matter, never from the clock, so builds stay
byte-identical. Refuses nothing: the pages were already checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from markupsafe import Markup

from .content import Page, PageMeta
from .dates import PartialDate
from .fingerprint import digest

if TYPE_CHECKING:
    from .render import OutputFile, Renderer

NOT_FOUND_PATH = "404.html"
FEED_PATH = "feed.xml"
SITEMAP_PATH = "sitemap.xml"
# Atom requires <updated>; a site where no page has a date yet has had no updates.
_NO_UPDATES = "1970-01-01T00:00:00Z"
# Cloudflare Pages reads at most 100 rules from _headers.
_MAX_HEADER_RULES = 100


def publish_files(renderer: Renderer) -> Iterator[OutputFile]:
    """The host files of the site `renderer` renders; call after its pages, before its assets."""
    from .render import OutputFile  # render.py calls this module, so import its types late

    site = renderer.site
    settings = site.settings
    dated = sorted((p for p in site.pages if p.meta.updated is not None),
                   key=lambda p: (_sort_key(p.meta.updated), p.url), reverse=True)
    config = frozenset({settings.config_source})
    page_sources = frozenset(p.source for p in site.pages) | config
    base = {"site": {"title": settings.title, "description": settings.description, "base_url": settings.base_url,
                     "author": settings.author, "publisher": settings.publisher, "language": settings.language}}

    sitemap = [{"loc": settings.base_url + p.url, "lastmod": p.meta.updated.iso() if p.meta.updated else ""}
               for p in site.pages]
    yield from _render(renderer, "sitemap.xml", SITEMAP_PATH, {**base, "urls": sitemap}, page_sources)

    host = urlsplit(settings.base_url).hostname or "localhost"
    entries = [{"id": _tag_uri(host, settings.base_path, p), "title": p.meta.title, "url": settings.base_url + p.url,
                "updated": _timestamp(p.meta.updated), "summary": p.meta.change_note or p.meta.summary}
               for p in dated]
    feed = {"id": settings.base_url, "url": settings.base_url + FEED_PATH,
            "updated": entries[0]["updated"] if entries else _NO_UPDATES, "entries": entries}
    yield from _render(renderer, "feed.xml", FEED_PATH, {**base, "feed": feed}, page_sources)

    yield from _render(renderer, "robots.txt", "robots.txt", {**base, "sitemap_url": settings.base_url + SITEMAP_PATH}, config)

    html_paths = ["/" + p.url for p in site.pages] + ["/" + NOT_FOUND_PATH, "/" + FEED_PATH, "/" + SITEMAP_PATH]
    if len(html_paths) + 2 > _MAX_HEADER_RULES:
        html_paths = []  # both hosts already revalidate files no rule names
    yield from _render(renderer, "headers.txt", "_headers", {**base, "html_paths": html_paths}, page_sources)

    # GitHub Pages runs Jekyll unless told not to, and Jekyll drops files starting with "_".
    yield OutputFile(".nojekyll", b"", config)

    not_found = _render_not_found(renderer)
    if not_found is not None:
        yield OutputFile(NOT_FOUND_PATH, not_found, page_sources | {"layouts/404.html"})


def _render(renderer: Renderer, template: str, out_path: str, context: dict[str, object],
            sources: frozenset[str]) -> Iterator[OutputFile]:
    """One host file from its template; a broken template becomes a Problem on the renderer, not a crash."""
    from .render import OutputFile

    memo = renderer.memo
    key = ""
    if memo is not None:  # the dev server: the feed and sitemap change only when what they list does
        key = digest(template, sorted(renderer.graph.closure([template])[0].items()), context)
        renderer.used_keys.add(key)
        if key in memo.host_files:
            yield memo.host_files[key]
            return
    meta = PageMeta(title=out_path, summary=out_path)
    page = Page(source=f"layouts/{template}", meta=meta, body="", body_line=1, kind="page", url=out_path, digest="")
    text = renderer._render_template(template, context, page)
    if text is not None:
        file = OutputFile(out_path, text.encode("utf-8"), sources | {f"layouts/{template}"})
        if memo is not None:
            memo.host_files[key] = file
        yield file


def _render_not_found(renderer: Renderer) -> bytes | None:
    """404.html with the site's header and footer; its links start with base_url's path.

    A host serves it at whatever address was missing, at any depth, so the
    relative links of ordinary pages would break there.
    """
    from .render import PageBody

    site = renderer.site
    meta = PageMeta(title="Page not found", summary=f"There is no page at this address on {site.settings.title}.",
                    layout="404")
    page = Page(source="layouts/404.html", meta=meta, body="", body_line=1, kind="page", url=NOT_FOUND_PATH, digest="")
    memo, key = renderer.memo, ""
    if memo is not None and renderer.fingerprints is not None:  # the dev server: same inputs, same bytes
        key = digest("404", renderer.fingerprints.page_key(page))
        renderer.used_keys.add(key)
        if key in memo.host_files:
            return memo.host_files[key]  # type: ignore[no-any-return]
    text = renderer.render_page(page, PageBody(Markup(""), (), (), (), 0), root=site.settings.base_path)
    if text is None:
        return None
    if memo is not None and key:
        memo.host_files[key] = text.encode("utf-8")
        return memo.host_files[key]  # type: ignore[no-any-return]
    return text.encode("utf-8")


def _sort_key(date: PartialDate | None) -> tuple[int, int, int]:
    return (date.year, date.month, date.day) if date else (0, 0, 0)


def _timestamp(date: PartialDate | None) -> str:
    """An RFC 3339 time for Atom: the first day a partial date can mean, at midnight UTC."""
    assert date is not None
    return date.first_day().isoformat() + "T00:00:00Z"


def _tag_uri(host: str, base_path: str, page: Page) -> str:
    """A feed entry id (RFC 4151) naming the page and the update, so a new update is a new entry."""
    assert page.meta.updated is not None
    return f"tag:{host},{page.meta.updated.first_day().isoformat()}:{base_path}{page.url}"
