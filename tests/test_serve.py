"""The dev server (engine/serve.py, engine/watch.py): path safety, base path, 404, error page, script injection,
debounce, busy port, the terminal line, and the live-reload socket (STYLE "dev server")."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, build_site, engine

from engine.serve import DevServer, format_rebuild_line, reload_clients
from engine.watch import QUIET_SECONDS, SourceWatcher, is_editor_temp
from engine.webapp import LOOPBACK_NAMES, SiteApp, decoded_base, host_name, request_path

BASE = "/sub/path/"
PAGE = b"<!doctype html><html><head><title>t</title></head><body>home page</body></html>"
FILES = {
    "index.html": PAGE,
    "first/index.html": PAGE.replace(b"home page", b"first page"),
    "assets/style.css": b"body{color:red}",
    "feed.xml": b"<feed/>",
    "404.html": b"<!doctype html><html><head></head><body>site 404 page</body></html>",
}
SCRIPT = '<script src="/livereload.js?snipver=1"></script>'


def call(app: SiteApp, uri: str, method: str = "GET", host: str = "127.0.0.1:8000") -> tuple[str, dict[str, str], bytes]:
    """Call the WSGI app the way the tornado bridge does: raw REQUEST_URI plus decoded PATH_INFO."""
    seen: dict[str, object] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    from urllib.parse import unquote
    body = b"".join(app({"REQUEST_METHOD": method, "REQUEST_URI": uri, "HTTP_HOST": host,
                         "PATH_INFO": unquote(uri.split("?")[0], encoding="latin-1")}, start_response))
    return str(seen["status"]), seen["headers"], body  # type: ignore[return-value]


def site_app(files: dict[str, bytes] | None = None) -> SiteApp:
    app = SiteApp(BASE, "/livereload.js")
    app.show_site(FILES if files is None else files)
    return app


# --- the WSGI app: path safety, base path, 404 ----------------------------------------------

@pytest.mark.parametrize("uri, status, expected", [
    ("/sub/path/", "200", b"home page"),
    ("/sub/path/first/", "200", b"first page"),
    ("/sub/path/first/index.html", "200", b"first page"),
    ("/sub/path/first/index.html?x=../../etc", "200", b"first page"),
    ("/sub/path/%66irst/", "200", b"first page"),                      # an encoded letter is fine
    ("/sub/path/assets/style.css", "200", b"body{color:red}"),
    ("/sub/path/../path/first/", "404", b"site 404 page"),
    ("/sub/path/first/../index.html", "404", b"site 404 page"),
    ("/sub/path/first/..", "404", b"site 404 page"),
    ("/sub/path/./first/", "404", b"site 404 page"),
    ("/sub/path/%2e%2e/path/first/", "404", b"site 404 page"),
    ("/sub/path/.%2E/path/first/", "404", b"site 404 page"),
    ("/sub/path/%252e%252e/path/first/", "404", b"site 404 page"),   # double encoding stays literal
    ("/sub/path/first%2findex.html", "404", b"site 404 page"),        # encoded separators
    ("/sub/path/first%2Findex.html", "404", b"site 404 page"),
    ("/sub/path/first%5cindex.html", "404", b"site 404 page"),
    ("/sub/path/first\\index.html", "404", b"site 404 page"),          # backslash
    ("/sub/path/..%5c..%5cetc%5cpasswd", "404", b"site 404 page"),
    ("/sub/path/index.html%00.css", "404", b"site 404 page"),          # NUL
    ("/sub/path/..%c0%af..%c0%afetc/passwd", "404", b"site 404 page"),  # overlong UTF-8 '/'
    ("/sub/path//etc/passwd", "404", b"site 404 page"),
    ("/sub/path/first//index.html", "404", b"site 404 page"),
    ("/etc/passwd", "404", b"site 404 page"),
    ("/sub/pathfirst/", "404", b"site 404 page"),
    ("/sub/path/missing/", "404", b"site 404 page"),
    ("/sub/path/output/../../site_config.yaml", "404", b"site 404 page"),
])
def test_request_paths_table(uri: str, status: str, expected: bytes) -> None:
    got_status, headers, body = call(site_app(), uri)
    assert got_status.split()[0] == status, uri
    assert expected in body
    assert b"root:" not in body


@pytest.mark.parametrize("uri, location", [
    ("/", "/sub/path/"),
    ("/sub/path", "/sub/path/"),
    ("/sub/path/first", "/sub/path/first/"),
])
def test_redirects_to_the_base_path_and_to_folders(uri: str, location: str) -> None:
    status, headers, _ = call(site_app(), uri)
    assert status.startswith("302") and headers["Location"] == location


def test_base_path_at_the_root_serves_the_home_page_without_redirect_loop() -> None:
    app = SiteApp("/", None)
    app.show_site(FILES)
    assert call(app, "/")[0].startswith("200")
    assert call(app, "/first")[1]["Location"] == "/first/"


def test_plain_404_page_when_the_site_has_none() -> None:
    files = {name: data for name, data in FILES.items() if name != "404.html"}
    status, headers, body = call(site_app(files), "/sub/path/nothing-here/")
    assert status.startswith("404") and headers["Content-Type"].startswith("text/html")
    assert b"Not found" in body and b'href="/sub/path/"' in body and SCRIPT.encode() in body


def test_a_missing_address_in_a_language_folder_gets_that_languages_404_page() -> None:
    files = {**FILES, "es/index.html": PAGE, "es/404.html": b"<!doctype html><html><body>es 404</body></html>"}
    assert b"es 404" in call(site_app(files), "/sub/path/es/nada/")[2]
    assert b"site 404 page" in call(site_app(files), "/sub/path/nothing/")[2]
    assert b"site 404 page" in call(site_app(files), "/sub/path/first/nothing/")[2]  # first/ has no 404 page


def test_head_has_headers_but_no_body_and_post_is_refused() -> None:
    status, headers, body = call(site_app(), "/sub/path/", "HEAD")
    assert status.startswith("200") and body == b"" and int(headers["Content-Length"]) > len(PAGE)
    assert call(site_app(), "/sub/path/", "POST")[0].startswith("405")


def test_content_types_and_no_caching() -> None:
    app = site_app()
    assert call(app, "/sub/path/assets/style.css")[1]["Content-Type"] == "text/css; charset=utf-8"
    assert call(app, "/sub/path/")[1]["Content-Type"] == "text/html; charset=utf-8"
    assert call(app, "/sub/path/")[1]["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:8000", "127.0.0.1"), ("Localhost:80", "localhost"), ("[::1]:8000", "::1"), ("[::1]", "::1"),
    ("::1", "::1"), (" Example.ORG ", "example.org"), ("", ""),
    ("[::1]evil.example", ""), ("[::1]:8000evil", ""), ("localhost:evil.example", ""), ("localhost:", "localhost"),
])
def test_host_name_is_the_lowercased_name_part_of_a_host_header(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(("base", "decoded"), [("/sub/path/", "/sub/path/"), ("/sub/path", "/sub/path/"),
                                               ("/caf%C3%A9/", "/café/"), ("/", "/")])
def test_decoded_base_is_unquoted_and_ends_with_a_slash(base: str, decoded: str) -> None:
    assert decoded_base(base) == decoded


@pytest.mark.parametrize(("environ", "path"), [
    ({"REQUEST_URI": "/sub/caf%C3%A9/?q=1#x"}, "/sub/café/"),
    ({"REQUEST_URI": "/sub/a%2fb/"}, None),    # an encoded separator could reach outside the site
    ({"REQUEST_URI": "/sub/a%5Cb/"}, None),
    ({"REQUEST_URI": "/sub/a%00b/"}, None),
    ({"PATH_INFO": "/sub/caf\u00c3\u00a9/"}, "/sub/café/"),  # PEP 3333: decoded, as latin-1
    ({}, "/"),
])
def test_request_path_decodes_and_refuses_encoded_separators(environ: dict[str, str], path: str | None) -> None:
    assert request_path(environ) == path


@pytest.mark.parametrize("host, status", [
    ("127.0.0.1:8000", "200"), ("localhost:8000", "200"), ("LOCALHOST", "200"), ("[::1]:8000", "200"),
    ("evil.example:8000", "403"), ("evil.example", "403"), ("127.0.0.1.evil.example", "403"), ("", "403"),
    ("[::1]evil.example", "403"), ("localhost:evil.example", "403"),
])
def test_a_loopback_server_answers_only_to_loopback_names(host: str, status: str) -> None:
    """DNS rebinding: a page on another site must not read the preview (drafts included)."""
    app = SiteApp(BASE, None, allowed_hosts=LOOPBACK_NAMES)
    app.show_site(FILES)
    got, _, body = call(app, "/sub/path/", host=host)
    assert got.startswith(status) and (b"home page" in body) == (status == "200")


# --- script injection -------------------------------------------------------------------------

def test_reload_script_is_external_and_only_in_html() -> None:
    app = site_app()
    _, headers, body = call(app, "/sub/path/")
    assert body.count(SCRIPT.encode()) == 1
    assert body.index(SCRIPT.encode()) < body.index(b"</head>")
    assert int(headers["Content-Length"]) == len(body)
    assert re.findall(rb"<script(?![^>]*\bsrc=)[^>]*>", body) == []  # no inline script: the CSP forbids it
    assert b"livereload" not in call(app, "/sub/path/assets/style.css")[2]
    assert b"livereload" not in call(app, "/sub/path/feed.xml")[2]
    assert SCRIPT.encode() in call(app, "/sub/path/missing/")[2]  # the site's 404.html is HTML too


@pytest.mark.parametrize("page, before", [
    (b"<html><HEAD><title>x</title></HEAD><body>x</body></html>", b"</HEAD>"),   # livereload wants lowercase
    (b"<html><head>" + b"<!-- padding -->" * 8000 + b"</head><body>x</body></html>", b"</head>"),  # past 64 KiB
    (b"<html><body>no head</body></html>", b"</body>"),
])
def test_reload_script_placement(page: bytes, before: bytes) -> None:
    body = call(site_app({"index.html": page}), "/sub/path/")[2]
    assert body.index(SCRIPT.encode()) + len(SCRIPT) == body.index(before)


# --- the error page ---------------------------------------------------------------------------

def test_error_page_is_served_for_every_html_request_while_broken() -> None:
    app = site_app()
    app.show_problems(["content/first.md:3: unknown front matter key 'titel' (did you mean 'title'?) <b>"])
    for uri in ("/sub/path/", "/sub/path/first/", "/sub/path/missing/"):
        status, _, body = call(app, uri)
        assert status.startswith("500")
        assert b"content/first.md:3: unknown front matter key &#x27;titel&#x27;" in body
        # each page shown gets the next number: a tab can tell which one it has
        assert b"&lt;b&gt;" in body and SCRIPT.replace("snipver=1", "snipver=2").encode() in body
    assert call(app, "/sub/path/assets/style.css")[2] == b"body{color:red}"  # assets still load
    app.show_site(FILES)
    assert b"home page" in call(app, "/sub/path/")[2]
    assert SCRIPT.replace("snipver=1", "snipver=3").encode() in call(app, "/sub/path/")[2]


# --- watching and debounce -----------------------------------------------------------------------

@pytest.mark.parametrize("name, is_temp", [
    ("first.md", False), ("sources.yaml", False), ("base.html", False), ("index.md", False),
    (".first.md.swp", True), (".first.md.swx", True), ("first.md~", True), ("4913", True),
    ("#first.md#", True), (".#first.md", True), ("first.md.tmp", True), ("first.md___jb_tmp___", True),
    (".DS_Store", True), ("first.md.part", True), ("sedCpWWou", True), ("sedation.md", False),
])
def test_editor_temp_names(name: str, is_temp: bool) -> None:
    assert is_editor_temp(name) is is_temp


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_writes_gives_one_batch_after_it_is_quiet(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "a.md").write_text("one")
    clock = FakeClock()
    watcher = SourceWatcher(tmp_path, [content], [], quiet_seconds=0.05, clock=clock)
    batches = []
    for i in range(10):  # ten writes 10 ms apart: never quiet for 50 ms
        (content / "a.md").write_text("two" * (i + 1))
        clock.now += 0.01
        batches.append(watcher.poll())
    assert batches == [None] * 10
    clock.now += 0.049
    assert watcher.poll() is None
    clock.now += 0.002
    assert watcher.poll() == ("content/a.md",)
    clock.now += 1
    assert watcher.poll() is None  # nothing more


def test_a_poll_without_rescan_ends_the_burst_it_saw_on_the_last_scan(tmp_path: Path) -> None:
    """With inotify silent since the last scan, the server ends a quiet burst without scanning again:
    the batch is what that scan saw, and the next scan finds anything written meanwhile."""
    content = tmp_path / "content"
    content.mkdir()
    (content / "a.md").write_text("one")
    clock = FakeClock()
    watcher = SourceWatcher(tmp_path, [content], [], quiet_seconds=0.05, clock=clock)
    (content / "a.md").write_text("two")
    assert watcher.poll() is None
    (content / "b.md").write_text("unseen")  # as if inotify had missed it
    clock.now += 0.06
    assert watcher.poll(rescan=False) == ("content/a.md",)
    assert watcher.poll() is None
    clock.now += 0.06
    assert watcher.poll() == ("content/b.md",)


def test_temp_files_and_atomic_renames(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "a.md").write_text("one")
    clock = FakeClock()
    watcher = SourceWatcher(tmp_path, [content], [tmp_path / "site_config.yaml"], clock=clock)
    for name in (".a.md.swp", "a.md~", "4913", "a.md.tmp", ".#a.md"):
        (content / name).write_text("editor noise")
    clock.now += 1
    assert watcher.poll() is None and watcher.poll() is None
    (content / "a.md.tmp").write_text("new text")  # the atomic save of many editors: write a temp, rename over
    os.replace(content / "a.md.tmp", content / "a.md")
    (tmp_path / "site_config.yaml").write_text("title: x\n")
    assert watcher.poll() is None
    clock.now += 1
    assert watcher.poll() == ("content/a.md", "site_config.yaml")
    (content / "a.md").unlink()
    watcher.poll()
    clock.now += 1
    assert watcher.poll() == ("content/a.md",)  # deletions count


def test_a_truncated_file_waits_for_its_text(tmp_path: Path) -> None:
    """Truncate, pause (a busy machine), write: the empty half-way state is never rebuilt."""
    content = tmp_path / "content"
    content.mkdir()
    (content / "a.md").write_text("one")
    clock = FakeClock()
    watcher = SourceWatcher(tmp_path, [content], [], clock=clock)
    (content / "a.md").write_text("")
    assert watcher.poll() is None
    clock.now += 0.5  # quiet for ten times QUIET_SECONDS, but empty
    assert watcher.poll() is None
    (content / "a.md").write_text("the text")
    assert watcher.poll() is None
    clock.now += 0.06
    assert watcher.poll() == ("content/a.md",)
    (content / "a.md").write_text("")  # a writer who really empties the file gets a rebuild after the grace
    watcher.poll()
    clock.now += 1.01
    assert watcher.poll() == ("content/a.md",)


# --- the terminal line ------------------------------------------------------------------------

@pytest.mark.parametrize("pages, seconds, changed, line", [
    (2, 0.018, ["content/background.md"], "rebuilt 2 pages in 18 ms (content/background.md)"),
    (1, 0.0034, ["layouts/base.html"], "rebuilt 1 page in 3 ms (layouts/base.html)"),
    (0, 0.002, ["content/a.md", "content/b.md"], "up to date in 2 ms, no page to render again (content/a.md, content/b.md)"),
    (9, 0.1, ["a", "b", "c", "d", "e"], "rebuilt 9 pages in 100 ms (a, b and 3 more)"),
    (12, 0.4, None, "built 12 pages in 400 ms"),
    (0, 0.29, None, "built 12 pages in 290 ms, 12 from the cache"),
    (3, 0.29, None, "built 12 pages in 290 ms, 9 from the cache"),
])
def test_rebuild_line_format(pages: int, seconds: float, changed: list[str] | None, line: str) -> None:
    assert format_rebuild_line(pages, seconds, changed, served=12) == line


# --- the real server ------------------------------------------------------------------------------

@contextlib.contextmanager
def running(site: Path, use_inotify: bool = True,
            quiet_seconds: float = QUIET_SECONDS) -> Iterator[tuple[DevServer, io.StringIO, io.StringIO]]:
    """A DevServer for a site on a free port of 127.0.0.1, run in a thread and stopped afterwards."""
    settings = engine.load_settings(site / "site_config.yaml", include_drafts=True)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(site):  # started from the site's folder, as a writer does: problems name files from there
        server = DevServer(settings, port=0, out=out, err=err, use_inotify=use_inotify, quiet_seconds=quiet_seconds)
    server.open()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert server.ready.wait(10)
        yield server, out, err
    finally:
        server.stop()
        thread.join(10)
        assert not thread.is_alive(), "the server did not stop"


def fetch(server: DevServer, uri: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """A raw GET: http.client sends the path exactly as given (no normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", uri, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_for(condition: Callable[[], object], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new, 1))


def test_server_serves_the_site_safely_from_memory(make_site: Callable[[str], Path]) -> None:
    site = make_site("features")
    (site / "output").mkdir()
    (site / "output" / "leak").symlink_to("/etc/passwd")  # a symlink on disk is never served
    with running(site) as (server, out, err):
        assert re.match(r"built \d+ pages in \d+ ms", out.getvalue()), err.getvalue()
        status, headers, body = fetch(server, "/sub/path/first/")
        assert status == 200 and b"First section" in body
        assert re.search(rb'<script src="/livereload.js\?port=\d+&amp;mindelay=50&amp;maxdelay=2000&amp;snipver=\d+">'
                         rb'</script>', body)
        assert fetch(server, "/")[1]["Location"] == "/sub/path/"
        for uri in ("/sub/path/../../site_config.yaml", "/sub/path/%2e%2e/%2e%2e/site_config.yaml",
                    "/sub/path/..%2f..%2fsite_config.yaml", "/sub/path/..%5c..%5csite_config.yaml",
                    "/sub/path/leak", "/sub/path/first%2findex.html", "/sub/path/%00", "/../../etc/passwd"):
            status, _, body = fetch(server, uri)
            assert status == 404, uri
            assert b"root:" not in body and b"base_url" not in body
        assert fetch(server, "/sub/path/first/", host=f"rebound.example:{server.port}")[0] == 403
        status, headers, script = fetch(server, "/livereload.js")
        assert status == 200 and b"new this.WebSocket(" in script and headers["Content-Type"].startswith("application/javascript")
    assert sorted(p.name for p in (site / "output").iterdir()) == ["leak"]  # serve writes nothing to output/


def test_build_output_has_no_reload_script(make_site: Callable[[str], Path]) -> None:
    site = make_site("features")
    code, errors = build_site(site)
    assert code == 0, errors
    for file in (site / "output").rglob("*"):
        if file.is_file():
            assert b"livereload" not in file.read_bytes(), file


@pytest.mark.parametrize("use_inotify", [True, False], ids=["inotify", "polling"])
def test_edit_rebuilds_once_with_one_terminal_line(make_site: Callable[[str], Path], use_inotify: bool) -> None:
    """A burst of twelve saves (with swap files) gives one rebuild and one terminal line, whether
    inotify wakes the server or it polls.

    The quiet time here is ten times the default, so that a shared, busy machine can write the
    burst within it. A burst only counts when no gap between its writes came near the quiet time:
    the test itself can be paused mid-burst, so such an attempt is repeated, not judged.
    """
    site = make_site("features")
    page = site / "content" / "first.md"
    quiet = QUIET_SECONDS * 10
    with running(site, use_inotify, quiet_seconds=quiet) as (server, out, err):
        assert server.uses_inotify is (use_inotify and sys.platform == "linux")
        for attempt in range(5):
            before = server.rebuilds
            stamps = []
            for i in range(12):  # an editor's burst: swap file, backup, the file written again and again
                (site / "content" / ".first.md.swp").write_text(f"swap {i}")
                (site / "content" / "4913").write_text("")
                (site / "content" / "4913").unlink()
                page.write_text(f"{page.read_text().split('<!-- burst')[0]}<!-- burst {attempt} {i} -->\n")
                stamps.append(time.monotonic())
                time.sleep(0.001)
            marker = f"burst {attempt} 11".encode()
            wait_for(lambda: marker in fetch(server, "/sub/path/first/")[2])  # noqa: B023
            time.sleep(quiet * 4)
            if max(b - a for a, b in zip(stamps, stamps[1:], strict=False)) < quiet / 2:
                break
        else:
            pytest.fail("the machine was too busy to write twelve files within a burst in five attempts")
        assert server.rebuilds == before + 1
        lines = out.getvalue().splitlines()
        assert re.fullmatch(r"rebuilt [1-9]\d* pages? in \d+ ms \(content/first\.md\)", lines[-1]), lines
        assert err.getvalue() == ""


def test_a_server_started_in_another_folder_names_files_from_there(make_site: Callable[[str], Path]) -> None:
    """`build.py serve --config ../site/site_config.yaml`: the terminal and the browser say ../site/content/..."""
    site = make_site("features")
    page = site / "content" / "first.md"
    page.write_text(page.read_text().replace("title: First section", "titel: First section"))
    settings = engine.load_settings(site / "site_config.yaml", include_drafts=True)
    elsewhere = site.parent / "generator"
    elsewhere.mkdir()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(elsewhere):
        server = DevServer(settings, port=0, out=out, err=err)
    server.rebuild(None)
    assert re.search(r"^\.\./site/content/first\.md:2: .*titel", err.getvalue(), re.M), err.getvalue()


def test_broken_page_shows_errors_and_fixing_it_clears_them(make_site: Callable[[str], Path]) -> None:
    site = make_site("features")
    page = site / "content" / "first.md"
    good = page.read_text()
    with running(site) as (server, out, err):
        page.write_text(good.replace("title: First section", "titel: First section"))
        wait_for(lambda: fetch(server, "/sub/path/first/")[0] == 500)
        for uri in ("/sub/path/first/", "/sub/path/", "/sub/path/nowhere/"):
            status, _, body = fetch(server, uri)
            assert status == 500 and b"content/first.md:2: " in body and b"titel" in body, uri
            assert b"livereload.js" in body
        assert re.search(r"^content/first\.md:2: .*titel", err.getvalue(), re.M), err.getvalue()
        assert "rebuild failed: " in err.getvalue() and "Traceback" not in err.getvalue()
        page.write_text(good.replace("A claim", "A fixed claim"))
        wait_for(lambda: fetch(server, "/sub/path/first/")[0] == 200)
        assert b"A fixed claim" in fetch(server, "/sub/path/first/")[2]


def test_an_engine_bug_in_a_rebuild_is_caught_and_shown(make_site: Callable[[str], Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site("features")
    with running(site) as (server, out, err):
        def broken(changed: object) -> object:
            raise KeyError("boom")
        monkeypatch.setattr(server.live, "rebuild", broken)
        edit(site / "content" / "first.md", "A claim", "Another claim")
        wait_for(lambda: fetch(server, "/sub/path/first/")[0] == 500)
        assert b"internal error while rebuilding: KeyError" in fetch(server, "/sub/path/first/")[2]
        assert "Traceback" not in err.getvalue() and "internal error while rebuilding" in err.getvalue()
        assert fetch(server, "/sub/path/assets/")[0] in (404, 500)  # still answering


def test_a_new_base_url_in_the_settings_moves_the_site(make_site: Callable[[str], Path]) -> None:
    site = make_site("features")
    with running(site) as (server, out, err):
        edit(site / "site_config.yaml", "https://example.com/sub/path/", "https://example.com/moved/")
        wait_for(lambda: fetch(server, "/moved/first/")[0] == 200)
        assert fetch(server, "/sub/path/first/")[0] == 404
        assert fetch(server, "/")[1]["Location"] == "/moved/"
        assert f"base_url changed: now serving http://127.0.0.1:{server.port}/moved/" in out.getvalue()
        assert re.search(r"^rebuilt \d+ pages in \d+ ms \(site_config\.yaml\)$", out.getvalue(), re.M)


def test_a_bug_while_answering_is_one_line_and_a_500(make_site: Callable[[str], Path],
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site("features")
    with running(site) as (server, out, err):
        def broken(environ: object) -> object:
            raise ZeroDivisionError("division by zero")
        monkeypatch.setattr(server.app, "respond", broken)
        status, _, body = fetch(server, "/sub/path/first/")
        assert status == 500 and b"Traceback" not in body
    stderr = capsys.readouterr().err
    assert "internal error while serving /sub/path/first/: ZeroDivisionError: division by zero" in stderr
    assert "Traceback" not in stderr


def test_drafts_are_served_and_marked(make_site: Callable[[str], Path]) -> None:
    site = make_site("features")
    (site / "content" / "draft-notes.md").write_text("---\ntitle: Notes in progress\nsummary: Not ready.\n"
                                                     "draft: true\n---\nDraft text.\n")
    with running(site) as (server, out, err):
        status, _, body = fetch(server, "/sub/path/draft-notes/")
        assert status == 200 and b"Draft text." in body and b"draft-banner" in body
    code, errors = build_site(site)
    assert code == 0, errors
    assert not (site / "output" / "draft-notes").exists()


def test_reloads_are_not_throttled_by_livereload(make_site: Callable[[str], Path]) -> None:
    """livereload drops reloads within DEFAULT_RELOAD_TIME (3 s) of the last; two quick edits must give two."""
    from tornado.websocket import websocket_connect

    site = make_site("features")
    page = site / "content" / "first.md"
    with running(site) as (server, out, err):
        async def listen() -> list[dict[str, object]]:
            socket_ = await websocket_connect(f"ws://127.0.0.1:{server.port}/livereload")
            try:
                await socket_.write_message(json.dumps({"command": "hello", "protocols": [
                    "http://livereload.com/protocols/official-7"]}))
                hello = json.loads(str(await socket_.read_message()))
                assert hello["command"] == "hello"
                await socket_.write_message(json.dumps({"command": "info", "url": "http://x/"}))
                await asyncio.to_thread(wait_for, lambda: reload_clients() == 1)
                messages = []
                started = time.monotonic()
                for text in ("Quick edit one", "Quick edit two"):
                    await asyncio.to_thread(edit, page, "A claim" if text.endswith("one") else "Quick edit one", text)
                    messages.append(json.loads(str(await asyncio.wait_for(socket_.read_message(), 5))))
                assert time.monotonic() - started < 3
                return messages
            finally:
                socket_.close()  # starts the closing handshake; wait for its end, or asyncio.run leaks the socket
                while await asyncio.wait_for(socket_.read_message(), 5) is not None:
                    pass

        messages = asyncio.run(listen())
        assert [m["command"] for m in messages] == ["reload", "reload"]


def test_busy_port_gives_one_line_and_a_free_port(make_site: Callable[[str], Path]) -> None:
    site = make_site("features")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, errors = build_site(site, "serve", "--port", str(port))
    assert code == 2
    assert len(errors) == 1, errors
    match = re.fullmatch(rf"build\.py: error: port {port} on 127\.0\.0\.1 is already in use; try --port (\d+)", errors[0])
    assert match, errors
    with socket.socket() as free:  # the suggested port really is free (nothing else took it meanwhile)
        free.bind(("127.0.0.1", int(match.group(1))))


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "build.py: error: --port must be between 0 and 65535, not 70000"),
    (["--host", "no-such-host.invalid"], "build.py: error: cannot listen on 'no-such-host.invalid': no such address"),
])
def test_bad_host_or_port_is_a_usage_error(make_site: Callable[[str], Path], args: list[str], message: str) -> None:
    code, errors = build_site(make_site("minimal"), "serve", *args)
    assert code == 2 and len(errors) == 1 and errors[0].startswith(message), errors


def test_server_binds_loopback_by_default() -> None:
    assert build_parser_default("host") == "127.0.0.1"


def build_parser_default(name: str) -> object:
    import build
    return getattr(build.make_parser().parse_args(["serve"]), name)


# --- save-to-output latency -------------------------------------------------------------------------

@pytest.mark.parametrize("stop_signal", ["SIGINT", "SIGTERM"])
def test_build_py_serve_end_to_end_stops_cleanly(make_site: Callable[[str], Path], stop_signal: str) -> None:
    import signal
    import subprocess

    site = make_site("features")
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "--config", str(site / "site_config.yaml"),
                                "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert re.fullmatch(r"built \d+ pages in \d+ ms(, \d+ from the cache)?\n", lines[0]), lines
        match = re.fullmatch(r"serving http://127\.0\.0\.1:(\d+)/sub/path/ \(drafts included; Ctrl-C to stop\)\n",
                             lines[1])
        assert match, lines
        connection = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=10)
        connection.request("GET", "/sub/path/first/")
        assert b"First section" in connection.getresponse().read()
        connection.close()
        process.send_signal(getattr(signal, stop_signal))
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0 and stdout == "stopped\n" and stderr == "", (stdout, stderr)


