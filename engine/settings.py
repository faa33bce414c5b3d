"""Stage 1: site_config.yaml -> Settings.

Refuses unknown keys (with the closest known one), wrong types, missing
required keys and a base_url that is not an absolute http(s) address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import BuildError, Problem, UsageError
from .fields import Fields, is_web_url
from .yamlfile import YamlMap, decode_utf8, load_yaml

SETTINGS_KEYS = (
    "title", "tagline", "description", "base_url", "language", "author",
    "publisher", "contact", "nav", "output", "layouts", "languages",
)
# The address the project ships with: a production build warns while base_url or contact still use it.
PLACEHOLDER_HOST = "example.org"
# The settings a language other than the default may give in its own words, as `title_es`.
TRANSLATED_KEYS = ("title", "tagline", "description")
LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*$")


@dataclass(frozen=True)
class Settings:
    """The site's settings; `root` is the project folder every source path is relative to."""

    root: Path
    config_source: str
    title: str
    description: str
    base_url: str
    tagline: str = ""
    language: str = "en"
    author: str = ""
    publisher: str = ""
    contact: str = ""
    nav: tuple[str, ...] = ()
    output: str = "output"
    layouts: str = "layouts"
    include_drafts: bool = False
    nav_line: int = 0
    # A preview deploy (--preview): pages say noindex, robots.txt disallows all, and canonical stays the
    # production address, canonical_url (base_url from the settings file, whatever --base-url says).
    preview: bool = False
    canonical_url: str = ""
    # Settings that still hold the project's placeholders: warnings for a production build.
    placeholders: tuple[Problem, ...] = ()
    # Every language of the site, the default (`language`) first; the others live under `<code>/`.
    languages: tuple[str, ...] = ()
    # language -> the TRANSLATED_KEYS it gives in its own words
    translated: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    @property
    def default_language(self) -> str:
        return self.languages[0] if self.languages else self.language

    @property
    def other_languages(self) -> tuple[str, ...]:
        """The languages besides the default, each published under `<code>/`."""
        return tuple(code for code in self.languages if code != self.default_language)

    @property
    def url_prefix(self) -> str:
        """Where this language's pages live under the site root: '' for the default, 'es/' for another."""
        return "" if self.language == self.default_language else self.language + "/"

    def edition(self, language: str) -> Settings:
        """These settings as the pages of `language` see them: its title, tagline and description."""
        own: dict[str, Any] = dict(self.translated.get(language, {}))
        return replace(self, language=language, **own)

    @property
    def base_path(self) -> str:
        """The path part of base_url, such as `/explainers/stca/` (always ends with /)."""
        return urlsplit(self.base_url).path or "/"

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def layouts_dir(self) -> Path:
        return (self.root / self.layouts).resolve()

    @property
    def output_dir(self) -> Path:
        return (self.root / self.output).resolve()


