"""The build cache (.cache/): a cached build is byte-identical to a --no-cache one, in one process or many.

Entries are keyed by a digest of what made them and checked before reuse (engine/cache.py). The
traps of a cache that goes stale when the engine changes are in test_cache_traps.py; damaged
entries and folders in test_cache_damage.py.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FIXTURES, build_site, clean_build_digest, copy_site, tree_digest

import engine
from engine.cache import PRUNE_MARGIN, Cache
from engine.content import Page, load_content, parse_key, split_front_matter
from engine.records import ConvertedBody
from engine.render import markdown_key

EDITS = [
    ("content/first.md", "A claim with one source", "A reworded claim with one source"),
    ("content/first.md", "title: First section", "title: First section, renamed"),
    ("layouts/section.html", "</article>", "<p>a layout edit</p></article>"),
    # Imported as a macro by page-sources.html: the import is a dependency like an include.
    ("layouts/partials/source-entry.html", 'rel="external noopener"', 'rel="external noopener noreferrer"'),
    ("content/sources.yaml", "Alpha report", "Alpha report, corrected"),
    ("content/glossary.yaml", "aliases: [widgets]", "aliases: [widgets, gizmo]"),
    ("content/timeline.yaml", "title: Later event", "title: Later event, renamed"),
    ("site_config.yaml", "tagline: Every feature once", "tagline: Every feature, once"),
]


def _edit(site: Path, source: str, old: str, new: str) -> None:
    file = site / source
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {source}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_cached_build_in_workers_matches_a_clean_build_after_each_edit(tmp_path: Path) -> None:
    """--jobs 2 puts every page in the pool (test_build.py runs such a series in one process)."""
    jobs = "2"
    site = copy_site("features", tmp_path)
    code, errors = build_site(site, "--jobs", jobs)
    assert code == 0, errors
    assert (site / ".cache" / "markdown").is_dir() and (site / ".cache" / "pages").is_dir()
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    for source, old, new in EDITS:
        _edit(site, source, old, new)
        code, errors = build_site(site, "--jobs", jobs)
        assert code == 0, (source, errors)
        assert tree_digest(site / "output") == clean_build_digest(site, tmp_path), source
    (site / "content" / "extra.md").write_text("---\ntitle: Extra\nsummary: An added page.\norder: 3\n---\nAdded.\n",
                                               encoding="utf-8")
    assert build_site(site, "--jobs", jobs)[0] == 0
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    (site / "content" / "extra.md").unlink()
    assert build_site(site, "--jobs", jobs)[0] == 0
    assert "extra/index.html" not in tree_digest(site / "output")
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


# Keys whose values readers see, in content, data and settings files (a strings table's are all seen):
# the edit below appends a word to each.
_SHOWN = frozenset(["title", "summary", "tagline", "description", "term", "definition", "text", "body", "note",
                    "publisher", "caption", "alt", "credit", "change_note"])
_VALUE = re.compile(r"^(\s*(?:- )?([a-z_]+): )(\S.*)$", re.M)
_LANGUAGES = "three_languages"
_INPUTS = [f"content/{name}" for name in sorted(path.name for path in (FIXTURES / _LANGUAGES / "content").iterdir())]
_INPUTS += ["layouts/i18n/en.yaml", "layouts/i18n/es.yaml", "layouts/i18n/fr.yaml", "site_config.yaml"]


def _edit_every_shown_value(file: Path) -> None:
    """Append a word to every value of a file that readers see, and a sentence to a page's body."""

    def edited(match: re.Match[str]) -> str:
        start, key, value = match.groups()
        if (file.parent.name != "i18n" and key.split("_")[0] not in _SHOWN) or value[0] in "[{|>&*#":
            return match.group(0)
        if value[0] in "\"'" and value[-1] == value[0] and len(value) > 1:
            return f"{start}{value[:-1]} Zed{value[-1]}"
        return f"{start}{value} Zed"

    text = _VALUE.sub(edited, file.read_text(encoding="utf-8"))
    file.write_text(text + ("\nOne more sentence.\n" if file.suffix == ".md" else ""), encoding="utf-8")


