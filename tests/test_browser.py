"""Every built page, in real Chromium: valid HTML, no axe violations, no outside requests, keyboard, layout, weight.

The real explainer (a copy of content/, layouts/ and site_config.yaml) is covered as soon as content/
exists, alongside the fixture sites. Each site is served on 127.0.0.1 at the path of its base_url;
any request to another host is aborted and reported. One browser serves the whole module.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from conftest import ROOT, build_site, copy_site
from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.browser  # starts Chromium

TOOLS = ROOT / "tests" / "tools" / "node_modules"
AXE = TOOLS / "axe-core" / "axe.min.js"
VNU = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
ARTIFACTS = ROOT / "tests" / "artifacts"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PAGE_BUDGET = 50_000  # bytes, gzip-compressed: HTML (with inline SVG) + its CSS + its JS
FOCUSABLE = ('a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), '
             'textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])')

# The real explainer joins the fixture sites as soon as its content lands.
SITES = ["features", "minimal"] + (["explainer"] if (ROOT / "content").is_dir() else [])


# ---- building and serving ---------------------------------------------------------------------------


@dataclass
class BuiltSite:
    """A built site, served: its output folder, its origin and base path, and its pages' URLs."""

    name: str
    output: Path
    origin: str = ""
    base_path: str = "/"
    pages: list[str] = field(default_factory=list)

    def url(self, page: str) -> str:
        return self.origin + self.base_path + page

    def html_file(self, page: str) -> Path:
        return self.output / (page + "index.html" if page == "" or page.endswith("/") else page)


def _build(name: str, tmp: Path) -> BuiltSite:
    if name == "explainer":
        site = tmp / "explainer"
        site.mkdir()
        shutil.copytree(ROOT / "content", site / "content")
        shutil.copytree(ROOT / "layouts", site / "layouts")
        shutil.copy(ROOT / "site_config.yaml", site / "site_config.yaml")
    else:
        site = copy_site(name, tmp / name)
    code, problems = build_site(site, "--quiet", "--no-cache")
    assert code == 0, f"{name} did not build: {problems}"
    settings = yaml.safe_load((site / "site_config.yaml").read_text(encoding="utf-8"))
    output = site / settings.get("output", "output")
    built = BuiltSite(name, output, base_path=urlparse(settings["base_url"]).path or "/")
    for file in sorted(output.rglob("*.html")):
        relative = file.relative_to(output).as_posix()
        built.pages.append(relative[: -len("index.html")] if relative.endswith("index.html") else relative)
    return built


def _serve(site: BuiltSite) -> http.server.ThreadingHTTPServer:
    """Serve the output folder at the base_url's path on 127.0.0.1, like the published site."""
    prefix = site.base_path

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            if not path.startswith(prefix):
                return str(site.output / "does-not-exist")
            return super().translate_path("/" + path[len(prefix):])

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(site.output)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site.origin = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, BuiltSite]]:
    tmp = tmp_path_factory.mktemp("browser-sites")
    built = {name: _build(name, tmp) for name in SITES}
    servers = [_serve(site) for site in built.values()]
    yield built
    for server in servers:
        server.shutdown()
        server.server_close()



# ---- watching a browser context -------------------------------------------------------------------


@dataclass
class Watch:
    """What a browser context did that it should not: console errors and requests to other hosts."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    current: str = ""


def watched_context(browser: Browser, origin: str, **options: Any) -> tuple[BrowserContext, Watch]:
    """A context that aborts and records every request not to `origin`, and records console errors."""
    context = browser.new_context(**options)
    watch = Watch(origin)

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(origin + "/") or url.startswith("data:"):
            route.continue_()
        else:
            watch.outside_requests.append(f"{watch.current}: {url}")
            route.abort()

    context.route("**/*", route)

    def on_console(message: Any) -> None:
        if message.type == "error":
            watch.console_errors.append(f"{watch.current}: {message.text}")

    def on_page(page: Page) -> None:
        page.on("console", on_console)
        page.on("pageerror", lambda error: watch.console_errors.append(f"{watch.current}: {error}"))

    context.on("page", on_page)
    return context, watch


def open_page(page: Page, watch: Watch, url: str) -> None:
    watch.current = url
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url} answered {response.status if response else 'nothing'}"


def run_axe(page: Page) -> list[str]:
    """axe-core violations of WCAG 2.2 A/AA and best practices, one line per rule and element."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    return [f"{violation['id']} ({violation['impact']}): {node['target']} {node['failureSummary']}"
            for violation in result["violations"] for node in violation["nodes"]]


OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 0.5)
    .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
      + ' ends at ' + Math.round(el.getBoundingClientRect().right) + 'px');
}"""


def overflow_at(page: Page) -> list[str]:
    """Elements that push the page wider than the viewport (empty when nothing scrolls sideways)."""
    result: list[str] = page.evaluate(OVERFLOW_JS)
    return result


# ---- the visits, done once per site and shared by the tests ----------------------------------------


@dataclass
class Report:
    axe: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    overflow: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def reports(sites: dict[str, BuiltSite], browser: Browser) -> Callable[[str], Report]:
    """Each site's pages visited twice: light at 320 px wide and dark at 1280 px, axe run on both."""
    done: dict[str, Report] = {}

    def report(name: str) -> Report:
        if name in done:
            return done[name]
        site, result = sites[name], Report()
        for scheme, width in (("light", 320), ("dark", 1280)):
            # bypass_csp: axe is injected as a script tag; the keyboard visit keeps the page's own policy.
            context, watch = watched_context(browser, site.origin, viewport={"width": width, "height": 800},
                                             color_scheme=scheme, bypass_csp=True)
            page = context.new_page()
            for path in site.pages:
                url = site.url(path)
                open_page(page, watch, url)
                if width == 320:
                    result.overflow += [f"{url}: {line}" for line in overflow_at(page)]
                result.axe += [f"{url} [{scheme}]: {line}" for line in run_axe(page)]
            context.close()
            result.console_errors += watch.console_errors
            result.outside_requests += watch.outside_requests
        done[name] = result
        return result

    return report


@pytest.mark.parametrize("name", SITES)
def test_no_axe_violations_in_light_and_dark(name: str, reports: Callable[[str], Report]) -> None:
    violations = reports(name).axe
    assert violations == [], "\n".join(violations)


@pytest.mark.parametrize("name", SITES)
def test_no_console_errors(name: str, reports: Callable[[str], Report]) -> None:
    errors = reports(name).console_errors
    assert errors == [], "\n".join(errors)


@pytest.mark.parametrize("name", SITES)
def test_no_request_leaves_the_site(name: str, reports: Callable[[str], Report]) -> None:
    requests = reports(name).outside_requests
    assert requests == [], "\n".join(requests)


@pytest.mark.parametrize("name", SITES)
def test_no_horizontal_overflow_at_320px(name: str, reports: Callable[[str], Report]) -> None:
    overflow = reports(name).overflow
    assert overflow == [], "\n".join(overflow)


def test_the_watchers_catch_what_they_look_for(sites: dict[str, BuiltSite], browser: Browser) -> None:
    """The request recorder and the overflow check are not blind: a bad page trips both."""
    site = sites["minimal"]
    # bypass_csp: the page's own policy would stop the image before the recorder could see it.
    context, watch = watched_context(browser, site.origin, viewport={"width": 320, "height": 600}, bypass_csp=True)
    page = context.new_page()
    open_page(page, watch, site.url(""))
    page.evaluate("""() => {
      const img = document.createElement('img'); img.src = 'https://cdn.example.net/pixel.png'; img.alt = '';
      const wide = document.createElement('div'); wide.textContent = 'x'; wide.setAttribute('class', 'too-wide');
      wide.style.width = '600px';
      document.body.append(img, wide);
    }""")
    page.wait_for_timeout(200)
    assert any("cdn.example.net" in line for line in watch.outside_requests), watch.outside_requests
    assert any("too-wide" in line for line in overflow_at(page))
    context.close()


