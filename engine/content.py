"""Stage 2: content/**/*.md -> Page records (front matter checked, body kept raw).

Refuses files that are not UTF-8, symlinks that leave the project, front
matter that is missing, unterminated or not a mapping, unknown keys, and two
files that would produce the same URL.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import dates, errors, yamlfile
from .dates import PartialDate
from .errors import BuildError, Problem
from .pagecache import store_cache_file
from .settings import Settings
from .yamlfile import Fields, YamlMap, load_yaml
from .yamlfile import decode_utf8 as decode_utf8  # re-exported for live.py, which reads pages one by one

FRONT_MATTER_KEYS = ("title", "summary", "order", "slug", "updated", "draft", "layout", "change_note")
LAYOUTS_BY_KIND = {"home": "home", "section": "section", "page": "page"}
_FENCE = re.compile(r"^---[ \t]*$")
_FENCE_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_SLUG_SAFE = re.compile(r"[^\w-]+", re.UNICODE)
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_NESTING_MARK = re.compile(r"[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t]))")
_DIRECTIVE_LINE = re.compile(r"^:::[ \t]+([A-Za-z][\w-]*)", re.M)
# Python-Markdown recurses once per level of list or quote: a few hundred levels exhaust the
# stack (and take seconds first), while no readable page needs more than a handful (issue 9).
MAX_NESTING = 100


@dataclass(frozen=True)
class PageMeta:
    """Front matter after validation; see the README's table for each key."""

    title: str
    summary: str
    order: int | None = None
    slug: str = ""
    updated: PartialDate | None = None
    is_draft: bool = False
    layout: str = ""
    change_note: str = ""


# What a released page body reads as (Page.release_body): text no Markdown file can hold.
RELEASED_BODY = "\0released\0"


@dataclass(frozen=True)
class Page:
    """One Markdown file: `source` is relative to the project, `url` to the site root."""

    source: str
    meta: PageMeta
    body: str
    body_line: int
    kind: str
    url: str
    digest: str
    key_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    # The directive names its body places (`::: name` lines), found once when the file is read.
    directives: tuple[str, ...] | None = field(default=None, compare=False, hash=False)

    @property
    def out_path(self) -> str:
        return self.url + "index.html" if self.url else "index.html"

    @property
    def layout(self) -> str:
        return self.meta.layout or LAYOUTS_BY_KIND[self.kind]

    @property
    def slug(self) -> str:
        """The name navigation and timeline events use for this page: its URL without slashes."""
        return self.url.strip("/") or "home"

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)

    def release_body(self) -> None:
        """Let go of the Markdown text, which nothing will read again.

        Only the main process of a one-off build calls it, once a worker has rendered the page
        (parallel.py): each worker holds its own copy, and 10,000 bodies were a third of the
        build's peak memory (issue 8). The one exception to this class being immutable."""
        object.__setattr__(self, "body", RELEASED_BODY)


@dataclass(frozen=True)
class FrontMatter:
    """The raw split of a Markdown file: YAML text, body and the body's first line."""

    yaml_text: str
    body: str
    yaml_line: int
    body_line: int


def split_front_matter(text: str) -> FrontMatter:
    """Split `---` fenced YAML from the body; ValueError says what is missing."""
    text = _normalise_newlines(text)
    if not text.strip():
        raise ValueError("the file is empty; it needs front matter with at least a title and a summary")
    lines = text.split("\n")
    if not _FENCE.match(lines[0]):
        raise ValueError("no front matter: the file must start with a line '---', then title: and summary:, then '---'")
    for index in range(1, len(lines)):
        if _FENCE_END.match(lines[index]):
            return FrontMatter(
                yaml_text="\n".join(lines[1:index]),
                body="\n".join(lines[index + 1:]),
                yaml_line=2,
                body_line=index + 2,
            )
    raise ValueError("the front matter opened on line 1 is never closed: add a line '---' after it")


