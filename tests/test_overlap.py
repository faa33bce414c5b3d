"""Our words are our own and our quotations are the sources' own, checked against a fingerprint of the seed articles.

The two seed articles (The Washington Post of 10 July 2018, source `wapo`, and the Daily Caller
of 17 May 2018, source `dailycaller`) are copyrighted and stay out of the repository.
tests/seeds_fingerprint.json holds salted hashes of their runs of words instead, so these tests
need nothing beside the repository; tools/seeds/fingerprint.py makes it, and its `--check` tells
whoever has the articles when it is stale. Words are compared normalised: NFKC, lower case,
apostrophes dropped, punctuation ignored.

Copying: no run of 10 or more words of ours appears in either article. Text inside quotation
marks (“…” or "…") is a quotation and is left out (the quoted values of HTML attributes, such as
`lang="en"`, are not); so are the bibliographic fields of
sources.yaml (a source's title must be copied exactly), the ledger's page, source and quote,
web addresses, citation markers and directive lines. Everything else a reader sees is compared:
front matter values, Markdown bodies and every string in the YAML data files.

Quotations: a quotation is attributed to the sources of the first citation marker after it in
its paragraph (or data string), the marker that closes the passage it stands in; with no marker
after it, to every source its paragraph or data entry cites. A data entry also cites the ids in
its `sources` or `source` field, a sources.yaml entry cites itself, and a paragraph that cites
nothing takes the citations of a paragraph before it that ends in a colon (a list it introduces).
A quotation attributed to a seed article must appear in it verbatim (in at least one, when it is
attributed to both); the parts between an ellipsis or a [bracketed insertion] are checked one by
one. Quotations attributed to other sources, and scare quotes in passages that cite no seed
article, are left alone. A scare-quoted word in a passage that cites one needs no exemption: it
passes when the article uses that word.

The claims ledger, content/claims.yaml, when there is one: every source is in sources.yaml; an
entry backed by a seed article quotes it, verbatim and in at most 20 words; every entry rests on
a quote or a stated basis; every entry's text is on its page, word for word (runs of white space
count as one space).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT

from tools.seeds import fingerprint as seeds
from tools.seeds.fingerprint import RUN, SeedArticle, normalise_words

LEDGER = Path("content") / "claims.yaml"
# Fields that name a source rather than say something about it.
BIBLIOGRAPHIC_KEYS = frozenset({"title", "publisher", "authors", "url", "archive_url", "accessed", "date", "kind"})
# Per data file, the values that are not our prose: names of things, and the ledger's quotes of the sources.
NOT_PROSE = {"sources.yaml": BIBLIOGRAPHIC_KEYS, "claims.yaml": frozenset({"page", "source", "quote"})}
# The fields in which a data entry names the sources it rests on.
CITING_KEYS = frozenset({"sources", "source"})
QUOTE_WORDS = 20
# The ledger's keys, and whether every entry needs it; an entry also needs a quote or a basis.
LEDGER_KEYS = {"page": True, "text": True, "claim": True, "source": True, "quote": False, "basis": False}

# Where a run of our own words stops: a quotation, a citation, a link target, a directive, a blank line.
_BREAKS = re.compile(r"“[^”]*”|\"[^\"\n]*\"|\[@[^\]]*\]|https?://\S+|\]\([^)]*\)|^:::.*$|\n\s*\n", re.M)
_QUOTATION = re.compile(r"“([^”]*)”|\"([^\"\n]*)\"")
_CITATION = re.compile(r"\[@[^\]]*\]")
_CITED_ID = re.compile(r"@([\w-]+)")
_DIRECTIVE = re.compile(r"^:::.*$", re.M)
# An HTML tag in Markdown (`<span lang="en">` around an English quotation in a translation): its
# attribute values are markup, not quotations.
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# What a quotation may leave out or add: an ellipsis, or words of ours in square brackets.
_ELISION = re.compile(r"…|\.\.\.|\[[^\]]*\]")
_STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Passage:
    """A paragraph, a front matter value or a data string: where it is, its text, and what its paragraph or entry cites."""

    source: str
    line: int
    text: str
    cites: tuple[str, ...]


@dataclass(frozen=True)
class Quotation:
    """Words in quotation marks, with the sources they are attributed to."""

    source: str
    line: int
    text: str
    cites: tuple[str, ...]


def cited_ids(text: str) -> tuple[str, ...]:
    """The source ids of every citation marker in a text, in order, once each."""
    ids = (found for marker in _CITATION.findall(text) for found in _CITED_ID.findall(marker))
    return tuple(dict.fromkeys(ids))


def _flatten(node: yaml.Node) -> Iterator[yaml.Node]:
    """A node, or the items of a sequence (of sequences), which belong to the mapping holding them."""
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _flatten(item)
    else:
        yield node


def _entries(node: yaml.Node, name: str) -> Iterator[tuple[str, list[tuple[str, yaml.ScalarNode]]]]:
    """Every mapping in a YAML tree, with the key it sits under and its own strings; nested mappings are entries of their own."""
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _entries(item, name)
    elif isinstance(node, yaml.MappingNode):
        own: list[tuple[str, yaml.ScalarNode]] = []
        for key_node, value in node.value:
            key = str(key_node.value)
            for child in _flatten(value):
                if isinstance(child, yaml.ScalarNode):
                    if child.tag == _STR:
                        own.append((key, child))
                else:
                    yield from _entries(child, key)
        yield name, own


def yaml_passages(source: str, text: str, line_offset: int = 0) -> Iterator[Passage]:
    """Each string of a YAML file (or front matter) that is our prose, with what its entry cites."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:
        return
    file_name = source.rsplit("/", 1)[-1]
    not_prose = NOT_PROSE.get(file_name, frozenset())
    for name, strings in _entries(root, ""):
        cites = [found for _, node in strings for found in cited_ids(node.value)]
        cites += [node.value for key, node in strings if key in CITING_KEYS]
        if file_name == "sources.yaml" and name:
            cites.append(name)
        for key, node in strings:
            if key not in not_prose and key not in CITING_KEYS:
                yield Passage(source, node.start_mark.line + 1 + line_offset, node.value, tuple(dict.fromkeys(cites)))


