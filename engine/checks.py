"""Stage 6: the rendered site's links -> problems.

Every internal link, image and #fragment must point at something that exists in the output;
nothing may point at localhost, a file: path or a root-absolute path (which breaks under a
subpath). Absolute links into base_url (canonical, og:image) are internal too. 404.html is the
one page whose links start with base_url's path, since hosts serve it at any depth. External
links are only counted, or asked online by `check_online` when the user wants it. A rebuild
checks again only the pages that can have changed (`check_site`).
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .cache import Cache, stable_digest
from .errors import Problem, closest
from .pool import parallel_map
from .records import PageLinks
from .scan import scan_html

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1")
_NOT_FOUND_PAGE = "404.html"
# Root-absolute links that are certainly paths on someone's disk, not on a web server.
_FILE_SYSTEM_ROOTS = ("/home/", "/Users/", "/tmp/", "/var/", "/etc/", "/mnt/", "/Volumes/", "/private/", "/root/")
# The most link verdicts check_links remembers at once.
_MEMO_LIMIT = 65536


# A link's problem: its message and a hint (None when there is none).
Verdict = tuple[str, str | None]


@dataclass(frozen=True)
class CheckReport:
    problems: list[Problem]
    external: Counter[str]
    pages: int


@dataclass(frozen=True)
class LinkCheck:
    """A link check, kept so the next build can skip the pages that cannot have changed: a digest of
    the site's paths and, per page, (cache key, digest of its ids, its problems)."""

    paths: str
    pages: dict[str, tuple[str, str, tuple[Problem, ...]]]

    def problems(self) -> list[Problem]:
        return [problem for path in sorted(self.pages) for problem in self.pages[path][2]]


def check_site(links: Mapping[str, PageLinks], keys: Mapping[str, str], ids: Mapping[str, str], all_paths: set[str],
               output_name: str, base_url: str, previous: LinkCheck | None,
               anchors: Mapping[str, PageLinks] | None = None, jobs: int | None = 1) -> LinkCheck:
    """Check every page's links; with the previous check, only the pages whose key changed, when no path
    appeared or disappeared and none of those pages changed its ids (`ids`: each page's ids digest):
    every other page's links then resolve exactly as before. A page without a key (404.html) is
    always checked."""
    paths = stable_digest(sorted(all_paths))
    only: set[str] | None = None
    if previous is not None and previous.paths == paths:
        changed = {path for path in links if not keys.get(path) or path not in previous.pages
                   or previous.pages[path][0] != keys[path]}
        if all(path in previous.pages and previous.pages[path][1] == ids.get(path, "") for path in changed):
            only = changed
    report = check_links(links, all_paths, output_name, base_url, only, anchors, jobs)
    found: dict[str, list[Problem]] = {path: [] for path in (links if only is None else only)}
    for problem in report.problems:
        found.setdefault(problem.source.removeprefix(output_name + "/"), []).append(problem)
    pages = dict(previous.pages) if only is not None and previous is not None else {}
    for path, problems in found.items():
        if path in links:
            pages[path] = (keys.get(path, ""), ids.get(path, ""), tuple(problems))
    return LinkCheck(paths, {path: entry for path, entry in pages.items() if path in links})


def check_links_of(links: Mapping[str, PageLinks], keys: Mapping[str, str], ids: Mapping[str, str],
                   all_paths: set[str], output_name: str, base_url: str, cache: Cache,
                   anchors: Mapping[str, PageLinks] | None = None, jobs: int | None = 1) -> LinkCheck:
    """The site's link check, given the last one the cache holds; the cache then holds this one."""
    where = stable_digest(output_name, base_url)
    previous = cache.get("links", where)
    checked = check_site(links, keys, ids, all_paths, output_name, base_url,
                         previous if isinstance(previous, LinkCheck) else None, anchors, jobs)
    cache.put("links", where, checked)
    return checked


