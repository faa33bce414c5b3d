"""Our words are our own: no run of 10 or more words in content/ may repeat a seed article.

The seed articles live in shared/seeds/ beside the repository (../shared/seeds).
Text inside quotation marks (“…” or "…") is a quotation and is left out; so are
the bibliographic fields of sources.yaml (a source's title must be copied
exactly), web addresses and citation markers. Everything else a reader sees is
compared: front matter values, Markdown bodies and every string in the YAML
data files.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import pytest
import yaml
from conftest import ROOT

SEEDS = ROOT.parent / "shared" / "seeds"
CONTENT = ROOT / "content"
RUN = 10
# Fields that name a source rather than say something about it.
BIBLIOGRAPHIC_KEYS = frozenset({"title", "publisher", "authors", "url", "archive_url", "date", "kind"})

# Where a run of our own words stops: a quotation, a citation, a link target, a directive, a blank line.
_BREAKS = re.compile(r"“[^”]*”|\"[^\"\n]*\"|\[@[^\]]*\]|https?://\S+|\]\([^)]*\)|^:::.*$|\n\s*\n", re.M)
_APOSTROPHES = str.maketrans({"’": "", "‘": "", "'": "", "`": ""})
_BREAK = "\n\n"  # a quotation or a separate field never joins the words on either side


def normalise_words(text: str) -> list[str]:
    """Lower-case words without apostrophes or punctuation: "Mexico’s" -> "mexicos", "U.S." -> "u", "s"."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES)
    return re.findall(r"[^\W_]+", text)


def prose_segments(text: str) -> list[str]:
    """Stretches of our own prose: the text split at quotations, citations and links."""
    return [part for part in _BREAKS.split(text) if part.strip()]


def seed_runs(seed_text: str, size: int = RUN) -> set[tuple[str, ...]]:
    """Every run of `size` consecutive words in a seed article."""
    words = normalise_words(seed_text)
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def copied_runs(text: str, runs: set[tuple[str, ...]], size: int = RUN) -> list[str]:
    """Runs of `size` words of our prose (outside quotations) that also appear in the seeds."""
    found = []
    for segment in prose_segments(text):
        words = normalise_words(segment)
        for i in range(len(words) - size + 1):
            if tuple(words[i:i + size]) in runs:
                found.append(" ".join(words[i:i + size]))
    return found


def _strings(value: object, skip_keys: frozenset[str] = frozenset()) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in skip_keys:
                yield from _strings(item, skip_keys)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, skip_keys)


def content_texts() -> Iterator[tuple[str, str]]:
    """(file, text) for every piece of reader-facing text in content/."""
    for file in sorted(CONTENT.rglob("*")):
        name = file.relative_to(ROOT).as_posix()
        if file.suffix == ".md":
            raw = file.read_text(encoding="utf-8")
            _, front, body = raw.split("---", 2)
            yield name, _BREAK.join(_strings(yaml.safe_load(front)))
            yield name, body
        elif file.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
            if file.name == "sources.yaml":
                for entry in data.values():
                    yield name, _BREAK.join(_strings(entry, BIBLIOGRAPHIC_KEYS))
            else:
                yield name, _BREAK.join(_strings(data))


@pytest.fixture(scope="module")
def runs() -> set[tuple[str, ...]]:
    seeds = sorted(SEEDS.glob("*.txt"))
    assert seeds, f"no seed articles found in {SEEDS}"
    return set().union(*(seed_runs(seed.read_text(encoding="utf-8")) for seed in seeds))


def test_content_repeats_no_ten_word_run_from_a_seed(runs: set[tuple[str, ...]]) -> None:
    texts = list(content_texts())
    assert len({name for name, _ in texts}) >= 10, "content/ is missing files"
    copied = [f"{name}: “{run}”" for name, text in texts for run in copied_runs(text, runs)]
    assert not copied, "copied from a seed article:\n" + "\n".join(copied)


SEED_SAMPLE = "The courts received 119,144 defensive asylum applications in 2017, up from 68,530 in 2016."


@pytest.mark.parametrize(("ours", "expected"), [
    # A copied run of ten words is caught, whatever the case, punctuation or apostrophes.
    ("In short, THE COURTS received 119,144 defensive asylum applications in 2017 [@wapo].",
     ["the courts received 119 144 defensive asylum applications in 2017"]),
    ("The Courts’ received 119,144 defensive asylum-applications in 2017!",
     ["the courts received 119 144 defensive asylum applications in 2017"]),
    # Inside quotation marks, straight or curly, the words are a quotation.
    ("As the Post put it, “the courts received 119,144 defensive asylum applications in 2017”.", []),
    ('As the Post put it, "the courts received 119,144 defensive asylum applications in 2017".', []),
    # Nine words in common is allowed; a citation breaks a run.
    ("Then the courts received 119,144 defensive asylum applications that year.", []),
    ("The courts received 119,144 defensive [@wapo] asylum applications in 2017.", []),
])
def test_overlap_detector(ours: str, expected: list[str]) -> None:
    assert copied_runs(ours, seed_runs(SEED_SAMPLE)) == expected


def test_curly_and_straight_apostrophes_compare_equal() -> None:
    seed = "It might seem surprising that Mexico’s officials and the United States are in talks."
    ours = "it might seem surprising that Mexico's officials and the United States are here"
    assert copied_runs(ours, seed_runs(seed)) == [
        "it might seem surprising that mexicos officials and the united",
        "might seem surprising that mexicos officials and the united states",
        "seem surprising that mexicos officials and the united states are",
    ]
