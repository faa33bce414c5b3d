"""Make tests/seeds_fingerprint.json, salted hashes of the seed articles' word runs, and read it back.

The seed articles are copyrighted, so they stay out of the repository; the tests check our prose
against this fingerprint instead, which lets them run on a fresh clone. Per article it holds the
hashes of every run of 1 to 10 normalised words: a 10-word run of ours found there was copied,
and a quotation of up to 10 words is in the article when its own hash is. A longer quotation is
there when its 10-word windows are and they join up, which the hashes of the runs the article
repeats (and of those runs with a word either side) settle exactly. No positions or order are
stored, and no counts beyond each article's length and which of its long runs repeat.

The salt is fixed and published, so anyone can test a guess against the file, as the tests do:
it hides the text only as well as the text resists being guessed. The 1-word hashes give away
the article's vocabulary to a dictionary, and from 9 known consecutive words the next can be
guessed one at a time; what the file does not do is hand anyone the text.

    python tools/seeds/fingerprint.py            # write the fingerprint from ../shared/seeds
    python tools/seeds/fingerprint.py --check    # exit 1 if the committed one differs
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SEEDS = ROOT.parent / "shared" / "seeds"
FINGERPRINT = ROOT / "tests" / "seeds_fingerprint.json"

FORMAT = 1
SALT = "explainer-stca-2018 seed fingerprint 1"
# 48 bits: with ~20,000 runs stored and ~10,000 of ours looked up, a chance collision is about 1 in a million.
DIGEST_BYTES = 6
# The copying threshold, and the window a longer quotation is checked in.
RUN = 10

# Each seed file, the publisher and date it is cited by, and the ids in content/sources.yaml it backs.
ARTICLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "000_61d0dca989a0fca6.txt": ("The Washington Post, 10 July 2018", ("wapo",)),
    "002_0ffa1707752bd547.txt": ("The Daily Caller, 17 May 2018", ("dailycaller",)),
}

NORMALISATION = "NFKC, lower case, apostrophes (’ ‘ ' `) dropped, words = [^\\W_]+"
HASH = f"blake2b, {DIGEST_BYTES}-byte digest keyed with the salt, of the run's words joined by single spaces"

_APOSTROPHES = str.maketrans({"’": "", "‘": "", "'": "", "`": ""})
_WORD = re.compile(r"[^\W_]+")


def normalise_words(text: str) -> list[str]:
    """Lower-case words without apostrophes or punctuation: "Mexico’s" -> "mexicos", "U.S." -> "u", "s"."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES))


def hash_run(words: Sequence[str]) -> str:
    """The salted, truncated hash of one run of normalised words, as hex."""
    return hashlib.blake2b(" ".join(words).encode(), digest_size=DIGEST_BYTES, key=SALT.encode()).hexdigest()


@dataclass(frozen=True)
class SeedArticle:
    """One article as the fingerprint knows it: hashes of its runs, never its words."""

    label: str
    sources: tuple[str, ...]
    words: int
    runs: frozenset[str]  # every run of 1 to RUN words
    repeated: frozenset[str]  # every run of RUN - 1 words or more that occurs more than once
    bridges: frozenset[str]  # every run of RUN + 1 words or more whose inner run (a word off each end) is repeated

    def contains(self, words: Sequence[str]) -> bool:
        """Whether these words occur in the article in this order, next to each other (exact up to collisions)."""

        @functools.cache
        def occurs(start: int, end: int) -> bool:
            span = words[start:end]
            if end - start <= RUN:
                return hash_run(span) in self.runs
            if not (occurs(start, end - 1) and occurs(start + 1, end)):
                return False
            # Both ends occur and overlap on the inner run; if that occurs once, they overlap at that
            # one place and the whole span is there. If it occurs more often, the bridges say.
            return hash_run(words[start + 1:end - 1]) not in self.repeated or hash_run(span) in self.bridges

        return bool(words) and occurs(0, len(words))

    def copied(self, words: Sequence[str]) -> list[int]:
        """Where a run of RUN words of ours starts that the article also has."""
        return [i for i in range(len(words) - RUN + 1) if hash_run(words[i:i + RUN]) in self.runs]


