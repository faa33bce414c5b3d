"""Whatever a writer types into front matter or a data file, the build ends with exit 0 or 1: never a
traceback, never `internal error` (exit 70). Values come from hypothesis: edge numbers, dates, control
characters, markup, YAML syntax of every kind, and arbitrary text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import FIXTURES, build_site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_EDGES = st.sampled_from([
    "0", "-0", "0000", "0000-01-01", "9999-12-31", "9999-12", "10000", "2018-02-30", "2018-00", "1e999", "-1e999",
    "1e-320", "5e-324", "1e-9", "nan", ".nan", ".inf", "9" * 400, "9" * 5000, "-" + "9" * 30, "1_000", "0x10", "012", "1.", ".5",
    "true", "no", "null", "~", "''", '""', "[]", "{}", "[1, [2]]", "{a: 1}", "&a [*a]", "!!binary aGk=", "!!python/none",
    "<<: {a: 1}", "'\\x01'", '"\\x01\\f\\ud800"', '"\\t"', "'<script>alert(1)</script>'", "'[' * 3",
    "'javascript:alert(1)'", "https://example.org/", "//example.org/x.png", "'../../site_config'", "'::: chart x'",
    "index", "'a: b'", "|\n  block\n  text", ">-\n  folded",
])
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40).map(json.dumps)
_INTEGERS = st.integers().map(str)
_FLOATS = st.floats(allow_nan=True, allow_infinity=True).map(repr)
_VALUE = st.one_of(_EDGES, _TEXT, _INTEGERS, _FLOATS)
_PAGE_KEYS = st.sampled_from(["title", "summary", "updated", "order", "slug", "layout", "draft", "change_note", "nokey"])
_DATA = st.sampled_from([
    ("figures.yaml", "applications:\n  title: Applications\n  unit: applications\n  sources: [wapo]\n"
                     "  values:\n    - {{label: \"2017\", value: {value}}}\n    - {{label: \"2018\", value: 20}}\n"),
    ("timeline.yaml", "categories:\n  mexico: Mexico\nevents:\n  - date: {value}\n    title: An event\n"
                      "    sources: [wapo]\n    category: mexico\n"),
    ("sources.yaml", "wapo:\n  title: A report\n  publisher: The Post\n  date: {value}\n"
                     "  url: https://www.example.com/report\n  kind: news report\n"),
    ("glossary.yaml", "asylum:\n  term: asylum\n  definition: {value}\n"),
])


def _indented(value: str) -> str:
    """A value written on its key's line, its own further lines indented under the key."""
    return value.replace("\n", "\n    ")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(page=st.dictionaries(_PAGE_KEYS, _VALUE, max_size=4), data=_DATA, value=_VALUE)
def test_no_value_crashes_the_build(page: dict[str, str], data: tuple[str, str], value: str, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(FIXTURES / "invalid_unknown_directive_targets", site, ignore=shutil.ignore_patterns("expected.txt"))
    shutil.copytree(FIXTURES.parent.parent / "layouts", site / "layouts")
    front = "".join(f"{key}: {_indented(text)}\n" for key, text in {"title": "About", "summary": "S.", **page}.items())
    (site / "content" / "about.md").write_text(f"---\n{front}---\nText [@wapo].\n", encoding="utf-8")
    name, template = data
    (site / "content" / name).write_text(template.format(value=_indented(value)), encoding="utf-8")
    code, lines = build_site(site, "--quiet", "--no-cache", "--jobs", "1")
    assert code in (0, 1), lines
    assert not any("internal error" in line or "Traceback" in line for line in lines), lines
