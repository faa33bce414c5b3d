"""The plain records several stages pass along, kept apart so that no stage imports another for its types.

A converted body and its headings (markup -> render), the sources a page cites (citations -> the
sources list), a page's links and ids (scan -> checks), a rendered page as the cache keeps it,
and an output file as the writer takes it.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from sys import intern
from typing import NamedTuple

from .errors import BuildError, Problem


class Heading(NamedTuple):
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class ConvertedBody:
    """Markdown's HTML output (with the citation and directive markers still in it) and its headings."""

    html: str
    headings: tuple[Heading, ...]


# A source a page cites: (its id, its number in the page's source list, how many times the page cites
# it). A plain tuple: every page's are kept and read back at each build, and plain tuples unpickle fastest.
Citation = tuple[str, int, int]


class PageLinks:
    """What the link check needs from one HTML file: its ids, its links with their lines, and closing
    tags that close nothing.

    Compact because a build holds every page's until the link check: ids in a sorted tuple, link
    targets in a tuple and their lines in an array, all strings interned.
    """

    __slots__ = ("ids", "targets", "lines", "parse_problems")

    def __init__(self, ids: Iterable[str] = (), targets: Iterable[str] = (), lines: Iterable[int] = (),
                 parse_problems: Iterable[tuple[int, str]] = ()) -> None:
        self.ids: tuple[str, ...] = tuple(sorted(set(map(intern, ids))))
        self.targets: tuple[str, ...] = tuple(map(intern, targets))
        self.lines = array("I", lines)
        self.parse_problems: tuple[tuple[int, str], ...] = tuple(parse_problems)

    def has_id(self, name: str) -> bool:
        """Whether the page has an element with this id (or an <a name>)."""
        ids = self.ids
        index = bisect_left(ids, name)
        return index < len(ids) and ids[index] == name

    def each_link(self) -> Iterator[tuple[str, int]]:
        """(target, line) for each link, in document order."""
        return zip(self.targets, self.lines, strict=True)

    def __getstate__(self) -> tuple[object, ...]:
        return self.ids, self.targets, self.lines, self.parse_problems

    def __setstate__(self, state: tuple[object, ...]) -> None:
        ids, targets, lines, problems = state
        self.ids = tuple(map(intern, ids))  # type: ignore[call-overload]
        self.targets = tuple(map(intern, targets))  # type: ignore[call-overload]
        self.lines = lines  # type: ignore[assignment]
        self.parse_problems = problems  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PageLinks):
            return NotImplemented
        return self.__getstate__() == other.__getstate__()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PageLinks(ids={self.ids!r}, links={list(self.each_link())!r}, parse_problems={self.parse_problems!r})"


class PageFacts(NamedTuple):
    """What every build needs of a rendered page: the digest of its bytes, the sources it cites, the assets
    it uses, the digest of its ids and the cache key of its converted body. The cache keeps every page's
    in one entry, so a page that did not change costs no file read."""

    digest: str
    citations: tuple[Citation, ...]
    assets: tuple[str, ...]
    ids_digest: str
    body_key: str


@dataclass(frozen=True)
class RenderedPage:
    """One page as rendering made it: its bytes, its links and ids, and its facts."""

    html: bytes
    links: PageLinks
    facts: PageFacts

    @classmethod
    def of(cls, html: bytes, citations: tuple[Citation, ...], links: PageLinks, assets: tuple[str, ...],
           body_key: str) -> RenderedPage:
        ids_digest = hashlib.sha256("\0".join(links.ids).encode("utf-8")).hexdigest()
        return cls(html, links, PageFacts(hashlib.sha256(html).hexdigest(), citations, assets, ids_digest, body_key))


@dataclass(frozen=True)
class OutputFile:
    """One file of the built site: where it goes, its bytes, and the inputs it was made from.

    A page carries the digest of its bytes and `load`, which gives them from the page cache; one
    taken from the cache comes without its bytes: a writer that already holds them never asks."""

    out_path: str
    data: bytes
    sources: frozenset[str]
    digest: str = field(default="", compare=False)
    load: Callable[[], bytes] | None = field(default=None, compare=False)

    def content_digest(self) -> str:
        return self.digest or hashlib.sha256(self.data).hexdigest()

    def content(self) -> bytes:
        return self.data if self.data or self.load is None else self.load()

    def clash(self, other: OutputFile) -> BuildError:
        """The error of two inputs that would both write this file's out_path."""
        both = sorted(self.sources | other.sources)
        return BuildError([Problem(both[0] if both else self.out_path, 0,
                                   f"two inputs would write {self.out_path} ({', '.join(both)})")])
