"""LiveSite, the dev server's in-memory site: identical to a full build, and re-rendering only what changed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import build_site, copy_site, tree_digest

import engine
from engine.live import LiveSite

THIRD = """---
title: Third section
summary: A third section, outside the navigation.
order: 3
---
## Only part

A paragraph with no citations.
"""


def _live(site: Path) -> LiveSite:
    return LiveSite(engine.load_settings(site / "site_config.yaml", include_drafts=True))


def _digest(files: Mapping[str, bytes]) -> dict[str, str]:
    return {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())}


def _full_build(site: Path) -> dict[str, str]:
    """A fresh, uncached build of the same sources, as `make build --drafts` would write it."""
    output = site.parent / "fresh-output"
    code, errors = build_site(site, "--no-cache", "--drafts", "--output", str(output))
    assert code == 0, errors
    return tree_digest(output)


def _edit(site: Path, source: str, old: str, new: str) -> str:
    file = site / source
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {source}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return source


def test_first_rebuild_matches_a_full_build(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    live = _live(site)
    report = live.rebuild()
    assert _digest(live.files) == _full_build(site)
    assert "first/index.html" in report.rendered and "index.html" in report.rendered


def test_series_of_edits_stays_identical_to_a_full_build(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    live = _live(site)
    live.rebuild()
    steps: list[tuple[str, str, str]] = [
        ("content/first.md", "A claim with one source", "A changed claim with one source"),
        ("content/first.md", "title: First section", "title: First section, renamed"),
        ("layouts/section.html", "</article>", "<p>layout edit</p></article>"),
        ("content/sources.yaml", "Alpha report", "Alpha report (edited)"),
        ("content/timeline.yaml", "title: Later event", "title: Later event, edited"),
        ("content/second.md", "| 2019 | 3 |", "| 2019 | 4 |"),
        # What the dev server keeps in memory between edits must never go stale:
        ("content/glossary.yaml", "A different small thing.", "A different, smaller thing."),  # tooltips
        ("content/first.md", "and a widget term.", "and a widget term [@gamma]."),  # the sources page
        ("content/first.md", 'updated: "2020-01-03"', 'updated: "2020-02-03"'),  # the feed and sitemap
        ("content/first.md", "and a widget term [@gamma].", "and a widget term."),  # back to an earlier page
    ]
    for source, old, new in steps:
        live.rebuild([_edit(site, source, old, new)])
        assert _digest(live.files) == _full_build(site), source
    live.rebuild([])
    assert _digest(live.files) == _full_build(site)
    live.rebuild([source for source, _, _ in steps])  # named as changed, though none is: the same files
    assert _digest(live.files) == _full_build(site)
    third = site / "content" / "third.md"
    third.write_text(THIRD, encoding="utf-8")
    live.rebuild(["content/third.md"])
    assert "third/index.html" in live.files
    assert _digest(live.files) == _full_build(site)
    third.unlink()
    live.rebuild(["content/third.md"])
    assert "third/index.html" not in live.files
    assert _digest(live.files) == _full_build(site)
    _edit(site, "site_config.yaml", "tagline: Every feature once", "tagline: Every feature, once")
    live.rebuild(["site_config.yaml"])
    assert _digest(live.files) == _full_build(site)


def test_broken_front_matter_keeps_the_files_and_fixing_it_recovers(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    live = _live(site)
    live.rebuild()
    before = dict(live.files)
    _edit(site, "content/second.md", "title: Second section", "titel: Second section")
    with pytest.raises(engine.BuildError) as raised:
        live.rebuild(["content/second.md"])
    assert any(p.source == "content/second.md" and "titel" in p.message for p in raised.value.problems)
    assert dict(live.files) == before
    _edit(site, "content/first.md", "A claim with one source", "A claim edited while second was broken, one source")
    with pytest.raises(engine.BuildError):
        live.rebuild(["content/first.md"])  # second.md is still broken
    _edit(site, "content/second.md", "titel: Second section", "title: Second section")
    live.rebuild(["content/second.md"])
    assert b"edited while second was broken" in live.files["first/index.html"]
    assert _digest(live.files) == _full_build(site)


def test_body_edit_renders_only_that_page(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    (site / "content" / "third.md").write_text(THIRD, encoding="utf-8")
    live = _live(site)
    live.rebuild()
    report = live.rebuild([_edit(site, "content/third.md", "with no citations", "with no citations yet")])
    assert report.rendered == ("third/index.html",)
    assert b"with no citations yet" in live.files["third/index.html"]


def test_title_edit_renders_the_page_its_card_and_its_neighbour(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    (site / "content" / "third.md").write_text(THIRD, encoding="utf-8")
    live = _live(site)
    live.rebuild()
    showing_title = {path for path, data in live.files.items() if b"Third section" in data}
    report = live.rebuild([_edit(site, "content/third.md", "title: Third section", "title: The third section")])
    # Itself, the home page's section cards, the previous section's "next" link (and any
    # other file that lists sections by title, such as the 404 page), nothing else.
    assert {"third/index.html", "index.html", "second/index.html"} <= showing_title
    assert "first/index.html" not in showing_title
    assert set(report.rendered) == showing_title
    assert b"The third section" in live.files["second/index.html"]


def test_citation_edit_renders_the_page_and_the_sources_page(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    (site / "content" / "third.md").write_text(THIRD, encoding="utf-8")
    live = _live(site)
    live.rebuild()
    report = live.rebuild([_edit(site, "content/third.md", "with no citations.", "with a citation [@alpha].")])
    assert set(report.rendered) == {"third/index.html", "sources/index.html"}


def test_layout_edit_renders_the_pages_that_use_it(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    live = _live(site)
    live.rebuild()
    report = live.rebuild([_edit(site, "layouts/section.html", "</article>", "<p>layout edit</p></article>")])
    assert set(report.rendered) == {"first/index.html", "second/index.html"}
    assert b"layout edit" in live.files["second/index.html"]


def test_a_deleted_page_disappears_and_its_links_are_checked(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    live = _live(site)
    live.rebuild()
    (site / "content" / "about.md").unlink()
    with pytest.raises(engine.BuildError) as raised:
        live.rebuild(["content/about.md"])  # settings' nav still names it
    assert any("about" in p.message for p in raised.value.problems)
    assert "about/index.html" in live.files


def test_a_heading_renamed_on_one_page_breaks_a_link_from_another(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    _edit(site, "content/second.md", "A [linked gadget]", "See [the middle part](../first/#middle). A [linked gadget]")
    live = _live(site)
    live.rebuild()
    with pytest.raises(engine.BuildError) as raised:
        live.rebuild([_edit(site, "content/first.md", "## Middle", "## Centre")])
    assert any(p.source == "content/second.md" and "#middle" in p.message for p in raised.value.problems)
    live.rebuild([_edit(site, "content/second.md", "../first/#middle", "../first/#centre")])
    assert _digest(live.files) == _full_build(site)


def test_a_build_after_the_dev_server_reuses_what_it_rendered(tmp_path: Path) -> None:
    """The dev server stores its pages in the disk cache and its index, so the next build renders nothing."""
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    settings = engine.load_settings(site / "site_config.yaml")
    live = LiveSite(settings)
    first = live.rebuild().rendered  # every page from the disk cache (host files count as new in a session)
    assert {path for path in first if path.endswith(".html")} <= {"404.html"}, first
    report = live.rebuild([_edit(site, "content/first.md", "## Middle", "## Centre")])
    assert "first/index.html" in report.rendered
    result = engine.build(settings)
    assert result.rendered == 0
    assert tree_digest(site / "output") == _digest(live.files)
    code, errors = build_site(site, "--no-cache", "--output", str(tmp_path / "clean"))
    assert code == 0, errors
    assert tree_digest(tmp_path / "clean") == tree_digest(site / "output")


def test_the_served_site_holds_no_rendered_page(tmp_path: Path) -> None:
    """The dev server reads a page's bytes from the page cache when asked: after a rebuild no page's
    rendered record stays reachable (at 10,000 sections they would be 500 MB)."""
    import gc

    from engine.records import RenderedPage

    def rendered_pages() -> set[int]:
        gc.collect()
        return {id(thing) for thing in gc.get_objects() if isinstance(thing, RenderedPage)}

    before = rendered_pages()  # what earlier tests of the session may still hold
    live = _live(copy_site("features", tmp_path / "site"))
    live.rebuild()
    held = rendered_pages() - before
    assert not held, f"{len(held)} rendered pages held after the rebuild"
    page = next(path for path in live.files if path.endswith("index.html"))
    assert live.files[page].startswith(b"<!doctype html>")


def test_a_rebuild_reads_again_only_the_files_whose_stat_changed_or_is_recent(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The dev server skips reading a content file whose inode, size and times are those it read
    before, once those times are two seconds old; a file changed since, or changed too recently for
    its times to tell two writes apart, is read again, and the site stays equal to a full build."""
    import builtins
    import time

    site = copy_site("features", tmp_path)
    time.sleep(2.1)  # the copied files' times settle
    opened: list[str] = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        """open(), noting the name of each file this process opens."""
        if isinstance(file, (str, Path)):
            opened.append(Path(file).name)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    live = _live(site)
    live.rebuild()
    assert {"first.md", "second.md"} <= set(opened)
    opened.clear()
    live.rebuild([_edit(site, "content/first.md", "A claim with one source", "A claim, edited, with one source")])
    assert "second.md" not in opened and "first.md" in opened
    assert b"A claim, edited, with one source" in live.files["first/index.html"]
    assert _digest(live.files) == _full_build(site)
    opened.clear()
    live.rebuild([])
    assert opened.count("first.md") == 1 and "second.md" not in opened  # first.md's times are too recent to trust
    _edit(site, "content/first.md", "A claim, edited, with one source", "A claim, edited again, with one source")
    live.rebuild(["content/first.md"])
    assert b"A claim, edited again, with one source" in live.files["first/index.html"]
    assert _digest(live.files) == _full_build(site)


