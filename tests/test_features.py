"""Explainer features on the 'features' fixture: citations, sources page, timeline, glossary, charts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import build_site


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


# -- citations ----------------------------------------------------------------

def test_three_sources_give_three_numbered_markers_and_links_both_ways(built_site: Path) -> None:
    page = soup(built_site / "first" / "index.html")
    article = page.find("article")
    markers = [a for sup in article.select("sup.cite") for a in sup.find_all("a")]
    numbers_in_body_order = []
    for marker in markers:
        number = marker.get_text().split(":")[0]
        if number not in numbers_in_body_order:
            numbers_in_body_order.append(number)
    assert numbers_in_body_order == ["1", "2", "3"]
    entries = page.select("section.page-sources li[id^=source-]")
    assert [li["id"] for li in entries] == ["source-1", "source-2", "source-3"]
    ids = {tag["id"] for tag in page.find_all(id=True)}
    for marker in markers:
        assert marker["href"].lstrip("#") in ids
    for entry in entries:
        backlinks = entry.select(".backlinks a")
        assert backlinks, entry["id"]
        for link in backlinks:
            target = page.find(id=link["href"].lstrip("#"))
            assert target is not None and target["href"] == "#" + entry["id"]


def test_markers_name_their_source_for_screen_readers(built_site: Path) -> None:
    page = soup(built_site / "first" / "index.html")
    first_marker = page.select_one("sup.cite a")
    assert first_marker.select_one(".visually-hidden").get_text() == ": Alpha News, “Alpha report”"


def test_citations_inside_code_are_left_alone(built_site: Path) -> None:
    page = soup(built_site / "first" / "index.html")
    code_texts = [code.get_text() for code in page.find_all("code")]
    assert "[@notacitation]" in code_texts
    assert any("[@alsonot]" in text for text in code_texts)


def test_sources_page_lists_each_citing_page_with_its_count(built_site: Path) -> None:
    """Each source lists the pages citing it, with how many times, linking to its entry in that page's list."""
    page = soup(built_site / "sources" / "index.html")
    uses = {li["id"]: [(a.get_text(), a["href"], a.find_next_sibling(class_="use-count").get_text())
                       for a in li.select(".source-uses a")] for li in page.select("li.source")}
    first = soup(built_site / "first" / "index.html")
    numbers = {li.select_one("cite a")["href"]: li["id"] for li in first.select(".page-sources li[id]")}
    beta = [entry for entry in uses["src-beta"] if entry[0] == "First section"]
    assert len(beta) == 1
    title, href, count = beta[0]
    assert href == f"../first/#{numbers['https://beta.example/page']}"
    cited = len(first.select(f'sup.cite a[href="#{numbers["https://beta.example/page"]}"]'))
    assert count == f"{cited} citation{'s' if cited != 1 else ''}"
    assert any(text == "First section" for text, _, _ in uses["src-alpha"])
    details = page.select_one("#src-beta .source-details").get_text(" ", strip=True)
    assert "government page" in details
    archived = page.select_one("#src-beta .source-access a.archive-link")
    assert archived is not None and archived["href"] == "https://archive.example/beta"
    assert archived.get_text(" ", strip=True) == "archived copy of “Beta page”"


def test_a_term_first_used_in_the_sources_list_is_linked_there_and_not_after(make_site) -> None:  # type: ignore[no-untyped-def]
    """The sources list is part of its page's body: a glossary term first used in a source's note is
    linked in the list, and the text after the list links only the terms the list did not use."""
    site = make_site("features")
    (site / "content" / "sources.md").write_text(
        "---\ntitle: Sources\nsummary: Every source and where it is cited.\nlayout: sources\n---\n"
        "Before the list.\n\n::: sources\n\nAfter the list: a widget and a gadget.\n", encoding="utf-8")
    data = site / "content" / "sources.yaml"
    data.write_text(data.read_text(encoding="utf-8").replace("note: Supports the first claim.",
                                                             "note: Supports the first claim about a widget."),
                    encoding="utf-8")
    code, errors = build_site(site)
    assert code == 0, errors
    page = soup(site / "output" / "sources" / "index.html")
    in_list = [a.get_text() for a in page.select("ol.source-list a.term")]
    after = page.find(string=re.compile("After the list")).parent
    assert in_list == ["widget"]
    assert [a.get_text() for a in after.select("a.term")] == ["gadget"]