def check_links(scanned: Mapping[str, PageLinks], all_paths: set[str], output_name: str = "output",
                base_url: str = "", only: set[str] | None = None,
                anchors: Mapping[str, PageLinks] | None = None, jobs: int | None = 1) -> CheckReport:
    """Check scanned HTML files (out_path -> PageLinks) against every path in the site.

    With `base_url`, absolute links into it and 404.html's links from its path are checked like
    relative ones; without it, 404.html's root-absolute links are not checked. With `only`, just
    those pages' links are checked. `anchors` gives the pages' ids for #fragments of other pages
    (default: `scanned`), so each page of `scanned` is read once, when its own links are checked.
    `jobs` is how many processes check pages (None: as many as pay, see pool.py)."""
    anchors = scanned if anchors is None else anchors
    base_path = urlsplit(base_url).path or "/"
    # Pages repeat the same links: each is judged once where it means the same thing, that is
    # anywhere for an absolute one, from every page as deep for one that climbs to the site's
    # root first ('../../x'), else from its folder; its external count is replayed. Each process
    # checking pages keeps its own.
    memo: dict[tuple[str, str], tuple[Verdict | None, bool]] = {}
    targets: dict[tuple[str, str], str] = {}

    def check_page(path: str) -> tuple[list[Problem], Counter[str]]:
        page = scanned[path]
        problems: list[Problem] = []
        external: Counter[str] = Counter()
        source = f"{output_name}/{path}"
        folder, climb = posixpath.dirname(path), "../" * path.count("/")
        is_not_found_page = posixpath.basename(path) == _NOT_FOUND_PAGE
        for line, parse_message in page.parse_problems:
            problems.append(Problem(source, line, parse_message))
        for link, line in page.each_link():
            verdict: Verdict | None
            if link[:1] == "#" and not _URL_SPACE.search(link):  # half of a page's links: its own fragments
                fragment = unquote(link[1:])
                if fragment and not page.has_id(fragment):
                    problems.append(Problem(source, line, f"broken link '{link}': {path} has no id '{fragment}'"))
                continue
            if base_url and link.startswith(base_url):
                verdict = _check_link("index.html", "./" + link[len(base_url):], all_paths, anchors, external)
            elif is_not_found_page and link.startswith("/") and not link.startswith("//"):
                if not base_url:
                    continue
                verdict = ((f"link '{link}' is outside the site's path {base_path}", None) if not link.startswith(base_path)
                           else _check_link("index.html", "./" + link[len(base_path):], all_paths, anchors, external))
            else:
                if link.startswith(("http://", "https://", "/")):
                    scope = ""
                elif not link or link[0] in "#?":
                    scope = path
                else:
                    scope = climb if climb and link.startswith(climb) else folder
                known = memo.get((scope, link))
                if known is None:
                    if len(memo) >= _MEMO_LIMIT:
                        memo.clear()
                        targets.clear()
                    counted = external[link]
                    page_part, hash_mark, fragment = link.partition("#")
                    if hash_mark and _PLAIN_PATH.fullmatch(page_part) and not _URL_SPACE.search(fragment):
                        # Another page's #fragment: where its page part leads is found once, then each
                        # fragment is looked up there.
                        target = targets.get((scope, page_part))
                        if target is None:
                            target = targets[(scope, page_part)] = _plain_target(path, page_part, all_paths)
                        verdict = _fragment_verdict(link, target, unquote(fragment), anchors) if target else \
                            _check_link(path, link, all_paths, anchors, external)
                    else:
                        verdict = _check_link(path, link, all_paths, anchors, external)
                    memo[(scope, link)] = (verdict, external[link] > counted)
                else:
                    verdict = known[0]
                    if known[1]:
                        external[link] += 1
            if verdict:
                problems.append(Problem(source, line, *verdict))
        return problems, external

    paths = sorted(scanned if only is None else only & scanned.keys())
    problems: list[Problem] = []
    external: Counter[str] = Counter()
    for page_problems, page_external in parallel_map(lambda index: check_page(paths[index]), len(paths), jobs):
        problems += page_problems
        external.update(page_external)
    return CheckReport(problems, external, len(scanned))


# What urlsplit removes from a link before splitting it: such links take the long way.
_URL_SPACE = re.compile(r"[\t\r\n]")
# A link's page part that urlsplit reads as a path alone, and unquote leaves as it is.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._~-][A-Za-z0-9._~/-]*")


def _plain_target(page_path: str, plain_path: str, files: set[str]) -> str:
    """The file a _PLAIN_PATH link part leads to from page_path, as _check_link finds it; "" when
    _check_link would report a problem with it."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_path), plain_path))
    if joined.startswith("..") or joined.startswith("/"):
        return ""
    target = "index.html" if joined == "." else joined + "/index.html" if plain_path.endswith("/") else joined
    return target if target in files else ""


def _fragment_verdict(link: str, target: str, fragment: str, scanned: Mapping[str, PageLinks]) -> Verdict | None:
    """_check_link's verdict on the #fragment of a link whose page part leads to target."""
    ids = scanned.get(target)
    if fragment and ids is not None and not ids.has_id(fragment):
        return f"broken link '{link}': {target} has no id '{fragment}'", None
    return None