@pytest.mark.parametrize("source", _INPUTS)
def test_every_value_readers_see_in_a_file_reaches_the_cached_build(tmp_path: Path, source: str) -> None:
    """Whatever file of a site in three languages changes, and wherever its words show (a strings table
    names its language on every other language's pages), the cached build is the clean one."""
    site = copy_site(_LANGUAGES, tmp_path)
    shutil.copy(site / "i18n" / "fr.yaml", site / "layouts" / "i18n" / "fr.yaml")
    assert build_site(site)[0] == 0
    before = tree_digest(site / "output")
    _edit_every_shown_value(site / source)
    code, errors = build_site(site)
    assert code == 0, errors
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    assert tree_digest(site / "output") != before, "the edit changed no page: the test edits nothing"


def test_pages_rendered_in_worker_processes_are_the_pages_of_one_process(tmp_path: Path,
                                                                        forks: Callable[[], int]) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site, "--no-cache", "--jobs", "1", "--output", str(tmp_path / "one"))[0] == 0
    assert forks() == 0
    assert build_site(site, "--no-cache", "--jobs", "2", "--output", str(tmp_path / "workers"))[0] == 0
    assert forks() >= 2, "--jobs 2 rendered no page in a worker process"
    assert tree_digest(tmp_path / "workers") == tree_digest(tmp_path / "one")


