"""The reader on a phone, in real Chromium: charts at any width, text on the first screen, citations
and glossary terms on tap, pictures. Built and served as tests/test_browser.py does (its fixtures)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
import yaml
from conftest import build_site, copy_site
from playwright.sync_api import Browser, BrowserContext, Page
from test_browser import SITES, VNU, BuiltSite, Watch, _serve, open_page, run_axe, sites, watched_context
from test_pictures import add_pictures

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
        for width in (320, 390, 1280, 1440):
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


# ---- the first screen -----------------------------------------------------------------------------

FIRST_PARAGRAPH_JS = "() => document.querySelector('article.prose > p').getBoundingClientRect().top + window.scrollY"
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def section_pages(site: BuiltSite) -> list[str]:
    return [page for page in site.pages if 'class="layout-section"' in site.html_file(page).read_text(encoding="utf-8")]


@pytest.mark.parametrize("name", SITES)
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_first_paragraph_of_every_section_within_600px_on_a_390px_phone(
        name: str, javascript: bool, sites: dict[str, BuiltSite], browser: Browser) -> None:
    site = sites[name]
    pages = section_pages(site)
    assert pages or name == "minimal"
    context, watch = watched_context(browser, site.origin, java_script_enabled=javascript, **PHONE)
    page = context.new_page()
    found = {}
    for path in pages:
        open_page(page, watch, site.url(path))
        found[path] = page.evaluate(FIRST_PARAGRAPH_JS)
        # every item of the main navigation stays reachable: one row, scrolled sideways
        row = page.locator(".site-nav ul")
        assert row.evaluate("el => el.getBoundingClientRect().height") < 56
        last = page.locator(".site-nav li:last-child a")
        last.scroll_into_view_if_needed()
        assert last.is_visible() and last.bounding_box()["x"] + last.bounding_box()["width"] <= 390.5
    context.close()
    late = {path: top for path, top in found.items() if top >= 600}
    assert late == {}, f"first paragraph at or below 600 px: {late} (all: {found})"


@pytest.mark.parametrize("width", [390, 1280])
def test_contents_closed_on_a_phone_open_on_a_desktop(width: int, sites: dict[str, BuiltSite], browser: Browser) -> None:
    site = sites["explainer" if "explainer" in SITES else "features"]
    path = next(p for p in section_pages(site) if 'class="toc"' in site.html_file(p).read_text(encoding="utf-8"))
    for javascript in (True, False):
        context, watch = watched_context(browser, site.origin, viewport={"width": width, "height": 844},
                                         has_touch=True, java_script_enabled=javascript)
        page = context.new_page()
        open_page(page, watch, site.url(path))
        entries = page.locator(".toc ol")
        if width == 390:
            assert entries.is_hidden()
            page.locator(".toc summary").tap()
            assert entries.is_visible()
        else:
            assert entries.is_visible()
            assert page.locator(".toc a").first.evaluate("el => el.checkVisibility()")
        context.close()


# ---- citations and terms on tap -------------------------------------------------------------------

# Where everything in main is, but the popover and the hover tooltips, which lie over the text.
LAYOUT_JS = """() => [...document.querySelectorAll('main *:not(.popover, .popover *, .term-tip)')].slice(0, 400)
  .map(el => { const r = el.getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height]
  .map(Math.round).join(); }).join(';')"""


def phone_page(browser: Browser, site: BuiltSite, path: str, **options: bool) -> tuple[BrowserContext, Watch, Page]:
    """A page of the site opened on a 390 px touch screen, under the page's own CSP."""
    context, watch = watched_context(browser, site.origin, **PHONE, **options)
    page = context.new_page()
    open_page(page, watch, site.url(path))
    return context, watch, page


