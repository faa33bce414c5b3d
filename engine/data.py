"""Stage 2b: content/{sources,timeline,glossary,figures,corrections,pictures}.yaml -> typed records.

Each file is optional. Refuses missing required fields, bad or impossible
dates, non-http(s) URLs, empty titles, duplicate ids and references to
unknown sources or categories within the data itself.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from .cache import Cache, stable_digest
from .corrections import CORRECTIONS_FILE, Correction, read_corrections
from .dates import PartialDate
from .errors import BuildError, Problem, did_you_mean
from .fields import Fields, from_yaml, read_record
from .languages import localized
from .limits import costly_markdown
from .safety import unsafe_markup
from .settings import LANGUAGE_TAG, Settings
from .sourcefiles import read_source_bytes
from .yamlfile import YamlList, YamlMap, decode_utf8, load_yaml

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Web archives whose addresses need no archived copy of their own, and where to look for one.
ARCHIVE_HOSTS = ("web.archive.org", "archive.org", "archive.today", "archive.ph")
ARCHIVE_SEARCH = "https://web.archive.org/web/*/"


@dataclass(frozen=True)
class Source:
    """One source, its fields in the order README documents them."""

    id: str
    title: str = field(default="", metadata=from_yaml(required=True))
    publisher: str = field(default="", metadata=from_yaml(required=True))
    authors: tuple[str, ...] = ()
    date: PartialDate | None = field(default=None, metadata=from_yaml(required=True))
    url: str = field(default="", metadata=from_yaml(required=True, read=Fields.url))
    url_note: str = ""
    archive_url: str = field(default="", metadata=from_yaml(read=Fields.url))
    accessed: PartialDate | None = None
    kind: str = field(default="", metadata=from_yaml(required=True))
    note: str = ""
    language: str = ""  # of its title, when not the site's default language
    line: int = 0
    # Of its publisher's name, in another language's records: the default language's unless the data give a
    # name in that one ("" in the default language's records).
    publisher_language: str = ""


@dataclass(frozen=True)
class TimelineEvent:
    """One dated event; `position` keeps the file's order for events on the same date."""

    position: int
    date: PartialDate = field(metadata=from_yaml(required=True))
    title: str = field(metadata=from_yaml(required=True))
    body: str = ""
    sources: tuple[str, ...] = field(default=(), metadata=from_yaml(required=True))
    category: str = field(default="", metadata=from_yaml(required=True))
    line: int = 0
    body_line: int = 0
    approximate: str = field(default="", metadata=from_yaml(read=lambda *args: _approximate(*args)))
    section: str = ""
    section_line: int = 0
    is_highlight: bool = field(default=False, metadata=from_yaml("highlight"))

    @property
    def anchor(self) -> str:
        return f"event-{self.date.iso()}-{self.position}"


@dataclass(frozen=True)
class GlossaryTerm:
    id: str
    term: str = field(metadata=from_yaml(required=True))
    definition: str = field(metadata=from_yaml(required=True))
    line: int = 0
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FigureValue:
    label: str
    value: float


@dataclass(frozen=True)
class Figure:
    id: str
    title: str = field(metadata=from_yaml(required=True))
    unit: str = field(metadata=from_yaml(required=True))
    values: tuple[FigureValue, ...] = field(default=(), metadata=from_yaml(read=lambda *args: _figure_values(*args)))
    sources: tuple[str, ...] = field(default=(), metadata=from_yaml(required=True))
    line: int = 0
    note: str = ""
    axis_label: str = ""
    kind: str = field(default="bar", metadata=from_yaml(read=lambda *args: _figure_kind(*args)))


@dataclass(frozen=True)
class Picture:
    """A writer's picture: its file under content/, and the words every use of it must carry."""

    id: str
    file: str = field(metadata=from_yaml(required=True))  # relative to content/, e.g. images/crossing.jpg
    alt: str = field(metadata=from_yaml(required=True))
    caption: str = field(metadata=from_yaml(required=True))
    credit: str = field(metadata=from_yaml(required=True))
    line: int = 0


# How a figure is drawn: "bar" vertical bars, "hbar" horizontal bars (long labels), "line" a series over time.
CHART_KINDS = ("bar", "hbar", "line")