def _check_link(page_path: str, link: str, files: set[str] | Mapping[str, bytes], scanned: Mapping[str, PageLinks],
                external: Counter[str]) -> Verdict | None:
    parts = urlsplit(link)
    if parts.scheme in ("http", "https"):
        host: str = (parts.hostname or "").lower()
        if host in _LOCAL_HOSTS or host.endswith(".localhost"):
            return f"link to a local address '{link}'", None
        external[link] += 1
        return None
    if parts.scheme in ("mailto", "tel", "data"):
        return None
    if parts.scheme == "file" or len(parts.scheme) == 1 or link.startswith("\\\\"):
        return f"link to a file on this computer '{link}'", None
    if parts.scheme:
        return f"link with an unsupported scheme '{link}'", None
    if link.startswith("//"):
        return f"protocol-relative link '{link}' (write https://)", None
    if link.startswith(_FILE_SYSTEM_ROOTS):
        return f"link to a file on this computer '{link}'", None
    if link.startswith("/"):
        relative = posixpath.relpath(parts.path.lstrip("/") or ".", posixpath.dirname(page_path) or ".")
        relative += "/" if parts.path.endswith("/") and relative != "." else ""
        return (f"root-absolute link '{link}' breaks when the site is served under a subpath",
                f"use a relative link: '{'./' if relative == '.' else relative}{link[len(parts.path):]}'")
    if not parts.path:
        target = page_path
    else:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_path), unquote(parts.path)))
        if joined.startswith("..") or joined.startswith("/"):
            return f"link '{link}' points outside the site", None
        target = joined + "/index.html" if parts.path.endswith("/") and joined != "." else joined
        if joined == ".":
            target = "index.html"
        if target not in files and target + "/index.html" in files:
            return f"link '{link}' needs a trailing slash ('{parts.path}/')", None
        if target not in files and target.lower().endswith(_PICTURE_ENDINGS) and not target.startswith("assets/"):
            return (f"broken link '{link}': there is no {target} in the site", "a picture goes in content/images/, "
                    "is described in content/pictures.yaml and is placed with a line '::: picture ID'")
        if target not in files:
            hint = _missing_page_hint(page_path, unquote(parts.path), target, files)
            return f"broken link '{link}': there is no {target} in the site", hint
    if parts.fragment:
        ids = scanned.get(target)
        if ids is not None and not ids.has_id(unquote(parts.fragment)):
            return f"broken link '{link}': {target} has no id '{unquote(parts.fragment)}'", None
    return None


def _missing_page_hint(page_path: str, link_path: str, target: str, files: set[str] | Mapping[str, bytes]) -> str | None:
    """The page a link to a missing file most likely meant, as a link from page_path: the page a Markdown
    file makes ('background.md', beside this page's own file, is '../background/'), else the nearest page."""
    folder = posixpath.dirname(page_path) or "."
    if link_path.endswith(".md"):
        # The link is read from the page's own .md file: a page's file sits in its page's parent folder.
        source_folder = posixpath.dirname(folder) if page_path.endswith("/index.html") else folder
        for stem in (posixpath.normpath(posixpath.join(source_folder, link_path[:-3])), target[:-3]):
            made = "index.html" if stem in ("index", ".") else f"{stem.removesuffix('/index')}/index.html"
            if made in files:
                return f"link to the page's address, not its file: '{_link_to(folder, made)}'"
    if not target.endswith("/index.html"):
        return None
    # A link that climbs too few folders (a page of that name elsewhere), or a mistyped page name (a page
    # whose folder, or else whose name, is nearly the same: one letter off, say).
    pages = sorted((path for path in files if path.endswith("/index.html")), key=lambda path: (len(path), path), reverse=True)
    wanted = posixpath.dirname(target)
    by_folder = {posixpath.dirname(path): path for path in pages}
    by_name = {posixpath.basename(posixpath.dirname(path)): path for path in pages}  # the shortest path of a name
    near = by_name.get(posixpath.basename(wanted))
    if near is None and (close := closest(wanted, by_folder, cutoff=0.8)):
        near = by_folder[close]
    if near is None and (close := closest(posixpath.basename(wanted), by_name, cutoff=0.8)):
        near = by_name[close]
    return f"did you mean '{_link_to(folder, near)}'?" if near else None


def _link_to(folder: str, page: str) -> str:
    """The relative link from a page in `folder` to the page at out path `page` (an index.html)."""
    link = posixpath.relpath(posixpath.dirname(page) or ".", folder)
    return "./" if link == "." else link + "/"


# A missing file with one of these endings, outside the engine's assets/, is a writer's picture placed the
# Markdown way: its problem says where pictures go.
_PICTURE_ENDINGS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".svg", ".avif")


def check_output(folder: Path, base_url: str) -> CheckReport:
    """Check the links of an already built folder (`build.py check`)."""
    files = {p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()}
    scanned = {path: scan_html((folder / path).read_bytes()) for path in sorted(files) if path.endswith(".html")}
    return check_links(scanned, files, folder.name, base_url, jobs=None)


def check_online(addresses: list[str], timeout: float = 10.0, workers: int = 8) -> list[tuple[str, str]]:
    """Ask each external address over the network (HEAD, then GET if refused); return (address, failure).

    Off by default (`build.py check --online`): it is slow, and a site's
    correctness should not depend on other sites being up.
    """
    # Imported here: only this command needs them, and they would lengthen every build's start-up.
    from concurrent.futures import ThreadPoolExecutor
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen

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