def markdown_passages(source: str, raw: str) -> Iterator[Passage]:
    """The front matter values and the paragraphs of a Markdown page, each paragraph with what it cites."""
    _, front, body = raw.split("---", 2)
    yield from yaml_passages(source, front)
    line = raw.count("\n", 0, 3 + len(front)) + 1  # the closing fence, where `body` starts
    paragraphs: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for number, text in enumerate(body.split("\n"), line):
        if not text.strip():
            current = []
            continue
        if not current:
            paragraphs.append((number, current))
        current.append(text)
    introduced: tuple[str, ...] = ()
    for first, lines in paragraphs:
        text = "\n".join(lines)
        cites = cited_ids(text) or introduced
        yield Passage(source, first, text, cites)
        introduced = cites if text.rstrip().endswith(":") else ()


def passages(root: Path) -> list[Passage]:
    """Every passage of reader-facing text in root/content/, in file and line order."""
    found: list[Passage] = []
    for file in sorted((root / "content").rglob("*")):
        source = file.relative_to(root).as_posix()
        if file.suffix == ".md":
            found += markdown_passages(source, file.read_text(encoding="utf-8"))
        elif file.suffix in (".yaml", ".yml"):
            found += yaml_passages(source, file.read_text(encoding="utf-8"))
    return found


def prose_segments(text: str) -> list[tuple[int, str]]:
    """Stretches of our own prose, with their offsets: the text split at quotations, citations and links."""
    segments, start = [], 0
    for match in _BREAKS.finditer(text):
        segments.append((start, text[start:match.start()]))
        start = match.end()
    segments.append((start, text[start:]))
    return [(offset, part) for offset, part in segments if part.strip()]


def copied_stretches(words: Sequence[str], article: SeedArticle) -> list[str]:
    """The longest stretches of these words, each of RUN words or more, that the article also has."""
    stretches: list[list[int]] = []
    for start in article.copied(words):
        if stretches and start == stretches[-1][1] + 1:
            stretches[-1][1] = start
        else:
            stretches.append([start, start])
    return [" ".join(words[first:last + RUN]) for first, last in stretches]


def copy_problems(root: Path, articles: Sequence[SeedArticle]) -> list[str]:
    """One line per stretch of our prose of RUN words or more that a seed article has."""
    problems = []
    for passage in passages(root):
        for offset, segment in prose_segments(passage.text):
            line = passage.line + passage.text.count("\n", 0, offset)
            words = normalise_words(segment)
            for article in articles:
                problems += [f"{passage.source}:{line}: “{stretch}” ({len(stretch.split())} words) is in {article.label}"
                             for stretch in copied_stretches(words, article)]
    return problems


