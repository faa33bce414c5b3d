"""The build cache (.cache/): a cached build is byte-identical to a clean one, serial or parallel (issue 8)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import build_site, copy_site, tree_digest

import engine.convert

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


def _clean_digest(site: Path, tmp_path: Path) -> dict[str, str]:
    output = tmp_path / "clean-output"
    shutil.rmtree(output, ignore_errors=True)
    code, errors = build_site(site, "--no-cache", "--output", str(output))
    assert code == 0, errors
    return tree_digest(output)


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
    assert tree_digest(site / "output") == _clean_digest(site, tmp_path)
    for source, old, new in EDITS:
        _edit(site, source, old, new)
        code, errors = build_site(site)
        assert code == 0, (source, errors)
        assert tree_digest(site / "output") == _clean_digest(site, tmp_path), source
    (site / "content" / "extra.md").write_text("---\ntitle: Extra\nsummary: An added page.\norder: 3\n---\nAdded.\n",
                                               encoding="utf-8")
    assert build_site(site)[0] == 0
    assert tree_digest(site / "output") == _clean_digest(site, tmp_path)
    (site / "content" / "extra.md").unlink()
    assert build_site(site)[0] == 0
    assert "extra/index.html" not in tree_digest(site / "output")
    assert tree_digest(site / "output") == _clean_digest(site, tmp_path)


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
    assert tree_digest(site / "output") == _clean_digest(site, tmp_path)


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
    assert tree_digest(site / "output") == _clean_digest(site, tmp_path)
