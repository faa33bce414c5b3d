"""Property-based tests of the parsers: front matter, YAML lines, dates, citations, slugs, paths."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.content import directive_names, parse_page, slugify, split_front_matter
from engine.dates import parse_date
from engine.limits import MAX_NESTING, has_deep_prefix
from engine.markup import scan_citations
from engine.write import safe_join
from engine.yamlfile import YamlMap, load_yaml

# -- front matter -------------------------------------------------------------------

_LINE = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
_YAML_LINES = st.lists(_LINE.filter(lambda line: line.rstrip(" \t") not in ("---", "...")), max_size=8)
_BODY_LINES = st.lists(_LINE, max_size=8)


@given(_YAML_LINES, _BODY_LINES, st.booleans(), st.booleans())
def test_front_matter_split_and_join_round_trip(yaml_lines: list[str], body_lines: list[str], crlf: bool,
                                                bom: bool) -> None:
    assume(not any("\ufeff" in line for line in yaml_lines + body_lines))
    newline = "\r\n" if crlf else "\n"
    text = ("\ufeff" if bom else "") + newline.join(["---", *yaml_lines, "---", *body_lines])
    assume(text.strip("\ufeff").strip())
    front = split_front_matter(text)
    assert front.yaml_text == "\n".join(yaml_lines)
    assert front.body == "\n".join(body_lines)
    assert front.yaml_line == 2
    assert front.body_line == len(yaml_lines) + 3
    rejoined = "\n".join(["---", front.yaml_text, "---", front.body]) if yaml_lines else "\n".join(
        ["---", "---", front.body])
    assert split_front_matter(rejoined) == front


# -- YAML with lines ------------------------------------------------------------------

_KEY = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
_VALUE = st.one_of(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20), st.integers(),
                   st.booleans())


@given(st.dictionaries(_KEY, _VALUE, min_size=1, max_size=8), st.integers(0, 50), st.lists(st.booleans(), max_size=8))
def test_yaml_keys_keep_their_lines_and_values(mapping: dict[str, object], offset: int, blanks: list[bool]) -> None:
    lines: list[str] = []
    expected_lines: dict[str, int] = {}
    for index, (key, value) in enumerate(mapping.items()):
        if index < len(blanks) and blanks[index]:
            lines.append("# a comment")
        expected_lines[key] = len(lines) + 1 + offset
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    data, problems = load_yaml("\n".join(lines), "content/x.md", line_offset=offset)
    assert problems == []
    assert isinstance(data, YamlMap)
    assert dict(data) == mapping
    assert {key: data.line_of(key) for key in data} == expected_lines


@given(st.lists(_KEY, min_size=2, max_size=8, unique=True), st.data())
def test_yaml_duplicate_key_is_reported_on_its_own_line(keys: list[str], draw: st.DataObject) -> None:
    repeat = draw.draw(st.sampled_from(keys[:-1]))
    lines = [f"{key}: x" for key in keys] + [f"{repeat}: y"]
    _, problems = load_yaml("\n".join(lines), "site_config.yaml")
    assert [(p.line, p.message) for p in problems] == [
        (len(lines), f"duplicate key '{repeat}', first on line {keys.index(repeat) + 1}")]


# -- dates ------------------------------------------------------------------------------

@given(st.dates(dt.date(1000, 1, 1), dt.date(9999, 12, 31)), st.sampled_from(["year", "month", "day"]))
def test_dates_keep_their_precision(day: dt.date, precision: str) -> None:
    text = {"year": f"{day.year:04d}", "month": f"{day.year:04d}-{day.month:02d}", "day": day.isoformat()}[precision]
    parsed = parse_date(text)
    assert parsed.precision == precision
    assert parsed.iso() == text
    assert parsed.first_day() <= day <= parsed.last_day()
    assert parse_date(parsed.iso()) == parsed


@given(st.integers(1000, 9999), st.integers(1, 12), st.integers(29, 99))
def test_impossible_days_are_refused(year: int, month: int, day: int) -> None:
    assume(day > calendar.monthrange(year, month)[1])
    with pytest.raises(ValueError, match="is not a real day"):
        parse_date(f"{year:04d}-{month:02d}-{day:02d}")


# -- citations ---------------------------------------------------------------------------

_ID = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
_WORDS = st.from_regex(r"[A-Za-z ,.]{0,20}", fullmatch=True)


@given(st.lists(st.tuples(st.sampled_from(["text", "cite", "span", "fence"]), _ID, _WORDS), max_size=12))
def test_citations_are_found_outside_code_only(pieces: list[tuple[str, str, str]]) -> None:
    lines: list[str] = []
    expected: list[tuple[str, ...]] = []
    for kind, source_id, words in pieces:
        if kind == "text":
            lines.append(words)
        elif kind == "cite":
            lines.append(f"{words} [@{source_id}].")
            expected.append((source_id,))
        elif kind == "span":
            lines.append(f"{words} `[@{source_id}]` and ``a [@{source_id}; @{source_id}] b``")
        else:
            lines.extend(["```", f"[@{source_id}] {words}", "```"])
    found = scan_citations("\n".join(lines))
    assert [ids for _, ids in found] == expected


# -- slugs and output paths --------------------------------------------------------------

@given(st.text(max_size=40))
def test_slugs_are_idempotent_and_safe(text: str) -> None:
    slug = slugify(text)
    assert slugify(slug) == slug
    assert slug and re.fullmatch(r"[\w]+(?:-[\w]+)*", slug)
    assert "/" not in slug and "\\" not in slug and "." not in slug


@given(st.text(st.sampled_from(list("ab./\\\0 -_é")), max_size=30))
def test_joined_output_paths_never_leave_the_folder(out_path: str) -> None:
    folder = Path("/srv/site/output")
    try:
        joined = safe_join(folder, out_path)
    except ValueError:
        return
    assert joined.is_relative_to(folder) and joined != folder
    assert ".." not in joined.parts


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1,
                        max_size=12), min_size=1, max_size=3))
def test_any_file_name_gives_a_page_inside_the_output(parts: list[str]) -> None:
    assume(all(part not in (".", "..") for part in parts))
    relative = PurePosixPath(*parts[:-1], parts[-1] + ".md")
    page, problems = parse_page("---\ntitle: T\nsummary: S\n---\nBody\n", f"content/{relative}", Path(relative), "0" * 64)
    assert page is not None and problems == []
    folder = Path("/srv/site/output")
    assert safe_join(folder, page.out_path).is_relative_to(folder)
    assert page.url == "" or page.url.endswith("/")


# -- nesting check shortcut ---------------------------------------------------------

_NESTING_LINE = st.lists(st.sampled_from([" ", "\t", "    ", ">", "> ", "- ", "* ", "+ ", "1. ", "12) ", "x"]),
                         max_size=130).map("".join)
# What the shortcuts stand for, written the plain way: `^` under re.M.
_DEEP_PREFIX = re.compile(rf"^[ \t>*+\-\d.)]{{{MAX_NESTING + 1},}}", re.M)
_DIRECTIVE_LINE = re.compile(r"^:::[ \t]+([A-Za-z][\w-]*)", re.M)


@given(st.lists(_NESTING_LINE, min_size=1, max_size=4))
def test_the_deep_nesting_shortcut_never_hides_a_too_deep_line(lines: list[str]) -> None:
    """engine/content.py skips its line-by-line nesting check when no line starts with MAX_NESTING + 1
    indent, quote or marker characters; the full check must agree whenever the shortcut says "fine"."""
    from engine import content, limits

    body = "\n".join(lines)
    full = all(limits.nesting_depth(line) <= MAX_NESTING for _, line in content.lines_outside_code(body))
    if not limits.has_deep_prefix(body):
        assert full
    assert content._check_nesting(body, 1, "content/x.md", []) == full


_DIRECTIVE_TEXT = st.lists(st.sampled_from([":::", "::: chart a", ":::\tsources", "::: 9x", " ::: chart", "x::: y",
                                            "\n", "\r", " ", "\t", "text", "-", ">", "1.", "ab-c"]),
                           max_size=60).map("".join)


@given(_DIRECTIVE_TEXT, st.integers(min_value=0, max_value=130))
def test_the_fast_line_scans_find_what_the_multiline_patterns_find(body: str, indent: int) -> None:
    """directive_names and has_deep_prefix avoid `^` of re.M (tried at every character); they must
    answer as the patterns they stand for."""
    assert directive_names(body) == tuple(sorted(set(_DIRECTIVE_LINE.findall(body))))
    for text in (body, " " * indent + body, body + "\n" + ">" * indent + " x"):
        assert has_deep_prefix(text) == bool(_DEEP_PREFIX.search(text))