def quotations(passage: Passage) -> Iterator[Quotation]:
    """The quotations of a passage, each attributed to the citation that closes it, else to the whole passage's."""
    text = _TAG.sub("", _DIRECTIVE.sub("", passage.text))
    for match in _QUOTATION.finditer(text):
        closing = _CITATION.search(text, match.end())
        cites = cited_ids(closing.group()) if closing else passage.cites
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        yield Quotation(passage.source, passage.line + text.count("\n", 0, match.start()), quoted, cites)


def is_quoted_in(quoted: str, article: SeedArticle) -> bool:
    """Whether quoted words are the article's own: each part between elisions verbatim, and at least one word."""
    parts = [words for part in _ELISION.split(quoted) if (words := normalise_words(part))]
    return bool(parts) and all(article.contains(words) for words in parts)


def backing(cites: Sequence[str], articles: Sequence[SeedArticle]) -> list[SeedArticle]:
    """The seed articles that back any of these source ids."""
    return [article for article in articles if set(article.sources) & set(cites)]


def _labels(articles: Sequence[SeedArticle]) -> str:
    return " or ".join(article.label for article in articles)


def quotation_problems(root: Path, articles: Sequence[SeedArticle]) -> tuple[list[str], int]:
    """One line per quotation attributed to a seed article that is not in it; and how many were checked."""
    problems, checked = [], 0
    for passage in passages(root):
        for quotation in quotations(passage):
            cited = backing(quotation.cites, articles)
            if not cited or not normalise_words(quotation.text):
                continue
            checked += 1
            if not any(is_quoted_in(quotation.text, article) for article in cited):
                problems.append(f"{quotation.source}:{quotation.line}: “{quotation.text}” is not in {_labels(cited)}")
    return problems, checked


