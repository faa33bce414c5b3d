"""Stage 2: content/**/*.md -> Page records (front matter checked, body kept raw).

Refuses files that are not UTF-8, symlinks that leave the project, front
matter that is missing, unterminated or not a mapping, unknown keys, and two
files that would produce the same URL.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cache import Cache
from .dates import PartialDate
from .errors import BuildError, Problem, has_errors
from .fields import Fields, from_yaml, read_record
from .languages import place_translations, translation_of
from .limits import MAX_NESTING, costly_markdown, has_deep_prefix, nesting_depth
from .settings import Settings
from .sourcefiles import FileDigests, markdown_files, read_source_bytes
from .yamlfile import YamlMap, decode_utf8, load_yaml

LAYOUTS_BY_KIND = {"home": "home", "section": "section", "page": "page"}
_FENCE = re.compile(r"^---[ \t]*$")
_FENCE_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_SLUG_SAFE = re.compile(r"[^\w-]+", re.UNICODE)
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


@dataclass(frozen=True)
class PageMeta:
    """Front matter after validation: one field per key (README, "Front matter", says what each does)."""

    title: str = field(metadata=from_yaml(required=True))
    summary: str = field(metadata=from_yaml(required=True))
    order: int | None = None
    slug: str = ""
    updated: PartialDate | None = None
    published: PartialDate | None = None
    is_draft: bool = field(default=False, metadata=from_yaml("draft"))
    layout: str = ""
    change_note: str = ""


@dataclass(frozen=True)
class Page:
    """One Markdown file: `source` is relative to the project, `url` to the site root.

    load_content gives pages without their body (`body` ""; a site of 10,000 pages would hold 80 MB of
    them): load_body reads it when the page is rendered. A page made by the engine carries its body."""

    source: str
    meta: PageMeta
    body: str
    body_line: int
    kind: str
    url: str
    digest: str  # sha256 of the file's bytes (for a page the engine makes, a digest of what it is made from)
    key_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    directives: tuple[str, ...] = ()  # the names of the directives its body places (`::: name` lines), sorted
    language: str = ""  # "" for the site's default language, else the code of the language it is written in
    translates: str = ""  # for a translation, the source of the page it translates
    pictures: tuple[str, ...] = ()  # the ids of the pictures its body places (`::: picture ID`), in order
    # A file that could not be read stands in for its page where its name puts it, so that the other files'
    # references to it hold and one run reports their problems too; it is never rendered.
    unread: bool = False

    @property
    def out_path(self) -> str:
        return self.url + "index.html" if self.url else "index.html"

    @property
    def layout(self) -> str:
        return self.meta.layout or LAYOUTS_BY_KIND[self.kind]

    @property
    def slug(self) -> str:
        """The name navigation and timeline events use: its URL without slashes or language folder."""
        return (self.url[len(self.language) + 1:] if self.language else self.url).strip("/") or "home"

    @property
    def original(self) -> str:
        """The source of the page in the default language: its own, or the one it translates."""
        return self.translates or self.source

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


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


_DIRECTIVE_START = re.compile(r":::[ \t]+([A-Za-z][\w-]*)")


# A line placing a picture; its first use on a page is the page's lead picture (its link preview).
PICTURE_LINE = re.compile(r"^:::[ \t]+picture[ \t]+(\S+)", re.M)


def picture_ids(body: str) -> tuple[str, ...]:
    """The ids of the pictures a body places, each once, in order."""
    if "picture" not in body:
        return ()  # what the pattern needs, found in C: most bodies place no picture
    return tuple(dict.fromkeys(match.group(1) for match in PICTURE_LINE.finditer(body)))


def directive_names(body: str) -> tuple[str, ...]:
    """The sorted names of a body's `::: name` lines."""
    return tuple(sorted({match.group(1) for match in _DIRECTIVE_START.finditer(body)
                         if match.start() == 0 or body[match.start() - 1] == "\n"}))


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