@dataclass(frozen=True)
class SiteData:
    """The named data collections, each passed to templates by its name."""

    sources: dict[str, Source] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    events: tuple[TimelineEvent, ...] = ()
    glossary: dict[str, GlossaryTerm] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    corrections: tuple[Correction, ...] = ()
    pictures: dict[str, Picture] = field(default_factory=dict)
    digest: str = ""  # of the data files' bytes: what the cache keeps these records by
    # language -> the same records in that language (`title_es` in place of `title`), for each language
    # besides the default
    translations: dict[str, SiteData] = field(default_factory=dict)

    def language(self, code: str) -> SiteData:
        """The records as the pages of language `code` show them."""
        return self.translations.get(code, self)


SOURCES_FILE = "content/sources.yaml"
TIMELINE_FILE = "content/timeline.yaml"
GLOSSARY_FILE = "content/glossary.yaml"
FIGURES_FILE = "content/figures.yaml"
PICTURES_FILE = "content/pictures.yaml"


def load_data(settings: Settings, cache: Cache | None = None) -> tuple[SiteData, list[Problem]]:
    """Load every data file that exists; raise BuildError with all problems. The cache keeps the
    records of files that loaded without an error, with their warnings, by their bytes."""
    problems: list[Problem] = []
    raw = {name: _read_file(settings, name, problems) for name in (SOURCES_FILE, TIMELINE_FILE, GLOSSARY_FILE, FIGURES_FILE,
                                                                    CORRECTIONS_FILE, PICTURES_FILE)}
    key = stable_digest([settings.languages, *((name, hashlib.sha256(data).hexdigest())
                                               for name, data in raw.items() if data is not None)])
    known = cache.get("data", key) if cache is not None and not problems else None
    if isinstance(known, tuple) and len(known) == 2 and isinstance(known[0], SiteData):
        return known[0], list(known[1])
    parsed = {name: _parse_file(name, data, problems) for name, data in raw.items()}
    languages = settings.languages or (settings.language,)
    data = _read_data({name: localized(tree, languages[0], languages) for name, tree in parsed.items()}, key, problems)
    translations = {}
    for language in languages[1:]:
        # A translation that breaks a rule is reported once, at its own line, like any other field.
        own: list[Problem] = []
        read = _read_data({name: localized(tree, language, languages) for name, tree in parsed.items()}, key, own)
        translations[language] = _with_publisher_languages(read, parsed[SOURCES_FILE], language, languages[0])
        problems += [problem for problem in own if problem not in problems]
    if any(not p.is_warning for p in problems):
        raise BuildError(problems)
    data = replace(data, translations=translations)
    if cache is not None:
        cache.put("data", key, (data, tuple(problems)))
    return data, problems


def _with_publisher_languages(own: SiteData, sources_tree: Any, language: str, default_language: str) -> SiteData:
    """Another language's records, each source's publisher marked with the language of the key it comes from:
    `publisher_es` is Spanish; `publisher` alone is in the default language (a newspaper's name, say)."""
    entries = sources_tree if isinstance(sources_tree, YamlMap) else YamlMap()

    def publisher_language(source_id: str) -> str:
        entry = entries.get(source_id)
        return language if isinstance(entry, YamlMap) and f"publisher_{language}" in entry else default_language
    return replace(own, sources={source_id: replace(source, publisher_language=publisher_language(source_id))
                                 for source_id, source in own.sources.items()})


def _read_data(loaded: dict[str, Any], key: str, problems: list[Problem]) -> SiteData:
    """The records of the parsed data files as one language reads them."""
    before = len(problems)
    sources = _read_sources(loaded[SOURCES_FILE], problems)
    # With sources.yaml unreadable, every citation elsewhere would look unknown: say it once.
    sources_ok = not any(p.source == SOURCES_FILE and not p.is_warning for p in problems[before:]) \
        and not (loaded[SOURCES_FILE] is not None and not isinstance(loaded[SOURCES_FILE], YamlMap))
    if not sources_ok:
        sources = _AnySource(sources)
    categories, events = _read_timeline(loaded[TIMELINE_FILE], sources, problems)
    glossary = _read_glossary(loaded[GLOSSARY_FILE], problems)
    figures = _read_figures(loaded[FIGURES_FILE], sources, problems)
    corrections = read_corrections(loaded[CORRECTIONS_FILE], problems)
    pictures = {picture_id: read_record(Picture, Fields(entry, PICTURES_FILE, problems), "picture", id=picture_id, line=line)
                for picture_id, entry, line in _mapping_of_ids(loaded[PICTURES_FILE], PICTURES_FILE, "picture", problems)}
    return SiteData(sources, categories, events, glossary, figures, corrections, pictures, key)


