"""Sources that stay reachable: the warning for a web source without an archived copy, and
`build.py check --online`, asked of a local web server that stands in for the web: it serves as the
HTTP proxy, so the sources keep ordinary addresses (http://sources.test/...) that the build accepts."""

from __future__ import annotations

import contextlib
import io
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import build_site

import build

# path -> (status, Location) the stand-in web answers with; HEAD to /no-head is refused.
ROUTES = {
    "/ok": (200, None),
    "/moved": (301, "/ok"),
    "/twice": (302, "/moved"),
    "/no-head": (200, None),
    "/gone": (404, None),
    "/gone-too": (410, None),
    "/also-gone": (404, None),
    "/archive/gone": (200, None),
    "/archive/gone-too": (404, None),
}


class _Web(BaseHTTPRequestHandler):
    def _answer(self, with_body: bool) -> None:
        path = urlsplit(self.path).path  # a proxy is asked for whole addresses
        status, location = ROUTES.get(path, (404, None))
        if self.command == "HEAD" and path == "/no-head":
            status = 405
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if with_body:
            self.wfile.write(b"ok")

    def do_HEAD(self) -> None:
        self._answer(False)

    def do_GET(self) -> None:
        self._answer(True)

    def log_message(self, *args: Any) -> None:
        pass


ORIGIN = "http://sources.test"


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The stand-in web's origin; every http address is asked of it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Web)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in ("no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{server.server_address[1]}")
    urllib.request.install_opener(None)  # urlopen reads the proxy settings again, with the stand-in's
    try:
        yield ORIGIN
    finally:
        urllib.request.install_opener(None)
        server.shutdown()
        server.server_close()


def _sources(origin: str) -> str:
    """The features fixture's three sources, cited on its pages, plus an uncited fourth, all on the stand-in web."""
    entries = [
        ("alpha", "/twice", ""),
        ("beta", "/gone", "/archive/gone"),
        ("gamma", "/gone-too", "/archive/gone-too"),
        ("delta", "/also-gone", None),
        ("epsilon", "/no-head", ""),
    ]
    # a source whose address is itself an archive's needs no archived copy of its own
    text = "zeta:\n  title: Zeta\n  publisher: P\n  date: \"2019\"\n  url: http://web.archive.org/web/2019/x\n  kind: page\n"
    for source_id, path, archive in entries:
        text += (f"{source_id}:\n  title: {source_id.title()}\n  publisher: P\n  date: \"2019\"\n"
                 f"  url: {origin}{path}\n  kind: page\n")
        if archive is not None:
            text += f"  archive_url: {origin}{archive or '/ok'}\n"
    return text


def _run(*argv: str) -> tuple[int, list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    site = Path(argv[argv.index("--config") + 1]).parent  # run from the site's folder, as a writer does
    with contextlib.chdir(site), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = build.main(list(argv))
    return code, out.getvalue().splitlines(), err.getvalue().splitlines()


def test_a_web_source_without_an_archived_copy_is_a_warning_naming_its_line(make_site: Any) -> None:
    site = make_site("features")
    sources = site / "content" / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8").replace("  archive_url: https://archive.example/beta\n", ""),
                       encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    assert code == 0
    assert lines == ["content/sources.yaml:11: warning: source 'beta' has no archive_url "
                     "(look for a copy at https://web.archive.org/web/*/https://beta.example/page)"]
    code, lines = build_site(site, "--strict")
    assert code == 1 and "has no archive_url" in lines[0]


def test_an_archive_address_needs_no_archived_copy_and_accessed_cannot_precede_the_date(make_site: Any) -> None:
    site = make_site("features")
    sources = site / "content" / "sources.yaml"
    text = sources.read_text(encoding="utf-8")
    text = text.replace("  url: https://beta.example/page\n  archive_url: https://archive.example/beta\n",
                        "  url: https://web.archive.org/web/*/https://beta.example/page*\n")
    sources.write_text(text.replace('accessed: "2019-06-01"', 'accessed: "2019-05-16"'), encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    assert (code, lines) == (1, ["content/sources.yaml:9: accessed 2019-05-16, before the source's date (2019-05-17)",
                                 "1 problem found; nothing was written"])


def test_check_online_reports_status_redirects_and_archived_copies(make_site: Any, web: str) -> None:
    site = make_site("features")
    (site / "content" / "sources.yaml").write_text(_sources(web), encoding="utf-8")
    config = str(site / "site_config.yaml")
    code, _, errors = _run("--config", config)
    assert code == 0, errors  # the build itself never goes online: the addresses are only listed
    code, out, errors = _run("check", "--online", "--config", config)
    start = out.index("asked 6 sources online:")
    assert out[start + 1:start + 7] == [
        "  zeta: HTTP 404",
        f"  alpha: HTTP 200 after 302 -> {web}/moved, 301 -> {web}/ok",
        "  beta: HTTP 404; archived copy: HTTP 200",
        "  gamma: HTTP 410; archived copy: HTTP 404",
        "  delta: HTTP 404; no archived copy",
        "  epsilon: HTTP 200",
    ]
    assert errors == [
        # the pages' external links, asked as before; beta's dead address is not among them, as its copy answers
        f"{web}/also-gone: HTTP 404",
        f"{web}/archive/gone-too: HTTP 404",
        f"{web}/gone-too: HTTP 410",
        "http://web.archive.org/web/2019/x: HTTP 404",
        "4 external addresses did not answer",
        "content/sources.yaml:1: source 'zeta' is dead (HTTP 404), and its address is already an archive's "
        "(try again later, or find another copy)",
        "content/sources.yaml:14: warning: source 'beta' is dead (HTTP 404); its archived copy answers "
        "(readers still reach it through the archived copy)",
        "content/sources.yaml:21: source 'gamma' is dead (HTTP 410), and so is its archived copy (HTTP 404) "
        "(replace the url or the archive_url with an address that answers)",
        "content/sources.yaml:28: source 'delta' is dead (HTTP 404) and has no archived copy "
        f"(look for one at https://web.archive.org/web/*/{web}/also-gone)",
        "3 problems found among the sources",
    ], errors
    assert code == 1


def test_the_sources_list_shows_the_day_accessed_and_the_archived_copy(built_site: Any) -> None:
    from bs4 import BeautifulSoup

    page = BeautifulSoup((built_site / "sources" / "index.html").read_text(encoding="utf-8"), "html.parser")
    alpha = page.select_one("#src-alpha .source-access")
    assert alpha is not None
    assert alpha.find("time")["datetime"] == "2019-06-01" and alpha.find("time").get_text() == "1 June 2019"
    assert alpha.select_one("a.archive-link")["href"] == "https://archive.example/alpha"
    assert page.select_one("#src-beta .source-access time") is None, "beta has no accessed day"
