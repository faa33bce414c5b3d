"""Corrections as data: each is shown at the foot of its page, listed on the About page, announced in
the feed and carried in the page's JSON-LD, on the 'features' fixture built once for the session."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from conftest import build_site

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://example.com/sub/path/"


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def article_json_ld(page: BeautifulSoup) -> dict[str, Any]:
    """The page's own node (Article or WebSite) of its JSON-LD graph."""
    scripts = page.select('script[type="application/ld+json"]')
    assert len(scripts) == 1
    graph = json.loads(scripts[0].string)["@graph"]
    return next(node for node in graph if node["@type"] in ("Article", "WebSite"))


def test_a_page_shows_its_corrections_at_its_foot_in_the_file_order(built_site: Path) -> None:
    page = soup(built_site / "first" / "index.html")
    foot = page.select_one("article section.corrections#corrections")
    assert foot is not None
    heading = foot.find("h2")
    assert heading is not None and foot["aria-labelledby"] == heading["id"]
    items = foot.select("ol.correction-list > li")
    assert [item["id"] for item in items] == ["correction-2020-01-03-1", "correction-2020-01-05-1"]
    first, second = (item.get_text(" ", strip=True) for item in items)
    assert first.startswith("Correction , 3 January 2020")
    assert "This page said: The widget count was 12." in first and "It now says: The widget count is 21." in first
    assert second.startswith("Clarification") and "Alpha reported that a source said it." in second
    assert items[0].find("time")["datetime"] == "2020-01-03"
    # the foot comes after the page's sources, and a page without corrections has none
    assert page.select_one("article section.page-sources").find_next("section") is foot
    assert soup(built_site / "second" / "index.html").select_one("section.corrections") is None


def test_the_about_page_lists_every_correction_newest_first_with_links_that_land(built_site: Path) -> None:
    about = soup(built_site / "about" / "index.html")
    listing = about.select_one("section.corrections-all")
    assert listing is not None
    items = listing.select("ol.correction-list > li")
    links = [item.select_one(".correction-page a")["href"] for item in items]
    assert links == ["../first/#correction-2020-01-05-1", "../#correction-2020-01-05-1", "../first/#correction-2020-01-03-1"]
    for link in links:
        path, _, anchor = link.partition("#")
        target = soup((built_site / "about" / path / "index.html").resolve())
        assert target.find(id=anchor) is not None, link
    assert "Alpha reported that a source said it." in items[0].get_text(" ")


def test_the_feed_has_one_entry_per_correction_linking_to_it(built_site: Path) -> None:
    feed = ET.parse(built_site / "feed.xml").getroot()
    entries = {entry.findtext(f"{ATOM}id"): entry for entry in feed.findall(f"{ATOM}entry")}
    correction_ids = sorted(entry_id for entry_id in entries if "#correction-" in entry_id)
    assert correction_ids == [
        "tag:example.com,2020-01-03:/sub/path/first/#correction-2020-01-03-1",
        "tag:example.com,2020-01-05:/sub/path/#correction-2020-01-05-1",
        "tag:example.com,2020-01-05:/sub/path/first/#correction-2020-01-05-1",
    ]
    entry = entries["tag:example.com,2020-01-03:/sub/path/first/#correction-2020-01-03-1"]
    assert entry.findtext(f"{ATOM}title") == "Correction: First section"
    assert entry.find(f"{ATOM}link").get("href") == BASE + "first/#correction-2020-01-03-1"
    assert entry.findtext(f"{ATOM}updated") == "2020-01-03T00:00:00Z"
    assert entry.findtext(f"{ATOM}summary") == \
        "This page said: The widget count was 12. It now says: The widget count is 21."
    # the page entries are still there, and the newest update of all comes first
    assert any("#" not in entry_id for entry_id in entries)
    assert feed.findtext(f"{ATOM}updated") == "2020-01-05T00:00:00Z"
    assert feed.find(f"{ATOM}entry").findtext(f"{ATOM}updated") == "2020-01-05T00:00:00Z"


def test_json_ld_carries_each_correction_and_the_latest_change(built_site: Path) -> None:
    first = article_json_ld(soup(built_site / "first" / "index.html"))
    assert first["datePublished"] == "2020-01-02"
    assert first["dateModified"] == "2020-01-05", "the latest correction is later than the page's `updated`"
    # the update the reader sees is the same date
    shown = soup(built_site / "first" / "index.html").select_one(".page-meta time")
    assert (shown["datetime"], shown.get_text()) == ("2020-01-05", "5 January 2020")
    assert first["correction"] == [
        {"@type": "CorrectionComment", "datePublished": "2020-01-03",
         "text": "This page said: The widget count was 12. It now says: The widget count is 21."},
        {"@type": "CorrectionComment", "datePublished": "2020-01-05",
         "text": "This page said: Alpha said it. It now says: Alpha reported that a source said it."},
    ]
    second = article_json_ld(soup(built_site / "second" / "index.html"))
    assert "correction" not in second


def test_layouts_made_before_the_update_date_followed_corrections_still_build(make_site: Any) -> None:
    """An explainer's own copy of head-meta.html (build.py new copies the layouts) may read page.modified."""
    site = make_site("features")
    head = site / "layouts" / "partials" / "head-meta.html"
    text = head.read_text(encoding="utf-8")
    new = '{% if page.updated %}{% set _ = article.update({"dateModified": page.updated.iso()}) %}{% endif %}'
    assert new in text
    head.write_text(text.replace(new, '{% if page.modified %}{% set _ = article.update({"dateModified": '
                                      'page.modified}) %}{% endif %}'), encoding="utf-8")
    code, lines = build_site(site)
    assert code == 0, lines
    assert article_json_ld(soup(site / "output" / "first" / "index.html"))["dateModified"] == "2020-01-05"


def test_a_correction_added_later_changes_only_what_shows_it(make_site: Any, tmp_path: Path) -> None:
    """A cached rebuild after a new correction shows it: its page, the About list and the feed change."""
    site = make_site("features")
    assert build_site(site)[0] == 0
    before = {path: (site / "output" / path).read_bytes() for path in ("first/index.html", "second/index.html")}
    with (site / "content" / "corrections.yaml").open("a", encoding="utf-8") as handle:
        handle.write('- date: "2020-02-01"\n  page: second\n  kind: correction\n'
                     '  was: "Two was wrong."\n  now: "Two is right."\n')
    code, lines = build_site(site)
    assert code == 0, lines
    second = soup(site / "output" / "second" / "index.html")
    assert [li["id"] for li in second.select("section.corrections li")] == ["correction-2020-02-01-1"]
    assert article_json_ld(second)["dateModified"] == "2020-02-01"
    assert "Two is right." in (site / "output" / "feed.xml").read_text(encoding="utf-8")
    assert "Two is right." in (site / "output" / "about" / "index.html").read_text(encoding="utf-8")
    assert (site / "output" / "first" / "index.html").read_bytes() == before["first/index.html"]
