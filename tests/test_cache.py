"""The build cache (.cache/): a cached build is byte-identical to a clean one, serial or parallel (issue 8)."""

from __future__ import annotations

import marshal
import re
import shutil
from pathlib import Path

import pytest
from conftest import build_site, clean_build_digest, copy_site, tree_digest

import engine.content
import engine.convert
import engine.pagecache

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


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_cached_build_matches_a_clean_build_after_each_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             parallel: bool) -> None:
    # A threshold of 1 sends every conversion through the worker processes.
    monkeypatch.setattr(engine.convert, "PARALLEL_THRESHOLD", 1 if parallel else 10**9)
    site = copy_site("features", tmp_path)
    code, errors = build_site(site)
    assert code == 0, errors
    assert (site / ".cache" / "markdown").is_dir() and (site / ".cache" / "pages").is_dir()
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    for source, old, new in EDITS:
        _edit(site, source, old, new)
        code, errors = build_site(site)
        assert code == 0, (source, errors)
        assert tree_digest(site / "output") == clean_build_digest(site, tmp_path), source
    (site / "content" / "extra.md").write_text("---\ntitle: Extra\nsummary: An added page.\norder: 3\n---\nAdded.\n",
                                               encoding="utf-8")
    assert build_site(site)[0] == 0
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    (site / "content" / "extra.md").unlink()
    assert build_site(site)[0] == 0
    assert "extra/index.html" not in tree_digest(site / "output")
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_parallel_conversion_gives_the_same_bytes_as_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = copy_site("features", tmp_path)
    monkeypatch.setattr(engine.convert, "PARALLEL_THRESHOLD", 1)
    assert build_site(site, "--no-cache", "--output", str(tmp_path / "parallel"))[0] == 0
    monkeypatch.setattr(engine.convert, "PARALLEL_THRESHOLD", 10**9)
    assert build_site(site, "--no-cache", "--output", str(tmp_path / "serial"))[0] == 0
    assert tree_digest(tmp_path / "parallel") == tree_digest(tmp_path / "serial")


