"""Deploy-ready output: sitemap, feed, robots.txt, _headers, 404.html, head tags, assets, link checks."""

from __future__ import annotations

import contextlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from bs4 import BeautifulSoup
from conftest import FIXTURES, build_site, copy_site, tree_digest

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
DEPLOY_BASE = "https://example.com/docs/site/"
DEPLOY_PAGES = {"": "2021-03-01", "notes/": "2021-04", "guides/deep/": "2021"}


@pytest.fixture(scope="module")
def deploy_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The 'deploy' fixture, built once for this module; yields its output folder, which tests only read."""
    site = copy_site("deploy", tmp_path_factory.mktemp("deploy"))
    code, errors = build_site(site)
    assert code == 0, errors
    before = tree_digest(site / "output")
    yield site / "output"
    assert tree_digest(site / "output") == before, "a test changed the shared built site"


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def pages_of(output: Path) -> dict[str, Path]:
    """URL (relative to the site root) -> file, for every page except 404.html."""
    return {p.relative_to(output).as_posix().removesuffix("index.html"): p
            for p in sorted(output.rglob("index.html"))}


def parse_headers_file(text: str) -> list[tuple[str, dict[str, str]]]:
    """The rules of a Netlify/Cloudflare `_headers` file: (path pattern, {header: value})."""
    rules: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            rules.append((line.strip(), {}))
        else:
            name, _, value = line.strip().partition(":")
            assert rules, f"header line before any path: {line!r}"
            rules[-1][1][name.strip()] = value.strip()
    return rules


def rule_matches(pattern: str, path: str) -> bool:
    return path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern


# -- sitemap, feed, robots.txt, .nojekyll ---------------------------------------


def test_sitemap_lists_every_page_with_absolute_url_and_lastmod(deploy_site: Path) -> None:
    root = ET.parse(deploy_site / "sitemap.xml").getroot()
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    found = {url.findtext("sm:loc", namespaces=SITEMAP_NS): url.findtext("sm:lastmod", namespaces=SITEMAP_NS)
             for url in root.findall("sm:url", SITEMAP_NS)}
    assert found == {DEPLOY_BASE + url: updated for url, updated in DEPLOY_PAGES.items()}
    assert set(pages_of(deploy_site)) == set(DEPLOY_PAGES), "the sitemap must list exactly the built pages"


def test_sitemap_leaves_out_lastmod_for_undated_pages(built_site: Path) -> None:
    root = ET.parse(built_site / "sitemap.xml").getroot()
    lastmods = {url.findtext("sm:loc", namespaces=SITEMAP_NS): url.findtext("sm:lastmod", namespaces=SITEMAP_NS)
                for url in root.findall("sm:url", SITEMAP_NS)}
    assert lastmods["https://example.com/sub/path/first/"] == "2020-01-03"
    assert lastmods["https://example.com/sub/path/about/"] is None
    assert len(lastmods) == 7


def test_feed_parses_cleanly_with_one_entry_per_dated_page(deploy_site: Path) -> None:
    feed = feedparser.parse((deploy_site / "feed.xml").read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.updated == "2021-04-01T00:00:00Z"  # the latest page's `updated`, not the clock
    assert feed.feed.title == "Deploy Fixture: updates"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links == {"self": DEPLOY_BASE + "feed.xml", "alternate": DEPLOY_BASE}
    entries = [(e.link, e.updated, e.summary) for e in feed.entries]
    assert entries == [
        (DEPLOY_BASE + "notes/", "2021-04-01T00:00:00Z", "Added the second note."),  # its change_note
        (DEPLOY_BASE + "", "2021-03-01T00:00:00Z", "The home page of the deploy fixture."),
        (DEPLOY_BASE + "guides/deep/", "2021-01-01T00:00:00Z", "A page two folders down, to test links at depth."),
    ]
    assert feed.entries[0].title == 'Notes with </script> & "quotes"'
    assert len({e.id for e in feed.entries}) == 3


def test_every_page_links_the_feed(deploy_site: Path) -> None:
    for url, file in [*pages_of(deploy_site).items(), ("404.html", deploy_site / "404.html")]:
        alternate = soup(file).find("link", rel="alternate", type="application/atom+xml")
        assert alternate is not None, f"{url} does not link the feed"
        target = urljoin(DEPLOY_BASE + url, alternate["href"])
        assert target == DEPLOY_BASE + "feed.xml", url


def test_feed_of_a_site_without_dates_is_still_valid(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site("minimal")
    code, errors = build_site(site)
    assert code == 0, errors
    feed = feedparser.parse((site / "output" / "feed.xml").read_bytes())
    assert feed.bozo == 0 and feed.entries == []


def test_robots_names_the_sitemap_and_nojekyll_exists(deploy_site: Path) -> None:
    robots = (deploy_site / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert "User-agent: *" in robots
    assert f"Sitemap: {DEPLOY_BASE}sitemap.xml" in robots
    assert (deploy_site / ".nojekyll").is_file()


# -- _headers -------------------------------------------------------------------


def test_headers_file_caches_assets_revalidates_pages_and_sets_security_headers(deploy_site: Path) -> None:
    rules = parse_headers_file((deploy_site / "_headers").read_text(encoding="utf-8"))
    headers = dict(rules)
    everything = headers["/*"]
    csp = {d.split()[0]: d.split()[1:] for d in everything["Content-Security-Policy"].split(";")}
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert "unsafe-inline" not in everything["Content-Security-Policy"]
    assert everything["X-Content-Type-Options"] == "nosniff"
    assert everything["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert everything["X-Frame-Options"] == "DENY"
    assert headers["/assets/*"]["Cache-Control"] == "public, max-age=31536000, immutable"

    def cache_control(path: str) -> list[str]:
        return [h["Cache-Control"] for pattern, h in rules if rule_matches(pattern, path) and "Cache-Control" in h]

    # Both hosts join the values of every matching rule: each file must match exactly one Cache-Control.
    for file in sorted(deploy_site.rglob("*")):
        if file.is_file() and not file.name.startswith((".", "_")) and file.name != "robots.txt":
            out_path = file.relative_to(deploy_site).as_posix()
            url = "/" + out_path.removesuffix("index.html")
            expected = ("public, max-age=31536000, immutable" if out_path.startswith("assets/")
                        else "public, max-age=0, must-revalidate")
            assert cache_control(url) == [expected], url


# -- head tags ------------------------------------------------------------------


def head_tags(file: Path) -> dict[str, str]:
    page = soup(file)

    def meta(attribute: str, name: str) -> str:
        tag = page.find("meta", attrs={attribute: name})
        return str(tag["content"]) if tag else ""

    canonical = page.find("link", rel="canonical")
    return {
        "title": page.title.get_text() if page.title else "",
        "description": meta("name", "description"),
        "canonical": str(canonical["href"]) if canonical else "",
        "og:title": meta("property", "og:title"), "og:url": meta("property", "og:url"),
        "og:image": meta("property", "og:image"), "og:type": meta("property", "og:type"),
        "twitter:card": meta("name", "twitter:card"), "twitter:image": meta("name", "twitter:image"),
    }


@pytest.mark.parametrize("fixture", ["deploy", "features"])
def test_every_page_has_unique_title_description_and_absolute_share_tags(make_site, fixture: str) -> None:  # type: ignore[no-untyped-def]
    site = make_site(fixture)
    assert build_site(site)[0] == 0
    output = site / "output"
    base = re.search(r"^base_url: (\S+)$", (site / "site_config.yaml").read_text(), re.M).group(1)  # type: ignore[union-attr]
    tags = {url: head_tags(file) for url, file in pages_of(output).items()}
    titles = [t["title"] for t in tags.values()]
    descriptions = [t["description"] for t in tags.values()]
    assert len(set(titles)) == len(titles), titles
    assert len(set(descriptions)) == len(descriptions) and all(descriptions), descriptions
    for url, t in tags.items():
        assert t["canonical"] == base + url and t["og:url"] == base + url, url
        assert t["og:type"] == ("website" if url == "" else "article")
        assert t["og:title"] and t["twitter:card"] == "summary_large_image"
        assert t["og:image"] == t["twitter:image"]
        image = urlsplit(t["og:image"])
        assert image.scheme == "https" and t["og:image"].startswith(base) and image.path.endswith(".png"), t["og:image"]
        share = output / t["og:image"][len(base):]
        assert share.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert share.read_bytes()[16:24] == (1200).to_bytes(4, "big") + (630).to_bytes(4, "big")  # IHDR size


def test_favicon_is_linked_and_exists_at_every_depth(deploy_site: Path) -> None:
    for url, file in pages_of(deploy_site).items():
        icon = soup(file).find("link", rel="icon")
        assert icon is not None and icon["type"] == "image/svg+xml", url
        target = urljoin(DEPLOY_BASE + url, icon["href"])
        assert (deploy_site / target[len(DEPLOY_BASE):]).read_bytes().startswith(b"<svg"), url


def test_json_ld_parses_and_describes_article_and_breadcrumb(deploy_site: Path) -> None:
    for url, file in pages_of(deploy_site).items():
        html = file.read_text(encoding="utf-8")
        blocks = soup(file).find_all("script", type="application/ld+json")
        assert len(blocks) == 1, url
        # No "</" inside the data block, or a title could close the script element early.
        raw = html.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
        assert "</" not in raw and "<" not in raw
        graph = {node["@type"]: node for node in json.loads(raw)["@graph"]}
        main = graph["WebSite" if url == "" else "Article"]
        assert main["url"] == DEPLOY_BASE + url and main["image"].startswith(DEPLOY_BASE)
        assert main["dateModified"] == DEPLOY_PAGES[url]
        crumbs = graph["BreadcrumbList"]["itemListElement"]
        assert [c["position"] for c in crumbs] == list(range(1, len(crumbs) + 1))
        assert crumbs[0]["item"] == DEPLOY_BASE and crumbs[-1]["item"] == DEPLOY_BASE + url
    notes = json.loads(soup(deploy_site / "notes" / "index.html").find("script", type="application/ld+json").string)
    assert notes["@graph"][0]["headline"] == 'Notes with </script> & "quotes"'


def test_pages_have_no_inline_scripts_or_styles_the_policy_would_block(make_site) -> None:  # type: ignore[no-untyped-def]
    """Static half of the CSP check (test_crawl.py has Chromium's): no inline code at all."""
    site = make_site("features")
    assert build_site(site)[0] == 0
    for file in sorted((site / "output").rglob("*.html")):
        page = soup(file)
        for script in page.find_all("script"):
            assert script.get("src") or script.get("type") == "application/ld+json", f"{file}: inline script"
        assert not page.find_all("style"), f"{file}: <style> element"
        styled = [tag.name for tag in page.find_all(style=True)]
        assert not styled, f"{file}: style attributes on {styled}"
        handlers = [(tag.name, a) for tag in page.find_all(True) for a in tag.attrs if a.startswith("on")]
        assert not handlers, f"{file}: event handler attributes {handlers}"


# -- 404.html -------------------------------------------------------------------


def test_404_links_and_styles_resolve_from_any_depth(deploy_site: Path) -> None:
    page = soup(deploy_site / "404.html")
    assert page.find("meta", attrs={"name": "robots"})["content"] == "noindex"
    assert page.find("link", rel="canonical") is None
    links = [tag.get("href") or tag.get("src") for tag in page.find_all(["a", "link", "script"])
             if (tag.get("href") or tag.get("src")) and tag.name != "script" or tag.get("src")]
    internal = [link for link in links if not link.startswith(("https://", "mailto:", "#"))]
    assert any(".css" in link for link in internal) and any(link == "/docs/site/" for link in internal)
    for missing in ("https://example.com/docs/site/nope", "https://example.com/docs/site/a/b/c/d/",
                    "https://example.com/docs/site/notes/gone.html"):
        for link in internal:
            assert link.startswith("/docs/site/"), link
            target = urljoin(missing, link)[len(DEPLOY_BASE):]
            path = target + "index.html" if target.endswith("/") or not target else target
            assert (deploy_site / path).is_file(), f"{link} from {missing}"


# -- assets ---------------------------------------------------------------------


def test_only_used_assets_are_copied_and_referenced_right_at_every_depth(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site("deploy")
    (site / "layouts" / "assets" / "unused.css").write_text("body { color: red }\n", encoding="utf-8")
    assert build_site(site)[0] == 0
    output = site / "output"
    copied = {p.relative_to(output).as_posix() for p in (output / "assets").iterdir()}
    referenced: set[str] = set()
    for url, file in [*pages_of(output).items(), ("404.html", output / "404.html")]:
        page = soup(file)
        for tag in page.find_all(["link", "script", "img", "meta"]):
            value = tag.get("href") or tag.get("src") or tag.get("content") or ""
            absolute = urljoin(DEPLOY_BASE + url, value)
            if absolute.startswith(DEPLOY_BASE + "assets/"):
                out_path = absolute[len(DEPLOY_BASE):]
                assert (output / out_path).is_file(), f"{url}: {value} does not resolve"
                referenced.add(out_path)
    assert copied == referenced
    assert not any("unused" in name for name in copied)
    for name in copied:  # name.<10 hex digits>.ext
        assert re.fullmatch(r"assets/[\w-]+\.[0-9a-f]{10}\.\w+", name), name


# -- link checks ----------------------------------------------------------------


def test_bad_links_fail_the_build_naming_page_and_link(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site("invalid_links")
    code, errors = build_site(site)
    expected = (FIXTURES / "invalid_links" / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert code == 1
    assert not (site / "output").exists()
    assert errors == expected  # each at the Markdown line the link was written on
    lines = [int(line.split(":")[1]) for line in errors[:-1]]
    assert lines == sorted(lines) and lines[0] > 0


def test_check_command_finds_a_broken_link_added_after_the_build(make_site, capsys) -> None:  # type: ignore[no-untyped-def]
    import build

    site = make_site("deploy")
    assert build_site(site)[0] == 0
    capsys.readouterr()
    config = str(site / "site_config.yaml")
    assert build.main(["check", "--config", config]) == 0
    out = capsys.readouterr().out
    assert out.startswith("checked 4 pages: 0 problems, 0 external links")
    deep = site / "output" / "guides" / "deep" / "index.html"
    html = deep.read_text(encoding="utf-8")
    deep.write_text(html.replace("</main>", '<a href="../../notes/#third-note">x</a>\n'
                                 '<a href="https://example.org/elsewhere">y</a></main>'), encoding="utf-8")
    line = html[:html.index("</main>")].count("\n") + 1
    with contextlib.chdir(site):  # as a writer runs it: the problem names its file from there
        assert build.main(["check", "--config", config]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"output/guides/deep/index.html:{line}: broken link '../../notes/#third-note': notes/index.html has no id 'third-note'",
        "1 problem found",
    ]
    assert captured.out.splitlines()[1:] == ["     1  https://example.org/elsewhere"]


def test_links_into_base_url_are_checked_like_internal_ones() -> None:
    from engine.checks import check_links
    from engine.scan import scan_html

    page = (b'<html><head><link rel="canonical" href="https://example.com/s/gone/">'
            b'<meta property="og:image" content="https://example.com/s/assets/missing.png"></head>'
            b'<body><a href="https://example.com/s/#top">top</a></body></html>')
    home = b'<html><body id="top"></body></html>'
    files = {"index.html": home, "page/index.html": page}
    report = check_links({path: scan_html(data) for path, data in files.items()}, set(files), "output", "https://example.com/s/")
    assert [str(p) for p in report.problems] == [
        "output/page/index.html:1: broken link './gone/': there is no gone/index.html in the site",
        "output/page/index.html:1: broken link './assets/missing.png': there is no assets/missing.png in the site",
    ]
    assert not report.external


# -- determinism and --base-url ----------------------------------------------------


def test_two_builds_are_byte_identical_hashed_names_included(make_site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    site = make_site("deploy")
    assert build_site(site, "--no-cache", "--output", str(tmp_path / "one"))[0] == 0
    assert build_site(site, "--output", str(tmp_path / "two"))[0] == 0
    assert build_site(site, "--output", str(tmp_path / "three"))[0] == 0  # from the page cache
    one = tree_digest(tmp_path / "one")
    assert one == tree_digest(tmp_path / "two") == tree_digest(tmp_path / "three")
    assert {"sitemap.xml", "feed.xml", "robots.txt", "_headers", ".nojekyll", "404.html"} <= set(one)
    assert any(re.fullmatch(r"assets/style\.[0-9a-f]{10}\.css", name) for name in one)


def test_base_url_override_reaches_canonical_sitemap_feed_and_404(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site("deploy")
    preview = "https://preview.example.net/pr-7/"
    code, errors = build_site(site, "--base-url", preview.rstrip("/"))
    assert code == 0, errors
    output = site / "output"
    assert soup(output / "notes" / "index.html").find("link", rel="canonical")["href"] == preview + "notes/"
    assert head_tags(output / "index.html")["og:image"].startswith(preview + "assets/share.")
    locs = [e.text for e in ET.parse(output / "sitemap.xml").getroot().iter(f"{{{SITEMAP_NS['sm']}}}loc")]
    assert locs and all(loc.startswith(preview) for loc in locs)
    feed = feedparser.parse((output / "feed.xml").read_bytes())
    assert feed.bozo == 0 and feed.feed.id == preview and all(e.link.startswith(preview) for e in feed.entries)
    assert f"Sitemap: {preview}sitemap.xml" in (output / "robots.txt").read_text(encoding="utf-8")
    stylesheet = soup(output / "404.html").find("link", rel="stylesheet")["href"]
    assert stylesheet.startswith("/pr-7/assets/style.")
    assert "example.com" not in "".join(p.read_text(encoding="utf-8") for p in output.rglob("*.html"))


def test_online_check_reports_addresses_that_do_not_answer(tmp_path: Path) -> None:
    """`check --online` asks each external address; here a local server stands in for the web."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from engine.checks import check_online

    (tmp_path / "here.html").write_text("<p>here</p>", encoding="utf-8")

    class Handler(SimpleHTTPRequestHandler):
        def do_HEAD(self) -> None:  # a server that refuses HEAD, to prove the GET retry
            self.send_error(405)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        failures = check_online([f"{origin}/here.html#part", f"{origin}/gone.html", "mailto:a@example.org"], timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert failures == [(f"{origin}/gone.html", "HTTP 404")]


@pytest.mark.parametrize(("template", "broken", "expected"), [
    ("sitemap.xml", "{% for url in urls %}", "layouts/sitemap.xml:{line}: template syntax error: Unexpected end of template."),
    ("robots.txt", "{{ no_such_value }}", "layouts/robots.txt:{line}: 'no_such_value' is undefined"),
])
def test_broken_host_file_template_is_a_problem_not_a_crash(make_site, template: str, broken: str,  # type: ignore[no-untyped-def]
                                                            expected: str) -> None:
    site = make_site("features")
    path = site / "layouts" / template
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, broken]) + "\n", encoding="utf-8")
    code, errors = build_site(site)
    assert code == 1, errors
    assert errors[0].startswith(expected.format(line=len(lines) + 1)), errors
    assert not (site / "output").exists()