def load_content(settings: Settings, cache: Cache) -> tuple[list[Page], list[Problem]]:
    """Read every Markdown page; return pages sorted by source, plus their problems: a file that cannot be
    read is a stand-in (Page.unread) with its errors. Any other error raises BuildError.

    A file whose bytes parsed cleanly before is taken from the cache. A build reads every file's
    bytes to know them; the dev server skips those its memory says are unchanged (see sourcefiles.FileDigests)."""
    problems: list[Problem] = []
    pages: list[Page] = []
    content_dir = settings.content_dir
    if not content_dir.is_dir():
        raise BuildError([Problem("content", 0, "there is no content/ folder beside the settings file")])
    # Symlinked folders are not entered, so a file that is no symlink itself lies where the
    # content folder really is: only symlinks need resolving.
    content_inside = content_dir.resolve().is_relative_to(settings.root)
    prefix = content_dir.relative_to(settings.root).as_posix() + "/"
    # Pages parsed cleanly before, by parse_key (without their bodies, as every page here).
    known = cache.get("parsed", "pages")
    known = known if isinstance(known, dict) else {}
    kept: dict[str, Page] = {}
    folder = str(content_dir)
    problems += [Problem(Path(folder, name).relative_to(settings.root).as_posix(), 0, "not published: only files ending "
                         "in '.md' are pages", "rename it to end in '.md'", is_warning=True)  # '.MD', '.Md'
                 for folder, _, names in sorted(os.walk(content_dir)) for name in sorted(names)
                 if name.lower().endswith(".md") and not name.endswith(".md")]
    translations: list[tuple[Page, str]] = []
    originals: set[str] = set()  # every page in the default language, whether it loads or not
    digests = FileDigests(cache)
    for name, is_symlink in markdown_files(content_dir):
        source = prefix + name
        if any(part.startswith(".") for part in name.split("/")):
            problems.append(Problem(source, 0, "not published: its name, or a folder's, starts with '.', which hides it",
                                    "rename it without the leading '.' to publish it", is_warning=True))
            continue
        language, original_name = translation_of(name, settings, source, problems)
        if language is None:
            continue
        if not language:
            originals.add(source)
        path = os.path.join(folder, name)
        digest = digests.unchanged(source, path) if content_inside and not is_symlink else None
        if digest is not None and parse_key(source, digest) in known:
            raw: bytes | None = b""
        elif content_inside and not is_symlink:
            raw, digest = digests.read(source, path, problems)
        else:
            raw, digest = read_source_bytes(content_dir / name, settings.root, source, problems), None
        page, page_problems = _parse_once(raw, source, original_name, known, kept, digest) if raw is not None \
            else (None, [])
        problems.extend(page_problems)
        if page is None:
            page = _stand_in(source, original_name)
        if page.unread or settings.include_drafts or not page.meta.is_draft:
            if language:
                translations.append((page, language))
            else:
                pages.append(page)
    if kept.keys() != known.keys():
        cache.put("parsed", "pages", kept)
    digests.keep()
    placed = place_translations(translations, pages, originals, prefix, settings, problems)
    pages += placed
    _check_unique_urls(pages, problems)
    if pages and not any(page.kind == "home" for page in pages):
        problems.append(Problem("content", 0, "there is no home page: add content/index.md"))
    # A stand-in, or a translation of no page (left out), has errors of its own that stop no other page.
    left_out = {page.source for page, _ in translations} - {page.source for page in placed}
    apart = {page.source for page in pages if page.unread} | left_out
    if any(not problem.is_warning and problem.source not in apart for problem in problems):
        raise BuildError(problems)
    return pages, problems


def _stand_in(source: str, relative: str | Path, read: PageMeta | None = None) -> Page:
    """The page a file that could not be read would be (Page.unread): at the address its name gives, or
    its slug when its front matter was `read` with a valid one, so links to it are not broken."""
    path = Path(relative)
    slug = read.slug if read is not None and slugify(read.slug) == read.slug else ""
    meta = PageMeta(title=path.stem, summary="", slug=slug)
    return Page(source, meta, "", 1, _page_kind(path, meta), _page_url(path, meta), "", unread=True)