def test_a_corrupt_cache_entry_is_ignored(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    for entry in (site / ".cache").rglob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    for entry in (site / ".cache").rglob("*.html"):
        entry.unlink()
    _edit(site, "content/second.md", "| 2019 | 3 |", "| 2019 | 5 |")
    code, errors = build_site(site)
    assert code == 0, errors
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_a_different_engine_version_misses_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    key = engine.convert.conversion_key("Some *body*.")
    monkeypatch.setattr(engine.convert, "ENGINE_VERSION", "another")
    assert engine.convert.conversion_key("Some *body*.") != key


def test_cached_link_check_still_catches_links_broken_by_another_page(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    _edit(site, "content/second.md", "A [linked gadget]", "See [the middle part](../first/#middle). A [linked gadget]")
    assert build_site(site)[0] == 0
    assert (site / ".cache" / "links.json").is_file()
    _edit(site, "content/first.md", "## Middle", "## Centre")  # second.md is unchanged, its link now broken
    code, errors = build_site(site)
    assert code == 1
    assert any("second/index.html" in line and "#middle" in line for line in errors), errors
    _edit(site, "content/about.md", "This page says", "A [broken link](../nowhere/). This page says")
    code, errors = build_site(site)
    assert code == 1 and any("about/index.html" in line and "nowhere" in line for line in errors), errors
    _edit(site, "content/about.md", "A [broken link](../nowhere/). ", "")
    _edit(site, "content/second.md", "../first/#middle", "../first/#centre")
    code, errors = build_site(site)
    assert code == 0, errors
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def _entries(folder: Path) -> set[str]:
    """The keys a key-sharded cache folder holds (`xx/KEY.*`)."""
    return {file.name.split(".", 1)[0] for file in folder.glob("??/*")}


def test_a_series_of_layout_edits_keeps_the_cache_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.pagecache, "PRUNE_MARGIN", 0)
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    used = len(_entries(site / ".cache" / "pages"))
    bodies = len(_entries(site / ".cache" / "markdown"))
    for edit in range(6):
        # Every page changes with the layout, and one body too: both caches gain stale entries each time.
        _edit(site, "layouts/base.html", "</body>", f"<!-- edit {edit} --></body>")
        _edit(site, "content/first.md", "with one source" if edit == 0 else f"with one source ({edit - 1})",
              f"with one source ({edit})")
        before = tree_digest(site / "output")
        code, errors = build_site(site)
        assert code == 0, errors
        assert len(_entries(site / ".cache" / "pages")) <= 3 * used, edit
        assert len(_entries(site / ".cache" / "markdown")) <= 3 * bodies, edit
        assert tree_digest(site / "output") == clean_build_digest(site, tmp_path), edit
        assert before != tree_digest(site / "output")
    # Pruning unlinks cache entries only: the output's hard links to them keep their bytes.
    kept = tree_digest(site / "output")
    shutil.rmtree(site / ".cache")
    assert tree_digest(site / "output") == kept


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
@pytest.mark.parametrize("cache_file", ["pages/index.marshal", "content.marshal", "links.json"])
def test_a_damaged_consolidated_cache_file_is_ignored(tmp_path: Path, cache_file: str, damage: str) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    file = site / ".cache" / cache_file
    data = file.read_bytes()
    file.write_bytes({"garbage": b"\x00not a cache\xff" * 5, "truncated": data[: len(data) // 2], "empty": b""}[damage])
    _edit(site, "content/second.md", "| 2019 | 3 |", "| 2019 | 5 |")
    code, errors = build_site(site)
    assert code == 0, errors
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_damaged_page_details_are_read_from_the_page_itself(tmp_path: Path) -> None:
    """A cached page's links and uses come from its details file; damaged, the link check scans the
    cached page and the sources list finds its uses again, with the same result."""
    site = copy_site("features", tmp_path)
    _edit(site, "content/second.md", "A [linked gadget]", "See [the middle part](../first/#middle). A [linked gadget]")
    assert build_site(site)[0] == 0
    for entry in (site / ".cache" / "pages").glob("??/*.json"):
        entry.write_text("{not json", encoding="utf-8")
    _edit(site, "content/first.md", "## Middle", "## Centre")  # second's link breaks; the sources page changes
    code, errors = build_site(site)
    assert code == 1 and any("second/index.html" in line and "#middle" in line for line in errors), errors
    _edit(site, "content/second.md", "../first/#middle", "../first/#centre")
    code, errors = build_site(site)
    assert code == 0, errors
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_a_no_cache_build_neither_reads_nor_writes_the_cache(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    # Poison every cache file (replaced, not rewritten: the output links the page files).
    for file in (site / ".cache").rglob("*"):
        if file.is_file():
            replacement = file.with_name(file.name + ".new")
            replacement.write_bytes(b"poisoned")
            replacement.replace(file)
    before = tree_digest(site / ".cache")
    output = tmp_path / "no-cache-output"
    assert build_site(site, "--no-cache", "--output", str(output))[0] == 0
    assert tree_digest(output) == clean_build_digest(site, tmp_path)
    assert tree_digest(site / ".cache") == before


def test_the_parse_cache_is_keyed_by_the_bytes_and_the_parser(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    settings = engine.load_settings(site / "site_config.yaml")
    cache_file = site / ".cache" / "content.marshal"
    salt, records = marshal.loads(cache_file.read_bytes())
    # A forged record is believed only for the same bytes and the same parser code.
    key = next(k for k in records if k.startswith("content/first.md\0"))
    records[key] = ("Forged title", *records[key][1:])
    cache_file.write_bytes(marshal.dumps((salt, records)))
    pages, _ = engine.content.load_content(settings, engine.content.ParseCache(cache_file))
    assert [p.meta.title for p in pages if p.source == "content/first.md"] == ["Forged title"]
    monkeypatch.setattr(engine.content, "_PARSE_CACHE_FORMAT", "another")
    pages, _ = engine.content.load_content(settings, engine.content.ParseCache(cache_file))
    assert [p.meta.title for p in pages if p.source == "content/first.md"] == ["First section"]
    monkeypatch.undo()
    _edit(site, "content/first.md", "A claim with one source", "A claim, edited, with one source")
    pages, _ = engine.content.load_content(settings, engine.content.ParseCache(cache_file))
    assert [p.meta.title for p in pages if p.source == "content/first.md"] == ["First section"]


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


@pytest.mark.parametrize("damage", ["garbage", "truncated", "magic only"])
def test_damaged_compiled_templates_are_compiled_again(tmp_path: Path, damage: str) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    compiled = [file for file in (site / ".cache" / "jinja").rglob("*") if file.is_file()]
    assert compiled
    for file in compiled:
        data = file.read_bytes()
        file.write_bytes({"garbage": b"\x00junk" * 9, "truncated": data[: len(data) // 2],
                          "magic only": data[:8]}[damage])
    _edit(site, "layouts/section.html", "</article>", "<p>a layout edit</p></article>")
    code, errors = build_site(site)
    assert code == 0, errors
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_links_of_pages_rendered_in_worker_processes_are_checked_as_in_the_main_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages rendered in worker processes are scanned there (and their cache entries written there,
    engine/parallel.py): the same problems must come out, and again from the cache they wrote."""
    expected = (Path(__file__).parent / "fixtures" / "invalid_links" / "expected.txt").read_text(encoding="utf-8")
    reports = {}
    for threshold in (1, 10**9):
        monkeypatch.setattr(engine.convert, "PARALLEL_THRESHOLD", threshold)
        site = copy_site("invalid_links", tmp_path / str(threshold))
        first = build_site(site)
        (site / "content" / "index.md").write_text((site / "content" / "index.md").read_text(encoding="utf-8")
                                                   + "\nOne more line.\n", encoding="utf-8")
        again = build_site(site)
        reports[threshold] = (first, again)
    assert reports[1] == reports[10**9]
    code, lines = reports[1][0]
    assert code == 1
    assert "\n".join(re.sub(r"^(output/[^:]+):\d+:", r"\1:{line}:", line) for line in lines) + "\n" == expected
    assert reports[1][1] == reports[1][0]


def test_a_cold_build_in_worker_processes_keeps_every_converted_body(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The main process lets go of each body a worker rendered (Page.release_body), yet the cache's
    pruning at the end of a cold build must still know every body's key and keep its conversion."""
    monkeypatch.setattr(engine.convert, "PARALLEL_THRESHOLD", 1)
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    stored = sorted(p.stem for p in (site / ".cache" / "markdown").glob("*/*.json"))
    pages = [p for p in (site / "content").rglob("*.md")]
    bodies = {engine.convert.conversion_key(engine.content.split_front_matter(p.read_text(encoding="utf-8")).body)
              for p in pages}
    assert set(stored) == bodies
