"""Stage 5a: layouts/ -> Layouts: the Jinja environment over a snapshot of the templates, and the assets.

Templates autoescape HTML and XML and fail on undefined names. They are read once per build and
rendered from that snapshot, so what a page's cache key hashes is exactly what renders it.
Template errors become Problems at the template's line, naming the page being rendered.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
from jinja2 import meta, nodes
from markupsafe import Markup, escape

from .cache import Cache, stable_digest
from .charts import format_number
from .errors import BuildError, Problem, did_you_mean
from .languages import STRINGS_FOLDER, MissingString, date_words, load_strings, number_words, translate

ASSETS_FOLDER = "assets"


@dataclass(frozen=True)
class Assets:
    """The site's own files in layouts/assets, each with its content-hashed output name."""

    hashed: dict[str, str]
    data: dict[str, bytes]


class UsedAssets(dict[str, str]):
    """The hashed-name table as templates see it (`assets['style.css']`), noting which names they ask for."""

    def __init__(self, table: dict[str, str]) -> None:
        super().__init__(table)
        self.used: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.used.add(name)
        return super().__getitem__(name)


@dataclass(frozen=True, eq=False)
class Layouts:
    """The templates of one build (name -> source), their environment, and the assets."""

    folder: Path
    sources: dict[str, str]
    assets: Assets
    env: jinja2.Environment = field(compare=False)
    # Each template's references to others (None: a name known only when rendering) and the names it uses.
    parsed: dict[str, tuple[frozenset[str | None], frozenset[str]]] = field(default_factory=dict)
    cache: Cache | None = field(default=None, compare=False, repr=False)

    @property
    def compiled(self) -> set[str]:
        """The cache keys of the compiled templates this build used."""
        code_cache = self.env.bytecode_cache
        return code_cache.used if isinstance(code_cache, _TemplateCodeCache) else set()

    @functools.lru_cache(maxsize=4)  # noqa: B019 (one Layouts per build: the cache goes with it)
    def strings(self, languages: tuple[str, ...]) -> tuple[dict[str, dict[str, str]], list[Problem]]:
        """Each language's interface strings (layouts/i18n/) and their problems, read once for all of a
        build's languages; the dev server keeps them in memory for the same tables."""
        tables = sorted((name, text) for name, text in self.sources.items() if name.startswith(STRINGS_FOLDER + "/"))
        key = stable_digest(languages, tables)
        known = self.cache.get("strings", key) if self.cache is not None else None
        if isinstance(known, tuple):
            return known
        made = load_strings(self.sources, languages)
        if self.cache is not None:
            self.cache.put("strings", key, made, to_disk=False)
        return made

    @functools.lru_cache(maxsize=256)  # noqa: B019 (one Layouts per build: the cache goes with it)
    def reach(self, names: tuple[str, ...]) -> tuple[str, frozenset[str] | None]:
        """The digest of every template `names` reach (extends, includes, imports) and the names they use
        (see _parse). A reference whose name is known only when rendering may reach any template and
        read any variable: the digest is then that of every template, and the names None."""
        seen: dict[str, str] = {}
        variables: set[str] = set()
        is_static = True
        todo = list(names)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen[name] = self.sources.get(name, "\0missing")
            references, read = self.parsed.get(name, (frozenset(), frozenset()))
            variables |= read
            is_static = is_static and None not in references
            todo.extend(reference for reference in references if reference is not None)
        if not is_static:
            return stable_digest(names, sorted(self.sources.items())), None
        return stable_digest(sorted(seen.items())), frozenset(variables)


