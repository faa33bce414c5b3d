"""The one way the build works in parallel: a pool of forked worker processes, fed in chunks.

Workers are forked, so they start with everything the main process has read (the site, the
templates, the settings): only item numbers travel to them, and only results travel back.
Chunks are handed out as workers ask for them, so a worker slowed by another program on the
machine simply takes fewer. A worker that dies stops the build with one clear problem; a worker
dies with the main process however that ends (on Linux, the kernel kills it: PR_SET_PDEATHSIG),
and ignores Ctrl-C, which is the main process's to handle: a build that stops early drops the
chunks not handed out and lets the workers finish those they hold. Where processes cannot be
forked, or for a few items, the work runs in this process.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator
from typing import TypeVar, cast

from .errors import BuildError, Problem

Result = TypeVar("Result")
# Below this many items, forking the workers costs more than it saves.
MIN_ITEMS = 48
_PR_SET_PDEATHSIG = 1


def worker_count() -> int:
    """How many workers a pool starts: one per CPU this process may use, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return min(cpus, 4)


def can_fork() -> bool:
    """Whether workers can be forked safely: Linux, and no other thread that could hold a lock at the fork."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def parallel_map(work: Callable[[int], Result], count: int, jobs: int | None = None) -> Generator[Result]:
    """work(0), work(1), ... work(count - 1), in that order; `work` need not be picklable (the workers
    inherit it), its results must be. `jobs` is how many processes to use (None: one per CPU, when
    there are MIN_ITEMS items or more)."""
    workers = (worker_count() if count >= MIN_ITEMS else 1) if jobs is None else jobs
    if workers < 2 or count < 2 or not can_fork():
        yield from map(work, range(count))
        return
    import multiprocessing  # here: a build that forks nothing never pays for importing these
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # What exists now is left out of the workers' garbage collections, which then do not touch
    # (and so copy) the memory they share with this process.
    gc.freeze()
    try:
        pool = ProcessPoolExecutor(workers, multiprocessing.get_context("fork"), initializer=_start_worker,
                                   initargs=(work, os.getpid()))
        size = max(1, min(8, count // (workers * 8)))
        chunks = [pool.submit(_run, start, min(start + size, count)) for start in range(0, count, size)]
    finally:
        gc.unfreeze()
    try:
        for index, chunk in enumerate(chunks):
            chunks[index] = None  # type: ignore[call-overload]  # the results go once read: a site's pages would pile up here
            yield from cast(list[Result], chunk.result())
    except BrokenProcessPool:
        raise BuildError([Problem("build", 0, "a worker process of the build stopped unexpectedly (out of memory?)",
                                  "run the build again; --jobs 1 renders in one process")]) from None
    finally:
        # Stopped early (a problem, Ctrl-C), the chunks not yet handed out are dropped and the workers
        # finish those they hold: one killed while sending a result would leave the pool's reader
        # waiting for the rest of it, and this process, forever.
        pool.shutdown(wait=True, cancel_futures=True)


_WORK: list[Callable[[int], object]] = []  # the function a worker runs, set as it starts


def _start_worker(work: Callable[[int], object], parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # no prctl in this C library: the worker then outlives a main process that is killed
    if os.getppid() != parent:  # the main process died before the line above took effect
        os._exit(1)
    _WORK[:] = [work]


def _run(start: int, end: int) -> list[object]:
    return [_WORK[0](index) for index in range(start, end)]