def test_a_broken_template_is_shown_in_the_browser_too(make_site: Callable[[str], Path]) -> None:
    site = make_site("features")
    layout = site / "layouts" / "base.html"
    good = layout.read_text()
    with running(site) as (server, out, err):
        layout.write_text(good.replace("{% block main %}{% endblock %}", "{% block main %}{% endblok %}"))
        wait_for(lambda: fetch(server, "/sub/path/first/")[0] == 500)
        body = fetch(server, "/sub/path/first/")[2]
        assert b"layouts/base.html:" in body and "Traceback" not in err.getvalue()
        layout.write_text(good)
        wait_for(lambda: fetch(server, "/sub/path/first/")[0] == 200)
        # the pages from before the break are in the cache: the fix renders nothing again
        assert re.search(r"^up to date in \d+ ms, no page to render again \(layouts/base\.html\)$", out.getvalue(), re.M)


def test_an_unknown_filter_in_base_html_is_shown_alone(make_site: Callable[[str], Path]) -> None:
    """The sources the failed pages cite are not reported as cited nowhere, in the terminal or the browser."""
    site = make_site("features")
    layout = site / "layouts" / "base.html"
    good = layout.read_text()
    with running(site) as (server, out, err):
        layout.write_text(good.replace("{{ page.title }}", "{{ page.title|shout }}", 1))
        wait_for(lambda: fetch(server, "/sub/path/first/")[0] == 500)
        page = BeautifulSoup(fetch(server, "/sub/path/first/")[2], "html.parser")
        items = [item.get_text() for item in page.select(".build-problems li")]
        assert len(items) == 1 and re.match(r"layouts/base\.html:\d+: template syntax error: No filter named 'shout'",
                                            items[0]), items
        assert "cited nowhere" not in err.getvalue() and "internal error" not in err.getvalue(), err.getvalue()


