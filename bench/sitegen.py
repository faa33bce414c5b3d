"""Deterministic synthetic explainer sites for the benchmark (issue 8).

`make_site(folder, sections)` writes a complete site: N numbered sections of
about 1,100 words with front matter, subheadings, citations, glossary terms,
links to neighbouring sections, a table and a chart; the home, timeline,
glossary, sources and about pages; and the four data files. The project's
layouts/ are copied in, so the benchmark edits never touch the real ones.
The same N always gives the same bytes.
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_SECTION = 1100

_VOCABULARY_TEXT = (
    "the agreement government border asylum applicants migration policy officials negotiations "
    "would could should under since during after before between against within through across "
    "reported according announced proposed rejected argued noted said wrote confirmed estimated "
    "Mexico United States Guatemala Honduras Salvador Central America refugees courts judges "
    "ministry secretary president congress senate treaty protection claims rights hearings "
    "thousands families children shelters capacity resources funding staff officers cases backlog "
    "legal framework obligation international domestic standard review appeal decision ruling "
    "a an of to in on for with by at from as is was were be been has have had not also more most "
    "and or but which that this these those their its his her they it we our"
)
_VOCABULARY = tuple(_VOCABULARY_TEXT.split())
_TERMS = [
    ("safe-third-country", "safe third country"), ("asylum", "asylum seeker"), ("refoulement", "refoulement"),
    ("defensive-asylum", "defensive asylum"), ("credible-fear", "credible fear"), ("metering", "metering"),
    ("port-of-entry", "port of entry"), ("removal", "expedited removal"), ("parole", "humanitarian parole"),
    ("unhcr", "UNHCR"), ("comar", "COMAR"), ("backlog", "case backlog"), ("transit", "transit country"),
    ("readmission", "readmission agreement"), ("tps", "temporary protected status"),
    ("withholding", "withholding of removal"), ("cat", "Convention against Torture"),
    ("inm", "National Migration Institute"), ("caravan", "migrant caravan"), ("visa", "humanitarian visa"),
]
_CATEGORIES = {"mexico": "Mexico", "united-states": "United States", "region": "Central America"}


def _sentence(rng: random.Random, sources: list[str], with_term: str | None) -> str:
    words = [rng.choice(_VOCABULARY) for _ in range(rng.randint(12, 22))]
    if with_term:
        words.insert(rng.randint(1, len(words) - 1), with_term)
    text = " ".join(words)
    text = text[0].upper() + text[1:]
    if rng.random() < 0.35:
        cited = sorted({f"@{rng.choice(sources)}" for _ in range(rng.randint(1, 2))})
        text += " [" + "; ".join(cited) + "]"
    if rng.random() < 0.08:
        text = text.replace(" the ", " *the* ", 1)
    return text + "."


def _section_body(index: int, count: int, rng: random.Random, sources: list[str], figures: list[str]) -> str:
    parts: list[str] = []
    words = 0
    heading = 0
    while words < WORDS_PER_SECTION:
        if words == 0 or rng.random() < 0.18:
            heading += 1
            parts.append(f"## Part {heading}: {rng.choice(_VOCABULARY).capitalize()} {rng.choice(_VOCABULARY)}")
        term = rng.choice(_TERMS)[1] if rng.random() < 0.3 else None
        sentences = [_sentence(rng, sources, term if i == 0 else None) for i in range(rng.randint(3, 6))]
        paragraph = " ".join(sentences)
        words += paragraph.count(" ") + 1
        parts.append(paragraph)
        if heading == 2 and rng.random() < 0.5 and not any(p.startswith("| Year") for p in parts):
            parts.append("| Year | Cases |\n|------|------:|\n" +
                         "\n".join(f"| {2010 + y} | {rng.randint(1000, 90000)} |" for y in range(4)))
        if heading == 3 and not any(p.startswith("- ") for p in parts):
            parts.append("\n".join(f"- {_sentence(rng, sources, None)}" for _ in range(3)))
    if index > 1:
        parts.append(f"See also [the previous section](../section-{index - 1:05d}/).")
    if index < count:
        parts.append(f"The story continues in [the next section](../section-{index + 1:05d}/).")
    parts.insert(2, f"::: chart {figures[index % len(figures)]}")
    return "\n\n".join(parts) + "\n"


def make_site(folder: Path, sections: int) -> Path:
    """Write a synthetic site with `sections` sections into `folder` (replacing it); return it."""
    rng = random.Random(sections)
    if folder.exists():
        shutil.rmtree(folder)
    content = folder / "content"
    content.mkdir(parents=True)
    shutil.copytree(ROOT / "layouts", folder / "layouts")
    source_ids = [f"source-{i:04d}" for i in range(1, 40 + sections // 10 + 1)]
    figure_ids = [f"figure-{i}" for i in range(1, 6)]
    (folder / "site_config.yaml").write_text(
        "title: Synthetic Explainer\n"
        "tagline: A benchmark site\n"
        "description: A synthetic explainer used to measure the generator's speed.\n"
        "base_url: https://example.org/bench/\n"
        "author: Bench Author\n"
        "publisher: Bench Publisher\n"
        "contact: bench@example.org\n"
        "nav: [section-00001, timeline, glossary, sources, about]\n", encoding="utf-8")
    for index in range(1, sections + 1):
        body = _section_body(index, sections, rng, source_ids, figure_ids)
        (content / f"section-{index:05d}.md").write_text(
            f"---\ntitle: \"Section {index}: {rng.choice(_VOCABULARY).capitalize()} and {rng.choice(_VOCABULARY)}\"\n"
            f"summary: What section {index} explains about the {rng.choice(_VOCABULARY)} question.\n"
            f"order: {index}\nupdated: \"2018-{1 + index % 12:02d}-{1 + index % 28:02d}\"\n---\n{body}",
            encoding="utf-8")
    pages = {
        "index.md": "title: Synthetic Explainer\nsummary: The home page of the benchmark site.",
        "timeline.md": "title: Timeline\nsummary: Every event in order.\nlayout: timeline",
        "glossary.md": "title: Glossary\nsummary: The terms used.\nlayout: glossary",
        "sources.md": "title: Sources\nsummary: Every source and where it is cited.\nlayout: sources",
        "about.md": "title: About\nsummary: What this site is.",
    }
    for name, front in pages.items():
        (content / name).write_text(f"---\n{front}\n---\nThis page is part of the benchmark [@{source_ids[0]}].\n",
                                    encoding="utf-8")
    (content / "sources.yaml").write_text("".join(
        f"{sid}:\n  title: \"Report number {i}\"\n  publisher: Publisher {i % 17}\n"
        f"  date: \"2018-{1 + i % 12:02d}\"\n  url: https://example.org/reports/{i}\n  kind: news report\n"
        for i, sid in enumerate(source_ids, 1)), encoding="utf-8")
    (content / "glossary.yaml").write_text("".join(
        f"{tid}:\n  term: {term}\n  definition: \"What {term} means in this benchmark [@{source_ids[i % len(source_ids)]}].\"\n"
        for i, (tid, term) in enumerate(_TERMS)), encoding="utf-8")
    events = ["categories:\n" + "".join(f"  {k}: {v}\n" for k, v in _CATEGORIES.items()) + "events:\n"]
    for i in range(1, max(10, sections // 4) + 1):
        events.append(
            f"  - date: \"{2015 + i % 4}-{1 + i % 12:02d}-{1 + i % 28:02d}\"\n    title: Event {i}\n"
            f"    body: \"Something happened [@{source_ids[i % len(source_ids)]}].\"\n"
            f"    sources: [{source_ids[i % len(source_ids)]}]\n    category: {list(_CATEGORIES)[i % 3]}\n"
            f"    section: section-{1 + (i * 7) % sections:05d}\n" + ("    highlight: true\n" if i % 20 == 0 else ""))
    (content / "timeline.yaml").write_text("".join(events), encoding="utf-8")
    (content / "figures.yaml").write_text("".join(
        f"{fid}:\n  title: Figure {i}\n  unit: cases\n  sources: [{source_ids[i]}]\n  values:\n" +
        "".join(f"    - {{label: \"{2010 + y}\", value: {1000 * (i + y)}}}\n" for y in range(6))
        for i, fid in enumerate(figure_ids, 1)), encoding="utf-8")
    return folder


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "bench" / ".work" / f"site-{count}"
    print(make_site(target, count))
