"""What the build does in forked processes besides rendering pages (engine/parallel.py, issue 8):
bodies converted ahead while the build reads the site, which must come out as a clean build and
stop when told, and half the link check, which must report what one process reports."""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, build_site, clean_build_digest, tree_digest

import engine
import engine.parallel
from engine.checks import PageLinks, check_scanned
from engine.pagecache import PageCache
from engine.parallel import CHECK_IN_TWO_FROM, ConversionAhead, check_in_two
from engine.sitelinks import SiteLinks

sys.path.insert(0, str(ROOT / "bench"))
from sitegen import make_site  # noqa: E402

SECTIONS = 60  # above the threshold of parallel work: a build of it converts ahead


def test_a_build_that_converts_ahead_is_a_clean_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", SECTIONS)
    converted_ahead: list[int] = []
    stop = ConversionAhead.stop

    def counting_stop(self: ConversionAhead) -> None:
        stop(self)
        if not converted_ahead:
            converted_ahead.append(sum(1 for _ in (site / ".cache" / "markdown").glob("*/*.json")))

    monkeypatch.setattr(ConversionAhead, "stop", counting_stop)
    load_inputs = engine.load_inputs

    def slow_load(*args):  # type: ignore[no-untyped-def]
        time.sleep(0.5)  # a site that takes long to read: the other process converts most of it meanwhile
        return load_inputs(*args)

    monkeypatch.setattr(engine, "load_inputs", slow_load)
    code, errors = build_site(site)
    assert code == 0, errors
    assert converted_ahead and converted_ahead[0] > 0, "nothing was converted ahead"
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_stop_ends_the_process_even_in_the_middle_of_a_long_conversion(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", SECTIONS)
    monkeypatch.setattr(engine.parallel, "convert_in_worker", _slowly(engine.parallel.convert_in_worker, 60))
    ahead = ConversionAhead.start(site / "content", tmp_path / "markdown")
    assert ahead is not None
    time.sleep(0.2)
    started = time.monotonic()
    ahead.stop()
    assert time.monotonic() - started < 5
    assert not ahead.process.is_alive()


def test_a_small_site_a_rebuild_or_a_build_without_cache_converts_nothing_ahead(tmp_path: Path) -> None:
    small = make_site(tmp_path / "small", 3)
    assert ConversionAhead.start(small / "content", tmp_path / "markdown") is None
    large = make_site(tmp_path / "large", SECTIONS)
    assert ConversionAhead.start(large / "content", None) is None
    (tmp_path / "markdown").mkdir()  # an earlier build's cache: its bodies are there
    assert ConversionAhead.start(large / "content", tmp_path / "markdown") is None


def _slowly(convert, seconds: float):  # type: ignore[no-untyped-def]
    """convert_in_worker that first waits: the build reads the site before the process is done."""
    def slow(*args):  # type: ignore[no-untyped-def]
        time.sleep(seconds)
        return convert(*args)

    return slow


def _linked_pages(count: int) -> tuple[SiteLinks, set[str]]:
    """`count` pages in folders of their own and a sources page linking into all of them, with links
    of every kind check_scanned tells apart, some of them broken."""
    chooser = random.Random(8)
    links = SiteLinks(PageCache(None))
    paths = {f"p{number:04d}/index.html" for number in range(count)} | {"sources/index.html", "index.html"}
    for path in sorted(paths):
        kinds = ["#h1", "#h9", "#", "../", "../index.html", "../sources/#s1", "../sources/#gone", "https://x.org/a",
                 "http://localhost/b", "/root-absolute", "../missing/", "?q", "file:///etc/passwd",
                 f"https://x.org/{chooser.randrange(5)}", f"../p{chooser.randrange(count + 5):04d}/#h{chooser.randrange(4)}"]
        found = [(chooser.choice(kinds), line) for line in range(chooser.randrange(2, 12))]
        if path == "sources/index.html":
            found += [(f"../p{number:04d}/#h{number % 4}", 50 + number) for number in range(count)]
        if path == "index.html":
            found = [(target.replace("../", ""), line) for target, line in found]
        page = PageLinks(["h0", "h1", "h2", "s1"], found, [(3, "closing </div> has no matching opening tag")]
                         if chooser.random() < 0.05 else [])
        links.add(path, f"key-{path}", "", 0, page)
    return links, paths


def test_the_link_check_in_two_processes_reports_what_one_process_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    links, paths = _linked_pages(CHECK_IN_TWO_FROM + 40)
    forks: list[str] = []
    fork_with_pipe = engine.parallel.fork_with_pipe

    def counted(name, *args):  # type: ignore[no-untyped-def]
        forks.append(name)
        return fork_with_pipe(name, *args)

    monkeypatch.setattr(engine.parallel, "fork_with_pipe", counted)
    alone = check_scanned(links, paths)
    in_two = check_in_two(links, paths)
    assert forks == ["build-link-check"]
    # problems in both halves: the first pages and the sources page, checked last but one
    assert len(alone.problems) > 100 and alone.problems[0].source < "output/p0100"
    assert "output/sources/index.html" in {problem.source for problem in alone.problems}
    assert in_two.problems == alone.problems
    assert list(in_two.external.items()) == list(alone.external.items())
    assert in_two.pages == alone.pages
    some = {path for path in paths if "1" in path}
    assert check_in_two(links, paths, "site", "", some).problems == check_scanned(links, paths, "site", "", some).problems


def test_a_link_check_process_that_dies_leaves_its_half_to_the_main_process(monkeypatch: pytest.MonkeyPatch) -> None:
    links, paths = _linked_pages(CHECK_IN_TWO_FROM + 40)
    monkeypatch.setattr(engine.parallel, "_check_part", lambda *args: os._exit(3))
    assert check_in_two(links, paths).problems == check_scanned(links, paths).problems


def test_a_link_check_that_cannot_fork_checks_everything_in_the_main_process(monkeypatch: pytest.MonkeyPatch) -> None:
    links, paths = _linked_pages(CHECK_IN_TWO_FROM + 40)

    def no_process(*args):  # type: ignore[no-untyped-def]
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(engine.parallel, "fork_with_pipe", no_process)
    assert check_in_two(links, paths).problems == check_scanned(links, paths).problems


def test_a_small_link_check_stays_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    links, paths = _linked_pages(CHECK_IN_TWO_FROM - 3)  # with the sources page and the home page: one short
    monkeypatch.setattr(engine.parallel, "fork_with_pipe", lambda *args: pytest.fail("forked"))
    assert check_in_two(links, paths).problems == check_scanned(links, paths).problems
