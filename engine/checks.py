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
import re
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from sys import intern
from urllib.parse import unquote, urlsplit

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


class PageLinks:
    """What the checker needs from one HTML file: its ids, its outgoing links with their lines, and
    closing tags that close nothing.

    Kept compact, since a build holds every page's until the link check (issue 8: peak memory
    at 10,000 pages): ids in a sorted tuple (a set's table is four times its size), link
    targets in a tuple and their lines in an array, not a tuple and an int object per link.
    """

    __slots__ = ("ids", "_targets", "_lines", "parse_problems")

    def __init__(self, ids: Iterable[str] = (), links: Iterable[tuple[str, int]] = (),
                 parse_problems: Iterable[tuple[int, str]] = ()) -> None:
        self.ids: tuple[str, ...] = tuple(sorted(set(ids)))
        pairs = list(links)
        self._targets = tuple(target for target, _ in pairs)
        self._lines = array("I", [line for _, line in pairs])
        self.parse_problems: tuple[tuple[int, str], ...] = tuple((line, message) for line, message in parse_problems)

    @classmethod
    def of_scan(cls, ids: Iterable[str], targets: Iterable[str], lines: array[int],
                parse_problems: Iterable[tuple[int, str]]) -> PageLinks:
        """From a scan's link targets and their lines, kept apart as they were found."""
        made = cls(ids, (), parse_problems)
        made._targets, made._lines = tuple(targets), lines
        return made

    def interned(self) -> PageLinks:
        """The same links with their ids and targets interned in this process: a build keeps every
        page's links until the link check, and pages repeat most of theirs (issue 8: peak memory).

        Made from the parts as they are: ids stay sorted, lines stay one array (the build does
        this for every page a worker sends back)."""
        made = PageLinks.__new__(PageLinks)
        made.ids, made._targets = tuple(map(intern, self.ids)), tuple(map(intern, self._targets))
        made._lines, made.parse_problems = self._lines, self.parse_problems
        return made

    def has_id(self, name: str) -> bool:
        """Whether the page has an element with this id (or <a name>)."""
        index = bisect_left(self.ids, name)
        return index < len(self.ids) and self.ids[index] == name

    @property
    def links(self) -> list[tuple[str, int]]:
        """(target, line) for each link, in document order."""
        return list(self.each_link())

    @property
    def targets(self) -> tuple[str, ...]:
        """Each link's target, in document order (their lines are `lines`)."""
        return self._targets

    @property
    def lines(self) -> array[int]:
        return self._lines

    def each_link(self) -> Iterator[tuple[str, int]]:
        """The links one by one: a sources list of 10,000 sections has 200,000 (issue 8: peak memory)."""
        return zip(self._targets, self._lines, strict=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PageLinks):
            return NotImplemented
        return (self.ids, self._targets, self._lines, self.parse_problems) == (
            other.ids, other._targets, other._lines, other.parse_problems)

    __hash__ = None  # type: ignore[assignment]  # equal by value, but not immutable enough to hash

    def __repr__(self) -> str:
        return f"PageLinks(ids={self.ids!r}, links={self.links!r}, parse_problems={self.parse_problems!r})"