def load_layouts(layouts_dir: Path, cache: Cache, root: Path | None = None) -> Layouts:
    """Read every template and asset under layouts_dir; assets get names with the hash of their bytes.
    A file that resolves outside the project (`root`, by default the folder holding layouts_dir) is refused."""
    sources: dict[str, str] = {}
    hashed: dict[str, str] = {}
    data: dict[str, bytes] = {}
    project = (root or layouts_dir.parent).resolve()
    # rglob does not enter symlinked folders, so a file that is no symlink itself lies where the
    # layouts folder really is: only symlinks need resolving.
    layouts_inside = layouts_dir.resolve().is_relative_to(project)
    outside: list[Problem] = []
    for file in sorted(path for path in layouts_dir.rglob("*") if path.is_file()):
        name = file.relative_to(layouts_dir).as_posix()
        if not (layouts_inside and not file.is_symlink()) and not file.resolve().is_relative_to(project):
            outside.append(Problem(f"layouts/{name}", 0, "refusing a symlink that points outside the project",
                                   "copy the file into the project instead of linking to it"))
            continue
        if name.startswith(ASSETS_FOLDER + "/"):
            name = name[len(ASSETS_FOLDER) + 1:]
            content = data[name] = file.read_bytes()
            digest = hashlib.sha256(content).hexdigest()[:10]
            stem, dot, ext = name.rpartition(".")
            hashed[name] = f"assets/{stem}.{digest}.{ext}" if dot else f"assets/{name}.{digest}"
        else:
            sources[name] = file.read_bytes().decode("utf-8", errors="replace")
    if outside:
        raise BuildError(outside)
    env = _environment(layouts_dir, sources, cache)
    return Layouts(layouts_dir, sources, Assets(hashed, data), env, {name: _parse(env, name, source, cache)
                                                                     for name, source in sources.items()}, cache)


def _parse(env: jinja2.Environment, name: str, source: str,
           cache: Cache) -> tuple[frozenset[str | None], frozenset[str]]:
    """The templates one template refers to and the names it uses (nothing, when it does not compile:
    rendering it reports why). The names are every variable it reads, and also those it only sets:
    a superset that one walk of the tree finds, where Jinja's exact analysis costs another compile.
    A template parsed here is compiled from the same tree into the build cache, where loading it
    finds it: its source is parsed once, not twice."""
    key = stable_digest(source)
    known = cache.get("templates", key)
    if isinstance(known, tuple):
        return known
    filename = env.loader.get_source(env, name)[1] if env.loader else None
    try:  # compiling fails on what parse() lets through, such as an unknown filter
        tree = env.parse(source, name, filename)
        found = frozenset(meta.find_referenced_templates(tree)), frozenset(node.name for node in tree.find_all(nodes.Name))
        code = env.compile(tree, name, filename)
        if isinstance(env.bytecode_cache, _TemplateCodeCache):
            env.bytecode_cache.store(env, name, filename, source, code)
    except jinja2.TemplateSyntaxError:
        return frozenset(), frozenset()
    cache.put("templates", key, found)
    return found


class _SnapshotLoader(jinja2.BaseLoader):
    """Templates from the sources read at the start of the build, named by their file for tracebacks."""

    def __init__(self, folder: Path, sources: dict[str, str]) -> None:
        self.folder = folder
        self.sources = sources

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        if template not in self.sources:
            raise jinja2.TemplateNotFound(template)
        return self.sources[template], str(self.folder / template), lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.sources)


class _TemplateCodeCache(jinja2.BytecodeCache):
    """Compiled templates, keyed by the template's name and source: those compiled in this build (each
    language's pages load every template again, and a build without the cache has no other), then
    the build cache's."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.used: set[str] = set()
        self.compiled: dict[str, CodeType] = {}

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        """Jinja's key (the template's name and file), from the file name's bytes as the system gave them:
        outside UTF-8 mode, a non-ASCII folder's name holds surrogates, which Jinja's own key cannot encode."""
        raw = (name if filename is None else f"{name}|{filename}").encode("utf-8", "surrogateescape")
        return hashlib.sha1(raw).hexdigest()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        key = stable_digest(bucket.key, bucket.checksum)
        self.used.add(key)
        if key in self.compiled:
            bucket.code = self.compiled[key]
            return
        code = self.cache.get("jinja", key)
        if isinstance(code, bytes):
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        key = stable_digest(bucket.key, bucket.checksum)
        if bucket.code is not None:
            self.compiled[key] = bucket.code
        if self.cache.is_enabled:
            self.cache.put("jinja", key, bucket.bytecode_to_string())

    def store(self, env: jinja2.Environment, name: str, filename: str | None, source: str, code: CodeType) -> None:
        """Keep a template's compiled code where loading the template looks for it."""
        bucket = self.get_bucket(env, name, filename, source)
        bucket.code = code
        self.set_bucket(bucket)