def test_a_tapped_citation_shows_its_source_in_place(sites: dict[str, BuiltSite], browser: Browser) -> None:
    context, watch, page = phone_page(browser, sites["features"], "first/")
    marker = page.locator("sup.cite a[href='#source-1']").first
    box = marker.bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24, box
    before = page.evaluate(LAYOUT_JS)
    marker.tap()
    dialog = page.get_by_role("dialog", name="Source 1")
    assert dialog.is_visible()
    text = dialog.inner_text()
    for part in ("Alpha report", "Alpha News", "17 May 2019", "Supports the first claim."):
        assert part in text, text
    assert dialog.get_by_role("link", name="See it in the list of sources").get_attribute("href") == "#source-1"
    assert page.evaluate("() => location.hash") == ""  # stayed in place
    assert page.evaluate("() => document.activeElement.getAttribute('role')") == "dialog"
    assert marker.get_attribute("aria-expanded") == "true"
    assert page.evaluate(LAYOUT_JS) == before, "opening the popover moved the page"
    dialog_box = dialog.bounding_box()
    assert dialog_box["x"] >= 0 and dialog_box["x"] + dialog_box["width"] <= 390
    close = dialog.get_by_role("button", name="Close")
    assert close.bounding_box()["width"] >= 24 and close.bounding_box()["height"] >= 24
    page.keyboard.press("Escape")
    assert page.locator(".popover").count() == 0
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#source-1"
    assert marker.get_attribute("aria-expanded") == "false"
    # a tap outside closes it; the Close button closes it and hands focus back
    marker.tap()
    assert dialog.is_visible()
    page.locator("h1").tap()
    assert page.locator(".popover").count() == 0
    marker.tap()
    page.get_by_role("button", name="Close").tap()
    assert page.locator(".popover").count() == 0
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#source-1"
    # the keyboard: Enter opens it, Escape closes it
    marker.focus()
    page.keyboard.press("Enter")
    assert page.get_by_role("dialog", name="Source 1").is_visible()
    page.keyboard.press("Escape")
    assert page.locator(".popover").count() == 0
    # the link inside goes to the entry in the list
    marker.tap()
    page.get_by_role("link", name="See it in the list of sources").tap()
    page.wait_for_function("() => location.hash === '#source-1'")
    assert page.locator(".popover").count() == 0
    context.close()
    assert watch.console_errors == [], watch.console_errors  # the page's own CSP holds


def test_a_tapped_glossary_term_shows_its_definition_in_place(sites: dict[str, BuiltSite], browser: Browser) -> None:
    context, watch, page = phone_page(browser, sites["features"], "first/")
    term = page.locator("a.term").first
    href = term.get_attribute("href")
    before = page.evaluate(LAYOUT_JS)
    term.tap()
    dialog = page.get_by_role("dialog", name="Definition: widget")
    assert dialog.is_visible()
    assert "A small thing" in dialog.inner_text()
    assert dialog.get_by_role("link", name="Open the glossary").get_attribute("href").endswith(href.lstrip("./"))
    assert page.evaluate("() => location.pathname").endswith("/first/")
    assert page.evaluate(LAYOUT_JS) == before
    page.keyboard.press("Escape")
    assert page.locator(".popover").count() == 0
    assert page.evaluate("() => document.activeElement.className") == "term"
    context.close()
    assert watch.console_errors == [], watch.console_errors


TIP_JS = """term => { const tip = term.nextElementSibling, box = tip.getBoundingClientRect();
  return {shown: getComputedStyle(tip).display !== 'none' && box.width > 1, right: Math.round(box.right),
          screen: document.documentElement.clientWidth, scrolls: document.scrollingElement.scrollWidth > innerWidth}; }"""


@pytest.mark.parametrize("close", ["button", "Escape", "tap again"])
def test_a_closed_definition_does_not_come_back_as_the_terms_tip(close: str, sites: dict[str, BuiltSite],
                                                                 browser: Browser) -> None:
    """Closing the popover gives focus back to the term, whose tip (shown on focus) stays hidden until the term
    loses it; the page never grows sideways."""
    context, watch, page = phone_page(browser, sites["features"], "first/")
    term = page.locator("a.term").first
    term.tap()
    assert page.locator(".popover").count() == 1
    if close == "button":
        page.get_by_role("button", name="Close").tap()
    elif close == "Escape":
        page.keyboard.press("Escape")
    else:
        term.tap()
    assert page.locator(".popover").count() == 0
    assert page.evaluate("() => document.activeElement.className") == "term"
    assert term.evaluate(TIP_JS)["shown"] is False and term.evaluate(TIP_JS)["scrolls"] is False
    page.locator("h1").tap()  # the term loses focus: its tip shows on focus again
    term.focus()
    assert term.evaluate(TIP_JS)["shown"] is True
    context.close()
    assert watch.console_errors == [], watch.console_errors