def _read_file(settings: Settings, source: str, problems: list[Problem]) -> bytes | None:
    file = settings.root / source  # a data file that is absent is not read (None), and not a problem here
    return read_source_bytes(file, settings.root, source, problems) if file.exists() or file.is_symlink() else None


def _parse_file(source: str, raw: bytes | None, problems: list[Problem]) -> Any:
    text = decode_utf8(raw, source, problems) if raw is not None else None
    if text is None:
        return None
    data, yaml_problems = load_yaml(text, source)
    problems.extend(yaml_problems)
    return None if yaml_problems else data


def _mapping_of_ids(data: Any, source: str, what: str, problems: list[Problem]) -> list[tuple[str, YamlMap, int]]:
    """Entries of an id-keyed mapping, each checked to be a mapping with a valid id."""
    if data is None:
        return []
    if not isinstance(data, YamlMap):
        problems.append(Problem(source, 1, f"{source} must be a mapping of {what} ids to their fields"))
        return []
    entries = []
    for key, value in data.items():
        line = data.line_of(key)
        if not isinstance(key, str) or not _ID.match(key):
            problems.append(Problem(source, line, f"'{key}' is not a valid id",
                                    "use lowercase letters, digits and '-', such as my-id"))
            continue
        if not isinstance(value, YamlMap):
            problems.append(Problem(source, line, f"{what} '{key}' must be a mapping of fields"))
            continue
        value.line = line  # a missing field is reported on the entry's id line
        entries.append((key, value, line))
    return entries


class _AnySource(dict[str, Source]):
    """Stands in for the sources when sources.yaml itself is broken: every id counts as known."""

    def __contains__(self, key: object) -> bool:
        return True


def _check_source_ids(ids: tuple[str, ...], sources: dict[str, Source], fields: Fields, key: str) -> None:
    for source_id in ids:
        if source_id not in sources:
            fields.error(key, f"unknown source id '{source_id}'", did_you_mean(source_id, sources))


def _read_sources(data: Any, problems: list[Problem]) -> dict[str, Source]:
    sources = {}
    for source_id, entry, line in _mapping_of_ids(data, SOURCES_FILE, "source", problems):
        fields = Fields(entry, SOURCES_FILE, problems)
        sources[source_id] = source = read_record(Source, fields, "source", id=source_id, line=line,
                                                  publisher_language="")
        _check_inline_markup(source.note, fields, "note")
        _check_inline_markup(source.url_note, fields, "url_note")
        if source.language and not LANGUAGE_TAG.match(source.language):
            fields.error("language", f"'language' must be a language tag such as en or es-MX, not '{source.language}'")
        if source.accessed and source.date and source.accessed.last_day() < source.date.first_day():
            fields.error("accessed", f"accessed {source.accessed.iso()}, before the source's date ({source.date.iso()})")
        # Web pages move and vanish: each keeps an archived copy, unless its address is one already.
        if source.url and not source.archive_url and urlsplit(source.url).hostname not in ARCHIVE_HOSTS:
            problems.append(Problem(SOURCES_FILE, line, f"source '{source_id}' has no archive_url",
                                    f"look for a copy at {ARCHIVE_SEARCH}{source.url}", is_warning=True))
    return sources


def _read_timeline(data: Any, sources: dict[str, Source], problems: list[Problem]
                   ) -> tuple[dict[str, str], tuple[TimelineEvent, ...]]:
    if data is None:
        return {}, ()
    if not isinstance(data, YamlMap):
        problems.append(Problem(TIMELINE_FILE, 1, "timeline.yaml must be a mapping with 'categories' and 'events'"))
        return {}, ()
    top = Fields(data, TIMELINE_FILE, problems)
    top.check_unknown(("categories", "events"), "timeline")
    categories: dict[str, str] = {}
    for category_id, label, _ in _plain_pairs(data.get("categories"), data.line_of("categories"), problems):
        categories[category_id] = label
    raw_events = data.get("events")
    if not isinstance(raw_events, YamlList):
        problems.append(Problem(TIMELINE_FILE, data.line_of("events"), "'events' must be a list of events"))
        return categories, ()
    events = []
    for position, entry in enumerate(raw_events):
        line = raw_events.line_of(position)
        if not isinstance(entry, YamlMap):
            problems.append(Problem(TIMELINE_FILE, line, "each event must be a mapping of fields"))
            continue
        fields = Fields(entry, TIMELINE_FILE, problems)
        event = read_record(TimelineEvent, fields, "event", position=position, line=line, body_line=entry.line_of("body"),
                            section_line=entry.line_of("section"))
        _check_source_ids(event.sources, sources, fields, "sources")
        if event.category and event.category not in categories:
            fields.error("category", f"unknown timeline category '{event.category}'",
                         did_you_mean(event.category, categories) or "add it under 'categories'")
        _check_inline_markup(event.body, fields, "body")
        if event.date is not None:
            events.append(event)
    events.sort(key=lambda event: (event.date, event.position))
    return categories, tuple(events)