def test_cached_link_check_still_catches_links_broken_by_another_page(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    _edit(site, "content/second.md", "A [linked gadget]", "See [the middle part](../first/#middle). A [linked gadget]")
    assert build_site(site)[0] == 0
    assert any((site / ".cache" / "links").rglob("*"))
    _edit(site, "content/first.md", "## Middle", "## Centre")  # second.md is unchanged, its link now broken
    code, errors = build_site(site)
    assert code == 1
    assert any(line.startswith("content/second.md:") and "#middle" in line for line in errors), errors
    _edit(site, "content/about.md", "This page says", "A [broken link](../nowhere/). This page says")
    code, errors = build_site(site)
    assert code == 1 and any(line.startswith("content/about.md:5: ") and "nowhere" in line for line in errors), errors
    _edit(site, "content/about.md", "A [broken link](../nowhere/). ", "")
    _edit(site, "content/second.md", "../first/#middle", "../first/#centre")
    code, errors = build_site(site)
    assert code == 0, errors
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def _entries(folder: Path) -> list[Path]:
    """The entry files of one kind of the cache (`.cache/<kind>/<digest>`)."""
    return [file for file in folder.iterdir() if file.is_file()] if folder.is_dir() else []


def test_a_series_of_layout_edits_keeps_the_page_cache_bounded(tmp_path: Path) -> None:
    """Each edit of the base layout makes every page's entry stale; past twice the entries a build uses
    (plus PRUNE_MARGIN), a build forgets the ones it did not use."""
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    used = len(_entries(site / ".cache" / "pages"))
    limit = 2 * used + PRUNE_MARGIN
    edits = limit // used + 2
    sizes = []
    for edit in range(edits):
        _edit(site, "layouts/base.html", "</body>", f"<!-- edit {edit} --></body>")
        code, errors = build_site(site)
        assert code == 0, errors
        sizes.append(len(_entries(site / ".cache" / "pages")))
        assert sizes[-1] <= limit, (edit, sizes)
    assert min(sizes[1:]) < max(sizes), f"never pruned: {sizes}"
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    kept = tree_digest(site / "output")
    shutil.rmtree(site / ".cache")
    assert tree_digest(site / "output") == kept


@pytest.mark.parametrize(("stored", "wanted", "left"), [
    (2 * 10 + PRUNE_MARGIN, 10, 2 * 10 + PRUNE_MARGIN),  # at the limit: nothing goes
    (2 * 10 + PRUNE_MARGIN + 1, 10, 10),                  # past it: only what the build used stays
])
def test_prune_forgets_unused_entries_only_past_the_limit(tmp_path: Path, stored: int, wanted: int, left: int) -> None:
    cache = Cache(tmp_path / "cache")
    for number in range(stored):
        cache.put("pages", f"key-{number}", number)
    cache.prune("pages", lambda: [f"key-{number}" for number in range(wanted)], wanted)
    assert len(_entries(tmp_path / "cache" / "pages")) == left
    assert [cache.get("pages", f"key-{number}") for number in range(wanted)] == list(range(wanted))


def test_prune_removes_the_subfolders_of_an_older_cache_layout(tmp_path: Path) -> None:
    """Entries once lived in subfolders named by their first two hex digits; pruning clears those out."""
    cache = Cache(tmp_path / "cache")
    old = tmp_path / "cache" / "pages" / "ab"
    old.mkdir(parents=True)
    (old / ("ab" + "0" * 62)).write_bytes(b"an entry of the old layout")
    for number in range(2 * 10 + PRUNE_MARGIN):
        cache.put("pages", f"key-{number}", number)
    cache.prune("pages", lambda: [f"key-{number}" for number in range(10)], 10)
    assert not old.exists()
    assert len(_entries(tmp_path / "cache" / "pages")) == 10


def test_a_no_cache_build_neither_reads_nor_writes_the_cache(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    for file in (site / ".cache").rglob("*"):
        if file.is_file():
            file.write_bytes(b"poisoned")
    before = tree_digest(site / ".cache")
    output = tmp_path / "no-cache-output"
    assert build_site(site, "--no-cache", "--output", str(output))[0] == 0
    assert tree_digest(output) == clean_build_digest(site, tmp_path)
    assert tree_digest(site / ".cache") == before


def test_a_parsed_page_is_reused_only_for_the_same_bytes(tmp_path: Path) -> None:
    """Content files are always read (timestamps can lie); a file's parse is taken from the cache only
    when its path and the sha256 of its bytes are those it was parsed from."""
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    settings = engine.load_settings(site / "site_config.yaml")
    cache = Cache(site / ".cache")
    parsed = cache.get("parsed", "pages")
    assert isinstance(parsed, dict)
    first = site / "content" / "first.md"
    key = parse_key("content/first.md", hashlib.sha256(first.read_bytes()).hexdigest())
    page = parsed[key]
    assert isinstance(page, Page) and page.body == ""  # bodies are read again when a page is rendered
    parsed[key] = replace(page, meta=replace(page.meta, title="Forged title"))
    cache.put("parsed", "pages", parsed)

    def first_title() -> str:
        pages, _ = load_content(settings, Cache(site / ".cache"))
        return next(loaded.meta.title for loaded in pages if loaded.source == "content/first.md")

    assert first_title() == "Forged title"  # the same bytes: the cache is believed
    _edit(site, "content/first.md", "A claim with one source", "A claim, edited, with one source")
    assert first_title() == "First section"


def test_a_cached_page_that_becomes_invalid_is_reported_as_without_the_cache(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    _edit(site, "content/second.md", "title: Second section", "titel: Second section")
    cached = build_site(site)
    uncached = build_site(site, "--no-cache", "--output", str(tmp_path / "uncached"))
    assert cached[0] == 1 and cached == uncached
    _edit(site, "content/second.md", "titel: Second section", "title: Second section")
    assert build_site(site)[0] == 0
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "header only"])
def test_damaged_compiled_templates_are_compiled_again(tmp_path: Path, damage: str) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    compiled = _entries(site / ".cache" / "jinja")
    assert compiled
    for file in compiled:
        data = file.read_bytes()
        file.write_bytes({"garbage": b"\x00junk" * 9, "truncated": data[: len(data) // 2],
                          "header only": data[:50]}[damage])
    _edit(site, "layouts/section.html", "</article>", "<p>a layout edit</p></article>")
    code, errors = build_site(site)
    assert code == 0, errors
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_links_of_pages_rendered_in_worker_processes_are_checked_as_in_the_main_process(tmp_path: Path) -> None:
    """Pages rendered in worker processes are scanned there (and stored in the cache there): the same
    problems must come out, and again from the cache they filled."""
    expected = (FIXTURES / "invalid_links" / "expected.txt").read_text(encoding="utf-8")
    reports = {}
    for jobs in ("1", "2"):
        site = copy_site("invalid_links", tmp_path / jobs)
        first = build_site(site, "--jobs", jobs)
        (site / "content" / "index.md").write_text((site / "content" / "index.md").read_text(encoding="utf-8")
                                                   + "\nOne more line.\n", encoding="utf-8")
        again = build_site(site, "--jobs", jobs)
        reports[jobs] = (first, again)
    assert reports["2"] == reports["1"]
    code, lines = reports["2"][0]
    assert code == 1
    assert "\n".join(re.sub(r"^(output/[^:]+):\d+:", r"\1:{line}:", line) for line in lines) + "\n" == expected
    assert reports["2"][1] == reports["2"][0]


def test_a_cold_build_in_worker_processes_keeps_every_converted_body(tmp_path: Path) -> None:
    """Workers store what they convert; the pruning at the end of the build must know every body's key."""
    site = copy_site("features", tmp_path)
    assert build_site(site, "--jobs", "2")[0] == 0
    cache = Cache(site / ".cache")
    for file in sorted((site / "content").rglob("*.md")):
        body = split_front_matter(file.read_text(encoding="utf-8")).body
        assert isinstance(cache.get("markdown", markdown_key(body)), ConvertedBody), file.name


def test_output_never_shares_storage_with_the_cache(tmp_path: Path) -> None:
    """A file of output/ or of the spare is never a link to a cache entry, so an edit of one cannot
    change the other."""
    site = copy_site("features", tmp_path)
    for _ in range(3):
        assert build_site(site)[0] == 0
    cache_inodes = {file.stat().st_ino for file in (site / ".cache").rglob("*") if file.is_file()}
    for tree in (site / "output", site / ".output.spare"):
        files = [file for file in tree.rglob("*") if file.is_file()]
        assert files and all(file.stat().st_nlink == 1 for file in files), tree.name
        assert not cache_inodes & {file.stat().st_ino for file in files}, tree.name


def test_a_broken_fragment_into_a_cached_page_is_found_on_a_rebuild(tmp_path: Path) -> None:
    """A rebuild checks a changed page's links against the ids of pages taken from the cache, which it reads
    back from their entries."""
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    first = site / "content" / "first.md"
    first.write_text(first.read_text(encoding="utf-8") + "\nSee [the table](../second/#no-such-heading).\n",
                     encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1
    assert any("broken link '../second/#no-such-heading': second/index.html has no id 'no-such-heading'" in line
               for line in lines), lines


def test_a_records_digest_is_that_of_its_fields_whatever_it_caches_on_itself() -> None:
    """BodyEnv and SiteView cache derived values on themselves (a compiled pattern, their own digest):
    a key made of such a record must not change once those are computed, nor refuse them."""
    from engine.cache import stable_digest
    from engine.data import GlossaryTerm, SiteData
    from engine.directives import BodyEnv

    def env() -> BodyEnv:
        return BodyEnv(SiteData(glossary={"w": GlossaryTerm("w", "widget", "A part.")}), {}, {}, {"w": "A part."})

    fresh, used = env(), env()
    assert used.terms[0] is not None  # compiled and kept on the instance
    assert stable_digest(fresh) == stable_digest(used) == used.digest == fresh.digest


def test_data_files_with_warnings_give_the_same_warnings_from_the_cache(tmp_path: Path) -> None:
    """Data that loads with warnings is cached with them: a cached build warns as the first did."""
    site = copy_site("features", tmp_path)
    sources = site / "content" / "sources.yaml"
    sources.write_text(re.sub(r"\n  archive_url: .*", "", sources.read_text(encoding="utf-8")), encoding="utf-8")
    code, first = build_site(site)
    assert code == 0, first
    archive_warnings = [line for line in first if "content/sources.yaml:" in line and "archive_url" in line]
    assert archive_warnings, first
    assert any(path.is_file() for path in (site / ".cache" / "data").rglob("*"))
    code, second = build_site(site)
    assert code == 0, second
    assert [line for line in second if "archive_url" in line] == archive_warnings