def test_one_rebuild_reports_the_problems_of_every_stage_as_the_build_does(tmp_path: Path) -> None:
    """A page that cannot be read, a cross-reference that names no page, a page that cannot be published and
    broken links elsewhere: the dev server shows them all at once, as the build prints them."""
    site = copy_site("invalid_every_stage", tmp_path)
    code, lines = build_site(site)
    assert code == 1
    with pytest.raises(engine.BuildError) as raised:
        _live(site).rebuild()
    shown = [str(problem) for problem in raised.value.problems]
    assert shown == lines[:-1]
    assert any("YAML syntax error" in line for line in shown) and any("corrections.yaml" in line for line in shown)
    assert any("broken link" in line for line in shown)


def test_a_build_that_fixes_every_stage_after_a_failed_one_equals_a_fresh_build(tmp_path: Path) -> None:
    """The pages a failed build drew (a page with errors too) leave nothing in the cache that the fixed build
    would publish."""
    site = copy_site("invalid_every_stage", tmp_path)
    assert build_site(site)[0] == 1
    (site / "site_config.yaml").write_text((site / "site_config.yaml").read_text().replace(", missing-page", ""))
    _edit(site, "content/corrections.yaml", "page: note", "page: notes")
    _edit(site, "content/notes.md", "[@wapoo]", "[@wapo]")
    _edit(site, "content/notes.md", "[missing page](../missing/), a [missing part](../#nowhere)", "[home](../)")
    _edit(site, "content/notes.md", "(../draft-notes/#gone)", "(../draft-notes/)")
    _edit(site, "content/draft-notes.md", "<script>alert(1)</script>", "No script.")
    (site / "content" / "sources.md").write_text("---\ntitle: Sources\nsummary: All of them.\nlayout: sources\n---\n")
    _edit(site, "content/unread.md", '"A quote never closed', '"A quote closed"')
    _edit(site, "content/index.md", "(unread/#anything)", "(unread/)")
    _edit(site, "content/index.md", "(notes.md) and [mistyped notes](notse/)", "(notes/) and [the notes again](notes/)")
    code, lines = build_site(site)
    assert code == 0, lines
    assert tree_digest(site / "output") == _full_build(site)
