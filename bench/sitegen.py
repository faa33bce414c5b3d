"""Deterministic synthetic sites for the benchmark, in two shapes.

`make_site(folder, sections, shape)` writes a complete site of N numbered
sections with front matter; the home, timeline, glossary, sources and about
pages; and the data files. The project's layouts/ are copied in, so the
benchmark edits never touch the real ones. The same N and shape always give
the same bytes.

- "explainer": sections of about 1,100 words with subheadings, citations,
  glossary terms, links to neighbouring sections, a table and a chart: what
  the engine is made for, and where its shortcuts pay most.
- "prose": sections of about 1,000 words with ~20 external links each,
  emphasis and strong text, quotes (straight ones for smart quotes and curly
  ones as typed), dashes and ellipses, tables, footnotes, ordered and
  unordered lists and blockquotes; no citations and no glossary terms. Its
  data files hold just enough for the special pages to build. A corpus the
  engine's shortcuts were not tuned on keeps the comparison with stock
  Python-Markdown honest.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_SECTION = 1100
WORDS_PER_PROSE_SECTION = 920  # counted before the blocks still to place: about 1,000 in all
SHAPES = ("explainer", "prose")

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


_PROSE_VOCABULARY_TEXT = (
    "the river city harbour bridge council plan street market water flood season century district "
    "engineers residents traders builders families visitors mayor ferry canal quay warehouse tower "
    "built opened closed widened drained rebuilt crossed measured mapped moved carried raised lowered "
    "old new narrow wide early late northern southern eastern western public private common local "
    "stone timber iron brick clay sand tide current bank shore island channel lock gate road rail "
    "a an of to in on for with by at from as is was were be been has have had not also more most "
    "and or but which that this these those their its his her they it we our"
)
_PROSE_VOCABULARY = tuple(_PROSE_VOCABULARY_TEXT.split())
_DOMAINS = ("www.example.org", "archive.example.net", "news.example.com", "library.example.edu",
            "maps.example.org", "data.example.gov", "journal.example.info", "museum.example.org")
_ALIGNMENTS = (":---", "---:", ":---:", "---")


def _words(rng: random.Random, low: int, high: int) -> list[str]:
    return [rng.choice(_PROSE_VOCABULARY) for _ in range(rng.randint(low, high))]


def _external_link(rng: random.Random, text: str) -> str:
    url = f"https://{rng.choice(_DOMAINS)}/{rng.randint(1850, 2020)}/{'-'.join(_words(rng, 2, 4))}"
    roll = rng.random()
    if roll < 0.1:
        return f"<{url}>"
    if roll < 0.2:
        return f'[{text}]({url} "{text.capitalize()}")'
    return f"[{text}]({url})"


def _prose_sentence(rng: random.Random, footnotes: list[str]) -> str:
    """One sentence with the inline markup the prose shape mixes in: links, emphasis, quotes, notes."""
    words = _words(rng, 9, 18)

    def wrap(probability: float, opening: str, closing: str) -> None:
        if rng.random() < probability and len(words) > 4:
            start = rng.randint(1, len(words) - 3)
            end = start + rng.randint(1, 3)
            words[start:end] = [opening + " ".join(words[start:end]) + closing]

    if rng.random() < 0.3:  # about 20 a page
        start = rng.randint(1, len(words) - 3)
        end = start + rng.randint(1, 3)
        words[start:end] = [_external_link(rng, " ".join(words[start:end]))]
    wrap(0.16, "*", "*")
    wrap(0.10, "**", "**")
    wrap(0.04, "_", "_")
    wrap(0.12, '"', '"')
    wrap(0.06, "'", "'")
    wrap(0.05, "\u201c", "\u201d")
    wrap(0.03, "\u2018", "\u2019")
    if rng.random() < 0.10:
        position = rng.randint(1, len(words) - 1)
        words[position] += rng.choice(("'s", "s'"))
    if rng.random() < 0.06:
        words.insert(rng.randint(2, len(words) - 1), rng.choice(("--", "---")))
    text = " ".join(words)
    text = text[0].upper() + text[1:]
    ending = "..." if rng.random() < 0.03 else "."
    if rng.random() < 0.05 and len(footnotes) < 6:
        footnotes.append(" ".join(_words(rng, 8, 16)).capitalize() + ".")
        ending += f"[^{len(footnotes)}]"
    return text + ending


def _prose_block(kind: str, rng: random.Random, footnotes: list[str]) -> str:
    if kind == "unordered":
        items = [f"- {_prose_sentence(rng, footnotes)}" for _ in range(rng.randint(3, 5))]
        if rng.random() < 0.5:
            items.insert(2, "\n".join(f"    - {' '.join(_words(rng, 3, 8)).capitalize()}" for _ in range(2)))
        return "\n".join(items)
    if kind == "ordered":
        return "\n".join(f"{n}. {_prose_sentence(rng, footnotes)}" for n in range(1, rng.randint(4, 6)))
    if kind == "quote":
        paragraphs = [" ".join(_prose_sentence(rng, footnotes) for _ in range(rng.randint(1, 3)))
                      for _ in range(rng.randint(1, 2))]
        return "\n>\n".join(f"> {paragraph}" for paragraph in paragraphs) + \
            f"\n>\n> --- {' '.join(_words(rng, 2, 3)).title()}"
    if kind == "table":
        columns = rng.randint(3, 4)
        header = ["Place", "Year", *(w.capitalize() for w in _words(rng, columns - 2, columns - 2))]
        rows = [[f"*{rng.choice(_PROSE_VOCABULARY)}*" if rng.random() < 0.2 else rng.choice(_PROSE_VOCABULARY).title(),
                 str(rng.randint(1850, 2020)),
                 *(f"{rng.randint(1, 99999):,}" if rng.random() < 0.6 else " ".join(_words(rng, 1, 4))
                   for _ in range(columns - 2))] for _ in range(rng.randint(4, 7))]
        lines = [header, [rng.choice(_ALIGNMENTS) for _ in range(columns)], *rows]
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    raise ValueError(f"unknown block kind {kind!r}")


def _prose_body(rng: random.Random) -> str:
    """About 1,000 words: headed paragraphs with every kind of block spread between them."""
    footnotes: list[str] = []
    pending = ["table", "ordered", "unordered", "quote", rng.choice(("table", "quote", "unordered", "ordered"))]
    rng.shuffle(pending)
    parts: list[str] = []
    words = 0
    heading = last_paragraph = 0
    while words < WORDS_PER_PROSE_SECTION or pending:
        if words == 0 or rng.random() < 0.15:
            heading += 1
            level = "###" if heading > 1 and rng.random() < 0.3 else "##"
            parts.append(f"{level} {' '.join(_words(rng, 2, 5)).capitalize()}, part {heading}")
        parts.append(" ".join(_prose_sentence(rng, footnotes) for _ in range(rng.randint(3, 6))))
        last_paragraph = len(parts) - 1
        if pending and (rng.random() < 0.5 or words >= WORDS_PER_PROSE_SECTION):
            parts.append(_prose_block(pending.pop(), rng, footnotes))
        words = sum(part.count(" ") + 1 for part in parts)
    if not footnotes:  # every page has at least one note, referred to from a paragraph
        parts[last_paragraph] += "[^1]"
        footnotes.append(" ".join(_words(rng, 8, 16)).capitalize() + ".")
    parts.extend(f"[^{n}]: {note}" for n, note in enumerate(footnotes, 1))
    return "\n\n".join(parts) + "\n"


def _write_prose_site(folder: Path, sections: int) -> None:
    """The prose shape: sections, special pages without citations, and data files just big enough for them."""
    content = folder / "content"
    rng = random.Random(f"prose-{sections}")
    for index in range(1, sections + 1):
        title = f"Section {index}: {' '.join(_words(rng, 2, 4)).capitalize()}"
        subject, detail = rng.choice(_PROSE_VOCABULARY), rng.choice(_PROSE_VOCABULARY)
        (content / f"section-{index:05d}.md").write_text(
            f"---\ntitle: \"{title}\"\n"
            f"summary: What section {index} tells about the {subject} and its {detail}.\n"
            f"order: {index}\nupdated: \"2019-{1 + index % 12:02d}-{1 + index % 28:02d}\"\n---\n{_prose_body(rng)}",
            encoding="utf-8")
    for name, front in _SPECIAL_PAGES.items():
        (content / name).write_text(f"---\n{front}\n---\nThis page is part of the benchmark.\n", encoding="utf-8")
    (content / "sources.yaml").write_text("".join(
        f"source-{i}:\n  title: \"Harbour report {i}\"\n  publisher: Harbour Board\n  date: \"1990-{i:02d}\"\n"
        f"  url: https://www.example.org/reports/{i}\n  kind: government report\n" for i in range(1, 4)), encoding="utf-8")
    (content / "glossary.yaml").write_text(
        "quillwort:\n  term: quillwort\n  definition: A term no section uses.\n"
        "zymurgy:\n  term: zymurgy\n  definition: Another term no section uses.\n", encoding="utf-8")
    (content / "timeline.yaml").write_text(
        "categories:\n  city: City\n  river: River\nevents:\n" + "".join(
            f"  - date: \"{1900 + 10 * i}\"\n    title: Event {i}\n    sources: [source-{1 + i % 3}]\n"
            f"    category: {('city', 'river')[i % 2]}\n" for i in range(1, 6)), encoding="utf-8")


_SPECIAL_PAGES = {
    "index.md": "title: Synthetic Explainer\nsummary: The home page of the benchmark site.",
    "timeline.md": "title: Timeline\nsummary: Every event in order.\nlayout: timeline",
    "glossary.md": "title: Glossary\nsummary: The terms used.\nlayout: glossary",
    "sources.md": "title: Sources\nsummary: Every source and where it is cited.\nlayout: sources",
    "about.md": "title: About\nsummary: What this site is.",
}


def make_site(folder: Path, sections: int, shape: str = "explainer") -> Path:
    """Write a synthetic site of one shape with `sections` sections into `folder` (replacing it); return it."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r} (one of {', '.join(SHAPES)})")
    if folder.exists():
        shutil.rmtree(folder)
    content = folder / "content"
    content.mkdir(parents=True)
    shutil.copytree(ROOT / "layouts", folder / "layouts")
    (folder / "site_config.yaml").write_text(
        "title: Synthetic Explainer\n"
        "tagline: A benchmark site\n"
        "description: A synthetic explainer used to measure the generator's speed.\n"
        "base_url: https://example.com/bench/\n"
        "author: Bench Author\n"
        "publisher: Bench Publisher\n"
        "contact: bench@example.com\n"
        "nav: [section-00001, timeline, glossary, sources, about]\n", encoding="utf-8")
    if shape == "prose":
        _write_prose_site(folder, sections)
        return folder
    rng = random.Random(sections)
    source_ids = [f"source-{i:04d}" for i in range(1, 40 + sections // 10 + 1)]
    figure_ids = [f"figure-{i}" for i in range(1, 6)]
    for index in range(1, sections + 1):
        body = _section_body(index, sections, rng, source_ids, figure_ids)
        (content / f"section-{index:05d}.md").write_text(
            f"---\ntitle: \"Section {index}: {rng.choice(_VOCABULARY).capitalize()} and {rng.choice(_VOCABULARY)}\"\n"
            f"summary: What section {index} explains about the {rng.choice(_VOCABULARY)} question.\n"
            f"order: {index}\nupdated: \"2018-{1 + index % 12:02d}-{1 + index % 28:02d}\"\n---\n{body}",
            encoding="utf-8")
    for name, front in _SPECIAL_PAGES.items():
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
    parser = argparse.ArgumentParser(description="Write a synthetic benchmark site.")
    parser.add_argument("sections", type=int, nargs="?", default=100)
    parser.add_argument("folder", type=Path, nargs="?", help="default: bench/.work/site-N (explainer) or prose-N")
    parser.add_argument("--shape", choices=SHAPES, default="explainer")
    args = parser.parse_args()
    name = f"site-{args.sections}" if args.shape == "explainer" else f"{args.shape}-{args.sections}"
    print(make_site(args.folder or ROOT / "bench" / ".work" / name, args.sections, args.shape))
