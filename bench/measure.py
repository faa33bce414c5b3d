"""How the benchmark runs and times a command: child processes, the optional CPU load beside them, the trash.

Every measured command is a child process timed from outside (wall time, and CPU time and peak
memory from wait4), so the numbers include interpreter start-up, as a user's build does.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work"
TRASH = WORK / "trash"
PY = sys.executable
IDLE, LOADED = "idle", "loaded"
# The CPU-bound neighbour of the loaded mode: it says when its loop is about to run, then spins until
# the bench that started it is gone (a killed bench leaves no spinner behind).
_BURNER = ("import os, sys\nparent = os.getppid()\nsys.stdout.write('spinning\\n')\nsys.stdout.flush()\n"
           "while os.getppid() == parent:\n    for _ in range(200_000):\n        pass\n")
_TRASHED = itertools.count()


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, CPU seconds (user+sys, its children included), peak RSS in MiB."""

    wall: float
    cpu: float
    max_rss_mib: float


@dataclass
class Measure:
    """Repeated runs of one command, summarised by medians."""

    name: str
    command: str
    runs: list[Run] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def rss(self) -> float:
        return max(r.max_rss_mib for r in self.runs)


@contextlib.contextmanager
def beside(load: str) -> Iterator[None]:
    """Under LOADED, one CPU-bound process spins for as long as the block runs: the machine's other user,
    started (and spinning) before the measured command and killed after it. Under IDLE, nothing."""
    if load != LOADED:
        yield
        return
    burner = subprocess.Popen([PY, "-c", _BURNER], stdout=subprocess.PIPE)
    try:
        assert burner.stdout is not None
        burner.stdout.readline()
        yield
    finally:
        burner.kill()
        burner.wait()


def run_process(argv: list[str], cwd: Path, load: str = IDLE) -> Run:
    """Run one child to completion; its wall time, CPU time and peak memory (via wait4)."""
    with beside(load):
        started = time.perf_counter()
        # Its messages go to a file: a pipe nobody reads until the end would stop a child that writes
        # more than the pipe holds (a site with a thousand warnings).
        with tempfile.TemporaryFile() as messages:
            process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=messages)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            messages.seek(0)
            error = messages.read().decode(errors="replace")
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed ({process.returncode}):\n{error}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def run_parallel(argvs: list[list[str]], cwd: Path, load: str = IDLE) -> Run:
    """Run children side by side; wall time until the last ends, CPU summed, peak memory of the largest."""
    cpu, rss = 0.0, 0.0
    with beside(load):
        started = time.perf_counter()
        processes = [subprocess.Popen(a, cwd=cwd, stdout=subprocess.DEVNULL) for a in argvs]
        for process in processes:
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            cpu += usage.ru_utime + usage.ru_stime
            rss = max(rss, usage.ru_maxrss / 1024)
        wall = time.perf_counter() - started
    for argv, process in zip(argvs, processes, strict=True):
        if process.returncode != 0:
            raise SystemExit(f"bench: {' '.join(argv)} failed ({process.returncode}); its errors are above")
    return Run(wall, cpu, rss)


def to_trash(*paths: Path) -> None:
    """Rename each path that exists (file or folder) into TRASH instead of deleting it: on this VM's file
    system, creating files right after deleting thousands costs a build seconds (see run.py)."""
    TRASH.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if path.exists() or path.is_symlink():
            path.rename(TRASH / f"{time.time_ns()}-{next(_TRASHED)}-{path.name}")


def empty_trash() -> None:
    """Delete TRASH, once no timed run follows (at the end, and at the start for what a killed run left)."""
    if TRASH.exists():
        started = time.perf_counter()
        shutil.rmtree(TRASH, ignore_errors=True)
        print(f"bench: deleted {TRASH.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s", flush=True)
