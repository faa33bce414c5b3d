"""A page that lists sources is written to disk as it renders (engine/streaming.py, issue 8: peak
memory at 10,000 pages); it must be the very page the in-memory path gives (--no-cache renders it
that way), and a page that cannot be cut into parts safely must fall back to the in-memory path."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT, build_site, clean_build_digest, copy_site, tree_digest
from hypothesis import given, settings
from hypothesis import strategies as st

import build
import engine.streaming
from engine.checks import LinkScanner, scan_html
from engine.sitelinks import page_details


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record, for each page given to render_streamed, whether it was streamed or rendered in memory."""
    outcomes: list[str] = []
    real = engine.streaming.render_streamed

    def spying(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            made = real(*args, **kwargs)
        except engine.streaming.NotStreamable:
            outcomes.append("in memory")
            raise
        outcomes.append("streamed")
        return made

    monkeypatch.setattr(engine.streaming, "render_streamed", spying)
    return outcomes


def _list_in_the_middle(site: Path) -> None:
    """A sources page with text on both sides of its list; the glossary term 'widget' is first used in
    the list (a source's note), so the text after the list must not link it, while 'gadget' it must."""
    (site / "content" / "sources.md").write_text(
        "---\ntitle: Sources\nsummary: Every source and where it is cited.\nlayout: sources\n---\n"
        "Before the list.\n\n::: sources\n\nAfter the list: a widget and a gadget.\n", encoding="utf-8")
    data = site / "content" / "sources.yaml"
    data.write_text(data.read_text(encoding="utf-8").replace("note: Supports the first claim.",
                                                             "note: Supports the first claim about a widget."),
                    encoding="utf-8")


class _Terms(HTMLParser):
    """The text of every glossary term link, and the text after the sources list."""

    def __init__(self) -> None:
        super().__init__()
        self.linked: list[tuple[str, str]] = []  # (where, term text)
        self.where = "before"
        self._in_term = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "ol" and "source-list" in classes:
            self.where = "list"
        self._in_term = tag == "a" and "term" in classes

    def handle_endtag(self, tag: str) -> None:
        if tag == "ol" and self.where == "list":
            self.where = "after"
        if tag == "a":
            self._in_term = False

    def handle_data(self, data: str) -> None:
        if self._in_term:
            self.linked.append((self.where, data))


def _where_drawn(monkeypatch: pytest.MonkeyPatch, forked: bool) -> list[str]:
    """Make the list be drawn in a forked process or in the build's own, and record where it was."""
    if not forked:
        monkeypatch.setattr(engine.streaming, "can_fork_now", lambda: False)
    where: list[str] = []
    for name, label in (("_drawn_in_a_fork", "forked"), ("_drawn_here", "here")):
        real = getattr(engine.streaming, name)

        def recording(*args, real=real, label=label):  # type: ignore[no-untyped-def]
            where.append(label)
            return real(*args)

        monkeypatch.setattr(engine.streaming, name, recording)
    return where


@pytest.mark.parametrize("forked", [True, False], ids=["list drawn in a fork", "list drawn here"])
@pytest.mark.parametrize("block", [engine.streaming._BLOCK, 40], ids=["default blocks", "tiny blocks"])
def test_a_streamed_sources_page_is_the_page_rendered_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                block: int, forked: bool) -> None:
    monkeypatch.setattr(engine.streaming, "_BLOCK", block)
    if block < engine.streaming._BLOCK:
        monkeypatch.setattr(engine.streaming, "_PIECES_PER_BATCH", 3)
    outcomes = _spy(monkeypatch)
    where = _where_drawn(monkeypatch, forked)
    site = copy_site("features", tmp_path)
    _list_in_the_middle(site)
    code, errors = build_site(site)
    assert code == 0, errors
    assert outcomes == ["streamed"]
    assert where == ["forked" if forked else "here"]
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    terms = _Terms()
    terms.feed((site / "output" / "sources" / "index.html").read_text(encoding="utf-8"))
    assert ("list", "widget") in terms.linked
    assert ("after", "gadget") in terms.linked and ("after", "widget") not in terms.linked
    # The page cache's details of the page, written a batch of links at a time, read as page_details.
    page = (site / "output" / "sources" / "index.html").read_bytes()
    cached = [p for p in (site / ".cache" / "pages").glob("*/*.html") if p.read_bytes() == page]
    assert len(cached) == 1
    details = json.loads(cached[0].with_suffix(".json").read_text(encoding="utf-8"))
    assert details["links"] == json.loads(json.dumps(page_details([], scan_html(page))))["links"]