def fingerprint_article(text: str, label: str, sources: Iterable[str]) -> dict[str, object]:
    """The fingerprint entry of one article: sorted hashes of its runs, its repeated runs and their bridges."""
    words = normalise_words(text)
    runs = {hash_run(words[i:i + n]) for n in range(1, RUN + 1) for i in range(len(words) - n + 1)}
    repeated: set[str] = set()
    bridges: set[str] = set()
    size = RUN - 1
    while True:  # a run can only repeat if the runs one word shorter do, so this stops
        counts = Counter(tuple(words[i:i + size]) for i in range(len(words) - size + 1))
        twice = {run for run, count in counts.items() if count > 1}
        if not twice:
            break
        repeated |= {hash_run(run) for run in twice}
        bridges |= {hash_run(words[i:i + size + 2]) for i in range(len(words) - size - 1)
                    if tuple(words[i + 1:i + size + 1]) in twice}
        size += 1
    return {"label": label, "sources": sorted(sources), "words": len(words),
            "repeated": sorted(repeated), "bridges": sorted(bridges), "runs": sorted(runs)}


def make_fingerprint(articles: Iterable[dict[str, object]]) -> dict[str, object]:
    """The whole fingerprint: format, salt and how it was made, then the articles in the order given."""
    return {"format": FORMAT, "salt": SALT, "hash": HASH, "normalisation": NORMALISATION,
            "longest_run": RUN, "articles": list(articles)}


def dump_fingerprint(fingerprint: dict[str, object]) -> str:
    """Stable JSON: keys in the order made (what it is before the hashes), sorted hashes one a line."""
    return json.dumps(fingerprint, indent=0, ensure_ascii=False) + "\n"


def parse_fingerprint(text: str) -> tuple[SeedArticle, ...]:
    """Read fingerprint JSON; refuse one made with another format or salt, whose hashes would never match."""
    data = json.loads(text)
    if data.get("format") != FORMAT or data.get("salt") != SALT:
        raise ValueError(f"fingerprint format {data.get('format')!r} with salt {data.get('salt')!r}: "
                         f"this code reads format {FORMAT} with salt {SALT!r}; make it again")
    return tuple(SeedArticle(label=a["label"], sources=tuple(a["sources"]), words=a["words"],
                             runs=frozenset(a["runs"]), repeated=frozenset(a["repeated"]), bridges=frozenset(a["bridges"]))
                 for a in data["articles"])


def load_fingerprint(fingerprint: Path = FINGERPRINT) -> tuple[SeedArticle, ...]:
    """The committed fingerprint's articles."""
    return parse_fingerprint(fingerprint.read_text(encoding="utf-8"))


class SeedError(Exception):
    """The seeds folder does not hold exactly the articles in ARTICLES."""


def fingerprint_seeds(seeds: Path) -> str:
    """The fingerprint JSON the articles in a seeds folder give."""
    found = sorted(file.name for file in seeds.glob("*.txt")) if seeds.is_dir() else []
    if not found:
        raise SeedError(f"{seeds}: no seed articles (*.txt) found; give the folder with --seeds")
    for name in found:
        if name not in ARTICLES:
            raise SeedError(f"{seeds / name}: not a known seed article; add it to ARTICLES in {_shown(Path(__file__))}")
    for name, (label, _) in ARTICLES.items():
        if name not in found:
            raise SeedError(f"{seeds}: {name} ({label}) is missing")
    entries = (fingerprint_article((seeds / name).read_text(encoding="utf-8"), *ARTICLES[name]) for name in found)
    return dump_fingerprint(make_fingerprint(entries))


def _shown(path: Path) -> str:
    """A path as printed: relative to the repository when inside it."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the fingerprint, or with --check compare it with the committed one; 0 done or equal, 1 differs, 2 bad seeds."""
    parser = argparse.ArgumentParser(description="Make the seed articles' fingerprint, or check the committed one.")
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS,
                        help="folder of seed articles (default: ../shared/seeds)")
    parser.add_argument("--output", type=Path, default=FINGERPRINT,
                        help="fingerprint file (default: tests/seeds_fingerprint.json)")
    parser.add_argument("--check", action="store_true", help="compare with the fingerprint file instead of writing it")
    args = parser.parse_args(argv)
    try:
        made = fingerprint_seeds(args.seeds)
    except SeedError as error:
        print(error, file=sys.stderr)
        return 2
    output: Path = args.output
    if args.check:
        committed = output.read_text(encoding="utf-8") if output.is_file() else None
        if committed != made:
            print(f"{_shown(output)} differs from what {args.seeds} gives: run python tools/seeds/fingerprint.py "
                  "and commit the result", file=sys.stderr)
            return 1
        print(f"{_shown(output)} matches {args.seeds}")
        return 0
    output.write_text(made, encoding="utf-8")
    articles = json.loads(made)["articles"]
    print(f"wrote {_shown(output)}: {len(articles)} articles, {sum(len(a['runs']) for a in articles):,} runs, "
          f"{len(made.encode()) // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
