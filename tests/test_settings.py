"""Unit tests for site_config.yaml validation: each message and its line number."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.errors import BuildError, UsageError

GOOD = """\
title: A site
description: What it is.
base_url: https://example.org/sub
"""


def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "layouts").mkdir(exist_ok=True)
    config = tmp_path / "site_config.yaml"
    config.write_text(text, encoding="utf-8")
    return config


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(BuildError) as caught:
        engine.load_settings(write_config(tmp_path, text))
    return [str(p) for p in caught.value.problems]


def test_good_settings_and_defaults(tmp_path: Path) -> None:
    settings = engine.load_settings(write_config(tmp_path, GOOD))
    assert settings.base_url == "https://example.org/sub/"
    assert settings.base_path == "/sub/"
    assert (settings.language, settings.output, settings.nav) == ("en", "output", ())


def test_languages_the_default_first_and_each_ones_own_title(tmp_path: Path) -> None:
    settings = engine.load_settings(write_config(tmp_path, GOOD + "languages: [en, es]\ntitle_es: Un sitio\n"))
    assert (settings.language, settings.languages, settings.other_languages) == ("en", ("en", "es"), ("es",))
    spanish = settings.edition("es")
    assert (spanish.language, spanish.title, spanish.description, spanish.url_prefix) == \
        ("es", "Un sitio", "What it is.", "es/")
    assert settings.url_prefix == "" and engine.load_settings(write_config(tmp_path, GOOD)).languages == ("en",)


def test_base_url_override_from_command_line(tmp_path: Path) -> None:
    settings = engine.load_settings(write_config(tmp_path, GOOD), base_url="https://preview.example.net/pr-4")
    assert settings.base_url == "https://preview.example.net/pr-4/"
    with pytest.raises(UsageError):
        engine.load_settings(write_config(tmp_path, GOOD), base_url="preview")
    with pytest.raises(UsageError, match=r"--base-url must be the address of the site's root folder, not "
                                         r"'https://p\.example\.net/x/\?utm=1' \(leave out the '\?' or '#'"):
        engine.load_settings(write_config(tmp_path, GOOD), base_url="https://p.example.net/x/?utm=1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD + "titel: x\n", ["site_config.yaml:4: unknown setting key 'titel' (did you mean 'title'?)"]),
        (GOOD + "languages: [en, es]\ntitle_fr: Un site\n",
         ["site_config.yaml:5: 'title_fr' is in 'fr', which is not one of the site's other languages (es) "
          "(add fr to 'languages')"]),
        (GOOD + "language: es\nlanguages: [en, es]\n",
         ["site_config.yaml:4: 'language' is es, but 'languages' starts with en (the first of 'languages' is the "
          "default language: drop 'language' or make them agree)"]),
        (GOOD + "languages: [en, es, en, x_y]\n",
         ["site_config.yaml:4: 'languages' names a language twice",
          "site_config.yaml:4: 'x_y' is not a language tag such as en or es-MX"]),
        ("description: d\nbase_url: https://e.org/\n", ["site_config.yaml:1: missing required key 'title'"]),
        (GOOD + "nav: background\nlanguage: 12\n",
         ["site_config.yaml:5: 'language' must be text, but YAML read 12 as a number (put it in quotes: language: \"12\")"]),
        (GOOD.replace("https://example.org/sub", "example.org"),
         ["site_config.yaml:3: 'base_url' must be an http or https address, not 'example.org'"]),
        (GOOD.replace("example.org/sub", "example.org/sub/#top"),
         ["site_config.yaml:3: 'base_url' must be the address of the site's root folder, not "
          "'https://example.org/sub/#top' (leave out the '?' or '#' and what follows)"]),
        (GOOD.replace("example.org/sub", "example.org/sub/index.html"),
         ["site_config.yaml:3: 'base_url' must be the address of the site's root folder, not of the page "
          "'https://example.org/sub/index.html' (leave out the file name)"]),
        (GOOD + "contact: nobody\n", ["site_config.yaml:4: 'contact' must be an email address or an http(s) address"]),
        (GOOD + "title: again\n",
         ["site_config.yaml:4: duplicate key 'title', first on line 1 (keep one: YAML would silently use the last)"]),
        (GOOD + "nav: [a, b\n", ["site_config.yaml:4: YAML syntax error: did not find expected ',' or ']' "
                                "(the '[' on this line is never closed with ']')"]),
        ("- a\n- b\n", ["site_config.yaml:1: the settings file must be a mapping of key: value lines"]),
    ],
    ids=["unknown-key", "unknown-language-key", "language-disagrees", "bad-languages", "missing-title", "wrong-type",
         "bad-base-url", "base-url-with-fragment", "base-url-of-a-page", "bad-contact", "duplicate-key",
         "yaml-syntax", "not-a-mapping"],
)
def test_settings_problems(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems_of(tmp_path, text) == expected


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    lines = problems_of(tmp_path, "titel: x\ndescription: 3\nbase_url: nope\n")
    assert lines == [
        "site_config.yaml:1: missing required key 'title'",
        "site_config.yaml:1: unknown setting key 'titel' (did you mean 'title'?)",
        "site_config.yaml:2: 'description' must be text, but YAML read 3 as a number "
        "(put it in quotes: description: \"3\")",
        "site_config.yaml:3: 'base_url' must be an http or https address, not 'nope'",
    ]


def test_missing_settings_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no settings file"):
        engine.load_settings(tmp_path / "nowhere.yaml")
