"""End-to-end tests of the core: pretty URLs, relative links, atomic failure, determinism, incremental builds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.request import urlopen

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, build_site, copy_site, tree_digest


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_pretty_urls_and_summary_line(make_site, capsys) -> None:
    site = make_site("features")
    import build

    code = build.main(["--config", str(site / "site_config.yaml")])
    out = capsys.readouterr().out.strip()
    assert code == 0
    assert out.startswith("built 7 pages, ") and out.endswith(" -> " + str(site / "output") + "/")
    for slug in ("first", "second", "about", "timeline", "glossary", "sources"):
        assert (site / "output" / slug / "index.html").is_file()
    home = soup(site / "output" / "index.html")
    hrefs = {a["href"] for a in home.select("nav.site-nav a")}
    assert "./first/" in hrefs and "./about/" in hrefs


def test_links_are_relative_and_canonical_is_absolute(built_site: Path) -> None:
    page = soup(built_site / "first" / "index.html")
    assert page.find("link", rel="canonical")["href"] == "https://example.com/sub/path/first/"
    for tag, attribute in (("a", "href"), ("link", "href"), ("script", "src")):
        for element in page.find_all(tag):
            value = element.get(attribute)
            if value and not value.startswith(("https://", "http://", "mailto:", "#")):
                assert not value.startswith("/"), f"root-absolute link {value}"
    stylesheet = page.find("link", rel="stylesheet")["href"]
    assert stylesheet.startswith("../assets/style.") and (built_site / stylesheet[3:]).is_file()


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        for name in ("href", "src"):
            if values.get(name) and tag in ("a", "link", "script", "img"):
                self.links.append(values[name] or "")


def _serve(folder: Path, prefix: str) -> tuple[ThreadingHTTPServer, str]:
    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            path = urlsplit(path).path
            if not path.startswith(prefix):
                return str(folder / "__missing__")
            return super().translate_path("/" + path[len(prefix):])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{prefix}"


def test_served_under_a_subpath_every_internal_link_resolves(built_site: Path) -> None:
    server, start = _serve(built_site, "/sub/path/")
    try:
        seen: dict[str, _LinkCollector] = {}
        fragments: list[tuple[str, str]] = []
        queue = [start]
        while queue:
            url = queue.pop()
            if url in seen:
                continue
            try:
                with urlopen(url) as response:
                    body = response.read()
                    kind = response.headers.get_content_type()
            except HTTPError as error:
                pytest.fail(f"{url} answered {error.code}")
            collector = _LinkCollector()
            if kind == "text/html":
                collector.feed(body.decode("utf-8"))
            seen[url] = collector
            for link in collector.links:
                absolute, fragment = urldefrag(urljoin(url, link))
                if absolute.startswith(start):
                    queue.append(absolute)
                    if fragment:
                        fragments.append((absolute, fragment))
                else:
                    assert absolute.startswith("https://") or absolute.startswith("mailto:"), absolute
        assert len([u for u in seen if u.endswith("/")]) == 7
        for page, fragment in fragments:
            assert fragment in seen[page].ids, f"{page} has no #{fragment}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("breakage", "expected", "count"),
    [
        # page.html is also the base of the timeline, glossary and sources pages: four pages fail.
        (("layouts/page.html", "{{ page.title }}", "{{ page.titel }}"),
         "layouts/page.html:5: 'dict object' has no attribute 'titel' (while rendering content/about.md)", 4),
        (("content/about.md", "summary:", "titel: About\nsummary:"),
         "content/about.md:3: unknown front matter key 'titel' (did you mean 'title'?)", 1),
        (("content/about.md", "summary: What this fixture is.", "summary: [unclosed"),
         "content/about.md:3: YAML syntax error: did not find expected ',' or ']' "
         "(the '[' on this line is never closed with ']')", 1),
    ],
    ids=["template-typo", "unknown-front-matter-key", "malformed-yaml"],
)
def test_errors_leave_previous_output_byte_identical(make_site, breakage: tuple[str, str, str], expected: str,
                                                    count: int) -> None:
    site = make_site("features")
    assert build_site(site)[0] == 0
    before = tree_digest(site / "output")
    file, old, new = breakage
    target = site / file
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1
    assert lines[0] == expected
    assert len(lines) == count + 1
    assert lines[-1] == f"{count} problem{'s' if count > 1 else ''} found; nothing was written"
    assert tree_digest(site / "output") == before


def _build_in_subprocess(site: Path, output: Path, seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--config", str(site / "site_config.yaml"),
         "--output", str(output), "--no-cache", "--quiet"],
        env=env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr


def test_builds_are_deterministic_across_hash_seeds(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    _build_in_subprocess(site, tmp_path / "one", "1")
    _build_in_subprocess(site, tmp_path / "two", "4242")
    first, second = tree_digest(tmp_path / "one"), tree_digest(tmp_path / "two")
    assert first == second
    assert any(path.startswith("assets/style.") for path in first)


EDITS = [
    ("content/first.md", "A claim with one source", "A changed claim with one source"),
    ("content/first.md", "title: First section", "title: First section, renamed"),
    ("content/second.md", "summary: The second section", "summary: The edited second section"),
    ("content/second.md", "## Table", "## Table of counts"),
    ("content/first.md", "Two sources at once [@beta; @gamma]", "One source now [@beta]"),
    ("layouts/section.html", "<p class=\"kicker\">", "<p class=\"kicker section-kicker\">"),
    ("content/glossary.yaml", "A small thing", "A tiny thing"),
    ("site_config.yaml", "title: Feature Fixture", "title: Feature Fixture Renamed"),
    ("layouts/assets/style.css", ":root {", ":root { --edited: 1;"),
]


def test_cached_builds_match_clean_builds_after_each_edit(make_site, tmp_path: Path) -> None:
    site = make_site("features")
    assert build_site(site)[0] == 0
    for file, old, new in EDITS:
        target = site / file
        text = target.read_text(encoding="utf-8")
        assert old in text, (file, old)
        target.write_text(text.replace(old, new, 1), encoding="utf-8")
        assert build_site(site)[0] == 0
        clean = tmp_path / "clean"
        shutil.rmtree(clean, ignore_errors=True)
        assert build_site(site, "--no-cache", "--output", str(clean))[0] == 0
        assert tree_digest(site / "output") == tree_digest(clean), f"after editing {file}"


def test_one_section_edit_rerenders_only_what_shows_it(make_site) -> None:  # type: ignore[no-untyped-def]
    """A page is rendered again only when something it receives changed: an edit of one section's body
    or of its date (shown on that page alone) renders that section and nothing else."""
    import engine

    site = make_site("features")
    settings = engine.load_settings(site / "site_config.yaml")
    assert engine.build(settings).rendered == 7
    assert engine.build(settings).rendered == 0
    body = site / "content" / "second.md"
    body.write_text(body.read_text(encoding="utf-8").replace("A [linked", "An edited [linked"), encoding="utf-8")
    assert engine.build(settings).rendered == 1
    body.write_text(body.read_text(encoding="utf-8").replace("order: 2\n", "order: 2\nupdated: \"2021-03-04\"\n"),
                    encoding="utf-8")
    assert engine.build(settings).rendered == 1
    assert '<time datetime="2021-03-04">' in (site / "output" / "second" / "index.html").read_text(encoding="utf-8")
    assert engine.build(settings).rendered == 0
    # A comment line moves the settings' lines (and the lines their problems name), which no page shows.
    config = site / "site_config.yaml"
    config.write_text("# The fixture's settings.\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    assert engine.build(engine.load_settings(config)).rendered == 0


def test_output_folder_that_holds_sources_is_refused(make_site) -> None:
    site = make_site("minimal")
    code, lines = build_site(site, "--output", str(site / "content"))
    assert code == 2
    assert "would overwrite the project's sources" in lines[0]


@pytest.mark.parametrize("command", [[], ["check"]])
def test_a_reader_that_stops_reading_ends_the_command_quietly(make_site, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    """`build.py | head -0`: stdout closes before the summary is printed; no traceback, no 'internal error'."""
    site = make_site("features")
    if command:
        assert build_site(site)[0] == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command prints
    try:
        done = subprocess.run([sys.executable, str(ROOT / "build.py"), *command], cwd=site, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr == "" and done.returncode == 141, done.stderr
    assert (site / "output" / "index.html").is_file()


def test_problems_name_their_files_from_the_folder_the_build_runs_in(make_site) -> None:  # type: ignore[no-untyped-def]
    """`build.py --config ../site/site_config.yaml` from a sibling folder (README's way of working on a second
    explainer): a problem's file is ../site/content/..., not a content/ path that may exist here too."""
    import contextlib
    import io

    import build
    site = make_site("features")
    first = site / "content" / "first.md"
    first.write_text(first.read_text(encoding="utf-8").replace("order: 1\n", "order: one\n"), encoding="utf-8")
    here = site.parent / "generator"
    (here / "content").mkdir(parents=True)
    (here / "content" / "first.md").write_text("another explainer's page\n", encoding="utf-8")
    errors = io.StringIO()
    with contextlib.chdir(here), contextlib.redirect_stderr(errors):
        assert build.main(["--config", "../site/site_config.yaml"]) == 1
    assert errors.getvalue().splitlines()[0] == "../site/content/first.md:4: 'order' must be a whole number, not 'one'"


