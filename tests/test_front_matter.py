"""Unit tests for front matter: splitting, validation messages with lines, slugs and page kinds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine.content import Page, parse_page, slugify, split_front_matter


def parse(text: str, name: str = "background.md") -> tuple[Page | None, list[str]]:
    """Parse one file's text as content/<name>; the problems as the lines the build prints."""
    page, problems = parse_page(text, f"content/{name}", Path(name), hashlib.sha256(text.encode()).hexdigest())
    return page, [str(p) for p in problems]


def test_split_keeps_body_line() -> None:
    front = split_front_matter("---\ntitle: T\nsummary: S\n---\n\nBody\n")
    assert front.yaml_text == "title: T\nsummary: S"
    assert front.body_line == 5
    assert front.body.split("\n")[1] == "Body"


def test_bom_and_windows_line_endings_work() -> None:
    page, problems = parse("\ufeff---\r\ntitle: T\r\nsummary: S\r\n---\r\nBody\r\n")
    assert problems == [] and page is not None
    assert page.meta.title == "T" and page.body == "Body\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "content/background.md:1: the file is empty; it needs front matter with at least a title and a summary"),
        ("# Title\n", "content/background.md:1: no front matter: the file must start with a line '---', "
                      "then title: and summary:, then '---'"),
        ("---\ntitle: T\n", "content/background.md:1: the front matter opened on line 1 is never closed: "
                            "add a line '---' after it"),
        ("---\n- a\n---\n", "content/background.md:2: the front matter must be key: value lines (a mapping)"),
        ("---\ntitle: T\ntitel: T\nsummary: S\n---\n", "content/background.md:3: unknown front matter key 'titel' "
                                             "(did you mean 'title'?)"),
        ("---\ntitle: T\n---\n", "content/background.md:2: missing required key 'summary'"),
        # mistakes the YAML parser only notices lines later, reported where they are
        ('---\ntitle: "Background\nsummary: S\norder: 1\nupdated: "2018"\n---\n',
         "content/background.md:2: YAML syntax error: did not find expected key "
         "(the quote that opens on this line is never closed)"),
        ("---\ntitle:Background\nsummary: S\n---\n",
         "content/background.md:2: YAML syntax error: mapping values are not allowed in this context "
         "(put a space after the ':' of 'title:')"),
        ('---\ntitle: "A long title\n  on two lines"\nsummary: S\n order: 1\n---\n',
         "content/background.md:5: YAML syntax error: mapping values are not allowed in this context "
         "(a value containing ': ' must be put in quotes)"),  # not blamed on the quote, which closes
        ("---\ntitle: T\nsummary: S\norder: first\n---\n",
         "content/background.md:4: 'order' must be a whole number, not 'first'"),
        ("---\ntitle: T\nsummary: S\ndraft: NO\n---\n",
         "content/background.md:4: 'draft' must be true or false, not 'NO' (write true or false)"),
        ("---\ntitle: T\nsummary: S\nupdated: 2018-02-30\n---\n",
         "content/background.md:4: 'updated': '2018-02-30' is not a real day (February has no day 30)"),
        ("---\ntitle: 1.10\nsummary: S\n---\n",
         "content/background.md:2: 'title' must be text, but YAML read 1.10 as a number (put it in quotes: title: \"1.10\")"),
        ("---\ntitle: T\nsummary: S\nslug: Big Slug\n---\n",
         "content/background.md:4: 'slug' may hold only lowercase letters, digits and '-', not 'Big Slug' "
         "(did you mean 'big-slug'?)"),
    ],
    ids=["empty", "no-fence", "unterminated", "not-mapping", "unknown-key", "missing-summary", "quote-left-open",
         "no-space-after-colon", "bad-indent-after-a-long-quote", "order-type",
         "yaml11-no", "impossible-date", "float-title", "bad-slug"],
)
def test_front_matter_problems(text: str, expected: str) -> None:
    page, problems = parse(text)
    assert page is None or page.unread
    assert problems == [expected]


@pytest.mark.parametrize(
    ("name", "front", "kind", "url"),
    [
        ("index.md", "", "home", ""),
        ("background.md", "order: 1\n", "section", "background/"),
        ("about.md", "", "page", "about/"),
        ("about.md", "slug: who-we-are\n", "page", "who-we-are/"),
        ("Mexican Politics.md", "order: 3\n", "section", "mexican-politics/"),
        ("política.md", "", "page", "política/"),
    ],
)
def test_kind_and_url(name: str, front: str, kind: str, url: str) -> None:
    page, problems = parse(f"---\ntitle: T\nsummary: S\n{front}---\nBody\n", name)
    assert problems == [] and page is not None
    assert (page.kind, page.url) == (kind, url)


@pytest.mark.parametrize(("text", "slug"), [("Hello World", "hello-world"), ("  --a__b--  ", "a-b"), ("¿?", "page")])
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug
    assert slugify(slug) == slug
