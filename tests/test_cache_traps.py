"""Changes of every kind never leave a cached build stale.

Each test copies the project (build.py, engine/, layouts/) and a fixture site to a temporary folder,
builds once with the cache, then changes the copy the way a maintainer or a writer would: an engine
module's output, a new value in the page context, a new front-matter field, a template reached
through a name computed when rendering, another language's strings, the title a timeline's year
pages carry. Every cached build after that, run with the copy's build.py, must equal a --no-cache
build of the same sources byte for byte, and the change must show.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bs4 import BeautifulSoup
from conftest import FIXTURES, ROOT, tree_digest

from engine.directives import EVENTS_LISTED


def copy_project(tmp_path: Path, fixture: str = "features") -> Path:
    """build.py, engine/ and layouts/ of this project with a fixture site's content and settings."""
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "engine", project / "engine", ignore=ignore)
    shutil.copytree(ROOT / "layouts", project / "layouts", ignore=ignore)
    shutil.copy(ROOT / "build.py", project / "build.py")
    shutil.copytree(FIXTURES / fixture, project, dirs_exist_ok=True, ignore=shutil.ignore_patterns("expected*.txt"))
    return project


# The copy's build.py in a new interpreter (the copy's engine, not the one under test): a build with
# each argument list in turn, in that one process, stopping at the first that fails.
_BUILDS = """
import json, sys
sys.path.insert(0, sys.argv[1])
import build
for arguments in sys.argv[2:]:
    code = build.main(json.loads(arguments))
    if code:
        sys.exit(code)
"""