def test_a_python_without_the_libraries_gets_one_line_naming_the_one_to_use(tmp_path: Path) -> None:
    """`python build.py` with a Python that lacks the pinned libraries (-S leaves the venv's out)."""
    done = subprocess.run([sys.executable, "-S", str(ROOT / "build.py")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.startswith("build.py: error: No module named ") and done.stderr.count("\n") == 1, done.stderr
    assert "(run make build once, then use the Python it installs the libraries into: .venv/bin/python build.py)" \
        in done.stderr


def test_sections_are_numbered_by_rank_and_one_missing_from_nav_is_a_warning(make_site) -> None:  # type: ignore[no-untyped-def]
    """`order: 7` and `order: 30` among three sections read "Part 2 of 3" and "Part 3 of 3", on the
    section and on the home page's cards; a section `nav` leaves out is built, with a warning at its `order`."""
    site = make_site("features")
    content = site / "content"
    for name, old, new in [("first.md", "order: 1\n", "order: 3\n"), ("second.md", "order: 2\n", "order: 30\n")]:
        path = content / name
        path.write_text(path.read_text().replace(old, new, 1))
    (content / "extra.md").write_text("---\ntitle: Extra section\nsummary: Not in the menu.\norder: 7\n---\nText.\n")
    code, errors = build_site(site)
    assert code == 0, errors
    assert errors == ["content/extra.md:4: warning: section 'extra' is not in the site's 'nav' "
                                   "(add it to 'nav' in site_config.yaml)"]
    kickers = {name: soup(site / "output" / name / "index.html").select_one("p.kicker").get_text()
               for name in ("first", "extra", "second")}
    assert kickers == {"first": "Part 1 of 3", "extra": "Part 2 of 3", "second": "Part 3 of 3"}
    cards = [kicker.get_text() for kicker in soup(site / "output" / "index.html").select("p.kicker")]
    assert cards == ["Part 1", "Part 2", "Part 3"]
