"""The built site opened straight from disk (file://) navigates between all its pages in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser  # starts Chromium


def test_every_page_is_reachable_by_clicking_from_disk(built_site: Path, browser: Browser) -> None:
    page = browser.new_page()
    start = (built_site / "index.html").as_uri()
    expected = {p.as_uri() for p in built_site.rglob("index.html")}
    visited: set[str] = set()
    queue = [start]
    while queue:
        url = queue.pop()
        if url in visited:
            continue
        page.goto(url)
        assert page.locator("h1").count() == 1, f"{url} did not open a page"
        visited.add(url)
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in hrefs:
            target = href.split("#")[0]
            if target.startswith("file://") and target.endswith(".html"):
                queue.append(target)
            elif target.startswith("file://"):
                pytest.fail(f"{url} links to {href}, which opens a folder listing from disk")
    page.close()
    assert visited == expected
