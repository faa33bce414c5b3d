"""The reader on a phone, in real Chromium: charts at any width, text on the first screen, citations
and glossary terms on tap, pictures. Built and served as tests/test_browser.py does (its fixtures)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page
from test_browser import SITES, BuiltSite, open_page, sites, watched_context

pytestmark = pytest.mark.browser  # starts Chromium

__all__ = ["sites"]  # the module-scoped fixture, shared with test_browser.py

# Every chart's texts, as boxes, with what is wrong with them: outside the SVG or over another text.
CHART_PROBLEMS_JS = """() => {
  const problems = [];
  const charts = [...document.querySelectorAll('svg.chart')];
  charts.forEach((svg, n) => {
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect()]);
    if (texts.length === 0) problems.push(`chart ${n}: no text`);
    for (const [label, r] of texts) {
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
        problems.push(`chart ${n}: '${label}' [${r.left},${r.right}]x[${r.top},${r.bottom}] outside `
                      + `[${box.left},${box.right}]x[${box.top},${box.bottom}]`);
    }
    texts.forEach(([a, ra], i) => texts.slice(i + 1).forEach(([b, rb]) => {
      const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (x > 0.5 && y > 0.5) problems.push(`chart ${n}: '${a}' overlaps '${b}'`);
    }));
  });
  return [charts.length, problems];
}"""


def chart_pages(site: BuiltSite) -> list[str]:
    return [page for page in site.pages if 'class="chart ' in site.html_file(page).read_text(encoding="utf-8")]


def chart_problems(page: Page) -> tuple[int, list[str]]:
    count, problems = page.evaluate(CHART_PROBLEMS_JS)
    return count, problems


@pytest.mark.parametrize("name", SITES)
def test_chart_text_inside_and_apart_at_every_width(name: str, sites: dict[str, BuiltSite], browser: Browser) -> None:
    site = sites[name]
    pages = chart_pages(site)
    if name == "minimal":
        assert pages == []
        return
    kinds = set()
    problems: list[str] = []
    for scheme in ("light", "dark"):
        for width in (320, 390, 1280):
            context, watch = watched_context(browser, site.origin, viewport={"width": width, "height": 800},
                                             color_scheme=scheme)
            page = context.new_page()
            for path in pages:
                open_page(page, watch, site.url(path))
                count, found = chart_problems(page)
                assert count > 0
                problems += [f"{path} {width}px {scheme}: {line}" for line in found]
                kinds.update(page.evaluate("() => [...document.querySelectorAll('svg.chart')].map(s => s.classList[1])"))
                # Every chart keeps its data table, a row per value.
                tables = page.evaluate("""() => [...document.querySelectorAll('figure.figure')].map(f =>
                  [f.querySelectorAll('svg.chart title').length, f.querySelectorAll('table.figure-table tbody tr').length])""")
                assert all(titles == 1 and rows > 0 for titles, rows in tables), tables
            context.close()
    assert problems == [], "\n".join(problems)
    if name == "features":
        assert kinds == {"chart-kind-bar", "chart-kind-line", "chart-kind-hbar"}


def test_the_chart_check_sees_clipped_and_overlapping_text(sites: dict[str, BuiltSite], browser: Browser) -> None:
    """The check is not blind: a label pushed off the left edge, and one moved onto another, are caught."""
    site = sites["features"]
    context, watch = watched_context(browser, site.origin, viewport={"width": 320, "height": 800})
    page = context.new_page()
    open_page(page, watch, site.url(""))
    assert chart_problems(page)[1] == []
    page.evaluate("""() => {
      const ticks = document.querySelectorAll('svg.chart .chart-tick');
      ticks[ticks.length - 1].setAttribute('x', '-20');
      const labels = document.querySelectorAll('svg.chart .chart-label');
      labels[1].setAttribute('x', labels[0].getAttribute('x'));
    }""")
    problems = chart_problems(page)[1]
    assert any("outside" in line for line in problems), problems
    assert any("overlaps" in line for line in problems), problems
    context.close()