# ---- HTML validity ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vnu_errors(sites: dict[str, BuiltSite]) -> dict[str, list[str]]:
    """Nu Html Checker errors per HTML file, for every page of every site, from one run of the checker."""
    files = [site.output / (page + "index.html" if page.endswith("/") or page == "" else page)
             for site in sites.values() for page in site.pages]
    run = subprocess.run(["java", "-jar", str(VNU), "--format", "json", "--stdout", *map(str, files)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.stdout.strip(), f"vnu printed nothing: {run.stderr}"
    errors: dict[str, list[str]] = {}
    for message in json.loads(run.stdout)["messages"]:
        if message["type"] in ("error", "non-document-error"):
            where = message.get("url", "?").removeprefix("file:")
            errors.setdefault(str(Path(where).resolve()), []).append(
                f"{where}:{message.get('lastLine', '?')}: {message['message']} [{message.get('extract', '')}]")
    return errors


@pytest.mark.parametrize("name", SITES)
def test_every_page_is_valid_html(name: str, sites: dict[str, BuiltSite], vnu_errors: dict[str, list[str]]) -> None:
    site = sites[name]
    found = [line for page in site.pages for line in vnu_errors.get(str(site.html_file(page).resolve()), [])]
    assert found == [], "\n".join(found)


# ---- without JavaScript ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SITES)
def test_main_text_is_there_without_javascript(name: str, sites: dict[str, BuiltSite], browser: Browser) -> None:
    site = sites[name]
    context, watch = watched_context(browser, site.origin, java_script_enabled=False)
    page = context.new_page()
    problems = []
    for path in site.pages:
        url = site.url(path)
        open_page(page, watch, url)
        heading = page.locator("main h1")
        if heading.count() != 1 or not heading.inner_text().strip():
            problems.append(f"{url}: no visible h1 in main")
        if len(page.locator("main").inner_text().strip()) < 20:
            problems.append(f"{url}: main has (almost) no text")
        # Every piece of text in main is rendered, except the timeline filter, which only works with JS.
        hidden = page.evaluate("""() => [...document.querySelectorAll('main p, main li, main td, main dd, main h2')]
          .filter(el => !el.closest('[data-timeline-filter]') && !el.checkVisibility())
          .map(el => el.textContent.trim().slice(0, 60))""")
        problems += [f"{url}: hidden without JS: {text}" for text in hidden]
    context.close()
    assert problems == [], "\n".join(problems)


def test_a_screen_reader_hears_a_definition_as_the_terms_description_only_and_no_drawn_arrow(sites: dict[str, BuiltSite],
                                                                        browser: Browser) -> None:
    """Read straight through, the paragraph holds the term but not its definition; on the term, the
    definition is its description. The table of contents is named by its words alone."""
    from playwright.sync_api import expect
    site = sites["features"]
    context, watch = watched_context(browser, site.origin, viewport={"width": 390, "height": 844})  # arrows show
    page = context.new_page()
    open_page(page, watch, site.url("first/"))
    term = page.locator("a.term").first
    definition = page.locator(".term-tip").first.text_content() or ""
    assert definition.startswith("A small thing")
    expect(term).to_have_accessible_description(definition)
    paragraph = page.locator("main p", has=term).first
    assert definition not in paragraph.aria_snapshot(), paragraph.aria_snapshot()
    # the contents' drawn arrow is not part of their name
    expect(page.get_by_role("navigation", name="On this page", exact=True)).to_have_count(1)
    context.close()


# ---- keyboard --------------------------------------------------------------------------------------

MARK_FOCUSABLE_JS = """selector => {
  const items = [...document.querySelectorAll(selector)].filter(el => el.checkVisibility({visibilityProperty: true}));
  items.forEach((el, i) => el.setAttribute('data-kb', String(i)));
  window.__focused = [];
  document.addEventListener('focusin',
    event => window.__focused.push(event.target.getAttribute('data-kb') ?? event.target.tagName));
  return items.map(el => (el.getAttribute('href') || el.textContent.trim()).slice(0, 50));
}"""


@pytest.mark.parametrize("name", SITES)
def test_keyboard_skip_link_first_and_everything_reachable(name: str, sites: dict[str, BuiltSite], browser: Browser) -> None:
    site = sites[name]
    context, watch = watched_context(browser, site.origin, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems = []
    for path in site.pages:
        url = site.url(path)
        open_page(page, watch, url)
        page.keyboard.press("Tab")
        first = page.evaluate("() => [document.activeElement.className, document.activeElement.getAttribute('href')]")
        if first != ["skip-link", "#main"]:
            problems.append(f"{url}: first Tab stop is {first}, not the skip link")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.activeElement && document.activeElement.id === 'main'", timeout=2000)
        if not page.evaluate("() => document.activeElement.tagName === 'MAIN' && document.activeElement.checkVisibility()"):
            problems.append(f"{url}: the skip link did not move focus to main")

        open_page(page, watch, url)
        labels = page.evaluate(MARK_FOCUSABLE_JS, FOCUSABLE)
        for _ in range(len(labels) + 2):
            page.keyboard.press("Tab")
        focused = set(page.evaluate("() => window.__focused"))
        missed = [label for index, label in enumerate(labels) if str(index) not in focused]
        problems += [f"{url}: not reachable by Tab: {label}" for label in missed]
    context.close()
    problems += watch.console_errors + watch.outside_requests  # this context enforces the page's own CSP
    assert problems == [], "\n".join(problems)


# ---- enhancement and print -------------------------------------------------------------------------


def test_timeline_filter_shows_only_the_chosen_category(sites: dict[str, BuiltSite], browser: Browser) -> None:
    site = sites["features"]
    context, watch = watched_context(browser, site.origin)
    page = context.new_page()
    open_page(page, watch, site.url("timeline/"))
    assert page.locator("[data-timeline-filter]").is_visible()
    visible = ("() => [...document.querySelectorAll('.timeline .event')]"
               ".filter(e => e.checkVisibility()).map(e => e.dataset.category)")
    everything = page.evaluate(visible)
    page.get_by_role("button", name="Category One").click()
    assert page.get_by_role("button", name="Category One").get_attribute("aria-pressed") == "true"
    assert page.evaluate(visible) == ["one"]
    assert page.locator("#year-2019").is_hidden()
    assert page.get_by_role("status").inner_text() == "Showing 1 of 3 events: Category One."
    page.get_by_role("button", name="All").click()
    assert page.evaluate(visible) == everything
    assert sorted(set(everything)) == ["one", "two"]
    context.close()


def test_print_drops_navigation_and_prints_external_urls(sites: dict[str, BuiltSite], browser: Browser) -> None:
    site = sites["features"]
    context, watch = watched_context(browser, site.origin)
    page = context.new_page()
    open_page(page, watch, site.url("first/"))
    page.emulate_media(media="print")
    for selector in (".site-nav", ".breadcrumbs", ".pager", ".skip-link", ".toc"):
        assert page.locator(selector).evaluate("el => getComputedStyle(el).display") == "none", selector
    after = page.locator(".page-sources .source-title a").first.evaluate("el => getComputedStyle(el, '::after').content")
    assert "https://alpha.example/report" in after
    # the full stop after a source's title stays on the line where its printed address ends, however long
    same_line = page.locator(".page-sources .source-title").first.evaluate("""cite => {
      const link = cite.querySelector('a');
      link.href = 'https://web.archive.org/web/20180601000000/https://alpha.example/' + 'long-path/'.repeat(12);
      const rects = link.getClientRects(), last = rects[rects.length - 1];
      const range = document.createRange(), text = cite.nextSibling;
      range.setStart(text, 0); range.setEnd(text, 1);
      return [text.textContent[0], Math.abs(range.getBoundingClientRect().top - last.top) < 4];
    }""")
    assert same_line == [".", True]
    assert page.locator(".page-sources").is_visible()
    assert page.locator("sup.cite").first.is_visible()
    context.close()


# ---- screenshots for people ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SITES)
def test_screenshots_of_home_and_a_section(name: str, sites: dict[str, BuiltSite], browser: Browser) -> None:
    site = sites[name]
    targets = {"home": ""}
    sections = [p for p in site.pages if 'class="layout-section"' in site.html_file(p).read_text(encoding="utf-8")]
    if sections:
        targets["section"] = sections[0]
    ARTIFACTS.mkdir(exist_ok=True)
    written = []
    for scheme in ("light", "dark"):
        for width in (390, 1280):
            context, watch = watched_context(browser, site.origin, viewport={"width": width, "height": 900},
                                             color_scheme=scheme)
            page = context.new_page()
            for label, path in targets.items():
                open_page(page, watch, site.url(path))
                shot = ARTIFACTS / f"{name}-{label}-{width}-{scheme}.png"
                page.screenshot(path=str(shot), full_page=True)
                written.append(shot)
            context.close()
    assert all(shot.stat().st_size > 1000 for shot in written)


# ---- weight ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SITES)
def test_every_page_weighs_at_most_50kb_compressed(name: str, sites: dict[str, BuiltSite]) -> None:
    site = sites[name]
    weights = {}
    for path in site.pages:
        file = site.html_file(path)
        html = file.read_bytes()
        total = len(gzip.compress(html, 9))
        for ref in re.findall(rb'<(?:link rel="stylesheet"|script)[^>]*?(?:href|src)="([^"]+)"', html):
            target = ref.decode()
            # A root-absolute reference (the 404 page's) is relative to the base_url's path.
            asset = (site.output / target[len(site.base_path):] if target.startswith("/")
                     else file.parent / target).resolve()
            assert asset.is_relative_to(site.output.resolve()), f"{path} loads {ref!r} from outside the site"
            total += len(gzip.compress(asset.read_bytes(), 9))
        weights[path or "(home)"] = total
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}-weights.txt").write_text(
        "".join(f"{size:7d} {page}\n" for page, size in sorted(weights.items(), key=lambda item: -item[1])))
    heavy = {page: size for page, size in weights.items() if size > PAGE_BUDGET}
    assert heavy == {}, f"pages over {PAGE_BUDGET} bytes compressed: {heavy}"
