"""The site's languages: which file is a translation of which, data and settings in a language, the
interface strings of each language (layouts/i18n/<code>.yaml) and dates written in words.

Knows no language by name: every word a language needs comes from its strings table. Refuses
translations in a language folder, files named for a language the site does not have, and
strings tables that lack a key of the default language's table.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from .dates import PartialDate
from .errors import Problem
from .settings import Settings
from .yamlfile import YamlList, YamlMap, load_yaml

# `background.es.md`: a translation of `background.md` into the language `es`.
_TRANSLATION_NAME = re.compile(r"^(.+)\.([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.md$")
STRINGS_FOLDER = "i18n"


def translation_of(name: str, settings: Settings, source: str,
                   problems: list[Problem]) -> tuple[str | None, str]:
    """A content file's language ("" for the default) and the name of the page it is, or None and a
    problem for a file that follows no convention: translations sit beside the page they translate
    (`background.es.md`), never in a language folder (`es/background.md`)."""
    folder, _, rest = name.partition("/")
    if rest and folder in settings.other_languages:
        problems.append(Problem(source, 1, f"translations sit beside the page they translate, not in a '{folder}/' "
                                           "folder", f"move it to content/{rest[:-3]}.{folder}.md"))
        return None, name
    match = _TRANSLATION_NAME.match(name)
    if match is None:
        return "", name
    code = match.group(2)
    if code in settings.other_languages:
        return code, match.group(1) + ".md"
    if code == settings.default_language and len(settings.languages) > 1:
        problems.append(Problem(source, 1, f"'{code}' is the site's default language: its pages carry no language "
                                           "in their name", f"rename it to content/{match.group(1)}.md"))
        return None, name
    if len(code) == 2 or "-" in code:
        problems.append(Problem(source, 1, f"'{code}' is not one of the site's languages "
                                           f"({', '.join(settings.languages)})",
                                f"add it to 'languages' in {settings.config_source}, or rename the file"))
        return None, name
    return "", name


def place_translations(translations: list[tuple[Any, str]], pages: list[Any], originals: set[str], prefix: str,
                       settings: Settings, problems: list[Problem]) -> list[Any]:
    """Each translation at its language's folder plus the address of the page it translates; a page
    without a translation into some language is a warning. `originals` are the default language's
    files, loaded or not: the translation of a draft left out, or of a page with problems, is left out
    without a word of its own."""
    by_source: dict[str, Any] = {page.source: page for page in pages}
    placed: list[Any] = []  # content.Page, which imports this module
    done: set[tuple[str, str]] = set()
    for page, language in translations:
        original_source = prefix + translation_of(page.source[len(prefix):], settings, page.source, [])[1]
        original = by_source.get(original_source)
        if original is None:
            if original_source not in originals:
                problems.append(Problem(page.source, 1, f"this translates {original_source}, which does not exist",
                                        f"add {original_source}, or name this file after the page it translates, "
                                        "as background.es.md beside background.md"))
            continue
        if page.meta.slug:
            problems.append(Problem(page.source, page.line_of("slug"), "a translation takes its address from the "
                                    f"page it translates ({original_source}): remove 'slug'"))
        placed.append(dataclasses.replace(page, url=f"{language}/{original.url}", language=language, translates=original.source))
        done.add((original.source, language))
    problems += untranslated([page.source for page in pages if not page.unread], done, settings)  # a stand-in has its error
    return placed


def untranslated(sources: list[str], done: set[tuple[str, str]], settings: Settings) -> list[Problem]:
    """A warning for each page (by source) and language without a translation."""
    return [Problem(source, 1, f"no '{language}' translation ({source[:-3]}.{language}.md): the language switch on "
                               f"this page leads to the '{language}' home page", is_warning=True)
            for source in sources for language in settings.other_languages if (source, language) not in done]


def localized(value: Any, language: str, languages: tuple[str, ...]) -> Any:
    """A YAML tree as `language` reads it: in every mapping, `key_<language>` takes the place of `key`
    (keeping its line) and the keys of the site's other languages are dropped. A key without a
    translation keeps its default-language value."""
    if isinstance(value, YamlMap):
        result = YamlMap()
        result.line = value.line
        suffixes = {f"_{code}": code for code in languages}
        for key, item in value.items():
            code = next((code for suffix, code in suffixes.items()
                         if isinstance(key, str) and key.endswith(suffix)), None)
            if code is not None and code != language:
                continue
            name = key[:-len(code) - 1] if code is not None else key
            if code is None and name in result:
                continue  # its translation came first and stays
            result[name] = localized(item, language, languages)
            result.lines[name] = value.line_of(key)
            if key in value.raw:
                result.raw[name] = value.raw[key]
        return result
    if isinstance(value, YamlList):
        copy = YamlList()
        copy.line, copy.lines, copy.raw = value.line, value.lines, value.raw
        copy.extend(localized(item, language, languages) for item in value)
        return copy
    return value


def load_strings(sources: Mapping[str, str], languages: tuple[str, ...]
                 ) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Each language's interface strings from layouts/i18n/<code>.yaml (language -> key -> text). A
    table missing a key of the default language's is a problem naming the key and the file."""
    tables: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for code in languages:
        # es-MX reads i18n/es-MX.yaml, else i18n/es.yaml
        name = next((f"{STRINGS_FOLDER}/{tag}.yaml" for tag in (code, code.split("-")[0])
                     if f"{STRINGS_FOLDER}/{tag}.yaml" in sources), f"{STRINGS_FOLDER}/{code}.yaml")
        where = f"layouts/{name}"
        if name not in sources:
            if len(languages) > 1 or any(key.startswith(STRINGS_FOLDER + "/") for key in sources):
                problems.append(Problem(where, 0, f"there is no interface strings table for '{code}'",
                                        f"copy layouts/{STRINGS_FOLDER}/{languages[0]}.yaml and translate its values"))
            continue
        data, yaml_problems = load_yaml(sources[name], where)
        problems += yaml_problems
        if not isinstance(data, YamlMap):
            if not yaml_problems:
                problems.append(Problem(where, 1, "a strings table is key: \"text\" lines"))
            continue
        table: dict[str, str] = {}
        for key, value in data.items():
            if not isinstance(value, str):
                problems.append(Problem(where, data.line_of(key), f"the string '{key}' must be text in quotes"))
            else:
                table[str(key)] = value
        tables[code] = table
    default = tables.get(languages[0], {})
    for code, table in tables.items():
        for key in default:
            if key not in table:
                problems.append(Problem(f"layouts/{STRINGS_FOLDER}/{code}.yaml", 0, f"missing interface string '{key}'",
                                        f"layouts/{STRINGS_FOLDER}/{languages[0]}.yaml has it; add its translation"))
    return tables, problems