# The scanner reads markup the way the standard library's html.parser does (a tolerant take on
# the WHATWG tokenizer), so it finds what the HTMLParser scanner it replaced found, at a fraction
# of the cost: one regex walks the document token by token and skips text in C. Its rules, as
# html.parser has them: an attribute name follows a quote, space or slash; a quote opens a value
# only after '='; a '/' right before '>' makes a tag self-closing; script and style hold raw
# text up to their first end tag (nothing after an unclosed one is read); a construct left
# unfinished is text up to the next '>'. One difference: html.parser raises AssertionError on a
# '<![' without a known keyword, which this reads as text up to the next '>' (tests/test_scan.py
# checks the rest against an HTMLParser reference).
_GAP = r"(?:\s|/(?!>))*"
_ATTRIBUTE = r"""(?<=['"\s/])[^\s/>][^\s/=>]*(?:\s*=+\s*(?:'[^']*'|"[^"]*"|(?!['"])[^>\s]*))?"""
_TAG_NAME = r"[a-zA-Z][^\t\n\r\f />\x00]*"
# Atomic, so a tag's attributes are read once, greedily, as html.parser reads them.
_ATTRIBUTES = rf"(?>{_GAP}(?:{_ATTRIBUTE}{_GAP})*)"
# Most tags we write are lowercase with double-quoted, entity-free values; they have a cheap branch.
_SIMPLE_ATTRIBUTE = r' [a-z][-a-z]*="[^"&]*"'
_KEYWORD_END = r"(?![-_.a-zA-Z0-9])"
_TOKEN = re.compile(
    r"<(?:"
    rf"([sS][cC][rR][iI][pP][tT])(?=[\t\n\r\f />\x00])({_ATTRIBUTES})>"  # 1-2: script, then raw text
    r"(?:.*?</\s*[sS][cC][rR][iI][pP][tT]\s*>|.*)"
    rf"|([sS][tT][yY][lL][eE])(?=[\t\n\r\f />\x00])({_ATTRIBUTES})>"  # 3-4: style, then raw text
    r"(?:.*?</\s*[sS][tT][yY][lL][eE]\s*>|.*)"
    # 5-8: simple start tag, attributes, then a closing slash (7), or text alone and the tag's own
    # end tag (8, empty: a leaf element, opened and closed at once; a third of a page's tags)
    rf"|([a-z][a-z0-9]*)((?:{_SIMPLE_ATTRIBUTE})*)(?:(/)>|>(?:[^<]*</\5>()|))"
    rf"|({_TAG_NAME})({_ATTRIBUTES})(/?)>"                # 9-11: any start tag
    r"|/([a-z][a-z0-9]*)>"                                # 12: simple end tag
    r"|/\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*>"                # 13: end tag
    rf"|/({_TAG_NAME})[^>]*>"                             # 14: end tag with junk before its '>'
    r"|!--.*?--\s*>"                                      # comment
    rf"|!\[(?ai:temp|cdata|ignore|include|rcdata){_KEYWORD_END}.*?]\s*]\s*>"  # marked sections
    rf"|!\[(?ai:if|else|endif){_KEYWORD_END}.*?]\s*>"
    r"|[!?/][^>]*>"                                       # declaration, instruction, bogus end tag
    rf"|{_TAG_NAME}{_ATTRIBUTES}(?=[^a-zA-Z=/])"          # a start tag broken by a stray character: text
    r"|[a-zA-Z][^>]*>"                                    # a start tag left open: text up to the next '>'
    r")",
    re.S)
_SIMPLE_ATTRIBUTE_ITEMS = re.compile(r' ([a-z][-a-z]*)="([^"&]*)"')
_ATTRIBUTE_ITEMS = re.compile(r"""(?<=['"\s/])([^\s/>][^\s/=>]*)(\s*=+\s*('[^']*'|"[^"]*"|(?!['"])[^>\s]*))?""")
# An id attribute, or something that looks like one (the attributes are then read in full).
_MAYBE_ID = re.compile(r"""(?<=['"\s/])[iI][dD]\s*=""")
# The one attribute of each tag that holds a link ("" for <meta>, whose content may be one).
_LINK_ATTRIBUTE_OF = dict(_LINK_ATTRIBUTES) | {"meta": ""}


def scan_html(data: bytes) -> PageLinks:
    """Read one HTML document's ids, its links with their lines, and closing tags that close nothing."""
    scanner = LinkScanner()
    scanner.feed(data.decode("utf-8", errors="replace"))
    return scanner.result()


