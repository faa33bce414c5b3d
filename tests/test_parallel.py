"""Bodies converted ahead in a forked process while the build reads the site (engine/parallel.py,
issue 8): the build must come out as a clean one, and the process must stop when told."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, build_site, clean_build_digest, tree_digest

import engine
import engine.parallel
from engine.parallel import ConversionAhead

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