# -- timeline -------------------------------------------------------------------

def test_timeline_is_ordered_grouped_by_year_with_machine_dates(built_site: Path) -> None:
    page = soup(built_site / "timeline" / "index.html")
    years = [h.get_text() for h in page.select("h2.timeline-year")]
    assert years == ["2018", "2019"]
    # the title's own text (an event without a body carries its citation markers after it)
    titles = ["".join(p.find_all(string=True, recursive=False)).strip() for p in page.select("li.event .event-title")]
    assert titles == ["Earlier event", "Later event", "Same-day second event"]
    times = [t["datetime"] for t in page.select("li.event time")]
    assert times == ["2018", "2019-05-17", "2019-05-17"]
    assert page.select("li.event time")[0].get_text() == "sometime in 2018"
    related = page.select_one("li.event[data-category=two] a[href='../first/']")
    assert related is not None


def test_timeline_slice_embeds_only_the_matching_events(built_site: Path) -> None:
    page = soup(built_site / "first" / "index.html")
    embedded = ["".join(p.find_all(string=True, recursive=False)).strip()
                for p in page.select(".timeline-slice .event-title")]
    assert embedded == ["Later event", "Same-day second event"]


# -- glossary -------------------------------------------------------------------

def test_glossary_lists_terms_alphabetically_with_anchors(built_site: Path) -> None:
    page = soup(built_site / "glossary" / "index.html")
    assert [dt.get_text() for dt in page.select("dl.glossary dt")] == ["gadget", "widget"]
    assert page.find(id="term-widget") is not None


def test_first_use_of_a_term_links_with_an_accessible_definition(built_site: Path) -> None:
    page = soup(built_site / "first" / "index.html")
    links = page.select("article a.term")
    assert [a.get_text() for a in links] == ["widget"]
    link = links[0]
    assert link["href"] == "../glossary/#term-widget"
    tip = page.find(id=link["aria-describedby"])
    assert tip.get_text() == "A small thing."
    explicit = soup(built_site / "second" / "index.html").select_one("a.term")
    assert explicit.get_text() == "linked gadget" and explicit["href"] == "../glossary/#term-gadget"


def test_timeline_citations_follow_the_event_text_not_the_read_more_link(built_site: Path) -> None:
    page = soup(built_site / "timeline" / "index.html")
    no_body = page.select_one("#event-2019-05-17-2")
    assert no_body.select_one(".event-body") is None
    assert no_body.select_one(".event-title sup.cite a").get_text(strip=True).startswith("3")
    assert no_body.select_one(".event-title").contents[0].endswith("event "), "a space before the marker, as in text"
    for event in page.select(".event"):
        meta = event.select_one(".event-meta")
        # the only thing left under an event is its "Read more in" link, with no marker before it
        assert meta is None or (meta.select("sup") == [] and meta.get_text(strip=True).startswith("Read more in")), meta
    with_body = page.select_one("#event-2019-05-17-0")
    assert with_body.select_one(".event-meta").get_text(strip=True) == "Read more in: First section"


# -- charts ---------------------------------------------------------------------

def test_chart_has_accessible_name_values_and_data_table(built_site: Path) -> None:
    page = soup(built_site / "index.html")
    figure = page.select_one("figure#figure-counts")
    svg = figure.find("svg")
    assert svg["role"] == "img"
    title = svg.find(id=svg["aria-labelledby"])
    assert title.get_text() == "Counts by year: 2017 10, 2018 2,500"
    assert [t.get_text() for t in svg.select(".chart-value")] == ["10", "2,500"]
    assert [t.get_text() for t in svg.select(".chart-label")] == ["2017", "2018"]
    rows = [[c.get_text() for c in tr.find_all(["th", "td"])] for tr in figure.select("table tbody tr")]
    assert rows == [["2017", "10"], ["2018", "2,500"]]


