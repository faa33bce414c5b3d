"""A site in several languages: a fixture in English, Spanish and French, the third added with only its
strings table and its files (tests/fixtures/three_languages), built and read back as HTML."""

from __future__ import annotations

import hashlib
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import build_site, copy_site, tree_digest

import engine
from engine.dates import parse_date
from engine.languages import collation_key, date_words, localized
from engine.live import LiveSite
from engine.yamlfile import load_yaml

LANGUAGES = ("en", "es", "fr")


class _Tags(HTMLParser):
    """Every start tag of a page as (name, attributes), and the text inside each element by id or class."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.texts: list[tuple[tuple[str, ...], str]] = []  # (open tag names with classes, text)
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag not in ("meta", "link", "br", "img", "input", "rect", "line"):
            self._open.append(f"{tag}.{attributes.get('class', '')}")

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop().split(".")[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append((tuple(self._open), data.strip()))

    def find(self, tag: str, **wanted: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag
                and all(attrs.get(key.rstrip("_").replace("_", "-")) == value for key, value in wanted.items())]

    def text_in(self, marker: str) -> list[str]:
        return [text for open_tags, text in self.texts if any(marker in item for item in open_tags)]


def parse(path: Path) -> _Tags:
    tags = _Tags()
    tags.feed(path.read_text(encoding="utf-8"))
    return tags


def three_languages(tmp_path: Path) -> Path:
    """The fixture with the project's layouts and the French strings table beside the other two."""
    site = copy_site("three_languages", tmp_path)
    shutil.copy(site / "i18n" / "fr.yaml", site / "layouts" / "i18n" / "fr.yaml")
    return site


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    site = three_languages(tmp_path_factory.mktemp("languages"))
    code, lines = build_site(site)
    assert code == 0, lines
    return site / "output", lines


def test_each_language_has_its_pages_under_its_folder_and_one_warning_for_the_missing_page(
        built: tuple[Path, list[str]]) -> None:
    output, lines = built
    assert lines == ["content/second.md:1: warning: no 'fr' translation (content/second.fr.md): the language "
                     "switch on this page leads to the 'fr' home page"]
    for prefix, language in (("", "en"), ("es/", "es"), ("fr/", "fr")):
        page = parse(output / prefix / "first" / "index.html")
        assert page.find("html")[0]["lang"] == language
        assert (output / prefix / "feed.xml").is_file() and (output / prefix / "404.html").is_file()
    assert not (output / "fr" / "second").exists()


def test_hreflang_links_go_both_ways_with_x_default(built: tuple[Path, list[str]]) -> None:
    output, _ = built
    base = "https://example.com/three/"
    expected = [{"rel": "alternate", "hreflang": code, "href": f"{base}{prefix}first/"}
                for code, prefix in (("en", ""), ("es", "es/"), ("fr", "fr/"))]
    expected.append({"rel": "alternate", "hreflang": "x-default", "href": f"{base}first/"})
    for prefix in ("", "es/", "fr/"):
        page = parse(output / prefix / "first" / "index.html")
        assert [link for link in page.find("link", rel="alternate") if "hreflang" in link] == expected
    # The page without a French translation names only the languages it has.
    second = parse(output / "second" / "index.html")
    assert [link["hreflang"] for link in second.find("link", rel="alternate") if "hreflang" in link] == \
        ["en", "es", "x-default"]


def test_the_language_switch_is_named_for_screen_readers_and_leads_home_when_untranslated(
        built: tuple[Path, list[str]]) -> None:
    output, _ = built
    page = parse(output / "es" / "first" / "index.html")
    assert page.find("nav", class_="language-switch") == [
        {"class": "language-switch", "aria-label": "Esta página en otro idioma"}]
    links = [(attrs["href"], attrs["lang"], attrs["hreflang"]) for attrs in page.find("a")
             if attrs.get("hreflang")]
    assert links == [("../../first/", "en", "en"), ("../../fr/first/", "fr", "fr")]
    assert page.text_in("language-switch") == ["English", "Français"]
    second = parse(output / "second" / "index.html")
    assert [(attrs["href"], attrs.get("rel")) for attrs in second.find("a") if attrs.get("hreflang")] == \
        [("../es/second/", "alternate"), ("../fr/", None)]
    assert "(home page: this page is not translated)" in second.text_in("language-note")
    assert (output / "fr" / "index.html").is_file()


def test_open_graph_and_json_ld_name_the_language(built: tuple[Path, list[str]]) -> None:
    output, _ = built
    page = parse(output / "es" / "first" / "index.html")
    assert page.find("meta", property="og:locale")[0]["content"] == "es_MX"
    assert [meta["content"] for meta in page.find("meta", property="og:locale:alternate")] == ["en_US", "fr_FR"]
    assert '"inLanguage": "es"' in (output / "es" / "first" / "index.html").read_text(encoding="utf-8")