@pytest.mark.parametrize("name", SITES)
def test_a_terms_tip_stays_on_the_screen(name: str, sites: dict[str, BuiltSite], browser: Browser) -> None:
    """Focused, each glossary term of every section shows its tip within a 360 px screen."""
    site = sites[name]
    context, watch = watched_context(browser, site.origin, **{**PHONE, "viewport": {"width": 360, "height": 740}})
    page = context.new_page()
    checked = 0
    for path in section_pages(site):
        open_page(page, watch, site.url(path))
        for term in page.locator("a.term").all():
            term.focus()
            tip = term.evaluate(TIP_JS)
            assert tip["shown"] and tip["right"] <= tip["screen"] and not tip["scrolls"], (path, term.inner_text(), tip)
            checked += 1
    context.close()
    assert checked or name == "minimal"
    assert watch.console_errors == [], watch.console_errors


def test_without_javascript_a_citation_still_jumps_to_the_list(sites: dict[str, BuiltSite], browser: Browser) -> None:
    context, watch, page = phone_page(browser, sites["features"], "first/", java_script_enabled=False)
    page.locator("sup.cite a[href='#source-1']").first.tap()
    page.wait_for_function("() => location.hash === '#source-1'")
    assert page.locator(".popover").count() == 0
    page.locator("a.term").first.tap()
    page.wait_for_url("**/glossary/#term-widget")
    context.close()


def test_the_navigation_row_shows_a_shadow_at_the_end_it_can_still_scroll_to(sites: dict[str, BuiltSite],
                                                                            browser: Browser) -> None:
    """At 360 px the navigation is a row that scrolls sideways: a shadow at its right edge until it is scrolled
    to the end, then at its left edge."""
    import io

    from PIL import Image, ImageStat
    site = sites["features"]
    context, watch = watched_context(browser, site.origin, **{**PHONE, "viewport": {"width": 360, "height": 740}})
    page = context.new_page()
    open_page(page, watch, site.url(""))
    row = page.locator(".site-nav ul")
    assert row.evaluate("el => el.scrollWidth > el.clientWidth")

    def edges() -> tuple[float, float]:
        """How dark the row's leftmost and rightmost 5 px are (mean grey, 255 is white)."""
        shot = Image.open(io.BytesIO(row.screenshot())).convert("L")
        width, height = shot.size
        return tuple(ImageStat.Stat(shot.crop(box)).mean[0]  # type: ignore[return-value]
                     for box in ((0, 0, 5, height), (width - 5, 0, width, height)))

    left, right = edges()
    assert right < left - 3, (left, right)
    row.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    left, right = edges()
    assert left < right - 3, (left, right)
    context.close()


# ---- tap targets -----------------------------------------------------------------------------------

TARGET_SIZE_JS = """() => axe.run(document, {runOnly: ['target-size'], resultTypes: ['violations', 'passes']}).then(r => {
  const lines = [];
  for (const v of r.violations) for (const n of v.nodes) lines.push('too small: ' + n.target);
  // a pass that needed the spacing exception has no 'target-size' check among the ones that held
  for (const p of r.passes) for (const n of p.nodes)
    if (!n.any.some(check => check.id === 'target-size')) lines.push('only by spacing: ' + n.target);
  return lines;
})"""


@pytest.mark.parametrize("name", SITES)
def test_every_tap_target_is_24px_without_the_spacing_exception(name: str, sites: dict[str, BuiltSite],
                                                                 browser: Browser) -> None:
    from test_browser import AXE
    site = sites[name]
    context, watch = watched_context(browser, site.origin, bypass_csp=True, **PHONE)
    page = context.new_page()
    problems = []
    for path in site.pages:
        open_page(page, watch, site.url(path))
        page.add_script_tag(path=str(AXE))
        problems += [f"{path}: {line}" for line in page.evaluate(TARGET_SIZE_JS)]
        if page.locator("sup.cite a").count():  # and with a popover open
            page.locator("sup.cite a").first.tap()
            problems += [f"{path} (popover open): {line}" for line in page.evaluate(TARGET_SIZE_JS)]
    context.close()
    assert problems == [], "\n".join(problems)


