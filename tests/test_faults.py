"""Faults while building: a killed or interrupted build, two builds at once, a full disk, a dead worker.

Each leaves the previous output/ byte for byte as it was, in a --no-cache build (a fresh temporary
folder) and in a cached one (the spare tree updated in place), leaves no process behind, and the
next build gives the bytes of a clean build. The slow builds pause after every file through
EXPLAINER_TEST_WRITE_DELAY, so the signal always lands mid-write; the builds with workers are of the
features site with generated pages, so the workers are still rendering when the signal comes.
"""

from __future__ import annotations

import builtins
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, add_generated_pages, build_site, clean_build_digest, copy_site, tree_digest

from engine.write import WRITE_DELAY_VARIABLE, remove_leftovers


def _built_then_edited(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The features site built once, then edited so a finished build would change output/."""
    site = copy_site("features", tmp_path)
    code, lines = build_site(site, "--no-cache")
    assert code == 0, lines
    about = site / "content" / "about.md"
    about.write_text(about.read_text(encoding="utf-8").replace("This page", "This edited page"), encoding="utf-8")
    return site, tree_digest(site / "output")


def _start_slow_build(site: Path, cached: bool = False, delay: float = 0.3) -> subprocess.Popen[str]:
    """A build that pauses `delay` seconds after writing each file."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "--config", str(site / "site_config.yaml"),
         *(() if cached else ("--no-cache",))],
        env={**os.environ, WRITE_DELAY_VARIABLE: str(delay)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _temporary_folders(site: Path) -> list[Path]:
    return sorted(site.glob(".output.tmp-*"))


def _wait_until_writing(site: Path, process: subprocess.Popen[str]) -> Path:
    """Block until the build has written at least two files into its temporary folder."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for folder in _temporary_folders(site):
            if sum(1 for p in folder.rglob("*") if p.is_file()) >= 2:
                return folder
        time.sleep(0.02)
    process.kill()
    pytest.fail("the build never started writing")


@pytest.mark.parametrize("cached", [False, True], ids=["no-cache", "cached"])
def test_interrupted_build_says_so_and_leaves_output(tmp_path: Path, cached: bool) -> None:
    """Ctrl-C while a --no-cache build fills its temporary folder, or a cached one updates the spare tree."""
    site, before = _spare_built_then_edited(tmp_path) if cached else _built_then_edited(tmp_path)
    process = _start_slow_build(site, cached)
    if cached:
        _wait_until_spare_changes(site, process)
    else:
        _wait_until_writing(site, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stderr.splitlines() == ["build.py: interrupted; the previous output is unchanged"]
    assert tree_digest(site / "output") == before
    assert _temporary_folders(site) == []

    assert build_site(site, *(() if cached else ("--no-cache",))) == (0, [])
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_second_build_at_once_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    site, before = _built_then_edited(tmp_path)
    process = _start_slow_build(site, delay=0.1)  # it runs to the end: about two seconds
    try:
        _wait_until_writing(site, process)
        code, lines = build_site(site, "--no-cache")
        assert code == 2
        assert lines == ["build.py: error: another build is writing output/ right now; wait for it to finish"]
        assert _temporary_folders(site) != [], "the second build removed the first one's files"
    finally:
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert tree_digest(site / "output") != before


@pytest.mark.parametrize("cached", [False, True], ids=["no-cache", "cached"])
@pytest.mark.parametrize(
    ("target", "error", "reason"),
    [
        ("open", OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
        ("replace", PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
    ],
    ids=["disk-full", "permission-denied-on-swap"],
)
def test_write_failure_is_reported_and_output_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str,
                                                    error: OSError, reason: str, cached: bool) -> None:
    """A --no-cache build stages a temporary folder; a cached one updates the spare tree in place."""
    site, before = _spare_built_then_edited(tmp_path) if cached else _built_then_edited(tmp_path)
    staged = ".output.spare" if cached else ".output.tmp-"
    args = () if cached else ("--no-cache",)
    with monkeypatch.context() as patch:
        if target == "open":
            real_open = builtins.open

            def open_file(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
                path = Path(os.fsdecode(file)) if isinstance(file, (str, bytes, os.PathLike)) else None
                if path is not None and ("w" in mode or "x" in mode) and staged in str(path) \
                        and path.name == "index.html" and path.parent.name == "about":
                    error.filename = str(path)
                    raise error
                return real_open(file, mode, *args, **kwargs)

            patch.setattr(builtins, "open", open_file)
        else:
            real_replace = os.replace

            def replace(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
                if Path(source).name.startswith(staged):  # the swap of the staged tree into output/
                    error.filename = str(destination)
                    raise error
                real_replace(source, destination)

            patch.setattr(os, "replace", replace)
        code, lines = build_site(site, *args)
    assert code == 1
    assert len(lines) == 2 and lines[1] == "1 problem found; nothing was written"
    assert lines[0].startswith(f"output: cannot write the site: {reason} (")
    assert lines[0].endswith(f"{error.filename}); the previous output/ is unchanged"), "another file failed"
    assert tree_digest(site / "output") == before
    assert _temporary_folders(site) == []

    assert build_site(site, *args) == (0, [])
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


# The same faults in a cached build, which updates the spare tree (.output.spare) in place.

def _spare_built_then_edited(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The features site built twice with the cache (the second build kept a spare), then edited."""
    site = copy_site("features", tmp_path)
    for _ in range(2):
        code, lines = build_site(site)
        assert code == 0, lines
    assert (site / ".output.spare").is_dir()
    about = site / "content" / "about.md"
    about.write_text(about.read_text(encoding="utf-8").replace("This page", "This edited page"), encoding="utf-8")
    return site, tree_digest(site / "output")



def _spare_files(site: Path) -> dict[str, tuple[int, int]]:
    spare = site / ".output.spare"
    return {p.relative_to(spare).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in spare.rglob("*") if p.is_file()} if spare.is_dir() else {}


def _wait_until_spare_changes(site: Path, process: subprocess.Popen[str]) -> None:
    """Block until the build has replaced at least one file of the spare."""
    before = _spare_files(site)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if _spare_files(site) != before:
            return
        time.sleep(0.02)
    process.kill()
    pytest.fail("the build never changed the spare")


def test_cached_build_killed_mid_update_leaves_output_and_next_build_restages(tmp_path: Path) -> None:
    site, before = _spare_built_then_edited(tmp_path)
    process = _start_slow_build(site, cached=True)
    _wait_until_spare_changes(site, process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert tree_digest(site / "output") == before

    assert build_site(site) == (0, [])
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    assert build_site(site) == (0, [])  # the spare is now the tree of the build before
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_a_build_killed_between_the_two_renames_of_a_swap_gets_its_output_back(tmp_path: Path) -> None:
    site, before = _built_then_edited(tmp_path)
    (site / "output").rename(site / ".output.old-99999")  # output/ moved aside, the new tree not yet in
    remove_leftovers(site / "output")
    assert tree_digest(site / "output") == before
    assert not (site / ".output.old-99999").exists()


# -- the build's worker processes ----------------------------------------------------------

# Enough pages that the build renders them in its workers (with --jobs 2 any two would do).
GENERATED_PAGES = 30


def _processes_of(site: Path) -> list[int]:
    """Every process whose command line names this site's settings file: the build and its forked workers."""
    config = str(site / "site_config.yaml").encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    arguments = handle.read().split(b"\0")
            except OSError:
                continue  # ended meanwhile
            if config in arguments:
                found.append(int(name))
    return found


def _wait_until_workers_render(site: Path, process: subprocess.Popen[str], staging: str, files: int = 0) -> list[int]:
    """Block until the build's staging folder exists (holding `files` files) and its workers run; return
    the workers' ids."""
    deadline = time.monotonic() + 60
    folder = site / staging.format(pid=process.pid)
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        workers = [pid for pid in _processes_of(site) if pid != process.pid]
        if folder.exists() and len(workers) >= 2 and (not files or sum(1 for _ in folder.rglob("*.html")) >= files):
            return workers
        time.sleep(0.005)
    pytest.fail("the build never started its workers")


def _assert_no_process_left(site: Path, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while _processes_of(site) and time.monotonic() < deadline:
        time.sleep(0.01)
    left = _processes_of(site)
    for pid in left:  # for the next tests' sake; the assertion below still fails
        os.kill(pid, signal.SIGKILL)
    assert left == [], "processes of the killed build are still running"


def _start_build(site: Path, *args: str, delay: float = 0.0, new_session: bool = False) -> subprocess.Popen[str]:
    """build.py on the site in a new process; with `delay`, it pauses that long after writing each file."""
    env = {**os.environ, WRITE_DELAY_VARIABLE: str(delay)} if delay else None
    return subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--config", str(site / "site_config.yaml"), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=new_session)


@pytest.mark.parametrize(("previous", "sent"), [(False, signal.SIGKILL), (True, signal.SIGKILL), (True, signal.SIGTERM)],
                         ids=["first build-SIGKILL", "rebuild-SIGKILL", "rebuild-SIGTERM"])
def test_killing_the_main_process_alone_leaves_no_worker_and_no_lock(tmp_path: Path, sent: signal.Signals,
                                                                     previous: bool) -> None:
    """`kill PID` or the out-of-memory killer ends the main process only: its workers end with it, the
    lock goes with it, output/ is the tree before (or absent), and the next build runs at once and
    removes the killed build's staging folder. The first build is a --no-cache one, the rebuild cached."""
    site = copy_site("features", tmp_path)
    add_generated_pages(site, GENERATED_PAGES)
    before: dict[str, str] | None = None
    if previous:
        assert build_site(site, "--jobs", "2")[0] == 0
        before = tree_digest(site / "output")
        base = site / "layouts" / "base.html"  # every page must be rendered again
        base.write_text(base.read_text(encoding="utf-8").replace("</body>", "<!-- edited --></body>"), encoding="utf-8")
    # Pausing after each file it writes, the build is still running when the signal comes, however slow.
    process = _start_build(site, "--jobs", "2", *(() if previous else ("--no-cache",)), delay=0.02)
    _wait_until_workers_render(site, process, ".output.tmp-{pid}")
    os.kill(process.pid, sent)
    process.communicate(timeout=30)
    assert process.returncode == -sent
    _assert_no_process_left(site)
    assert _temporary_folders(site) == [site / f".output.tmp-{process.pid}"]
    if before is None:
        assert not (site / "output").exists()
    else:
        assert tree_digest(site / "output") == before

    assert build_site(site) == (0, [])
    assert _temporary_folders(site) == []
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


def test_a_worker_that_dies_ends_the_build_instead_of_hanging_it(tmp_path: Path) -> None:
    """A worker killed mid-build (the kernel's out-of-memory killer, say) loses the pages it held. The
    build must end: with one line saying so and output/ as it was, or with every page rendered anyway
    (then output/ is the clean build); either way with no process left."""
    site = copy_site("features", tmp_path)
    add_generated_pages(site, 150)  # a second of rendering: pages are flowing back when the worker dies
    process = _start_build(site, "--jobs", "2", "--no-cache", new_session=True)
    workers = _wait_until_workers_render(site, process, ".output.tmp-{pid}", files=5)
    os.kill(workers[0], signal.SIGKILL)
    try:
        _, stderr = process.communicate(timeout=30)  # the whole build takes about a second; a hang never ends
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("the build hangs after one of its workers died")
    _assert_no_process_left(site)
    if process.returncode == 0:
        assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    else:
        lines = stderr.splitlines()
        assert process.returncode == 1 and "Traceback" not in stderr, stderr
        assert len(lines) == 2 and "worker" in lines[0] and lines[1] == "1 problem found; nothing was written", lines
        assert not (site / "output").exists()
    assert build_site(site, "--no-cache") == (0, [])


def test_ctrl_c_while_workers_render_stops_them_all_with_one_line(tmp_path: Path) -> None:
    """Ctrl-C in a terminal reaches the whole process group: the workers leave the message to the
    build, which stops them; nothing of the group is left running."""
    site = copy_site("features", tmp_path)
    add_generated_pages(site, 60)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "--config", str(site / "site_config.yaml"), "--no-cache", "--jobs", "2"],
        env={**os.environ, WRITE_DELAY_VARIABLE: "0.3"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    _wait_until_writing(site, process)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert stderr.splitlines() == ["build.py: interrupted; the previous output is unchanged"]
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # no process of the group is left
    assert _temporary_folders(site) == []