class LinkScanner:
    """scan_html for a document given in parts (streaming.py writes a page too large to hold).

    Each part must end between two tokens of the whole document: `feed` returns False when a
    `<` follows the part's last token, and the caller then scans the page whole instead."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.links = _Links()  # not (target, line) pairs: a sources list has 200,000 (issue 8: peak memory)
        self.problems: list[tuple[int, str]] = []
        self.open_tags: list[str] = []
        self.lines_before = 0  # lines of the parts fed so far

    def result(self) -> PageLinks:
        return PageLinks.of_scan(self.ids, self.links.targets, self.links.lines, self.problems)

    def feed(self, text: str) -> bool:
        """Scan one part; False when it ends inside a token (see the class)."""
        ids, links, problems, open_tags = self.ids, self.links, self.problems, self.open_tags
        targets, lines = links.targets, links.lines
        line, counted = 1 + self.lines_before, 0  # lines are counted up to `counted` only when one is needed
        match: re.Match[str] | None = None
        for match in _TOKEN.finditer(text):
            kind = match.lastindex  # the last group of the branch that matched, see _TOKEN
            if kind is None:
                continue  # a comment, a declaration, text: nothing to see
            if kind <= 8:  # a simple start tag, a leaf element (8: read with its end tag), script or style
                if kind >= 6:
                    tag, attributes = match.group(5, 6)
                    if attributes and ((link_attribute := _LINK_ATTRIBUTE_OF.get(tag)) is not None
                                       or ' id="' in attributes):
                        start = match.start()
                        line += text.count("\n", counted, start)
                        counted = start
                        if tag == "meta":
                            _note_attributes(tag, _SIMPLE_ATTRIBUTE_ITEMS.findall(attributes), line, ids, links)
                        else:  # _note_attributes, inlined for the tags a page is made of (a fifth are links)
                            for name, value in _SIMPLE_ATTRIBUTE_ITEMS.findall(attributes):
                                if name == link_attribute:
                                    targets.append(value)
                                    lines.append(line)
                                elif name == "id" or (name == "name" and tag == "a"):
                                    ids.add(value)
                    if kind == 6 and tag not in _VOID:  # open until its end tag (7: self-closing)
                        open_tags.append(tag)
                    continue
                tag, attributes = match.group(kind - 1).lower(), match.group(kind)  # script or style and
                slash = "/"  # their raw text: opened and closed at once
            elif kind <= 11:
                tag, attributes, slash = match.group(9, 10, 11)
                tag = tag.lower()
            else:
                tag = match.group(kind)
                if kind != 12:
                    tag = tag.lower()
                if open_tags and open_tags[-1] == tag:
                    open_tags.pop()
                elif tag in _VOID:
                    pass
                elif tag in open_tags:
                    while open_tags.pop() != tag:
                        pass
                elif tag not in ("p", "li"):
                    start = match.start()
                    line += text.count("\n", counted, start)
                    counted = start
                    problems.append((line, f"closing </{tag}> has no matching opening tag"))
                continue
            if attributes and (tag in _LINK_ATTRIBUTE_OF or _MAYBE_ID.search(attributes)):
                start = match.start()
                line += text.count("\n", counted, start)
                counted = start
                _note_attributes(tag, _read_attributes(attributes), line, ids, links)
            if not slash and tag not in _VOID:
                open_tags.append(tag)  # a self-closing tag is opened and closed at once
        self.lines_before += text.count("\n")
        return text.find("<", match.end() if match is not None else 0) < 0


def _read_attributes(attributes: str) -> list[tuple[str, str | None]]:
    """A start tag's (name, value) pairs as html.parser gives them: names lowercased, entities decoded."""
    pairs: list[tuple[str, str | None]] = []
    for name, equals, value in _ATTRIBUTE_ITEMS.findall(attributes):
        if not equals:
            pairs.append((name.lower(), None))
        else:
            pairs.append((name.lower(), unescape(value[1:-1] if value[:1] in ("'", '"') else value)))
    return pairs


class _Links:
    """A scan's links as they are found: targets in a list, lines in an array."""

    __slots__ = ("targets", "lines")

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.lines = array("I")

    def append(self, link: tuple[str, int]) -> None:
        self.targets.append(link[0])
        self.lines.append(link[1])