def lines_outside_code(body: str) -> list[tuple[int, str]]:
    """Body lines (0-based index, text) that are not inside fenced code, with code spans blanked."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for index, line in enumerate(body.split("\n")):
        opener = _FENCE_OPEN.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence) \
                    and not line.strip()[len(opener.group(1)):].strip():
                fence = None
            continue
        if opener:
            fence = opener.group(1)
            continue
        lines.append((index, _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)))
    return lines


# A line can only be nested MAX_NESTING + 1 deep if it starts with that many indent, quote or
# list-marker characters: bodies without such a line skip the line-by-line check (most of a build's reading time).
_DEEP_PREFIX = re.compile(rf"^[ \t>*+\-\d.)]{{{MAX_NESTING + 1},}}", re.M)
# The same test, fast: Python's regex engine tries a `^` of re.M at every character, but it finds
# a literal newline in C (issue 8: the two `^` patterns were a third of reading 10,000 pages).
_DEEP_FIRST_LINE = re.compile(rf"[ \t>*+\-\d.)]{{{MAX_NESTING + 1}}}")
_DEEP_LATER_LINE = re.compile(rf"\n[ \t>*+\-\d.)]{{{MAX_NESTING + 1}}}")


def has_deep_prefix(body: str) -> bool:
    """Whether some line of body starts like _DEEP_PREFIX."""
    return _DEEP_FIRST_LINE.match(body) is not None or _DEEP_LATER_LINE.search(body) is not None


_DIRECTIVE_START = re.compile(r":::[ \t]+([A-Za-z][\w-]*)")


def directive_lines(body: str) -> list[str]:
    """The names of `::: name` lines, as _DIRECTIVE_LINE.findall gives them, found as fast as has_deep_prefix."""
    return [match.group(1) for match in _DIRECTIVE_START.finditer(body)
            if match.start() == 0 or body[match.start() - 1] == "\n"]


def nesting_depth(line: str) -> int:
    """How many lists and quotes a line opens or sits in: its '>' and list markers plus its indent / 4."""
    indent = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))
    depth = 0
    position = 0
    while match := _NESTING_MARK.match(line, position):
        depth += 1
        position = match.end()
    return depth + indent // 4


def _check_nesting(body: str, body_line: int, source: str, problems: list[Problem]) -> bool:
    """Refuse a body nested deeper than MAX_NESTING on its first such line; True when it is fine."""
    if not has_deep_prefix(body):
        return True  # each level costs at least one character of such a prefix: no line can be too deep
    for index, line in lines_outside_code(body):
        depth = nesting_depth(line)
        if depth > MAX_NESTING:
            problems.append(Problem(source, body_line + index,
                                    f"lists or quotes nested {depth} levels deep (the limit is {MAX_NESTING})",
                                    "flatten the nesting: Markdown this deep cannot be converted"))
            return False
    return True


def slugify(text: str) -> str:
    """A URL-safe slug: lowercase words joined by '-', accents kept as letters; never empty."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = _SLUG_SAFE.sub("-", text.replace("_", "-"))
    text = re.sub(r"-{2,}", "-", text).strip("-")
    return text or "page"


def load_content(settings: Settings, parsed: ParseCache | None = None) -> tuple[list[Page], list[Problem]]:
    """Read every Markdown page; return pages sorted by source, plus warnings.

    With a ParseCache, a file whose bytes parsed cleanly before is not parsed again."""
    problems: list[Problem] = []
    pages: list[Page] = []
    content_dir = settings.content_dir
    if not content_dir.is_dir():
        raise BuildError([Problem("content", 0, "there is no content/ folder beside the settings file")])
    # Symlinked folders are not entered, so a file that is no symlink itself lies where the
    # content folder really is: only symlinks need resolving (it cost a third of reading a page).
    content_inside = content_dir.resolve().is_relative_to(settings.root)
    prefix = content_dir.relative_to(settings.root).as_posix() + "/"
    for name, is_symlink in markdown_files(content_dir):
        source = prefix + name
        if content_inside and not is_symlink:
            raw = _read_bytes(content_dir / name, source, problems)
        else:
            raw = read_source_bytes(content_dir / name, settings.root, source, problems)
        if raw is None:
            continue
        page = parsed.page(source, raw) if parsed is not None else None
        if page is None:
            relative = Path(name)
            text = decode_utf8(raw, source, problems)
            if text is None:
                continue
            before = len(problems)
            page = parse_page(text, source, relative, problems)
            if parsed is not None and page is not None and len(problems) == before:
                parsed.put(raw, page, text)
        if page is not None and (settings.include_drafts or not page.meta.is_draft):
            pages.append(page)
    _check_unique_urls(pages, problems)
    _check_single_home(pages, problems)
    if any(not p.is_warning for p in problems):
        raise BuildError(problems)
    return pages, problems


