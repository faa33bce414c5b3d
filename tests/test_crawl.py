"""Built sites served under a subpath by a real static server, crawled in Chromium.

The server sends the headers of the site's own `_headers` file (so Chromium
enforces the real Content-Security-Policy) and answers missing paths with
404.html, the way Netlify, Cloudflare Pages and GitHub Pages do. Every page
must load with no 404, no request to another host and no CSP violation.
"""

from __future__ import annotations

import shutil
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urlsplit
from urllib.request import urlopen

import pytest
from conftest import ROOT, build_site, copy_site
from playwright.sync_api import Browser, ConsoleMessage, Request, Response
from test_deploy import parse_headers_file, rule_matches

pytestmark = pytest.mark.browser  # starts Chromium

# Collects CSP violations the page reports, in case one never reaches the console.
_VIOLATION_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " blocked " + event.blockedURI);
});
"""



def _make_handler(site_root: Path, base_path: str) -> type[SimpleHTTPRequestHandler]:
    rules = parse_headers_file((site_root / "_headers").read_text(encoding="utf-8"))

    class Handler(SimpleHTTPRequestHandler):
        """A static host: _headers applied (paths relative to the site folder), 404.html for missing files."""

        def end_headers(self) -> None:
            path = urlsplit(self.path).path
            if path.startswith(base_path):
                site_path = "/" + path[len(base_path):]
                for pattern, headers in rules:
                    if rule_matches(pattern, site_path):
                        for name, value in headers.items():
                            self.send_header(name, value)
            super().end_headers()

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            if code != 404:
                super().send_error(code, message, explain)
                return
            body = (site_root / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@dataclass
class CrawlResult:
    pages: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _serve(output: Path, www: Path, base_path: str) -> tuple[ThreadingHTTPServer, str]:
    """Copy the built site to www/<base_path> and serve www; return the server and the site's address."""
    site_root = www / base_path.strip("/")
    shutil.copytree(output, site_root)
    handler = partial(_make_handler(site_root, base_path), directory=str(www))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{base_path}"


def _crawl(browser: Browser, start: str, probe: str) -> CrawlResult:
    """Open every page reachable from `start` by links, then the 404 probe; collect what went wrong."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(start))
    result = CrawlResult()
    context = browser.new_context()
    context.add_init_script(_VIOLATION_LISTENER)
    page = context.new_page()
    current = {"url": start}

    def on_request(request: Request) -> None:
        if not request.url.startswith(origin + "/"):
            result.problems.append(f"{current['url']}: request to another host {request.url}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.url != probe:
            result.problems.append(f"{current['url']}: {response.status} for {response.url}")

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            result.problems.append(f"{current['url']}: console: {message.text}")

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("console", on_console)
    queue = [start, probe]
    seen: set[str] = set()
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        current["url"] = url
        response = page.goto(url, wait_until="load")
        assert response is not None
        if url == probe:
            if response.status != 404:
                result.problems.append(f"the probe {probe} answered {response.status}, not 404")
            rules = page.evaluate("Array.from(document.styleSheets).reduce((n, s) => n + s.cssRules.length, 0)")
            if not rules:
                result.problems.append(f"the 404 page at {probe} has no styles")
        else:
            result.pages.add(url)
        for violation in page.evaluate("window.__cspViolations"):
            result.problems.append(f"{url}: CSP violation: {violation}")
        for href in page.eval_on_selector_all("a[href], link[rel=alternate]", "links => links.map(a => a.href)"):
            target, _ = urldefrag(href)
            if target.startswith(start) and urlsplit(target).path.endswith("/"):
                queue.append(target)
            elif target.startswith(origin) and not target.startswith(start):
                result.problems.append(f"{url}: link leaves the site's path: {href}")
    context.close()
    return result


def _check_site(browser: Browser, output: Path, tmp_path: Path, base_url: str) -> None:
    base_path = urlsplit(base_url).path
    server, start = _serve(output, tmp_path / "www", base_path)
    try:
        probe = start + "no/such/page/at/depth/"
        result = _crawl(browser, start, probe)
        assert result.problems == []
        expected = {start + p.relative_to(output).as_posix().removesuffix("index.html")
                    for p in output.rglob("index.html")}
        assert result.pages == expected
        # Every sitemap entry answers on the real server, and so does the feed.
        locs = [e.text or "" for e in ET.parse(output / "sitemap.xml").getroot().iter()
                if e.tag.endswith("}loc")]
        assert {loc.replace(base_url, start) for loc in locs} == expected
        with urlopen(start + "feed.xml") as response:
            assert response.status == 200
    finally:
        server.shutdown()
        server.server_close()


def test_fixture_site_crawls_clean_under_a_subpath(browser: Browser, built_site: Path, tmp_path: Path) -> None:
    _check_site(browser, built_site, tmp_path, "https://example.com/sub/path/")


@pytest.mark.skipif(not (ROOT / "content").is_dir(), reason="the explainer's content/ is not written yet")
def test_explainer_crawls_clean_under_its_subpath(browser: Browser, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    shutil.copytree(ROOT / "content", site / "content")
    shutil.copytree(ROOT / "layouts", site / "layouts")
    shutil.copy(ROOT / "site_config.yaml", site / "site_config.yaml")
    code, errors = build_site(site, "--output", str(tmp_path / "output"), "--no-cache")
    assert code == 0, errors
    base_url = next(line.split(":", 1)[1].strip().strip('"') for line in
                    (site / "site_config.yaml").read_text(encoding="utf-8").splitlines()
                    if line.startswith("base_url:"))
    _check_site(browser, tmp_path / "output", tmp_path, base_url)


def test_a_crawl_catches_a_csp_violation_and_a_missing_file(browser: Browser, tmp_path: Path) -> None:
    """The crawler itself can fail: an inline style and a broken image are both reported (both are put
    into the built page: the build refuses a style attribute in content)."""
    site = copy_site("minimal", tmp_path)
    assert build_site(site)[0] == 0
    output = site / "output"
    home = output / "index.html"
    home.write_text(home.read_text(encoding="utf-8").replace(
        "</main>", '<p style="color: red">Red.</p><img src="gone.png" alt=""></main>'), encoding="utf-8")
    server, start = _serve(output, tmp_path / "www", "/")
    try:
        result = _crawl(browser, start, start + "missing/")
    finally:
        server.shutdown()
        server.server_close()
    assert any("CSP violation: style-src-attr" in p for p in result.problems), result.problems
    assert any(p.endswith(f"404 for {start}gone.png") for p in result.problems), result.problems