def load_settings(config_file: Path, base_url: str | None = None, output: str | None = None,
                  include_drafts: bool = False, preview: bool = False) -> Settings:
    """Read and validate the settings file; command-line values override it."""
    config_file = config_file.resolve()
    if not config_file.is_file():
        raise UsageError(f"no settings file at {config_file} (use --config FILE)")
    root = config_file.parent
    source = config_file.name
    try:
        raw = config_file.read_bytes()
    except OSError as error:
        raise BuildError([Problem(source, 0, f"cannot read the settings file: {error.strerror or error}")]) from None
    problems: list[Problem] = []
    text = decode_utf8(raw, source, problems)
    if text is None:
        raise BuildError(problems)
    data, problems = load_yaml(text, source)
    if data is None and not problems:
        problems.append(Problem(source, 1, "the settings file is empty"))
    if problems:
        raise BuildError(problems)
    if not isinstance(data, YamlMap):
        raise BuildError([Problem(source, 1, "the settings file must be a mapping of key: value lines")])

    fields = Fields(data, source, problems)
    languages = _read_languages(fields)
    translated_keys = [f"{key}_{code}" for code in languages[1:] for key in TRANSLATED_KEYS]
    for name in data:
        key, _, code = str(name).partition("_")
        if key in TRANSLATED_KEYS and code and name not in translated_keys:
            fields.error(str(name), f"'{name}' is in '{code}', which is not one of the site's other languages "
                                    f"({', '.join(languages[1:]) or 'none'})", f"add {code} to 'languages'")
    fields.check_unknown((*SETTINGS_KEYS, *translated_keys, *(name for name in data if "_" in str(name)
                                                            and str(name).partition("_")[0] in TRANSLATED_KEYS)),
                         "setting")
    settings = Settings(
        root=root,
        config_source=source,
        title=fields.text("title", required=True),
        description=fields.text("description", required=True),
        base_url=_read_base_url(fields),
        tagline=fields.text("tagline"),
        language=fields.text("language", default=languages[0] if languages else "en"),
        author=fields.text("author"),
        publisher=fields.text("publisher"),
        contact=fields.text("contact"),
        nav=fields.text_list("nav"),
        output=fields.text("output", default="output"),
        layouts=fields.text("layouts", default="layouts"),
        include_drafts=include_drafts,
        nav_line=fields.line("nav"),
        preview=preview,
        languages=languages,
        translated={code: {key: fields.text(f"{key}_{code}") for key in TRANSLATED_KEYS if f"{key}_{code}" in data}
                    for code in languages[1:]},
    )
    if languages and settings.language != languages[0]:
        fields.error("language", f"'language' is {settings.language}, but 'languages' starts with {languages[0]}",
                     "the first of 'languages' is the default language: drop 'language' or make them agree")
    if not LANGUAGE_TAG.match(settings.language):
        fields.error("language", f"'language' must be a language tag such as en or es-MX, not '{settings.language}'")
    if settings.contact and not (is_web_url(settings.contact) or re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", settings.contact)):
        fields.error("contact", "'contact' must be an email address or an http(s) address")
    if not (root / settings.layouts).is_dir():
        problems.append(Problem(source, fields.line("layouts") if "layouts" in data else 0,
                                f"there is no layouts folder at {settings.layouts}/"))
    if problems:
        raise BuildError(problems)
    settings = replace(settings, canonical_url=settings.base_url)
    if not languages:
        settings = replace(settings, languages=(settings.language,))
    if base_url is not None:
        if not is_web_url(base_url):
            raise UsageError(f"--base-url must be an absolute http(s) address, not '{base_url}'")
        if wrong := _base_url_problem(base_url):
            raise UsageError(f"--base-url {wrong[0]} ({wrong[1]})")
        settings = replace(settings, base_url=_normalise_base_url(base_url))
        if not preview:  # a production build at another address: that address is the canonical one
            settings = replace(settings, canonical_url=settings.base_url)
    settings = replace(settings, placeholders=tuple(
        Problem(source, fields.line(key) if key == "contact" or base_url is None else 0,
                f"'{key}' still holds the placeholder {PLACEHOLDER_HOST}",
                f"set the site's real {'address' if key == 'base_url' else 'contact'}", is_warning=True)
        for key, value in (("base_url", settings.canonical_url), ("contact", settings.contact))
        if _holds_placeholder(value)))
    if output is not None:
        settings = replace(settings, output=output)
    return settings


def _holds_placeholder(value: str) -> bool:
    """True for an address or email at example.org, the host the project ships with (other reserved
    example hosts are left to tests and samples)."""
    host = (urlsplit(value).hostname or "") if "://" in value else value.rpartition("@")[2].lower()
    return host == PLACEHOLDER_HOST
def _read_languages(fields: Fields) -> tuple[str, ...]:
    """The `languages` list: language tags, each once, the default first."""
    codes = fields.text_list("languages")
    for code in codes:
        if not LANGUAGE_TAG.match(code) or "_" in code:
            fields.error("languages", f"'{code}' is not a language tag such as en or es-MX")
    if len(set(codes)) != len(codes):
        fields.error("languages", "'languages' names a language twice")
    return codes


def _read_base_url(fields: Fields) -> str:
    url = fields.url("base_url", required=True)
    if url and (wrong := _base_url_problem(url)):
        fields.error("base_url", f"'base_url' {wrong[0]}", wrong[1])
    return _normalise_base_url(url) if url else "https://example.invalid/"


def _base_url_problem(url: str) -> tuple[str, str] | None:
    """What makes an address unusable as the site's root, to which every page's path is added: a
    message and a hint."""
    parts = urlsplit(url)
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return f"must be the address of the site's root folder, not '{url}'", "leave out the '?' or '#' and what follows"
    if parts.path.lower().endswith((".html", ".htm")):
        return f"must be the address of the site's root folder, not of the page '{url}'", "leave out the file name"
    return None


def _normalise_base_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"