def test_sitemap_lists_alternates_and_each_language_has_its_feed(built: tuple[Path, list[str]]) -> None:
    output, _ = built
    sitemap = (output / "sitemap.xml").read_text(encoding="utf-8")
    assert 'xmlns:xhtml="http://www.w3.org/1999/xhtml"' in sitemap
    entry = sitemap.split("<loc>https://example.com/three/fr/first/</loc>")[1].split("</url>")[0]
    assert entry.count("<xhtml:link") == 4 and \
        '<xhtml:link rel="alternate" hreflang="es" href="https://example.com/three/es/first/"/>' in entry
    feed = (output / "es" / "feed.xml").read_text(encoding="utf-8")
    assert 'xml:lang="es"' in feed and "<title>Tres idiomas: actualizaciones</title>" in feed
    assert "https://example.com/three/es/first/" in feed and "https://example.com/three/first/" not in feed


def test_data_interface_and_dates_in_each_language(built: tuple[Path, list[str]]) -> None:
    output, _ = built
    spanish = parse(output / "es" / "timeline" / "index.html")
    assert spanish.text_in("event-date")[:4] == ["primavera de 2018", "Negociaciones", "aprox. abril de 2018",
                                                  "Negociaciones"]
    dates = [text for text in spanish.text_in("event-date") if text != "Negociaciones"]
    assert dates == ["primavera de 2018", "aprox. abril de 2018", "mayo de 2018", "12 de julio de 2018"]
    french = parse(output / "fr" / "timeline" / "index.html")
    assert [text for text in french.text_in("event-date") if text != "Négociations"] == \
        ["spring 2018", "vers avril 2018", "mai 2018", "12 juillet 2018"]  # no approximate_fr: the English text
    assert "Un día" in spanish.text_in("event-title") and "Un jour" in french.text_in("event-title")
    first = parse(output / "es" / "first" / "index.html")
    assert first.text_in("kicker") == ["Parte 1 de 2"] and "Siguiente" in first.text_in("pager-label")


def test_a_source_title_in_another_language_than_the_page_is_marked_with_its_own(
        built: tuple[Path, list[str]]) -> None:
    output, _ = built
    expected = {"": ({"class": "source-title", "lang": "es"}, '“<span lang="es">Página beta</span>”'),
                "es/": ({"class": "source-title"}, '<span lang="en">Beta Office</span>, “Página beta”'),
                "fr/": ({"class": "source-title", "lang": "es"}, '« <span lang="es">Página beta</span> »')}
    for prefix, (cite, label) in expected.items():
        html = (output / prefix / "first" / "index.html").read_text(encoding="utf-8")
        titles = parse(output / prefix / "first" / "index.html").find("cite")
        assert titles[1] == cite and label in html, prefix
        # alpha has no `language`: its title is in the site's default language, English
        assert titles[0] == ({"class": "source-title"} if not prefix else {"class": "source-title", "lang": "en"})


def test_source_notes_follow_the_raw_html_rules(tmp_path: Path) -> None:
    site = three_languages(tmp_path)
    sources = site / "content" / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8").replace(
        "  note_es: Respalda la primera afirmación.", '  note_es: "Respalda <script>x()</script> la primera."'),
        encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1 and any(line.startswith("content/sources.yaml:11: raw <script>") for line in lines), lines


def test_a_correction_shows_in_the_edition_whose_text_it_corrects(tmp_path: Path) -> None:
    site = three_languages(tmp_path)
    (site / "content" / "corrections.yaml").write_text(
        '- date: "2018-07-13"\n  page: first\n  kind: correction\n  was: "Un error."\n  now: "Lo correcto."\n'
        '  language: es\n', encoding="utf-8")
    code, lines = build_site(site)
    assert code == 0, lines
    spanish = parse(site / "output" / "es" / "first" / "index.html")
    assert spanish.text_in("correction-label") == ["Esta página decía:", "Ahora dice:"]
    assert "Corrección" in spanish.text_in("correction-head")
    for prefix in ("", "fr/"):
        assert parse(site / "output" / prefix / "first" / "index.html").text_in("correction-label") == []
    feed = (site / "output" / "es" / "feed.xml").read_text(encoding="utf-8")
    assert "<summary>Esta página decía: Un error. Ahora dice: Lo correcto.</summary>" in feed
    assert "Un error" not in (site / "output" / "feed.xml").read_text(encoding="utf-8")


