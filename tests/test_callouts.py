"""The callout directive on the 'features' fixture: an <aside> named by its heading, its Markdown
converted, its citations numbered with the page's, and no script."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_a_callout_is_an_aside_named_by_its_heading(built_site: Path) -> None:
    article = soup(built_site / "second" / "index.html").find("article")
    callouts = article.select("aside.callout")
    assert [aside["class"] for aside in callouts] == [["callout", "callout-unknown"], ["callout", "callout-known"]]
    for aside in callouts:
        assert aside["role"] == "note"  # a note, not a landmark: it sits inside the page's main landmark
        heading = aside.find(["h2", "h3", "h4", "h5", "h6"])
        assert heading is not None and aside.find() is heading, "the heading comes first"
        assert aside["aria-labelledby"] == heading["id"]
        assert len(article.find_all(id=heading["id"])) == 1
    assert aside.find("script") is None and not any(a.startswith("on") for a in aside.attrs)


def test_a_callout_has_the_default_or_its_own_heading_one_level_below_the_one_before(built_site: Path) -> None:
    first, second = soup(built_site / "second" / "index.html").select("aside.callout")
    assert (first.find("h3").get_text(), second.find("h3").get_text()) == ("What we don’t know", "What the table settles")
    assert first.find_previous(["h2", "h3"]).get_text(" ", strip=True).startswith("Table")


def test_a_callout_converts_its_markdown_and_numbers_its_citations_with_the_page(built_site: Path) -> None:
    page = soup(built_site / "second" / "index.html")
    first = page.select_one("aside.callout-unknown")
    assert first.select_one("li strong").get_text() == "how"
    marker = first.select_one("sup.cite a")
    assert marker is not None and page.find(id=marker["href"].lstrip("#")) is not None
    assert "The count for 2020 is not reported" in first.p.get_text()
    assert ":::" not in page.get_text()