def _environment(folder: Path, sources: dict[str, str], cache: Cache) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_SnapshotLoader(folder, sources),
        autoescape=jinja2.select_autoescape(["html", "xml", "svg"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_TemplateCodeCache(cache),
        auto_reload=False,
    )
    env.filters["number"] = format_number
    return env


def language_env(env: jinja2.Environment, language: str, strings: dict[str, str],
                 default_language: str) -> jinja2.Environment:
    """The environment of the pages in one language: `t(key, **values)` gives one of its interface strings,
    `date_text(date)` a date in its words, `lang_attr(code)` a ` lang="…"` attribute for words in
    another language ("" when the words are in the page's; `code` "" is the site's default language)
    and the `number` filter its separators."""
    made = env.overlay(cache_size=400)  # a cache of its own: templates hold the globals they were loaded with

    def lang_attr(code: str) -> Markup:
        code = code or default_language
        return Markup("") if code == language else Markup(' lang="{}"').format(code)

    # Strings without placeholders are the same HTML every time: escaped once.
    fixed = {key: Markup(escape(text)) for key, text in strings.items() if isinstance(text, str) and "{" not in text}

    def t(key: str, **values: Any) -> Markup:
        if not values and key in fixed:
            return fixed[key]
        return translate(strings, language, key, values)

    made.globals = {**env.globals, "t": t,
                    "date_text": lambda date: date_words(date, strings), "lang_attr": lang_attr,
                    "corrections_ld": lambda corrections: [item.json_ld(strings) for item in corrections]}
    made.filters = {**env.filters, "number": lambda value: number_words(value, strings)}
    return made


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any], rendering: str,
                    line: int = 1) -> tuple[str | None, list[Problem]]:
    """Render one template; on a template error, None and the problem at the template's line.

    `rendering` names the file being made (a page's source), `line` the line that chose the template."""
    try:
        return env.get_template(name).render(context), []
    except jinja2.TemplateNotFound as error:
        hint = did_you_mean(str(error.name), env.list_templates())
        if error.name == name:  # the page's layout (or a directive's partial) itself: the line that chose it
            return None, [Problem(rendering, line, f"no layout '{name}' in layouts/", hint)]
        where, at_line = _template_frame(name)  # an include, import or extends: its line
        return None, [Problem(where, at_line, f"template '{error.name}' not found (while rendering {rendering})", hint)]
    except MissingString as error:
        where, at_line = _template_frame(name)
        return None, [Problem(error.where, 0, f"{error.message} (asked for by {where}:{at_line} while rendering {rendering})",
                              "add it to every strings table in layouts/i18n/")]
    except jinja2.TemplateSyntaxError as error:
        return None, [Problem(f"layouts/{error.name or name}", error.lineno or 0,
                              f"template syntax error: {error.message} (while rendering {rendering})")]
    except jinja2.UndefinedError as error:
        where, at_line = _template_frame(name)
        return None, [Problem(where, at_line, f"{error.message} (while rendering {rendering})")]
    except RecursionError:
        if not _raised_in_template():
            raise
        where, at_line = _template_frame(name)
        return None, [Problem(where, at_line, f"template error: calls nest too deep (while rendering {rendering})",
                              "a macro or include calls itself without end")]
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as error:
        # Raised by an expression in a template (`title + 1`), not by the engine: report it as input.
        if not _raised_in_template():
            raise
        where, at_line = _template_frame(name)
        return None, [Problem(where, at_line, f"template error: {type(error).__name__}: {error} (while rendering {rendering})")]


def _is_template_file(filename: str) -> bool:
    return filename.endswith((".html", ".xml", ".txt")) or "/layouts/" in filename


def _raised_in_template() -> bool:
    """True when the exception being handled came from template code, not from the engine's own."""
    traceback = sys.exc_info()[2]
    in_template = False
    engine_dir = Path(__file__).resolve().parent
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if _is_template_file(filename):
            in_template = True
        elif in_template and Path(filename).resolve().parent == engine_dir:
            return False  # a template called engine code, which failed: an engine bug
        traceback = traceback.tb_next
    return in_template


def _template_frame(fallback: str) -> tuple[str, int]:
    """The layouts/ file and line where a runtime template error happened, from the traceback."""
    traceback = sys.exc_info()[2]
    where, line = f"layouts/{fallback}", 0
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if _is_template_file(filename):
            marker = filename.rfind("/layouts/")
            where = filename[marker + 1:] if marker >= 0 else filename
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return where, line
