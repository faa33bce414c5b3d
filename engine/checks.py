"""Stage 7: the rendered tree -> problems with its links.

Every internal link, image and #fragment must point at something that exists
in the output; nothing may point at localhost, a file: path or a root-absolute
path (which breaks under a subpath). Absolute links into base_url (canonical,
og:image) are internal too. 404.html is the one page whose links start with
base_url's path, since hosts serve it at any depth. External links are only
counted, or asked online by `check_online` when the user wants it.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit
from urllib.request import Request, urlopen

from .errors import Problem

_LINK_ATTRIBUTES = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"), ("source", "src"),
                    ("use", "href"), ("iframe", "src"), ("form", "action")}
_VOID = frozenset(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"])
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1")
# <meta> tags whose content is a URL crawlers and social sites fetch.
_URL_METAS = frozenset(["og:image", "og:url", "twitter:image"])
_NOT_FOUND_PAGE = "404.html"
# Root-absolute links that are certainly paths on someone's disk, not on a web server.
_FILE_SYSTEM_ROOTS = ("/home/", "/Users/", "/tmp/", "/var/", "/etc/", "/mnt/", "/Volumes/", "/private/", "/root/")


@dataclass
class PageLinks:
    """What the checker needs from one HTML file: its ids and its outgoing links with their lines."""

    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, int]] = field(default_factory=list)
    parse_problems: list[tuple[int, str]] = field(default_factory=list)


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.result = PageLinks()
        self.open_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line: int = self.getpos()[0]
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.result.ids.add(value)
            if (tag, name) in _LINK_ATTRIBUTES:
                self.result.links.append((value, line))
        if tag == "meta":
            values = dict(attrs)
            if (values.get("property") or values.get("name")) in _URL_METAS and values.get("content"):
                self.result.links.append((values["content"] or "", line))
        if tag not in _VOID:
            self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self.open_tags and self.open_tags[-1] == tag:
            self.open_tags.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if tag in self.open_tags:
            while self.open_tags and self.open_tags.pop() != tag:
                pass
        elif tag not in ("p", "li"):
            self.result.parse_problems.append((self.getpos()[0], f"closing </{tag}> has no matching opening tag"))


def scan_html(data: bytes) -> PageLinks:
    """Parse one HTML document for ids and links."""
    parser = _LinkParser()
    parser.feed(data.decode("utf-8", errors="replace"))
    parser.close()
    return parser.result


@dataclass(frozen=True)
class CheckReport:
    problems: list[Problem]
    external: Counter[str]
    pages: int


def check_links(files: Mapping[str, bytes], output_name: str = "output", base_url: str = "") -> CheckReport:
    """Check every HTML file's links against the set of files; return problems and external links."""
    scanned = {path: scan_html(data) for path, data in sorted(files.items()) if path.endswith(".html")}
    return check_scanned(scanned, set(files), output_name, base_url)


def check_scanned(scanned: Mapping[str, PageLinks], all_paths: set[str], output_name: str = "output",
                  base_url: str = "", only: set[str] | None = None) -> CheckReport:
    """Check already scanned HTML files (out_path -> PageLinks) against every path in the site.

    With `base_url`, absolute links into it and 404.html's links from its path are checked
    like relative ones; without it, 404.html's root-absolute links are not checked. With `only`,
    just those pages' links are checked (the dev server re-checks only what changed).
    """
    problems: list[Problem] = []
    external: Counter[str] = Counter()
    base_path = urlsplit(base_url).path or "/"
    seen: dict[tuple[str, str], tuple[str | None, bool]] = {}
    for path in sorted(scanned if only is None else only & scanned.keys()):
        page = scanned[path]
        source = f"{output_name}/{path}"
        for line, parse_message in page.parse_problems:
            problems.append(Problem(source, line, parse_message))
        for link, line in page.links:
            if base_url and link.startswith(base_url):
                link_message = _check_link("index.html", "./" + link[len(base_url):], all_paths, scanned, external)
            elif path == _NOT_FOUND_PAGE and link.startswith("/") and not link.startswith("//"):
                if not base_url:
                    continue
                if not link.startswith(base_path):
                    link_message = f"link '{link}' is outside the site's path {base_path}"
                else:
                    link_message = _check_link("index.html", "./" + link[len(base_path):], all_paths, scanned, external)
            else:
                # Pages repeat the same links (navigation, sources, glossary): check each once per
                # folder, replaying its external count (issue 8: this loop dominated rebuilds).
                where = path if not link or link[0] in "#?" else posixpath.dirname(path)
                known = seen.get((where, link))
                if known is None:
                    counted = external[link]
                    known = seen[(where, link)] = (_check_link(path, link, all_paths, scanned, external),
                                                   external[link] > counted)
                elif known[1]:
                    external[link] += 1
                link_message = known[0]
            if link_message:
                problems.append(Problem(source, line, link_message))
    return CheckReport(problems, external, len(scanned))