# ---- the dev server's error page -------------------------------------------------------------------


def test_the_dev_servers_error_page_fits_a_360px_phone(browser: Browser) -> None:
    from engine.webapp import SiteApp
    app = SiteApp("/")
    app.show_problems([
        "content/background/a-very-long-folder-name-for-a-section/index.md:12: unknown source id "
        "'washington-post-2018-07-12-mexico-safe-third-country-talks' (did you mean "
        "'washington-post-2018-07-12-mexico-safe-third-country-talk'?)",
        "layouts/partials/a-partial-with-a-long-name.html:3: 'dict object' has no attribute 'titel'"])
    html = app.respond({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_HOST": "127.0.0.1"}).body.decode()
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_content(html)
    # laid out at the phone's width (not a 980 px desktop page shrunk), and nothing wider than it
    assert page.evaluate("() => document.documentElement.clientWidth") == 360
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert page.locator("li").count() == 2
    assert all(box["x"] + box["width"] <= 360 for box in (item.bounding_box() for item in page.locator("li code").all()))
    font = page.locator("li code").first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert font >= 12
    context.close()


# ---- pictures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def picture_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltSite]:
    """The features fixture with generated pictures on its first page, built and served."""
    site = add_pictures(copy_site("features", tmp_path_factory.mktemp("pictures")))
    code, problems = build_site(site, "--quiet", "--no-cache")
    assert code == 0, problems
    base_url = yaml.safe_load((site / "site_config.yaml").read_text(encoding="utf-8"))["base_url"]
    built = BuiltSite("pictures", site / "output", base_path="/" + base_url.split("/", 3)[3], pages=["first/"])
    server = _serve(built)
    yield built
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("width", [320, 390, 1280])
def test_pictures_keep_their_room_load_webp_at_the_right_size_and_pass_axe(
        width: int, picture_site: BuiltSite, browser: Browser) -> None:
    context, watch = watched_context(browser, picture_site.origin, viewport={"width": width, "height": 800},
                                     bypass_csp=width != 390, has_touch=width < 1000)
    page = context.new_page()
    # Before any picture arrives, each <img> already has its final height (width and height are set).
    page.route("**/assets/pictures/**", lambda route: None)  # held: never answered
    watch.current = picture_site.url("first/")
    page.goto(picture_site.url("first/"), wait_until="domcontentloaded")
    held = page.evaluate("() => [...document.querySelectorAll('figure.picture img')]"
                         ".map(i => [i.getBoundingClientRect().width, i.getBoundingClientRect().height])")
    page.unroute("**/assets/pictures/**")
    open_page(page, watch, picture_site.url("first/"))
    page.evaluate("() => Promise.all([...document.images].map(i => { i.loading = 'eager'; "
                  "return i.decode().catch(() => null); }))")
    loaded = page.evaluate("() => [...document.querySelectorAll('figure.picture img')].map(i => "
                           "[i.getBoundingClientRect().width, i.getBoundingClientRect().height, i.currentSrc])")
    assert [box for box in held] == [[w, h] for w, h, _ in loaded]
    assert all(h > 0 for _, h in held)
    crossing = loaded[0]
    # the smallest file at least as wide as the picture is shown (one device pixel per CSS px here)
    assert crossing[2].endswith(".webp") and f"/crossing-{480 if width < 450 else 960}." in crossing[2], crossing
    assert loaded[2][2].endswith(".svg")
    if width != 390:
        assert run_axe(page) == []
    context.close()
    assert watch.outside_requests == [] and watch.console_errors == [], watch.console_errors


def test_the_picture_page_is_valid_html(picture_site: BuiltSite) -> None:
    run = subprocess.run(["java", "-jar", str(VNU), "--format", "json", "--stdout",
                          str(picture_site.output / "first" / "index.html")],
                         capture_output=True, text=True, timeout=300, check=False)
    errors = [m for m in json.loads(run.stdout)["messages"] if m["type"] in ("error", "non-document-error")]
    assert errors == [], errors