def _check_inline_markup(text: str, fields: Fields, key: str) -> None:
    """Inline Markdown in a data field gets the same raw-HTML rules and time limit as a page body."""
    for _, message, hint in dict.fromkeys(unsafe_markup(text)):
        fields.error(key, message, hint)
    if costly := costly_markdown(text):
        fields.error(key, *costly[1:])


def _approximate(fields: Fields, name: str, required: bool) -> str:
    """'approximate: true' shows "about <date>"; a text replaces the date for readers."""
    value = fields.mapping.get(name)
    return "about" if value is True else "" if value is False or value is None else fields.text(name)


def _plain_pairs(data: Any, line: int, problems: list[Problem]) -> list[tuple[str, str, int]]:
    if not isinstance(data, YamlMap):
        problems.append(Problem(TIMELINE_FILE, line, "missing required key 'categories'" if data is None
                                else "'categories' must map category ids to their labels"))
        return []
    pairs = []
    for key, value in data.items():
        key_line = data.line_of(key)
        if not isinstance(key, str) or not _ID.match(key):
            problems.append(Problem(TIMELINE_FILE, key_line, f"'{key}' is not a valid category id",
                                    "use lowercase letters, digits and '-'"))
        elif not isinstance(value, str) or not value.strip():
            problems.append(Problem(TIMELINE_FILE, key_line, f"category '{key}' needs a text label"))
        else:
            pairs.append((key, value.strip(), key_line))
    return pairs


def _read_glossary(data: Any, problems: list[Problem]) -> dict[str, GlossaryTerm]:
    glossary: dict[str, GlossaryTerm] = {}
    seen_words: dict[str, str] = {}
    for term_id, entry, line in _mapping_of_ids(data, GLOSSARY_FILE, "term", problems):
        fields = Fields(entry, GLOSSARY_FILE, problems)
        term = read_record(GlossaryTerm, fields, "glossary", id=term_id, line=line)
        _check_inline_markup(term.definition, fields, "definition")
        for word in (term.term, *term.aliases):
            if word and word in seen_words:
                fields.error("term", f"'{word}' is already used by glossary term '{seen_words[word]}'")
            seen_words[word] = term_id
        glossary[term_id] = term
    return glossary


def _read_figures(data: Any, sources: dict[str, Source], problems: list[Problem]) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for figure_id, entry, line in _mapping_of_ids(data, FIGURES_FILE, "figure", problems):
        fields = Fields(entry, FIGURES_FILE, problems)
        figures[figure_id] = read_record(Figure, fields, "figure", id=figure_id, line=line)
        _check_source_ids(figures[figure_id].sources, sources, fields, "sources")
    return figures


def _figure_kind(fields: Fields, name: str, required: bool) -> str:
    kind = fields.text(name, default="bar")
    if kind not in CHART_KINDS:
        fields.error(name, f"unknown chart kind '{kind}'",
                     did_you_mean(kind, CHART_KINDS) or f"write one of {', '.join(CHART_KINDS)}")
        return "bar"
    return kind


def _figure_values(fields: Fields, name: str, required: bool) -> tuple[FigureValue, ...]:
    raw, problems = fields.mapping.get(name), fields.problems
    if not isinstance(raw, YamlList) or not raw:
        fields.error("values", "'values' must be a non-empty list of {label, value} items")
        return ()
    values = []
    for index, item in enumerate(raw):
        if not isinstance(item, YamlMap):
            problems.append(Problem(FIGURES_FILE, raw.line_of(index), "each value must be a mapping with label and value"))
            continue
        item_fields = Fields(item, FIGURES_FILE, problems)
        item_fields.check_unknown(("label", "value"), "figure value")
        label = item_fields.text("label", required=True)
        number = item_fields.number("value", required=True)
        if number is not None and number < 0:
            item_fields.error("value", "chart values must not be negative")
        elif label and number is not None:
            values.append(FigureValue(label, float(number)))
    return tuple(values)
