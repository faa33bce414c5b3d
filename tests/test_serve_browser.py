"""The dev server in real Chromium: an edit shows up, a broken page shows its errors, a fix clears them,
all without touching the browser (live reload under the site's CSP), and the newest of two quick saves."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from test_serve import fetch, running, wait_for

from engine.serve import reload_clients

pytestmark = pytest.mark.browser  # starts Chromium

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_edit_break_and_fix_a_page_while_the_browser_watches(make_site: Callable[[str], Path],
                                                             browser_page: Page) -> None:
    page = browser_page
    site = make_site("features")
    source = site / "content" / "first.md"
    good = source.read_text()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    with running(site) as (server, out, err):
        page.goto(f"http://127.0.0.1:{server.port}/sub/path/first/")
        assert "A claim with one source" in page.inner_text("main")
        wait_for(lambda: reload_clients() == 1)  # livereload.js connected despite the CSP

        source.write_text(good.replace("A claim with one source", "A claim edited in the editor"))
        page.wait_for_selector("text=A claim edited in the editor", timeout=10_000)

        source.write_text(good.replace("title: First section", "titel: First section"))
        page.wait_for_selector("text=The site could not be rebuilt", timeout=10_000)
        problems = page.inner_text(".build-problems")
        assert "content/first.md:2:" in problems and "titel" in problems

        source.write_text(good.replace("A claim with one source", "A claim after the fix"))
        page.wait_for_selector("text=A claim after the fix", timeout=10_000)
        assert page.title().startswith("First section")
    assert not [line for line in console if "Content Security Policy" in line], console


def test_two_saves_50_ms_apart_leave_the_tab_on_the_second(make_site: Callable[[str], Path],
                                                          browser_page: Page) -> None:
    """The second rebuild can finish while the tab, reloading for the first, has no connection yet: the
    tab must still end on the second version. Several rounds, since the timing varies."""
    page = browser_page
    site = make_site("features")
    source = site / "content" / "first.md"
    good = source.read_text()
    with running(site) as (server, out, err):
        page.goto(f"http://127.0.0.1:{server.port}/sub/path/first/")
        for round_ in range(6):
            wait_for(lambda: reload_clients() == 1)
            source.write_text(good.replace("A claim with one source", f"Round {round_} first save"))
            time.sleep(0.05)
            source.write_text(good.replace("A claim with one source", f"Round {round_} second save"))
            second = f"Round {round_} second save"
            wait_for(lambda: second.encode() in fetch(server, "/sub/path/first/")[2])  # noqa: B023
            page.wait_for_selector(f"text={second}", timeout=5_000)
            time.sleep(0.3)  # the tab stays there
            assert second in page.inner_text("main")