def test_a_broken_markdown_link_is_shown_at_its_markdown_line(make_site: Callable[[str], Path]) -> None:
    site = make_site("features")
    source = site / "content" / "first.md"
    with running(site) as (server, out, err):
        lines = source.read_text().split("\n")
        lines.insert(9, "A [link to nowhere](../nowhere/).\n")
        source.write_text("\n".join(lines))
        wait_for(lambda: fetch(server, "/sub/path/first/")[0] == 500)
        page = BeautifulSoup(fetch(server, "/sub/path/first/")[2], "html.parser")
        assert [item.get_text() for item in page.select(".build-problems li")] == [
            "content/first.md:10: broken link '../nowhere/': there is no nowhere/index.html in the site"]


def test_warnings_are_printed_when_they_change_not_after_every_save(make_site: Callable[[str], Path]) -> None:
    site = make_site("features")
    with (site / "content" / "sources.yaml").open("a") as sources:
        sources.write("unused:\n  title: Unused\n  publisher: Nobody\n  date: \"2019\"\n"
                      "  url: https://unused.example/\n  kind: news report\n")
    with running(site) as (server, out, err):
        warning = "content/sources.yaml:"
        assert err.getvalue().count("'unused' is cited nowhere") == 1, err.getvalue()
        assert warning in err.getvalue()
        before = server.rebuilds
        edit(site / "content" / "first.md", "A claim", "A quiet claim")
        wait_for(lambda: server.rebuilds > before)
        assert err.getvalue().count("'unused' is cited nowhere") == 1, err.getvalue()