def _note_attributes(tag: str, pairs: list[tuple[str, str]] | list[tuple[str, str | None]], line: int,
                     ids: set[str], links: _Links) -> None:
    """Add a start tag's ids and links, in the order html.parser reports them."""
    values = dict(pairs)
    if len(values) < len(pairs):  # a repeated attribute: each copy counts
        for name, value in pairs:
            if value is not None and (name == "id" or (tag == "a" and name == "name")):
                ids.add(value)
            if value is not None and name == _LINK_ATTRIBUTE_OF.get(tag):
                links.append((value, line))
    else:
        if (value := values.get("id")) is not None:
            ids.add(value)
        if (value := values.get(_LINK_ATTRIBUTE_OF.get(tag, ""))) is not None:
            links.append((value, line))
        if tag == "a" and (value := values.get("name")) is not None:
            ids.add(value)
    if tag == "meta" and (values.get("property") or values.get("name")) in _URL_METAS and values.get("content"):
        links.append((values["content"] or "", line))


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
    # Pages repeat the same links (navigation, sources, glossary): each is checked once per folder,
    # or once in all when it means the same on every page, and its external count replayed (issue 8:
    # this loop dominated rebuilds). The folder's memo goes when the next folder starts: kept for
    # the whole site, it held every page's links at once (issue 8: peak memory at 10,000 pages).
    # A link that climbs to the site's root first ('../../x' from two folders down) means the same
    # from every folder that deep: it is remembered by depth (each section is a folder of its own).
    anywhere: dict[tuple[str, str], tuple[str | None, bool]] = {}
    in_folder: dict[tuple[str, str], tuple[str | None, bool]] = {}
    targets: dict[tuple[str, str], str] = {}  # (folder or climb, a link's page part) -> its page, or ""
    folder: str | None = None
    climb = ""
    for path in sorted(scanned if only is None else only & scanned.keys()):
        if posixpath.dirname(path) != folder:
            folder, in_folder = posixpath.dirname(path), {}
            climb = "../" * path.count("/")
        page = scanned[path]
        source = f"{output_name}/{path}"
        for line, parse_message in page.parse_problems:
            problems.append(Problem(source, line, parse_message))
        for link, line in page.each_link():
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
                if link.startswith(("http://", "https://", "/")):
                    seen, key = anywhere, ("", link)
                elif link[:1] == "#" and not _URL_SPACE.search(link):
                    # A fragment of this page (half the links of a page): what _check_link decides, directly.
                    fragment = unquote(link[1:])
                    if fragment and not page.has_id(fragment):
                        problems.append(Problem(source, line, f"broken link '{link}': {path} has no id '{fragment}'"))
                    continue
                elif not link or link[0] in "#?":
                    seen, key = in_folder, (path, link)
                elif climb and link.startswith(climb):
                    seen, key = anywhere, (climb, link)
                else:
                    seen, key = in_folder, (folder, link)
                known = seen.get(key)
                if known is None:
                    if len(seen) >= _MEMO_LIMIT:
                        seen.clear()  # a sources list's 200,000 links, each once, would fill it for nothing
                    counted = external[link]
                    link_message = _FALLBACK
                    target_part, hash_mark, fragment = link.partition("#")
                    if hash_mark and _PLAIN_PATH.fullmatch(target_part) and not _URL_SPACE.search(fragment):
                        # A #fragment of another page (a sources list's 200,000 links, each to a heading):
                        # where the page part leads is remembered, and the fragment looked up there.
                        where = (key[0], target_part)
                        target = targets.get(where)
                        if target is None:
                            if len(targets) >= _MEMO_LIMIT:
                                targets.clear()
                            target = targets[where] = _plain_target(path, target_part, all_paths)
                        if target:
                            link_message = _fragment_message(link, target, unquote(fragment), scanned)
                    if link_message is _FALLBACK:
                        link_message = _check_link(path, link, all_paths, scanned, external)
                    known = seen[key] = (link_message, external[link] > counted)
                elif known[1]:
                    external[link] += 1
                link_message = known[0]
            if link_message:
                problems.append(Problem(source, line, link_message))
    return CheckReport(problems, external, len(scanned))


# What urlsplit removes from a link before splitting it: such links take the long way.
_URL_SPACE = re.compile(r"[\t\r\n]")
# A link's page part that urlsplit reads as a path alone, and unquote leaves as it is.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._~-][A-Za-z0-9._~/-]*")
_FALLBACK = "take the long way"


def _plain_target(page_path: str, plain_path: str, files: set[str] | Mapping[str, bytes]) -> str:
    """The file a _PLAIN_PATH link part leads to from page_path, as _check_link finds it; "" when
    _check_link would report a problem with it (the caller then asks _check_link)."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_path), plain_path))
    if joined.startswith("..") or joined.startswith("/"):
        return ""
    target = "index.html" if joined == "." else joined + "/index.html" if plain_path.endswith("/") else joined
    return target if target in files else ""


def _fragment_message(link: str, target: str, fragment: str, scanned: Mapping[str, PageLinks]) -> str | None:
    """_check_link's verdict on the #fragment of a link whose page part leads to target."""
    ids = scanned.get(target)
    if fragment and ids is not None and not ids.has_id(fragment):
        return f"broken link '{link}': {target} has no id '{fragment}'"
    return None
# The most links check_scanned remembers at once.
_MEMO_LIMIT = 8192


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
        if ids is not None and not ids.has_id(unquote(parts.fragment)):
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
    # Imported here: they cost every build 20-40 ms of start-up, and only this command needs them.
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
