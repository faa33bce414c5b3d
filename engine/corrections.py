"""Stage 2c: content/corrections.yaml -> Correction records.

A list of dated corrections and clarifications, each naming a page by its slug. Refuses entries
that are not mappings, unknown keys, a missing or empty field, a date that is not a whole day and a
kind other than correction or clarification; whether the page exists and was already published
then is checked against the pages (site.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .dates import PartialDate
from .errors import DRAFT_HINT, Problem, did_you_mean
from .fields import Fields, from_yaml, read_record
from .yamlfile import YamlList, YamlMap

CORRECTIONS_FILE = "content/corrections.yaml"
KINDS = ("correction", "clarification")


@dataclass(frozen=True)
class Correction:
    """One change to what a page told its readers: what it said, what it says now, and when."""

    position: int  # in the file, so corrections of the same day keep their order
    date: PartialDate = field(metadata=from_yaml(required=True))
    page: str = field(default="", metadata=from_yaml(required=True))  # the slug of the corrected page
    was: str = field(default="", metadata=from_yaml(required=True))
    now: str = field(default="", metadata=from_yaml(required=True))
    kind: str = field(default="", metadata=from_yaml(required=True))
    language: str = ""  # of the page text it corrects, when not the site's default language
    line: int = 0
    page_line: int = 0
    date_line: int = 0
    number: int = 1  # among the corrections of the same page on the same day, from 1

    @property
    def anchor(self) -> str:
        """The id of the correction at the page's foot; part of its feed entry's id, so it must not change."""
        return f"correction-{self.date.iso()}-{self.number}"

    def text(self, strings: Mapping[str, str]) -> str:
        """The correction in one sentence of plain text (JSON-LD and the feed), in the words of a strings table."""
        return f"{strings.get('page_said', 'This page said:')} {self.was} {strings.get('now_says', 'It now says:')} {self.now}"

    def json_ld(self, strings: Mapping[str, str]) -> dict[str, str]:
        """The schema.org CorrectionComment a page's `correction` lists."""
        return {"@type": "CorrectionComment", "datePublished": self.date.iso(), "text": self.text(strings)}


def read_corrections(data: Any, problems: list[Problem]) -> tuple[Correction, ...]:
    """The corrections of a parsed corrections.yaml (None when there is none), in the file's order."""
    if data is None:
        return ()
    if not isinstance(data, YamlList):
        line = data.line if isinstance(data, YamlMap) else 1
        problems.append(Problem(CORRECTIONS_FILE, line, "corrections.yaml must be a list of corrections",
                                "start each correction with '- date:'"))
        return ()
    corrections = []
    for position, entry in enumerate(data):
        line = data.line_of(position)
        if not isinstance(entry, YamlMap):
            problems.append(Problem(CORRECTIONS_FILE, line, "each correction must be a mapping of fields",
                                    "give it date, page, was, now and kind"))
            continue
        entry.line = line
        fields = Fields(entry, CORRECTIONS_FILE, problems)
        before = len(problems)
        correction = read_record(Correction, fields, "correction", position=position, line=line,
                                 page_line=entry.line_of("page"), date_line=entry.line_of("date"), number=1)
        if correction.kind and correction.kind not in KINDS:
            fields.error("kind", f"unknown kind '{correction.kind}'",
                         did_you_mean(correction.kind, KINDS) or f"write {' or '.join(KINDS)}")
        if correction.date is not None and correction.date.precision != "day":
            fields.error("date", f"a correction is dated to the day, not '{correction.date.iso()}'",
                         "write YYYY-MM-DD")
        if len(problems) == before:
            corrections.append(correction)
    return _numbered(corrections)


def _numbered(corrections: list[Correction]) -> tuple[Correction, ...]:
    """Each correction numbered among those of its page and day, in the file's order."""
    seen: Counter[tuple[str, PartialDate]] = Counter()
    numbered = []
    for correction in corrections:
        seen[correction.page, correction.date] += 1
        numbered.append(replace(correction, number=seen[correction.page, correction.date]))
    return tuple(numbered)


def check_corrections(corrections: tuple[Correction, ...], published: dict[str, PartialDate | None],
                      site_published: PartialDate | None) -> list[Problem]:
    """Problems with corrections that name no page (`published` maps every slug to the page's
    `published` date) or are dated before the page, or else the site, was published."""
    problems = []
    for correction in corrections:
        if correction.page not in published:
            problems.append(Problem(CORRECTIONS_FILE, correction.page_line, f"unknown page '{correction.page}'",
                                    did_you_mean(correction.page, published) or f"name a page by its slug; {DRAFT_HINT}"))
            continue
        since = published[correction.page] or site_published
        if since is not None and correction.date.first_day() < since.first_day():
            whose = "the page" if published[correction.page] else "the site"
            problems.append(Problem(CORRECTIONS_FILE, correction.date_line,
                                    f"dated {correction.date.iso()}, before {whose} was published ({since.iso()})",
                                    "a correction can only follow publication: check the date"))
    return problems


def last_change(updated: PartialDate | None, corrections: tuple[Correction, ...]) -> PartialDate | None:
    """A page's last change, shown as its update and given as JSON-LD's dateModified: its `updated` or its
    latest correction, whichever is later."""
    dates = [date for date in (updated, *(c.date for c in corrections)) if date is not None]
    return max(dates, key=lambda date: date.last_day()) if dates else None