def _masked_text_frame(text: str) -> bytes:
    """One client-to-server websocket text frame (clients must mask; a zero mask keeps the bytes as they are)."""
    data = text.encode()
    assert len(data) < 126
    return bytes([0x81, 0x80 | len(data)]) + b"\0\0\0\0" + data


def _read_until_closed(client: socket.socket, seconds: float = 5) -> bytes:
    """Everything the server still sends, up to its end of the connection (a timeout fails the test)."""
    client.settimeout(seconds)
    received = b""
    while chunk := client.recv(4096):
        received += chunk
    return received


def test_stopping_the_server_closes_every_connection(make_site: Callable[[str], Path]) -> None:
    """A tab that keeps its live-reload socket and a keep-alive request open must not keep sockets alive
    after the server stops: the server ends both connections (CI saw a ResourceWarning from one left behind)."""
    site = make_site("features")
    with running(site) as (server, out, err):
        tab = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        tab.sendall(b"GET /livereload HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert tab.recv(4096).startswith(b"HTTP/1.1 101")
        tab.sendall(_masked_text_frame(json.dumps({"command": "hello", "protocols": []})))
        assert b'"command": "hello"' in tab.recv(4096)
        tab.sendall(_masked_text_frame(json.dumps({"command": "info", "url": "http://x/"})))
        wait_for(lambda: reload_clients() == 1)
        keep_alive = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        keep_alive.sendall(b"GET /sub/path/first/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert keep_alive.recv(4096).startswith(b"HTTP/1.1 200")
    with tab, keep_alive:
        assert _read_until_closed(tab).startswith(b"\x88")  # a close frame, then the end of the connection
        _read_until_closed(keep_alive)
    assert reload_clients() == 0


def _open_reload_socket(port: int, host: str, origin: str | None) -> tuple[socket.socket, bytes]:
    """A raw websocket handshake on /livereload; the socket and the server's answer up to its blank line."""
    tab = socket.create_connection(("127.0.0.1", port), timeout=5)
    tab.sendall(f"GET /livereload HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                f"{f'Origin: {origin}' + chr(13) + chr(10) if origin else ''}\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer and (chunk := tab.recv(4096)):
        answer += chunk
    return tab, answer


@pytest.mark.parametrize("host, origin, status", [
    ("127.0.0.1:{port}", None, 101),                        # no Origin: not a web page (editor plugins, curl)
    ("127.0.0.1:{port}", "http://127.0.0.1:{port}", 101),   # a page of the preview itself
    ("localhost:{port}", "http://localhost:{port}", 101),
    ("127.0.0.1:{port}", "http://evil.example", 403),       # a page on another site
    ("127.0.0.1:{port}", "http://127.0.0.1:9", 403),        # another server on this machine
    ("127.0.0.1:{port}", "null", 403),                      # a sandboxed frame or a file:// page
    ("evil.example:{port}", "http://evil.example:{port}", 403),  # DNS rebinding: the same origin, a foreign name
    ("evil.example:{port}", None, 403),
    ("[::1]evil.example", None, 403),
])
def test_the_reload_socket_accepts_only_the_preview_itself(make_site: Callable[[str], Path], host: str,
                                                           origin: str | None, status: int) -> None:
    site = make_site("features")
    with running(site) as (server, out, err):
        port = str(server.port)
        tab, answer = _open_reload_socket(server.port, host.replace("{port}", port),
                                          origin.replace("{port}", port) if origin else None)
        with tab:
            assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer
            if status != 101:
                return
            tab.sendall(_masked_text_frame(json.dumps({"command": "info", "url": "http://x/"})))
            wait_for(lambda: reload_clients() == 1)
            edit(site / "content" / "first.md", "A claim", "An edited claim")
            tab.settimeout(10)
            assert b'"command": "reload"' in tab.recv(4096)


def test_a_refused_reload_socket_hears_of_no_save(make_site: Callable[[str], Path]) -> None:
    """The reproduction: a foreign page's socket is refused, so a save tells it nothing."""
    site = make_site("features")
    with running(site) as (server, out, err):
        tab, answer = _open_reload_socket(server.port, f"evil.example:{server.port}",
                                          f"http://evil.example:{server.port}")
        with tab:
            assert answer.startswith(b"HTTP/1.1 403 ")
            edit(site / "content" / "first.md", "A claim", "An edited claim")
            wait_for(lambda: b"An edited claim" in fetch(server, "/sub/path/first/")[2])
            tab.settimeout(1)
            with contextlib.suppress(TimeoutError):  # the refused request's connection may stay open, silent
                assert b"reload" not in tab.recv(4096)
        assert reload_clients() == 0


def test_unreadable_reload_messages_are_ignored_with_one_quiet_line(make_site: Callable[[str], Path],
                                                                     capfd: pytest.CaptureFixture[str]) -> None:
    site = make_site("features")
    with running(site) as (server, out, err):
        tab, answer = _open_reload_socket(server.port, f"127.0.0.1:{server.port}", None)
        with tab:
            assert answer.startswith(b"HTTP/1.1 101 ")
            for message in ("this is not json", "[1, 2]", '{"command": 7}', "null"):
                tab.sendall(_masked_text_frame(message))
            tab.sendall(_masked_text_frame(json.dumps({"command": "hello", "protocols": []})))
            assert b'"command": "hello"' in tab.recv(4096)  # the socket still works
    terminal = capfd.readouterr()
    assert err.getvalue() == ("live reload: ignored a message that is not LiveReload JSON (and will ignore any more)\n")
    assert "Traceback" not in terminal.err + terminal.out