def _suggest(word: str, choices: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _squeezed(text: str) -> str:
    return " ".join(text.split())


def ledger_problems(root: Path, ledger: Path, articles: Sequence[SeedArticle]) -> list[str]:
    """Every problem of a claims ledger, one line each, as `ledger:line: message`."""
    shown = ledger.relative_to(root).as_posix()
    source_ids = list(yaml.safe_load((root / "content" / "sources.yaml").read_text(encoding="utf-8")))
    try:
        document = yaml.compose(ledger.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        return [f"{shown}:{mark.line + 1 if mark else 1}: not valid YAML: {error.problem}"]
    claims = None
    if isinstance(document, yaml.MappingNode):
        claims = next((value for key, value in document.value if key.value == "claims"), None)
    if not isinstance(claims, yaml.SequenceNode):
        return [f"{shown}:1: expected a mapping with a 'claims' list"]
    problems: list[tuple[int, str]] = []
    for entry in claims.value:
        line = entry.start_mark.line + 1
        if not isinstance(entry, yaml.MappingNode):
            problems.append((line, f"a claim is a mapping of {', '.join(LEDGER_KEYS)}"))
            continue
        fields: dict[str, tuple[int, str]] = {}
        for key_node, value in entry.value:
            key, key_line = str(key_node.value), key_node.start_mark.line + 1
            if key not in LEDGER_KEYS:
                problems.append((key_line, f"unknown key '{key}'{_suggest(key, list(LEDGER_KEYS))}"))
            elif not (isinstance(value, yaml.ScalarNode) and value.tag == _STR and value.value.strip()):
                problems.append((key_line, f"'{key}' must be text"))
            fields[key] = (key_line, value.value if isinstance(value, yaml.ScalarNode) else "")
        problems += [(line, f"claim has no '{key}'") for key, required in LEDGER_KEYS.items() if required and key not in fields]
        problems += _claim_problems(root, line, fields, source_ids, articles)
    return [f"{shown}:{line}: {message}" for line, message in sorted(problems, key=lambda problem: problem[0])]


def _claim_problems(root: Path, line: int, fields: dict[str, tuple[int, str]],
                    source_ids: Sequence[str], articles: Sequence[SeedArticle]) -> list[tuple[int, str]]:
    """The problems of one ledger entry's page, text, source and quote, as (line, message)."""
    problems = []
    if "page" in fields:
        page_line, page = fields["page"]
        file = (root / page).resolve()
        if not (file.is_relative_to(root.resolve()) and file.is_file()):
            problems.append((page_line, f"page '{page}' does not exist"))
        elif "text" in fields and _squeezed(fields["text"][1]) not in _squeezed(file.read_text(encoding="utf-8")):
            problems.append((fields["text"][0], f"text is not in {page}: “{fields['text'][1]}”"))
    cited: list[SeedArticle] = []
    if "source" in fields:
        source_line, source = fields["source"]
        if source not in source_ids:
            problems.append((source_line, f"unknown source id '{source}'{_suggest(source, source_ids)}"))
        cited = backing([source], articles)
    if "quote" in fields:
        quote_line, quote = fields["quote"]
        if len(normalise_words(quote)) > QUOTE_WORDS:
            problems.append((quote_line, f"quote has {len(normalise_words(quote))} words; at most {QUOTE_WORDS}"))
        if cited and not any(is_quoted_in(quote, article) for article in cited):
            problems.append((quote_line, f"quote is not in {_labels(cited)}: “{quote}”"))
    elif cited:
        problems.append((line, f"claim rests on {_labels(cited)} but has no 'quote' of its words"))
    elif "basis" not in fields:
        problems.append((line, "claim has neither 'quote' nor 'basis'"))
    return problems


# The committed fingerprint and today's content.


@pytest.fixture(scope="module")
def articles() -> tuple[SeedArticle, ...]:
    return seeds.load_fingerprint()


def test_fingerprint_file_is_canonical_and_small() -> None:
    text = seeds.FINGERPRINT.read_text(encoding="utf-8")
    data = json.loads(text)
    assert seeds.dump_fingerprint(data) == text, "not as tools/seeds/fingerprint.py writes it"
    assert len(text.encode()) < 512 * 1024
    assert (data["format"], data["salt"], data["longest_run"]) == (seeds.FORMAT, seeds.SALT, RUN)
    for article in data["articles"]:
        for key in ("runs", "repeated", "bridges"):
            hashes = article[key]
            assert hashes == sorted(set(hashes)), f"{article['label']}: {key} not sorted and unique"
            assert all(re.fullmatch(r"[0-9a-f]{12}", h) for h in hashes), f"{article['label']}: {key} holds more than hashes"


def test_fingerprint_backs_the_two_seed_articles(articles: tuple[SeedArticle, ...]) -> None:
    known = yaml.safe_load((ROOT / "content" / "sources.yaml").read_text(encoding="utf-8"))
    assert {(article.label, article.sources) for article in articles} == {
        ("The Washington Post, 10 July 2018", ("wapo",)),
        ("The Daily Caller, 17 May 2018", ("dailycaller",)),
    }
    for article in articles:
        assert set(article.sources) <= set(known), f"{article.label}: a source id not in content/sources.yaml"
        assert len(article.runs) > article.words, f"{article.label}: runs of every length expected"


def test_content_repeats_no_ten_word_run_from_a_seed(articles: tuple[SeedArticle, ...]) -> None:
    assert len({passage.source for passage in passages(ROOT)}) >= 10, "content/ is missing files"
    problems = copy_problems(ROOT, articles)
    assert not problems, "copied from a seed article:\n" + "\n".join(problems)


def test_quotations_of_the_seed_articles_are_verbatim(articles: tuple[SeedArticle, ...]) -> None:
    problems, _ = quotation_problems(ROOT, articles)
    assert not problems, "misquoted:\n" + "\n".join(problems)


def test_claims_ledger(articles: tuple[SeedArticle, ...]) -> None:
    if not (ROOT / LEDGER).is_file():
        pytest.skip(f"no {LEDGER.as_posix()} yet")
    problems = ledger_problems(ROOT, ROOT / LEDGER, articles)
    assert not problems, "\n".join(problems)


# A synthetic article, written for these tests, fingerprinted by the same code: each check can fail.

ARTICLE = """RIVERTON — The town council voted on Tuesday to delay the new bridge over the Alder River,
a project that officials have called “long overdue” since 2015.

The mayor said the vote was a setback but not the end. “We will build it, one way or another,”
she told reporters after the meeting.

Residents who drive to the mill every morning say the old crossing is narrow, slow and often
closed by floods in the spring. The council’s engineers put the cost at 14.5 million dollars,
up from 9 million in 2015.

Read more: Council votes to delay the new bridge over the Alder River
"""
GAZETTE = "The Riverton Gazette, 1 March 2024"


@pytest.fixture(scope="module")
def gazette() -> tuple[SeedArticle, ...]:
    made = seeds.make_fingerprint([seeds.fingerprint_article(ARTICLE, GAZETTE, ["gazette"])])
    return seeds.parse_fingerprint(seeds.dump_fingerprint(made))


def _copied(text: str, articles: Sequence[SeedArticle]) -> list[str]:
    return [stretch for _, segment in prose_segments(text) for article in articles
            for stretch in copied_stretches(normalise_words(segment), article)]


@pytest.mark.parametrize(("ours", "expected"), [
    # A copied run of ten words or more is caught, whatever the case, punctuation or apostrophes.
    ("In short, RESIDENTS WHO DRIVE to the mill every morning say the old crossing is narrow [@gazette].",
     ["residents who drive to the mill every morning say the old crossing is narrow"]),
    ("The council's engineers put the cost at 14.5 million dollars!",
     ["the councils engineers put the cost at 14 5 million dollars"]),
    # Inside quotation marks, straight or curly, the words are a quotation.
    ("As the Gazette put it, “the council’s engineers put the cost at 14.5 million dollars”.", []),
    ('As the Gazette put it, "the council’s engineers put the cost at 14.5 million dollars".', []),
    # Nine words in common is allowed; a citation, a link or a blank line breaks a run.
    ("They said the old crossing is narrow, slow and often closed.", []),
    ("Residents who drive to the mill [@gazette] every morning say the old crossing is narrow.", []),
    ("Residents who drive to the [mill](https://example.org/) every morning say the old crossing.", []),
    ("Residents who drive to the mill\n\nevery morning say the old crossing is narrow.", []),
])
def test_copy_detector(ours: str, expected: list[str], gazette: tuple[SeedArticle, ...]) -> None:
    assert _copied(ours, gazette) == expected


@pytest.mark.parametrize(("quoted", "verbatim"), [
    ("long overdue", True),
    ("setback", True),
    ("failure", False),
    ("We will build it, one way or another", True),
    ("We’ll build it, one way or another", False),
    ("one way or another, we will build it", False),
    ("since 2015. The mayor said the vote was a setback", True),
    # Longer than ten words: checked in overlapping windows of ten.
    ("Residents who drive to the mill every morning say the old crossing is narrow, slow and often closed by floods", True),
    ("Residents who drive to the mill every morning say the old crossing is narrow, slow and often closed by ice", False),
    # Through the passage the article repeats: the true one passes, one stitched from both places does not.
    ("voted on Tuesday to delay the new bridge over the Alder River, a project that officials have called", True),
    ("Council votes to delay the new bridge over the Alder River, a project that officials have called", False),
    # Elisions and insertions: each part verbatim.
    ("The mayor said … she told reporters", True),
    ("The mayor said ... [the mayor] told reporters after the meeting", True),
    ("The mayor said … he told reporters", False),
    ("…", False),
])
def test_quotation_checker(quoted: str, verbatim: bool, gazette: tuple[SeedArticle, ...]) -> None:
    assert is_quoted_in(quoted, gazette[0]) is verbatim


@pytest.mark.parametrize(("text", "cites", "expected"), [
    # The citation that closes a quotation's passage is the one it is attributed to.
    ('One official called it "ridiculous" [@wapo]. Another said “fine” [@newser; @cndh].', ("wapo", "newser", "cndh"),
     [("ridiculous", ("wapo",)), ("fine", ("newser", "cndh"))]),
    # After the last citation, or in a passage with none: whatever the passage cites.
    ('He said "yes" [@wapo]. Then he left, "again".', ("wapo",), [("yes", ("wapo",)), ("again", ("wapo",))]),
    ('What "spring 2018" means is unclear.', (), [("spring 2018", ())]),
    # A directive line is no quotation.
    ('::: callout "What we know"\nText.', (), []),
    # An attribute's quoted value is markup: the English quotation inside the tag is the quotation.
    ('Lo llamó <span lang="en">“a critic”</span> (un crítico) [@dailycaller].', ("dailycaller",),
     [("a critic", ("dailycaller",))]),
])
def test_attribution(text: str, cites: tuple[str, ...], expected: list[tuple[str, tuple[str, ...]]]) -> None:
    found = quotations(Passage("content/page.md", 1, text, cites))
    assert [(quotation.text, quotation.cites) for quotation in found] == expected


def test_passages_carry_lines_and_citations(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "page.md").write_text(
        '---\ntitle: A "page"\n---\nIt was "long overdue" [@gazette].\n\n'
        "The plan had two parts [@gazette]:\n\n- a \"bridge\";\n- a road.\n\nNothing cited, \"quoted\".\n",
        encoding="utf-8")
    (tmp_path / "content" / "sources.yaml").write_text(
        'gazette:\n  title: "A “title”"\n  note: "Its “note”."\nalmanac:\n  note: "Says “x”."\n', encoding="utf-8")
    (tmp_path / "content" / "events.yaml").write_text(
        'events:\n  - title: A “title”\n    sources: [gazette]\n  - body: "One “two” [@almanac]."\n', encoding="utf-8")
    found = [(q.source, q.line, q.text, q.cites) for passage in passages(tmp_path) for q in quotations(passage)]
    assert found == [
        ("content/events.yaml", 2, "title", ("gazette",)),
        ("content/events.yaml", 4, "two", ("almanac",)),
        ("content/page.md", 2, "page", ()),
        ("content/page.md", 4, "long overdue", ("gazette",)),
        ("content/page.md", 8, "bridge", ("gazette",)),
        ("content/page.md", 11, "quoted", ()),
        ("content/sources.yaml", 3, "note", ("gazette",)),
        ("content/sources.yaml", 5, "x", ("almanac",)),
    ]


def _expected(name: str) -> list[str]:
    """The problem lines a fixture expects, one a line."""
    text: str = (FIXTURES / "claims" / name).read_text(encoding="utf-8")
    return text.splitlines()


def test_checks_pass_on_a_correct_fixture(gazette: tuple[SeedArticle, ...]) -> None:
    site = FIXTURES / "claims"
    assert copy_problems(site, gazette) == []
    assert quotation_problems(site, gazette) == ([], 3)
    assert ledger_problems(site, site / LEDGER, gazette) == []


def test_checks_catch_copying_and_misquotation(gazette: tuple[SeedArticle, ...]) -> None:
    site = FIXTURES / "claims" / "invalid"
    assert copy_problems(site, gazette) == _expected("invalid/expected_copying.txt")
    assert quotation_problems(site, gazette) == (_expected("invalid/expected_quotations.txt"), 4)


def test_ledger_problems(gazette: tuple[SeedArticle, ...]) -> None:
    site = FIXTURES / "claims"
    problems = ledger_problems(site, site / "invalid" / "claims.yaml", gazette)
    assert problems == _expected("invalid/expected_claims.txt")


# The script that makes the fingerprint, on synthetic seeds in place of the real ones.


def test_fingerprint_script_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    for number, name in enumerate(seeds.ARTICLES):
        (folder / name).write_text(ARTICLE.replace("Tuesday", f"day {number}"), encoding="utf-8")
    output = tmp_path / "fingerprint.json"
    assert seeds.main(["--seeds", str(folder), "--output", str(output)]) == 0
    first = output.read_bytes()
    assert seeds.main(["--seeds", str(folder), "--output", str(output)]) == 0
    assert output.read_bytes() == first, "the same seeds give the same bytes"
    assert not {"riverton", "council", "crossing", "mayor"} & set(normalise_words(first.decode())), "words of the article"
    capsys.readouterr()

    assert seeds.main(["--seeds", str(folder), "--output", str(output), "--check"]) == 0
    changed = folder / next(iter(seeds.ARTICLES))
    changed.write_text(ARTICLE.replace("narrow", "wide"), encoding="utf-8")
    assert seeds.main(["--seeds", str(folder), "--output", str(output), "--check"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{output} differs from what {folder} gives: run python tools/seeds/fingerprint.py and commit the result"]

    (folder / "extra.txt").write_text("An article nobody listed.", encoding="utf-8")
    assert seeds.main(["--seeds", str(folder), "--output", str(output), "--check"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{folder / 'extra.txt'}: not a known seed article; add it to ARTICLES in tools/seeds/fingerprint.py"]
    assert seeds.main(["--seeds", str(tmp_path / "nowhere"), "--output", str(output)]) == 2
    assert output.read_bytes() == first
