"""Shared test helpers: fixture sites are copied to a temporary folder and built there."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT))

import build  # noqa: E402
import engine  # noqa: E402

# A test run started in the background (`make test &`, nohup) inherits an ignored SIGINT, and the builds
# it starts would inherit it too: the tests that interrupt a build need Ctrl-C to work in them.
signal.signal(signal.SIGINT, signal.default_int_handler)


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under a folder as relative path -> sha256, for byte-identity checks."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_site(name: str, destination: Path) -> Path:
    """Copy fixture `name` to destination/site, adding the project's layouts when it has none."""
    site = destination / "site"
    shutil.copytree(FIXTURES / name, site, ignore=shutil.ignore_patterns("expected*.txt"))
    if not (site / "layouts").exists():
        shutil.copytree(ROOT / "layouts", site / "layouts")
    return site


# One generated section: the features fixture's sources and glossary terms, and most block and inline
# syntax the converter knows, so generated pages exercise what real ones do.
_GENERATED_PART = """## Part {part} of page {number}

A claim about the border [@alpha], the first widget and a *gadget*, with "quotes" -- dashes... and
**strong** words. Two sources at once [@beta; @gamma] and [the middle part](../first/#middle).[^n{part}]

| Year | Count |
|------|------:|
| 201{part} | {number} |

- one item [@alpha]
- two `[@code]` items
  1. nested

> A quoted line, 'single' and don't.

Term {part}
: Its definition.

[^n{part}]: A footnote on part {part}.
"""


def add_generated_pages(site: Path, count: int) -> None:
    """Add `count` pages of about 600 words (every tenth a section, added to the menu after 'second') to a
    copy of the features fixture."""
    config = site / "site_config.yaml"
    sections = "".join(f", generated-{number:03d}" for number in range(0, count, 10))
    config.write_text(config.read_text(encoding="utf-8").replace("nav: [first, second", "nav: [first, second" + sections),
                      encoding="utf-8")
    for number in range(count):
        order = f"order: {10 + number}\n" if number % 10 == 0 else ""
        body = "\n".join(_GENERATED_PART.format(part=part, number=number) for part in range(4))
        (site / "content" / f"generated-{number:03d}.md").write_text(
            f"---\ntitle: Generated page {number}\nsummary: Page {number} of {count}.\n{order}---\n{body}",
            encoding="utf-8")


def build_site(site: Path, *args: str) -> tuple[int, list[str]]:
    """Run build.main on a site folder; return (exit code, stderr lines)."""
    import contextlib
    import io

    stderr = io.StringIO()
    stdout = io.StringIO()
    # from the site's folder, as a writer runs it: problems name their files from there
    with contextlib.chdir(site), contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        code = build.main(["--config", str(site / "site_config.yaml"), *args])
    return code, [line for line in stderr.getvalue().splitlines() if line]


def clean_build_digest(site: Path, tmp_path: Path) -> dict[str, str]:
    """What a clean build of the site gives (--no-cache, a fresh output folder): the reference for cached ones."""
    output = tmp_path / "clean-output"
    shutil.rmtree(output, ignore_errors=True)
    code, errors = build_site(site, "--no-cache", "--output", str(output))
    assert code == 0, errors
    return tree_digest(output)


@pytest.fixture
def make_site(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory: make_site('features') -> path of a fresh copy of that fixture site."""
    return lambda name: copy_site(name, tmp_path)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The 'features' fixture, built once for the session; yields its output folder, which tests only read."""
    site = copy_site("features", tmp_path_factory.mktemp("built"))
    code, errors = build_site(site)
    assert code == 0, errors
    before = tree_digest(site / "output")
    yield site / "output"
    assert tree_digest(site / "output") == before, "a test changed the shared built site"


# Every os.fork of this test process (the pool's workers), counted by the interpreter's own hook:
# a test can tell that work went to worker processes without touching the engine.
_FORKS = [0]
os.register_at_fork(before=lambda: _FORKS.__setitem__(0, _FORKS[0] + 1))


@pytest.fixture
def forks() -> Callable[[], int]:
    """forks() -> how many processes this test process has forked since the test began."""
    start = _FORKS[0]
    return lambda: _FORKS[0] - start


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The system Chromium, one per test module (Playwright cannot download its own browser here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses a browser fixture (`browser`, `browser_page`) carries the browser mark, so
    `-m "not browser"` leaves out every test that needs Chromium."""
    unmarked = [item.nodeid for item in items if item.get_closest_marker("browser") is None
                and any(name.startswith("browser") for name in getattr(item, "fixturenames", ()))]
    if unmarked:
        raise pytest.UsageError("tests that start Chromium without @pytest.mark.browser: " + ", ".join(unmarked))


def _snapshot(folder: Path) -> set[tuple[str, int, int, int]]:
    """Every file under a folder as (path, size, mtime_ns, inode): any write changes one of them."""
    found = set()
    folders = [str(folder)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                else:
                    status = entry.stat(follow_symlinks=False)
                    found.add((entry.path, status.st_size, status.st_mtime_ns, status.st_ino))
    return found


@pytest.fixture(autouse=True)
def fixtures_stay_unchanged() -> Iterator[None]:
    """No test may write into tests/fixtures/ (a stat walk: hashing every fixture twice per test is slow)."""
    before = _snapshot(FIXTURES)
    yield
    changed = sorted({path for path, *_ in before ^ _snapshot(FIXTURES)})
    assert changed == [], f"a test changed files under tests/fixtures/: {changed}"


__all__ = ["ROOT", "FIXTURES", "add_generated_pages", "build_site", "clean_build_digest", "copy_site", "engine",
           "tree_digest"]
