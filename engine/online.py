"""`build.py check --online`, for the sources: each web source asked over the network -> a report.

Per source: the status its address answers with and the redirects on the way; for an address that
is dead (no answer, or HTTP 400 and above), whether its archived copy answers. Never part of a
build: it is slow, and the site's correctness must not depend on other sites being up.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from .data import ARCHIVE_HOSTS, ARCHIVE_SEARCH, SOURCES_FILE, Source
from .errors import Problem

_AGENT = "explainer-source-check/1"
_MAX_REDIRECTS = 10


@dataclass(frozen=True)
class Answer:
    """What an address answered: its final status (None: no answer), the redirects followed as
    (status, next address), and why there was no answer."""

    url: str
    status: int | None
    redirects: tuple[tuple[int, str], ...] = ()
    error: str = ""

    @property
    def is_dead(self) -> bool:
        return self.status is None or self.status >= 400

    def describe(self) -> str:
        """`HTTP 200`, `HTTP 200 after 301 -> https://…`, or why nothing answered."""
        said = f"HTTP {self.status}" if self.status is not None else f"no answer ({self.error})"
        hops = ", ".join(f"{code} -> {target}" for code, target in self.redirects)
        return f"{said} after {hops}" if hops else said


@dataclass(frozen=True)
class SourceReport:
    """One source asked online; `archive` is asked only when the address itself is dead."""

    source: Source
    answer: Answer
    archive: Answer | None

    def line(self) -> str:
        text = f"{self.source.id}: {self.answer.describe()}"
        if self.answer.is_dead and urlsplit(self.source.url).hostname not in ARCHIVE_HOSTS:
            text += f"; archived copy: {self.archive.describe()}" if self.archive else "; no archived copy"
        return text

    def problem(self) -> Problem | None:
        """A warning for a dead address whose archived copy answers, an error when readers have neither."""
        if not self.answer.is_dead:
            return None
        where = f"source '{self.source.id}' is dead ({self.answer.describe()})"
        if self.archive is not None and not self.archive.is_dead:
            return Problem(SOURCES_FILE, self.source.line, f"{where}; its archived copy answers",
                           "readers still reach it through the archived copy", is_warning=True)
        if self.archive is None and urlsplit(self.source.url).hostname in ARCHIVE_HOSTS:
            return Problem(SOURCES_FILE, self.source.line, f"{where}, and its address is already an archive's",
                           "try again later, or find another copy")
        if self.archive is None:
            return Problem(SOURCES_FILE, self.source.line, f"{where} and has no archived copy",
                           f"look for one at {ARCHIVE_SEARCH}{self.source.url}")
        return Problem(SOURCES_FILE, self.source.line,
                       f"{where}, and so is its archived copy ({self.archive.describe()})",
                       "replace the url or the archive_url with an address that answers")


class _Recorder(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, recording each as (status, next address)."""

    max_redirections = _MAX_REDIRECTS

    def __init__(self) -> None:
        self.hops: list[tuple[int, str]] = []

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        self.hops.append((code, newurl))
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def ask(url: str, timeout: float = 10.0) -> Answer:
    """Ask one address (HEAD, then GET when HEAD is refused), following redirects."""
    answer = Answer(url, None, (), "not asked")
    for method in ("HEAD", "GET"):
        recorder = _Recorder()
        opener = urllib.request.build_opener(recorder)
        request = urllib.request.Request(url.split("#", 1)[0], method=method, headers={"User-Agent": _AGENT})
        try:
            with opener.open(request, timeout=timeout) as response:
                return Answer(url, response.status, tuple(recorder.hops))
        except HTTPError as error:
            error.close()  # it holds the open response
            answer = Answer(url, error.code, tuple(recorder.hops))
            if method == "HEAD" and error.code in (403, 405, 501):
                continue  # some servers refuse HEAD but answer GET
            return answer
        except (URLError, OSError, ValueError) as error:
            return Answer(url, None, tuple(recorder.hops), str(getattr(error, "reason", error)))
    return answer


def check_sources(sources: Iterable[Source], timeout: float = 10.0, workers: int = 8) -> list[SourceReport]:
    """Ask every source's address, and the archived copy of each that is dead, in the file's order."""
    listed = sorted(sources, key=lambda source: source.line)

    def report(source: Source) -> SourceReport:
        answer = ask(source.url, timeout)
        archive = ask(source.archive_url, timeout) if answer.is_dead and source.archive_url else None
        return SourceReport(source, answer, archive)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(report, listed))