def _parse_once(raw: bytes, source: str, relative: str, known: dict[str, Page],
                kept: dict[str, Page], digest: str | None = None) -> tuple[Page | None, list[Problem]]:
    """parse_page without the body, or the page `known` holds for the file's bytes (or for `digest`,
    the digest of bytes not read again); a page that parsed cleanly goes into `kept`."""
    digest = digest or hashlib.sha256(raw).hexdigest()
    key = parse_key(source, digest)
    if key in known:
        kept[key] = known[key]
        return known[key], []
    problems: list[Problem] = []
    text = decode_utf8(raw, source, problems)
    if text is None:
        return None, problems
    page, problems = parse_page(text, source, Path(relative), digest)
    if page is None:
        return None, problems
    page = replace(page, body="")
    if not problems:
        kept[key] = page
    return page, problems


def load_body(page: Page, root: Path) -> tuple[Page, Problem | None]:
    """The page with its body, read from its file again; a file that changed since it was loaded is a problem."""
    if page.body:
        return page, None
    problems: list[Problem] = []
    raw = read_source_bytes(root / page.source, root, page.source, problems)
    if raw is None:
        return page, problems[0]
    if hashlib.sha256(raw).hexdigest() != page.digest:
        return page, Problem(page.source, 0, "the file changed while the site was being built", "build again")
    return replace(page, body=split_front_matter(raw.decode("utf-8-sig")).body), None


def parse_key(source: str, digest: str) -> str:
    """What a parsed page is remembered by: its path and the sha256 of its bytes."""
    return f"{source}:{digest}"


def parse_page(text: str, source: str, relative: Path, digest: str) -> tuple[Page | None, list[Problem]]:
    """Build a Page from a file's text; the problems say why it cannot be one (or what to warn about). A
    wrong field gives the page's stand-in (Page.unread); a front matter that cannot be read gives None."""
    try:
        front = split_front_matter(text)
    except ValueError as error:
        return None, [Problem(source, 1, str(error))]
    data, problems = load_yaml(front.yaml_text, source, line_offset=front.yaml_line - 1)
    if data is None and not problems:
        return None, [Problem(source, 1, "the front matter is empty; it needs at least title: and summary:")]
    if not isinstance(data, YamlMap):
        if not problems:
            problems.append(Problem(source, 2, "the front matter must be key: value lines (a mapping)"))
        return None, problems
    # Duplicate keys are in `problems` already: the page is still read for what else is wrong.
    fields = Fields(data, source, problems)
    meta = read_record(PageMeta, fields, "front matter")
    if meta.slug and slugify(meta.slug) != meta.slug:
        fields.error("slug", f"'slug' may hold only lowercase letters, digits and '-', not '{meta.slug}'",
                     f"did you mean '{slugify(meta.slug)}'?")
    if not _check_nesting(front.body, front.body_line, source, problems):
        return None, problems
    if has_errors(problems):  # a wrong field, or a key written twice
        return _stand_in(source, relative, meta), problems
    if costly := costly_markdown(front.body):  # (offset, message, hint)
        return None, [Problem(source, front.body_line + front.body.count("\n", 0, costly[0]), *costly[1:])]
    key_lines = {str(name): data.line_of(name) for name in data}
    return Page(source, meta, front.body, front.body_line, _page_kind(relative, meta), _page_url(relative, meta),
                digest, key_lines, directive_names(front.body), pictures=picture_ids(front.body)), problems


def _normalise_newlines(text: str) -> str:
    """The text split_front_matter reads: no byte-order mark, '\n' line ends."""
    text = text.lstrip("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


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


def _check_unique_urls(pages: list[Page], problems: list[Problem]) -> None:
    first_by_url: dict[str, Page] = {}
    for page in pages:
        if page.unread:
            continue  # its address is a guess from its file's name
        if page.url in first_by_url:
            other = first_by_url[page.url]
            problems.append(Problem(
                page.source, 1, f"this page and {other.source} would both be written to {page.out_path}",
                "give one of them a different 'slug'",
            ))
        else:
            first_by_url[page.url] = page