def test_chart_bytes_are_stable_between_builds(make_site, tmp_path: Path) -> None:
    site = make_site("features")
    assert build_site(site, "--no-cache")[0] == 0
    first = re.search(r"<svg.*?</svg>", (site / "output" / "index.html").read_text(encoding="utf-8"), re.S)
    assert build_site(site, "--no-cache", "--output", str(tmp_path / "again"))[0] == 0
    second = re.search(r"<svg.*?</svg>", (tmp_path / "again" / "index.html").read_text(encoding="utf-8"), re.S)
    assert first and second and first.group(0) == second.group(0)


# -- errors -----------------------------------------------------------------------

def _break(site: Path, file: str, old: str, new: str) -> None:
    target = site / file
    text = target.read_text(encoding="utf-8")
    assert old in text, (file, old)
    target.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("content/first.md", "[@beta; @gamma]", "[@beta; @gamam]",
         "content/first.md:14: unknown source id 'gamam' (did you mean 'gamma'?)"),
        ("content/sources.yaml", "gamma:\n", "alpha:\n",
         "content/sources.yaml:18: duplicate key 'alpha', first on line 1 (keep one: YAML would silently use the last)"),
        ("content/sources.yaml", "  publisher: Beta Agency\n", "",
         "content/sources.yaml:11: missing required key 'publisher'"),
        ("content/sources.yaml", 'date: "2019-05"', 'date: "2019-13"',
         "content/sources.yaml:14: 'date': '2019-13' has no month 13"),
        ("content/sources.yaml", "url: https://gamma.example/data", "url: ftp://gamma.example/data",
         "content/sources.yaml:22: 'url' must be an http or https address, not 'ftp://gamma.example/data'"),
        ("content/timeline.yaml", 'date: "2018"', 'date: "2018-02-30"',
         "content/timeline.yaml:12: 'date': '2018-02-30' is not a real day (February has no day 30)"),
        ("content/timeline.yaml", "category: one", "category: oen",
         "content/timeline.yaml:16: unknown timeline category 'oen' (did you mean 'one'?)"),
        ("content/timeline.yaml", "section: first", "section: frist",
         "content/timeline.yaml:9: unknown section 'frist' (did you mean 'first'?)"),
        ("content/timeline.yaml", "sources: [gamma]", "sources: [gama]",
         "content/timeline.yaml:15: unknown source id 'gama' (did you mean 'gamma'?)"),
        ("content/index.md", "::: chart counts", "::: chart count",
         "content/index.md:9: unknown chart 'count' (did you mean 'counts'?)"),
        ("content/first.md", "::: timeline category=two", "::: timeline category=tow",
         "content/first.md:26: unknown timeline category 'tow' (did you mean 'two'?)"),
        ("content/second.md", "(glossary:gadget)", "(glossary:gadgte)",
         "content/second.md:15: unknown glossary term 'gadgte' (did you mean 'gadget'?)"),
        ("content/figures.yaml", "kind: hbar", "kind: hbars",
         "content/figures.yaml:31: unknown chart kind 'hbars' (did you mean 'hbar'?)"),
        ("content/figures.yaml", "kind: hbar", "kind: bar",
         "content/figures.yaml:28: chart 'by-place': 3 bars with labels as long as these do not fit side by side "
         "on a phone (write kind: hbar for horizontal bars, a line for each label, or shorten the labels)"),
        ("content/figures.yaml", "value: 5012}", "value: 5,012}",
         "content/figures.yaml:26: unknown figure value key '12' (a comma inside {…} separates entries: write "
         "numbers without thousands separators, as 68530)"),
    ],
    ids=["unknown-citation", "duplicate-source", "missing-field", "bad-date", "non-http-url", "impossible-day",
         "unknown-category", "unknown-section", "unknown-event-source", "unknown-chart", "unknown-slice-category",
         "unknown-term", "unknown-chart-kind", "bar-labels-too-long", "number-split-by-a-comma"],
)
def test_feature_errors_name_file_and_line(make_site, file: str, old: str, new: str, expected: str) -> None:
    site = make_site("features")
    _break(site, file, old, new)
    code, lines = build_site(site)
    assert code == 1
    assert expected in lines, lines