@pytest.mark.parametrize("forked", [True, False], ids=["list drawn in a fork", "list drawn here"])
def test_a_list_that_cannot_be_cut_safely_is_rendered_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                forked: bool) -> None:
    """A comment in the list's template may hold a '>', which the part-by-part scanners would misread."""
    outcomes = _spy(monkeypatch)
    where = _where_drawn(monkeypatch, forked)
    site = copy_site("features", tmp_path)
    partial = site / "layouts" / "partials" / "sources.html"
    partial.write_text(partial.read_text(encoding="utf-8").replace(
        '<li class="source"', '<!-- one source -> its uses --><li class="source"'), encoding="utf-8")
    code, errors = build_site(site)
    assert code == 0, errors
    assert outcomes == ["in memory"] and where == ["forked" if forked else "here"]
    assert not list((site / ".cache" / "pages").glob("*/*.tmp")), "the half-written page was left behind"
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_a_template_error_in_a_list_drawn_in_a_fork_is_reported_as_in_memory(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The forked process cannot report it; the page is rendered again in memory, which names the line."""
    outcomes = _spy(monkeypatch)
    where = _where_drawn(monkeypatch, forked=True)
    site = copy_site("features", tmp_path)
    partial = site / "layouts" / "partials" / "sources.html"
    partial.write_text(partial.read_text(encoding="utf-8").replace(
        "<dt>Kind</dt>", "<dt>Kind {{ source.no_such_field.upper() }}</dt>"), encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1
    assert outcomes == ["in memory"] and where == ["forked"]
    assert build_site(site, "--no-cache") == (code, lines)  # never streamed: the in-memory path alone
    assert any(line.startswith("layouts/partials/sources.html:") and "no_such_field" in line for line in lines), lines


def test_the_streamed_explainer_sources_page_is_the_page_rendered_in_memory(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = _spy(monkeypatch)
    site = tmp_path / "site"
    for name in ("content", "layouts"):
        shutil.copytree(ROOT / name, site / name)
    (site / "site_config.yaml").write_bytes((ROOT / "site_config.yaml").read_bytes())
    code, errors = build_site(site)
    assert code == 0, errors
    assert outcomes == ["streamed"]
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_links_scanned_in_parts_are_the_links_of_the_whole_page(tmp_path: Path) -> None:
    """The scanner given a page cut after each list item (as streaming.py cuts it) reads what it reads whole."""
    assert build.main(["--no-cache", "--quiet", "--output", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "sources" / "index.html").read_text(encoding="utf-8")
    scanner = LinkScanner()
    parts = text.split("</li>")
    assert len(parts) > 10
    for part in parts[:-1]:
        assert scanner.feed(part + "</li>")
    assert scanner.feed(parts[-1])
    assert scanner.result() == scan_html(text.encode("utf-8"))
    assert not LinkScanner().feed('<p>a <a href="x')  # a part that ends inside a tag is refused


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["<H1", "<h6>", "<h7", "<hr>", "GLOSSARY:", "glossary", "<Script", "<STYLE", "<!", "<?",
                                 "<x-Directive", "<cite-MARKER", "<cite", "<", "!", "?", "h", "x", " ", "a", ">"]),
                max_size=12))
def test_a_block_is_refused_for_what_the_case_insensitive_pattern_finds(pieces: list[str]) -> None:
    """streaming looks for the unsafe texts in the lowercased block, for speed: on ASCII text, what
    the case-insensitive pattern it replaced finds (the list itself, and the search made of it)."""
    import re

    block = "".join(pieces)
    pattern = re.compile(r"<cite-marker|<h[1-6]|glossary:|<!|<\?|<script|<style|<x-directive", re.I)
    lowered = block.lower()
    assert any(text in lowered for text in engine.streaming._UNSAFE_IN_LIST) == bool(pattern.search(block))
    assert engine.streaming._holds_unsafe_text(block) == bool(pattern.search(block))