def test_glossary_sorts_by_each_languages_collation(built: tuple[Path, list[str]]) -> None:
    output, _ = built
    terms = {prefix: [text for text in parse(output / prefix / "glossary" / "index.html").texts
                      if text[0] and text[0][-1].startswith("dt.")] for prefix in ("", "es/")}
    assert [text for _, text in terms["es/"]] == ["árbol", "azul", "nube", "ñandú", "oso"]
    assert [text for _, text in terms[""]] == ["bear", "blue", "cloud", "rhea", "tree"]


def test_charts_and_tables_write_numbers_as_each_language_does(built: tuple[Path, list[str]]) -> None:
    output, _ = built
    for prefix, big, small in (("", "119,144", "2.5"), ("es/", "119,144", "2.5"), ("fr/", "119 144", "2,5")):
        page = parse(output / prefix / "index.html")
        assert page.text_in("chart-value") == [big, small]
        assert [text for text in page.text_in("td.") if any(ch.isdigit() for ch in text)] == [big, small]


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("content/es/first.md", "---\ntitle: X\nsummary: Y.\n---\n",
     "content/es/first.md:1: translations sit beside the page they translate, not in a 'es/' folder "
     "(move it to content/first.es.md)"),
    ("content/first.de.md", "---\ntitle: X\nsummary: Y.\n---\n",
     "content/first.de.md:1: 'de' is not one of the site's languages (en, es, fr) "
     "(add it to 'languages' in site_config.yaml, or rename the file)"),
    ("content/first.en.md", "---\ntitle: X\nsummary: Y.\n---\n",
     "content/first.en.md:1: 'en' is the site's default language: its pages carry no language in their name "
     "(rename it to content/first.md)"),
    ("content/third.es.md", "---\ntitle: X\nsummary: Y.\n---\n",
     "content/third.es.md:1: this translates content/third.md, which does not exist (add content/third.md, or "
     "name this file after the page it translates, as background.es.md beside background.md)"),
])
def test_files_that_follow_no_convention_are_refused(tmp_path: Path, name: str, text: str, expected: str) -> None:
    site = three_languages(tmp_path)
    (site / name).parent.mkdir(exist_ok=True)
    (site / name).write_text(text, encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1 and expected in lines, lines
    assert not (site / "output").exists()


def test_a_page_with_a_problem_does_not_make_its_translation_an_orphan(tmp_path: Path) -> None:
    """The page's own problem is the one reported: its translation is not said to translate nothing."""
    site = three_languages(tmp_path)
    first = site / "content" / "first.md"
    first.write_text(first.read_text(encoding="utf-8").replace("order: 1\n", "order: one\n"), encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1 and any(line.startswith("content/first.md:4: 'order' must be a whole number") for line in lines), lines
    assert not [line for line in lines if "which does not exist" in line], lines


def test_a_missing_interface_string_names_the_key_and_the_file(tmp_path: Path) -> None:
    site = three_languages(tmp_path)
    table = site / "layouts" / "i18n" / "fr.yaml"
    table.write_text(table.read_text(encoding="utf-8").replace('next: "Suivante"\n', ""), encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1 and ("layouts/i18n/fr.yaml: missing interface string 'next' "
                          "(layouts/i18n/en.yaml has it; add its translation)") in lines, lines
    # A key no table has: the template that asks for it, and the table of the page's language.
    shutil.copy(site / "i18n" / "fr.yaml", table)
    section = site / "layouts" / "section.html"
    section.write_text(section.read_text(encoding="utf-8").replace('t("on_this_page")', 't("on_this_pgae")'),
                       encoding="utf-8")
    (site / "content" / "first.md").write_text((site / "content" / "first.md").read_text(encoding="utf-8")
                                               + "\n## Three\n\nMore [@alpha].\n", encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1 and any(line.startswith("layouts/i18n/en.yaml: no interface string 'on_this_pgae' (asked "
                                             "for by layouts/section.html:") for line in lines), lines


def test_a_change_to_a_translation_renders_only_the_pages_that_show_it(tmp_path: Path) -> None:
    site = three_languages(tmp_path)
    live = LiveSite(engine.load_settings(site / "site_config.yaml"))
    live.rebuild()
    first = site / "content" / "first.es.md"
    first.write_text(first.read_text(encoding="utf-8").replace("More [@beta].", "Y más [@beta]."), encoding="utf-8")
    report = live.rebuild(["content/first.es.md"])
    assert report.rendered == ("es/first/index.html",)
    output = site.parent / "fresh"
    assert build_site(site, "--no-cache", "--output", str(output))[0] == 0
    assert {path: hashlib.sha256(data).hexdigest() for path, data in live.files.items()} == tree_digest(output)


def test_cached_and_uncached_builds_are_byte_identical(tmp_path: Path) -> None:
    site = three_languages(tmp_path)
    assert build_site(site)[0] == 0
    assert build_site(site)[0] == 0
    cached = tree_digest(site / "output")
    assert build_site(site, "--no-cache", "--output", str(tmp_path / "clean"))[0] == 0
    assert cached == tree_digest(tmp_path / "clean")


def test_dates_numbers_collation_and_localized_yaml_by_their_tables() -> None:
    spanish = {"date_day": "{day} de {month} de {year}", "date_month": "{month} de {year}", "date_year": "{year}",
               "month_7": "julio", "collation_letters": "ñ"}
    assert [date_words(parse_date(text), spanish) for text in ("2018-07-12", "2018-07", "2018")] == \
        ["12 de julio de 2018", "julio de 2018", "2018"]
    assert date_words(parse_date("2018-07-12"), {}) == "12 July 2018"
    words = ["nube", "Ñandú", "oso", "álamo", "alba", "nz"]
    assert sorted(words, key=lambda word: collation_key(word, spanish)) == ["álamo", "alba", "nube", "nz", "Ñandú", "oso"]
    assert sorted(words, key=lambda word: collation_key(word, {})) == ["álamo", "alba", "Ñandú", "nube", "nz", "oso"]
    tree, _ = load_yaml("a:\n  title: One\n  title_es: Uno\n  title_fr: Un\n  note: Plain\n", "x.yaml")
    assert localized(tree, "es", LANGUAGES) == {"a": {"title": "Uno", "note": "Plain"}}
    assert localized(tree, "en", LANGUAGES) == {"a": {"title": "One", "note": "Plain"}}
    assert localized(tree, "es", LANGUAGES)["a"].line_of("title") == 3


def test_a_publisher_without_a_name_in_the_pages_language_is_marked_with_the_default_language(tmp_path: Path) -> None:
    """A Spanish screen reader read "Alpha Times" (the data's English name) as Spanish: a publisher is in the
    language of the key it comes from, so `publisher` alone is English and `publisher_es` Spanish."""
    from selectolax.lexbor import LexborHTMLParser

    site = three_languages(tmp_path)
    sources = site / "content" / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8").replace(
        "  publisher: Beta Office\n", "  publisher: Beta Office\n  publisher_es: Oficina Beta\n"), encoding="utf-8")
    assert build_site(site)[0] == 0

    def publishers(page: str) -> dict[str, str | None]:
        """Each publisher's name in the page's list of sources -> the lang of the span that holds it, if any."""
        tree = LexborHTMLParser((site / "output" / page).read_text(encoding="utf-8"))
        found: dict[str, str | None] = {}
        for name in ("Alpha Times", "Beta Office", "Oficina Beta"):
            spans = [node for node in tree.css("span[lang]") if node.text() == name]
            found[name] = spans[0].attributes["lang"] if spans else (None if name in tree.body.text() else "absent")
        return found

    assert publishers("sources/index.html") == {"Alpha Times": None, "Beta Office": None, "Oficina Beta": "absent"}
    assert publishers("es/sources/index.html") == {"Alpha Times": "en", "Beta Office": "absent", "Oficina Beta": None}
    assert publishers("fr/sources/index.html") == {"Alpha Times": "en", "Beta Office": "en", "Oficina Beta": "absent"}


def test_a_page_that_cannot_be_read_gets_its_error_and_no_warning_about_its_translations(tmp_path: Path) -> None:
    """second.md has no French translation, a warning; once its front matter cannot be read, its error says
    enough, and its Spanish translation still builds against the page it stands in for."""
    site = three_languages(tmp_path)
    second = site / "content" / "second.md"
    second.write_text(second.read_text(encoding="utf-8").replace("title: ", "title: [", 1), encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1
    assert [line for line in lines if line.startswith("content/second")] == [
        "content/second.md:2: YAML syntax error: did not find expected ',' or ']' (the '[' on this line is never "
        "closed with ']')"], lines


def test_a_translation_of_no_page_is_reported_with_the_other_pages_problems(tmp_path: Path) -> None:
    """A translation of no page is left out; it no longer keeps the other pages from being drawn and checked."""
    site = three_languages(tmp_path)
    (site / "content" / "extra.es.md").write_text("---\ntitle: Extra\nsummary: Sin original.\n---\nTexto.\n",
                                                  encoding="utf-8")
    first = site / "content" / "first.md"
    first.write_text(first.read_text(encoding="utf-8") + "\nA [broken link](../nowhere/).\n", encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1
    assert any(line.startswith("content/extra.es.md:1: this translates content/extra.md") for line in lines), lines
    assert any(line.startswith("content/first.md:") and "broken link '../nowhere/'" in line for line in lines), lines