def build(project: Path, *runs: list[str]) -> None:
    """Run the copy's build.py once per argument list (one plain cached build when none is given)."""
    config = ["--config", str(project / "site_config.yaml"), "--quiet"]
    result = subprocess.run([sys.executable, "-c", _BUILDS, str(project),
                             *(json.dumps(config + run) for run in (runs or ([],)))],
                            cwd=project, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr


def assert_cached_equals_clean(project: Path) -> None:
    """A cached build of the copy, then a --no-cache one into another folder: the same bytes."""
    clean = project.parent / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    build(project, [], ["--no-cache", "--output", str(clean)])
    assert tree_digest(project / "output") == tree_digest(clean)


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {file.name}: the test needs updating with the engine"
    file.write_text(text.replace(old, new), encoding="utf-8")


def soup(file: Path) -> BeautifulSoup:
    return BeautifulSoup(file.read_text(encoding="utf-8"), "html.parser")


def text_of(file: Path, selector: str) -> str:
    """The text of the one element of a built page that matches a CSS selector."""
    element = soup(file).select_one(selector)
    assert element is not None, f"no {selector} in {file.name}"
    return element.get_text()


def test_an_edited_engine_module_is_not_served_from_the_cache(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    build(project)
    edit(project / "engine" / "citations.py", """'<sup class="cite">['""", """'<sup class="cite cite-edited">['""")
    assert_cached_equals_clean(project)
    assert soup(project / "output" / "first" / "index.html").select("sup.cite-edited")


def test_a_new_context_value_follows_the_pages_it_comes_from(tmp_path: Path) -> None:
    """A value made from another page (the next section's summary) must follow that page's edits."""
    project = copy_project(tmp_path)
    build(project)
    edit(project / "engine" / "render.py", '''            "links": {name: root + url for name, url in view.special_urls.items()},
''', '''            "links": {name: root + url for name, url in view.special_urls.items()},
            "summary_upper": page.meta.summary.upper(),
            "next_summary_upper": following.summary.upper() if following else "",
''')
    edit(project / "layouts" / "section.html", '<p class="dek">{{ page.summary }}</p>',
         '<p class="dek">{{ page.summary }}</p><p class="upper">{{ summary_upper }}</p>'
         '<p class="next-upper">{{ next_summary_upper }}</p>')
    assert_cached_equals_clean(project)
    first = project / "output" / "first" / "index.html"
    assert text_of(first, "p.upper") == "THE FIRST SECTION CITES THREE SOURCES."
    edit(project / "content" / "second.md", "summary: The second section", "summary: The edited second section")
    assert_cached_equals_clean(project)
    assert text_of(first, "p.next-upper").startswith("THE EDITED SECOND SECTION")


def test_a_new_front_matter_field_survives_cached_builds(tmp_path: Path) -> None:
    """A field added the obvious way (on PageMeta, read by read_record, passed to the template) shows in
    the build that adds it and in every cached build after, when the page's parse comes from the cache."""
    project = copy_project(tmp_path)
    build(project)
    edit(project / "engine" / "content.py", '''    change_note: str = ""
''', '''    change_note: str = ""
    kicker: str = ""
''')
    edit(project / "engine" / "render.py", '"change_note": page.meta.change_note}',
         '"change_note": page.meta.change_note, "kicker": page.meta.kicker}')
    edit(project / "layouts" / "section.html", '<p class="dek">{{ page.summary }}</p>',
         '<p class="dek">{{ page.summary }}</p>{% if page.kicker %}<p class="kicker-note">{{ page.kicker }}</p>{% endif %}')
    edit(project / "content" / "first.md", "order: 1\n", "order: 1\nkicker: Read this first\n")
    first = project / "output" / "first" / "index.html"
    for _ in range(2):  # the second cached build takes the page's parse from the cache
        assert_cached_equals_clean(project)
        assert text_of(first, "p.kicker-note") == "Read this first"
    edit(project / "content" / "about.md", "This page says", "This page now says")
    assert_cached_equals_clean(project)
    assert text_of(first, "p.kicker-note") == "Read this first"


def test_a_template_included_by_a_computed_name_is_followed_by_the_cache(tmp_path: Path) -> None:
    """A layout may compute the name of what it includes (here from the page's kind): the cache cannot
    know which template that is, so an edit to the template it reaches must show in the next cached build."""
    project = copy_project(tmp_path)
    edit(project / "layouts" / "section.html", '<p class="dek">{{ page.summary }}</p>',
         '<p class="dek">{{ page.summary }}</p>{% include "partials/extra-" ~ page.kind ~ ".html" %}')
    extra = project / "layouts" / "partials" / "extra-section.html"
    extra.write_text('<p class="extra">Before</p>\n', encoding="utf-8")
    build(project)
    extra.write_text('<p class="extra">After</p>\n', encoding="utf-8")
    assert_cached_equals_clean(project)
    assert text_of(project / "output" / "first" / "index.html", "p.extra") == "After"


def test_another_languages_strings_reach_the_pages_that_name_it(tmp_path: Path) -> None:
    """Every page's language switcher names the other languages in their own words: an edit to the
    French strings table must show on the English pages of the next cached build."""
    project = copy_project(tmp_path, "three_languages")
    shutil.copy(project / "i18n" / "fr.yaml", project / "layouts" / "i18n" / "fr.yaml")
    (project / "content" / "second.fr.md").write_text(  # the fixture's one warning: no French second page
        '---\ntitle: Deuxième\nsummary: La deuxième section.\norder: 2\nupdated: "2018"\n---\n'
        "Une autre affirmation [@beta].\n", encoding="utf-8")
    build(project)
    edit(project / "layouts" / "i18n" / "fr.yaml", 'language_name: "Français"', 'language_name: "Françoys"')
    assert_cached_equals_clean(project)
    assert "Françoys" in text_of(project / "output" / "first" / "index.html", 'a[hreflang="fr"]')


def test_year_pages_follow_the_timeline_page_they_are_named_after(tmp_path: Path) -> None:
    """A timeline of more events than one page lists gets a page a year, titled after the timeline page:
    an edit to that title must show on them in the next cached build. (Here the timeline page is not in
    the navigation, whose titles every page shows.)"""
    project = copy_project(tmp_path)
    edit(project / "site_config.yaml", "nav: [first, second, timeline, glossary, sources, about]",
         "nav: [first, second, glossary, sources, about]")
    events = "".join(f'  - date: "{2000 + number // 100}-{1 + number % 12:02d}-01"\n    title: Event {number}\n'
                     "    sources: [alpha]\n    category: one\n" for number in range(EVENTS_LISTED))
    timeline = project / "content" / "timeline.yaml"
    timeline.write_text(timeline.read_text(encoding="utf-8") + events, encoding="utf-8")
    build(project)
    edit(project / "content" / "timeline.md", "title: Timeline\n", "title: Timelines\n")
    assert_cached_equals_clean(project)
    assert text_of(project / "output" / "timeline" / "2005" / "index.html", "h1").startswith("Timelines: 2005")


def test_the_cache_key_follows_every_library_that_shapes_output() -> None:
    """Each library in the engine's digest is named by its installed version (the one pip's metadata
    gives), or by its own files when its module gives no version."""
    import importlib
    from importlib import metadata

    sys.path.insert(0, str(ROOT))
    from engine.cache import LIBRARIES, _library_stamp

    distributions = metadata.packages_distributions()
    for name in LIBRARIES:
        stamp = _library_stamp(name)
        module = importlib.import_module(name)
        if "__version__" in vars(module):
            assert stamp == metadata.version(distributions[name][0]).encode(), name
        else:
            assert module.__file__ is not None and Path(module.__file__).read_bytes() in stamp, name
    assert {"jinja2", "markupsafe", "markdown", "yaml"} <= set(LIBRARIES)