def markdown_files(content_dir: Path) -> list[tuple[str, bool]]:
    """Every `*.md` under content_dir as (POSIX path relative to it, whether it is a symlink), in the
    order and with the rules of `sorted(content_dir.rglob("*.md"))`: sorted by path parts, symlinked
    folders not entered. One scandir per folder, no Path per file (issue 8: 10,000 pages)."""
    found: list[tuple[str, bool]] = []
    folders = [""]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(os.path.join(content_dir, folder)))
        except OSError:
            continue  # as rglob: a folder that cannot be listed is skipped
        for entry in entries:
            name = folder + entry.name
            if entry.name.endswith(".md"):
                found.append((name, entry.is_symlink()))
            try:
                if entry.is_dir() and not entry.is_symlink():
                    folders.append(name + "/")
            except OSError:
                continue
    found.sort(key=lambda item: item[0].split("/"))
    return found


def read_source_bytes(file: Path, root: Path, source: str, problems: list[Problem]) -> bytes | None:
    """Read a source file, refusing symlinks that point outside the project."""
    try:
        real = file.resolve(strict=True)
    except (OSError, RuntimeError):
        problems.append(Problem(source, 0, "cannot read the file: it is a broken symlink"))
        return None
    if not real.is_relative_to(root):
        problems.append(Problem(source, 0, "refusing a symlink that points outside the project",
                                "copy the file into the project instead of linking to it"))
        return None
    return _read_bytes(real, source, problems)


def _read_bytes(file: Path, source: str, problems: list[Problem]) -> bytes | None:
    try:
        return file.read_bytes()
    except OSError as error:
        problems.append(Problem(source, 0, f"cannot read the file: {error.strerror or error}"))
        return None


def parse_page(text: str, source: str, relative: Path, problems: list[Problem]) -> Page | None:
    """Build a Page from a file's text, or record why it cannot be one."""
    try:
        front = split_front_matter(text)
    except ValueError as error:
        problems.append(Problem(source, 1, str(error)))
        return None
    data, yaml_problems = load_yaml(front.yaml_text, source, line_offset=front.yaml_line - 1)
    problems.extend(yaml_problems)
    if data is None and not yaml_problems:
        problems.append(Problem(source, 1, "the front matter is empty; it needs at least title: and summary:"))
        return None
    if not isinstance(data, YamlMap):
        if not yaml_problems:
            problems.append(Problem(source, 2, "the front matter must be key: value lines (a mapping)"))
        return None
    before = len(problems)
    fields = Fields(data, source, problems)
    fields.check_unknown(FRONT_MATTER_KEYS, "front matter")
    meta = PageMeta(
        title=fields.text("title", required=True),
        summary=fields.text("summary", required=True),
        order=fields.integer("order"),
        slug=fields.text("slug"),
        updated=fields.date("updated"),
        is_draft=fields.boolean("draft"),
        layout=fields.text("layout"),
        change_note=fields.text("change_note"),
    )
    if meta.slug and slugify(meta.slug) != meta.slug:
        fields.error("slug", f"'slug' may hold only lowercase letters, digits and '-', not '{meta.slug}'",
                     f"did you mean '{slugify(meta.slug)}'?")
    if not _check_nesting(front.body, front.body_line, source, problems) or len(problems) > before:
        return None
    kind = _page_kind(relative, meta)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    key_lines = {str(key): data.line_of(key) for key in data}
    return Page(source, meta, front.body, front.body_line, kind, _page_url(relative, meta), digest, key_lines,
                tuple(sorted(set(directive_lines(front.body)))))


def _normalise_newlines(text: str) -> str:
    """The text split_front_matter reads: no byte-order mark, '\n' line ends."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


# Bump when what a record holds changes; the parser's own code is part of the salt below.
_PARSE_CACHE_FORMAT = "content-1"


def _parser_salt() -> str:
    """A record is valid only for the very code that made it: the format and the parsing modules' source."""
    code = hashlib.sha256(_PARSE_CACHE_FORMAT.encode())
    for module in (__file__, dates.__file__, errors.__file__, yamlfile.__file__):
        code.update(Path(module).read_bytes())
    return code.hexdigest()