def strings_of(tables: Mapping[str, dict[str, str]], language: str) -> dict[str, str]:
    """One language's interface strings (none when its table is missing: that was reported)."""
    return tables.get(language, {})


def locale_of(tables: Mapping[str, dict[str, str]], language: str) -> str:
    """A language's Open Graph locale (`es_MX`): the `locale` of its strings table."""
    return strings_of(tables, language).get("locale", language.replace("-", "_"))


def translations_of(alternates: Mapping[str, dict[str, str]], original: str, home: str, settings: Settings,
                    tables: Mapping[str, dict[str, str]], root: str) -> list[dict[str, Any]]:
    """A page (by the source of its default-language original) in every language of the site: its address
    there (`url` from the page, `absolute`), or that language's home page (the original `home`) when it
    has no translation (`exists` false)."""
    urls, homes = alternates.get(original, {}), alternates.get(home, {})
    return [{"language": code, "name": strings_of(tables, code).get("language_name", code),
             "is_current": code == settings.language, "locale": locale_of(tables, code), "exists": code in urls,
             "url": root + urls.get(code, homes.get(code, "")),
             "absolute": settings.base_url + urls[code] if code in urls else ""}
            for code in settings.languages]


class MissingString(LookupError):
    """A template asked for an interface string its language's table does not have."""

    def __init__(self, key: str, language: str, detail: str = "") -> None:
        super().__init__(key)
        self.where = f"layouts/{STRINGS_FOLDER}/{language}.yaml"
        self.message = detail or f"no interface string '{key}'"


def translate(table: Mapping[str, str], language: str, key: str, values: Mapping[str, Any]) -> Markup:
    """The interface string `key` of a language's table with its {placeholders} filled in, as HTML: the
    table's text and the values are escaped, except values that already are HTML (Markup)."""
    text = table.get(key)
    if text is None:
        raise MissingString(key, language)
    try:
        return Markup(str(escape(text)).format_map({name: _escaped(value) for name, value in values.items()}))
    except (KeyError, IndexError, ValueError) as error:
        raise MissingString(key, language, f"the interface string '{key}' has a placeholder {error} "
                                           "the template gives no value") from None


def _escaped(value: Any) -> Any:
    """A value ready for str.format in HTML: numbers as they are (their formats stay usable), the rest
    escaped. The same HTML as Markup.format gives, without its formatter written in Python."""
    return value if isinstance(value, (int, float)) else escape(value)


def date_words(date: PartialDate, table: Mapping[str, str]) -> str:
    """A date in a language's words, at its precision: `date_day`, `date_month` or `date_year` with the
    table's `month_1` ... `month_12` (English when the table has none)."""
    if not table:
        return date.human()
    month = table.get(f"month_{date.month}", "") if date.month else ""
    form = table.get(f"date_{date.precision}", "{year}")
    return form.format(day=date.day, month=month, year=date.year)


def number_words(value: float, table: Mapping[str, str]) -> str:
    """A number as a language writes it: thousands grouped and the decimal mark from the table
    (`number_group_separator`, `number_decimal_separator`)."""
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")
    group, decimal = table.get("number_group_separator", ","), table.get("number_decimal_separator", ".")
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


def collation_key(text: str, strings: Mapping[str, str]) -> tuple[Any, ...]:
    """A sort key for words in a language: letters compare without their accents (á with a), except the
    letters the strings table's `collation_letters` names, which sort after their base letter (ñ after
    n); accents and case only break ties."""
    own = set(strings.get("collation_letters", ""))
    primary = []
    for letter in text.lower():
        base = "".join(mark for mark in unicodedata.normalize("NFD", letter) if not unicodedata.combining(mark))
        primary.append((base or letter, letter in own))
    return tuple(primary), text.lower(), text
