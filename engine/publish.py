"""Stage 5d: the site -> the files a host needs besides the pages.

sitemap.xml, feed.xml (Atom), robots.txt, _headers (Netlify, Cloudflare
Pages), .nojekyll (GitHub Pages) and 404.html. Every date comes from the
pages' `updated` front matter, never from the clock, so builds stay
byte-identical. Refuses nothing: the pages were already checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from .cache import stable_digest
from .content import Page, PageMeta
from .dates import PartialDate
from .errors import Problem
from .records import OutputFile, PageLinks
from .render import PageBody, PageRenderer
from .scan import scan_html
from .site import Site
from .templates import render_template

NOT_FOUND_PATH = "404.html"
FEED_PATH = "feed.xml"
SITEMAP_PATH = "sitemap.xml"
# Atom requires <updated>; a site where no page has a date yet has had no updates.
_NO_UPDATES = "1970-01-01T00:00:00Z"
# Cloudflare Pages reads at most 100 rules from _headers.
_MAX_HEADER_RULES = 100
# The feed holds the most recent updates only: readers poll it, and a site's whole history would make
# it grow with the site.
FEED_ENTRIES = 50


@dataclass(frozen=True)
class HostFiles:
    """The host files of a site, with 404.html's links, the assets it uses, the cache keys of the files
    drawn from templates (404.html's last), and any template problems."""

    files: list[OutputFile]
    links: dict[str, PageLinks]
    assets: set[str]
    keys: list[str]
    problems: list[Problem]


def publish_files(renderer: PageRenderer, site: Site) -> HostFiles:
    """The files a host needs besides the pages, for the language of `renderer`: its feed and 404 page, and
    with the default language the files of the whole site (`site`, every language): sitemap, robots.txt,
    _headers and .nojekyll."""
    edition = renderer.site
    settings = edition.settings
    prefix = settings.url_prefix
    every_page = [page for each in site.every_edition for page in each.pages]
    config = frozenset({settings.config_source})
    page_sources = frozenset(p.source for p in every_page) | config
    base = {"site": {"title": settings.title, "description": settings.description, "base_url": settings.base_url,
                     "author": settings.author, "publisher": settings.publisher, "language": settings.language,
                     "is_preview": settings.preview},
            "strings": renderer.strings}
    made: list[tuple[str, str, dict[str, Any], frozenset[str]]] = [
        ("feed.xml", prefix + FEED_PATH, {**base, "feed": _feed(edition, renderer.strings)}, page_sources)]
    if not prefix:
        html_paths = ["/" + p.url for p in every_page] + [
            f"/{each.settings.url_prefix}{name}" for each in site.every_edition for name in (NOT_FOUND_PATH, FEED_PATH)]
        html_paths.append("/" + SITEMAP_PATH)
        if len(html_paths) + 2 > _MAX_HEADER_RULES:
            html_paths = []  # both hosts already revalidate files no rule names
        made += [
            ("sitemap.xml", SITEMAP_PATH, {**base, "urls": _sitemap_urls(site)}, page_sources),
            ("robots.txt", "robots.txt", {**base, "sitemap_url": settings.base_url + SITEMAP_PATH}, config),
            ("headers.txt", "_headers", {**base, "html_paths": html_paths}, page_sources),
        ]
    files: list[OutputFile] = []
    problems: list[Problem] = []
    keys: list[str] = []
    for template, out_path, context, sources in made:
        # The feed and sitemap of a large site take a while to draw: they are drawn again only when
        # what they list changed.
        key = stable_digest(renderer.layouts.reach((template,))[0], context)
        keys.append(key)
        data = renderer.cache.get("host", key)
        if not isinstance(data, bytes):
            text, template_problems = render_template(renderer.env, template, context, f"layouts/{template}")
            problems += template_problems
            if text is None:
                continue
            data = text.encode("utf-8")
            renderer.cache.put("host", key, data)
        files.append(OutputFile(out_path, data, sources | {f"layouts/{template}"}))
    if not prefix:
        # GitHub Pages runs Jekyll unless told not to, and Jekyll drops files starting with "_".
        files.append(OutputFile(".nojekyll", b"", config))
    links: dict[str, PageLinks] = {}
    used: set[str] = set()
    not_found, not_found_problems, not_found_key = _render_not_found(renderer, edition)
    keys.append(not_found_key)
    problems += not_found_problems
    if not_found is not None:
        data, used = not_found
        files.append(OutputFile(prefix + NOT_FOUND_PATH, data, page_sources | {"layouts/404.html"}))
        links[prefix + NOT_FOUND_PATH] = scan_html(data)
    return HostFiles(files, links, used, keys, problems)


def _feed(edition: Site, strings: dict[str, str]) -> dict[str, Any]:
    """The Atom feed of one language: its pages' updates, the most recent first."""
    settings = edition.settings
    dated = sorted((p for p in edition.pages if p.meta.updated is not None),
                   key=lambda p: (_sort_key(p.meta.updated), p.url), reverse=True)
    host = urlsplit(settings.base_url).hostname or "localhost"
    entries = [{"id": _tag_uri(host, settings.base_path, p), "title": p.meta.title, "url": settings.base_url + p.url,
                "updated": _timestamp(p.meta.updated), "summary": p.meta.change_note or p.meta.summary}
               for p in dated[:FEED_ENTRIES]]
    entries = sorted(entries + _correction_entries(edition, host, strings), key=lambda entry: entry["updated"],
                     reverse=True)[:FEED_ENTRIES]
    return {"id": settings.base_url + settings.url_prefix, "url": settings.base_url + settings.url_prefix + FEED_PATH,
            "home": settings.base_url + settings.url_prefix,
            "updated": entries[0]["updated"] if entries else _NO_UPDATES, "entries": entries}


def _sitemap_urls(site: Site) -> list[dict[str, Any]]:
    """Every page of every language with its last update and, when it has translations, the address of
    the page in each language (and x-default, the default language's)."""
    urls = []
    base_url = site.settings.base_url
    for edition in site.every_edition:
        for page in edition.pages:
            others = site.alternates.get(page.original, {})
            alternates = [(code, base_url + url) for code, url in others.items()] if len(others) > 1 else []
            if alternates and site.language in others:
                alternates.append(("x-default", base_url + others[site.language]))
            urls.append({"loc": base_url + page.url, "lastmod": page.meta.updated.iso() if page.meta.updated else "",
                         "alternates": alternates})
    return urls


def _correction_entries(site: Site, host: str, strings: dict[str, str]) -> list[dict[str, str]]:
    """A feed entry per correction, linking to it at the foot of its page (the newest FEED_ENTRIES)."""
    settings = site.settings
    entries = []
    for correction in sorted(site.data.corrections, key=lambda c: (c.date, c.position), reverse=True)[:FEED_ENTRIES]:
        page = site.page_by_slug(correction.page)
        if page is None:
            continue
        entries.append({
            "id": f"tag:{host},{correction.date.iso()}:{settings.base_path}{page.url}#{correction.anchor}",
            "title": f"{strings.get('correction_kind_' + correction.kind, correction.kind.capitalize())}: "
                     f"{page.meta.title}",
            "url": f"{settings.base_url}{page.url}#{correction.anchor}",
            "updated": _timestamp(correction.date), "summary": correction.text(strings)})
    return entries


def _render_not_found(renderer: PageRenderer, site: Site) -> tuple[tuple[bytes, set[str]] | None, list[Problem], str]:
    """404.html with the site's header and footer; its links start with base_url's path.

    A host serves it at whatever address was missing, at any depth, so the relative links of
    ordinary pages would break there."""
    strings = renderer.strings
    meta = PageMeta(title=strings.get("page_not_found", "Page not found"), layout="404", summary=strings.get(
        "not_found_summary", "There is no page at this address on {site_title}.").format(site_title=site.settings.title))
    page = Page(source="layouts/404.html", meta=meta, body="", body_line=1, kind="page",
                url=site.settings.url_prefix + NOT_FOUND_PATH, digest="", language=site.settings.url_prefix[:-1])
    key = renderer.key(page, root=site.settings.base_path)
    known = renderer.cache.get("host", key)
    if isinstance(known, tuple):
        return known, [], key
    values = renderer.values(page, site.settings.base_path)
    text, problems = renderer.render_layout(page, PageBody(Markup(""), (), (), 0), values)
    if text is None:
        return None, problems, key
    made = (text.encode("utf-8"), set(values["assets"].used))
    renderer.cache.put("host", key, made)
    return made, problems, key


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