class ParseCache:
    """Pages parsed in an earlier build, keyed by their file's path and the sha256 of its bytes.

    The bytes are still read (a changed file is always parsed again; timestamps can lie), but
    their YAML, nesting and directive checks are skipped: at 10,000 pages that was most of the
    reading (issue 8). Only files that parsed without any problem or warning are recorded, so
    every problem is reported exactly as without the cache. One file (`.cache/content.marshal`),
    written only when it changed; unreadable or made by other code, it is ignored.
    """

    def __init__(self, file: Path | None):
        self.file = file
        self._salt = ""
        self._records: dict[str, tuple[Any, ...]] = {}
        self._used: dict[str, tuple[Any, ...]] = {}
        self._changed = False
        if file is not None:
            self._salt = _parser_salt()
            try:
                salt, records = marshal.loads(file.read_bytes())
                if salt == self._salt and isinstance(records, dict):
                    self._records = records
            except (OSError, ValueError, EOFError, TypeError):
                pass  # no cache, or a damaged one: every file is parsed

    @staticmethod
    def _key(source: str, raw: bytes) -> str:
        return source + "\0" + hashlib.sha256(raw).hexdigest()

    def page(self, source: str, raw: bytes) -> Page | None:
        """The Page of a file whose bytes parsed cleanly before, or None."""
        if self.file is None:
            return None
        key = self._key(source, raw)
        record = self._records.get(key)
        if record is None:
            return None
        try:
            page = _page_from_record(source, raw, record)
        except (ValueError, TypeError, IndexError, UnicodeDecodeError):
            return None
        self._used[key] = record
        return page

    def put(self, raw: bytes, page: Page, text: str) -> None:
        """Record a page that parsed without problems."""
        if self.file is None:
            return
        normalised = _normalise_newlines(text)
        offset = len(normalised) - len(page.body)
        if normalised[offset:] != page.body:
            return  # not the shape this cache knows how to rebuild: parse it every time
        meta = page.meta
        updated = (meta.updated.year, meta.updated.month, meta.updated.day) if meta.updated else None
        self._used[self._key(page.source, raw)] = (
            meta.title, meta.summary, meta.order, meta.slug, updated, meta.is_draft, meta.layout, meta.change_note,
            offset, page.body_line, page.kind, page.url, page.digest, tuple(page.key_lines.items()),
            page.directives)
        self._changed = True

    def save(self) -> None:
        """Keep the records of this build's files only (so the file stays the size of the site)."""
        if self.file is not None and (self._changed or len(self._used) != len(self._records)):
            store_cache_file(self.file, marshal.dumps((self._salt, self._used)))


def _page_from_record(source: str, raw: bytes, record: tuple[Any, ...]) -> Page:
    (title, summary, order, slug, updated, is_draft, layout, change_note,
     offset, body_line, kind, url, digest, key_lines, directives) = record
    body = _normalise_newlines(raw.decode("utf-8-sig"))[offset:]
    meta = PageMeta(title, summary, order, slug, PartialDate(*updated) if updated is not None else None,
                    is_draft, layout, change_note)
    return Page(source, meta, body, body_line, kind, url, digest, dict(key_lines), directives)


def _page_kind(relative: Path, meta: PageMeta) -> str:
    if relative.as_posix() == "index.md":
        return "home"
    return "section" if meta.order is not None else "page"


def _page_url(relative: Path, meta: PageMeta) -> str:
    """The URL relative to the site root: '' for the home page, 'background/' for a page."""
    if relative.as_posix() == "index.md":
        return ""
    folders = [slugify(part) for part in relative.parent.parts]
    if relative.stem == "index":
        return "/".join(folders) + "/" if folders else ""
    return "/".join([*folders, meta.slug or slugify(relative.stem)]) + "/"


def check_pages(pages: list[Page], problems: list[Problem]) -> None:
    """The checks across pages (one URL each, one home page), for callers that read pages one by one."""
    _check_unique_urls(pages, problems)
    _check_single_home(pages, problems)


def _check_unique_urls(pages: list[Page], problems: list[Problem]) -> None:
    first_by_url: dict[str, Page] = {}
    for page in pages:
        if page.url in first_by_url:
            other = first_by_url[page.url]
            problems.append(Problem(
                page.source, 1, f"this page and {other.source} would both be written to {page.out_path}",
                "give one of them a different 'slug'",
            ))
        else:
            first_by_url[page.url] = page


def _check_single_home(pages: list[Page], problems: list[Problem]) -> None:
    if pages and not any(page.kind == "home" for page in pages):
        problems.append(Problem("content", 0, "there is no home page: add content/index.md"))
