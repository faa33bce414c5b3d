"""The one pool (engine/pool.py): results in order, work handed out as workers ask, nothing left behind.

The build's own use of it (pages rendered in workers give the bytes of one process, worker
problems are reported alike, a killed build leaves no worker) is tested in test_cache.py,
test_errors.py and test_faults.py.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.errors import BuildError, Problem
from engine.pool import MIN_ITEMS, parallel_map, worker_count


def _where(index: int) -> tuple[int, int]:
    return index, os.getpid()


def _where_slowly(index: int) -> tuple[int, int]:
    """Slow enough that every worker has started before the others run out of items."""
    time.sleep(0.005)
    return index, os.getpid()


def test_results_come_back_in_order_from_worker_processes() -> None:
    results = list(parallel_map(_where_slowly, 60, jobs=2))
    assert [index for index, _ in results] == list(range(60))
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids and len(pids) == 2
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize(("count", "jobs"), [(100, 1), (1, 2), (0, 2), (MIN_ITEMS - 1, None)],
                         ids=["one job", "one item", "no item", "few items"])
def test_one_job_or_too_few_items_run_in_this_process(count: int, jobs: int | None) -> None:
    """Forking costs more than it saves on a few items; --jobs 1 means no worker at all."""
    assert list(parallel_map(_where, count, jobs)) == [(index, os.getpid()) for index in range(count)]


def test_enough_items_use_one_worker_per_cpu_by_default() -> None:
    if worker_count() < 2:
        pytest.skip("one CPU: the pool runs in this process")
    pids = {pid for _, pid in parallel_map(_where_slowly, MIN_ITEMS)}
    assert os.getpid() not in pids and 2 <= len(pids) <= worker_count()


def _first_is_slow(index: int) -> tuple[int, int]:
    time.sleep(0.6 if index == 0 else 0.005)
    return index, os.getpid()


def test_a_slow_worker_takes_fewer_items() -> None:
    """Chunks go to whichever worker asks: while one worker is held up, the other takes the rest (with
    every other item per worker, the build would wait for the slow one's half)."""
    results = list(parallel_map(_first_is_slow, 60, jobs=2))
    per_worker = Counter(pid for _, pid in results)
    slow = results[0][1]
    assert len(per_worker) == 2 and per_worker[slow] <= 8, per_worker


def _fails_on_five(index: int) -> int:
    if index == 5:
        raise ValueError("item 5 is bad")
    return index


def test_an_error_in_a_worker_reaches_the_caller_and_no_worker_is_left() -> None:
    with pytest.raises(ValueError, match="item 5 is bad"):
        list(parallel_map(_fails_on_five, 100, jobs=2))
    assert multiprocessing.active_children() == []


def _cache_lost_on_five(index: int) -> int:
    if index == 5:
        raise BuildError([Problem(".cache/pages", 0, "the page cache lost a.html during the build", "build again")])
    return index


def test_a_build_error_in_a_worker_reaches_the_caller_with_its_problems() -> None:
    """The link check's workers read pages back from the cache, and say so when one has gone: that
    problem, not 'a worker stopped unexpectedly', is what the writer sees."""
    with pytest.raises(BuildError) as raised:
        list(parallel_map(_cache_lost_on_five, 100, jobs=2))
    assert [str(problem) for problem in raised.value.problems] == [
        ".cache/pages: the page cache lost a.html during the build (build again)"]
    assert multiprocessing.active_children() == []


def _slowly(index: int) -> int:
    time.sleep(0.05)
    return index


def test_a_caller_that_stops_early_stops_the_workers_without_the_other_pages(tmp_path: Path) -> None:
    """A problem found in one page's result ends the build without the pages not yet handed out: the
    workers finish the few chunks they hold (a worker killed while sending a result would leave the
    pool's reader waiting for the rest forever) and end."""
    done = tmp_path / "done"

    def slowly_noted(index: int) -> int:
        with open(done, "a") as file:  # one line per item a worker finished
            file.write(f"{index}\n")
        return _slowly(index)

    results = parallel_map(slowly_noted, 1000, jobs=2)
    assert next(results) == 0
    results.close()
    assert multiprocessing.active_children() == []
    finished = done.read_text().split()
    assert 1 <= len(finished) <= 100, len(finished)  # a few chunks of 8 at most, of 1,000 items
    time.sleep(0.3)
    assert len(done.read_text().split()) == len(finished)  # and nothing runs on after