def _check_link(page_path: str, link: str, files: set[str] | Mapping[str, bytes], scanned: Mapping[str, PageLinks],
                external: Counter[str]) -> str | None:
    parts = urlsplit(link)
    if parts.scheme in ("http", "https"):
        host: str = (parts.hostname or "").lower()
        if host in _LOCAL_HOSTS or host.endswith(".localhost"):
            return f"link to a local address '{link}'"
        external[link] += 1
        return None
    if parts.scheme in ("mailto", "tel", "data"):
        return None
    if parts.scheme == "file" or len(parts.scheme) == 1 or link.startswith("\\\\"):
        return f"link to a file on this computer '{link}'"
    if parts.scheme:
        return f"link with an unsupported scheme '{link}'"
    if link.startswith("//"):
        return f"protocol-relative link '{link}' (write https://)"
    if link.startswith(_FILE_SYSTEM_ROOTS):
        return f"link to a file on this computer '{link}'"
    if link.startswith("/"):
        return f"root-absolute link '{link}' breaks when the site is served under a subpath (use a relative link)"
    if not parts.path:
        target = page_path
    else:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_path), unquote(parts.path)))
        if joined.startswith("..") or joined.startswith("/"):
            return f"link '{link}' points outside the site"
        target = joined + "/index.html" if parts.path.endswith("/") and joined != "." else joined
        if joined == ".":
            target = "index.html"
        if target not in files and target + "/index.html" in files:
            return f"link '{link}' needs a trailing slash ('{parts.path}/')"
        if target not in files:
            return f"broken link '{link}': there is no {target} in the site"
    if parts.fragment:
        ids = scanned.get(target)
        if ids is not None and unquote(parts.fragment) not in ids.ids:
            return f"broken link '{link}': {target} has no id '{unquote(parts.fragment)}'"
    return None


def read_tree(folder: Path) -> dict[str, bytes]:
    """Load a built folder as out_path -> bytes (for `build.py check`)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def check_online(addresses: list[str], timeout: float = 10.0, workers: int = 8) -> list[tuple[str, str]]:
    """Ask each external address over the network (HEAD, then GET if refused); return (address, failure).

    Off by default (`build.py check --online`): it is slow, and a site's
    correctness should not depend on other sites being up.
    """
    def ask(address: str) -> str | None:
        url = address.split("#", 1)[0]
        for method in ("HEAD", "GET"):
            request = Request(url, method=method, headers={"User-Agent": "explainer-link-check/1"})
            try:
                with urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only, see caller)
                    response.read(0)
                return None
            except HTTPError as error:
                error.close()  # it holds the open response
                if method == "HEAD" and error.code in (403, 405, 501):
                    continue  # some servers refuse HEAD but answer GET
                return f"HTTP {error.code}"
            except (URLError, OSError, ValueError) as error:
                return str(getattr(error, "reason", error))
        return None

    web = sorted(a for a in set(addresses) if urlsplit(a).scheme in ("http", "https"))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(ask, web))
    return [(address, failure) for address, failure in zip(web, results, strict=True) if failure]