def test_a_draft_named_elsewhere_is_left_out_and_the_problems_say_it_may_be_a_draft(make_site) -> None:  # type: ignore[no-untyped-def]
    """`draft: true` on a page that nav, the timeline and a correction name: each reference fails, with a hint
    that names drafts; with --drafts the page is built."""
    site = make_site("features")
    _break(site, "content/first.md", "title: First section\n", "title: First section\ndraft: true\n")
    code, lines = build_site(site)
    hint = "a page marked draft: true is left out of a build without --drafts"
    assert code == 1
    assert f"site_config.yaml:9: 'nav' names 'first', but no page has that slug ({hint})" in lines, lines
    assert f"content/timeline.yaml:9: unknown section 'first' ({hint})" in lines, lines
    assert f"content/corrections.yaml:2: unknown page 'first' (name a page by its slug; {hint})" in lines, lines
    code, lines = build_site(site, "--drafts")
    assert code == 0 and (site / "output" / "first" / "index.html").is_file(), lines


def test_an_emptied_data_file_warns_on_the_page_that_lists_it(make_site) -> None:  # type: ignore[no-untyped-def]
    """An empty glossary.yaml (a bad save, a bad merge) still builds, with a warning at the glossary page's layout."""
    site = make_site("features")
    (site / "content" / "glossary.yaml").write_text("", encoding="utf-8")
    _break(site, "content/second.md", "(glossary:gadget)", "(../first/)")  # the one link to a term by name
    code, lines = build_site(site)
    assert code == 0
    assert ("content/glossary.md:4: warning: this page lists what content/glossary.yaml holds, and it holds nothing "
            "(add entries to content/glossary.yaml, or remove the page)") in lines, lines


def test_uncited_source_is_a_warning_not_an_error(make_site) -> None:
    site = make_site("features")
    with (site / "content" / "sources.yaml").open("a", encoding="utf-8") as handle:
        handle.write("delta:\n  title: Delta\n  publisher: Delta Desk\n  date: \"2020\"\n"
                     "  url: https://delta.example/\n  kind: news report\n"
                     "  archive_url: https://archive.example/delta\n")
    code, lines = build_site(site)
    assert code == 0
    assert lines == ["content/sources.yaml:25: warning: source 'delta' is cited nowhere"]
    code, lines = build_site(site, "--strict")
    assert code == 1 and lines[0] == "content/sources.yaml:25: source 'delta' is cited nowhere"


def test_apostrophes_survive_in_cited_titles_and_glossary_terms(make_site) -> None:  # type: ignore[no-untyped-def]
    """Smart quotes turn ' into &rsquo;: a citing page's title on the sources page and glossary matches must still work."""
    site = make_site("features")
    first = site / "content" / "first.md"
    first.write_text(first.read_text(encoding="utf-8").replace("title: First section", "title: The widget's first section")
                     .replace("a widget term.", "the maker's gizmo term."), encoding="utf-8")
    glossary = site / "content" / "glossary.yaml"
    glossary.write_text(glossary.read_text(encoding="utf-8") + "gizmo:\n  term: maker's gizmo\n"
                        "  definition: A tool with an apostrophe in its name.\n", encoding="utf-8")
    code, lines = build_site(site)
    assert code == 0, lines
    sources_page = soup(site / "output" / "sources" / "index.html")
    cited_in = [a.get_text() for a in sources_page.select(".source-uses a") if "first/" in a.get("href", "")]
    assert cited_in and all(text == "The widget's first section" for text in cited_in), cited_in
    page = soup(site / "output" / "first" / "index.html")
    links = [a for a in page.select("article a.term") if "#term-gizmo" in a["href"]]
    assert [a.get_text() for a in links] == ["maker’s gizmo"]
