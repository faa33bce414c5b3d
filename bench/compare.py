"""The cold build beside stock Python-Markdown and beside a baseline engine, in interleaved rounds.

Each round runs, back to back on one corpus: the stock same-extensions loop in 2 processes
(bench/floor.py --stock-pool), the baseline engine's cold build and the current engine's cold
build. Round by round, not as medians of separate series, because on a shared machine the
speed of the machine moves within minutes: three commands a few seconds apart meet nearly the
same machine, so their ratios move much less than their times.

The baseline is another revision of this repository (default: the engine before the redesign),
exported once into bench/.work/baseline-<commit> and run with the same Python on the same
corpus, with its own layouts/ in its copy of the site. Each build gets a fresh copy of the
corpus (no .cache/, no output); copies and outputs go to the trash afterwards, never deleted
before a timed run.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from measure import PY, ROOT, WORK, Run, run_process, to_trash
from sitegen import make_site

DEFAULT_BASELINE = "b71ecdd"
RUNS = WORK / "runs"


@dataclass(frozen=True)
class Round:
    """One round's three commands, in the order they ran."""

    stock: Run
    baseline: Run
    current: Run

    @property
    def to_stock(self) -> float:
        return self.current.wall / self.stock.wall

    @property
    def to_baseline(self) -> float:
        return self.current.wall / self.baseline.wall


@dataclass
class Comparison:
    """Every round on one corpus (shape, sections), by load."""

    shape: str
    count: int
    rounds: dict[str, list[Round]]
    same_bytes: bool | None = None
    pages: tuple[int, int, int] | None = None  # the HTML pages the stock loop, the baseline and the current engine wrote


@dataclass(frozen=True)
class Baseline:
    """The exported baseline engine: the revision asked for, its commit and its folder."""

    rev: str
    commit: str
    folder: Path


def export_baseline(rev: str) -> Baseline:
    """The baseline revision's files, exported with git archive once and reused by later benches."""
    resolved = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=ROOT,
                              capture_output=True, text=True)
    if resolved.returncode != 0:
        raise SystemExit(f"bench: --baseline {rev}: no such commit in this repository")
    commit = resolved.stdout.strip()
    folder = WORK / f"baseline-{commit[:7]}"
    if not (folder / "build.py").is_file():
        # Extracted beside it and renamed into place, so a killed export is never taken for a finished one.
        partial, archive = WORK / f"baseline-{commit[:7]}.partial", WORK / f"baseline-{commit[:7]}.tar"
        to_trash(folder, partial, archive)
        subprocess.run(["git", "archive", "--format=tar", f"--output={archive}", commit], cwd=ROOT, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(partial, filter="data")
        partial.rename(folder)
        to_trash(archive)
        # Compiled once here, so no timed build pays for the baseline's first import.
        subprocess.run([PY, "-m", "compileall", "-q", str(folder / "engine"), str(folder / "build.py")], check=True)
    return Baseline(rev, commit, folder)


def fresh_copy(corpus: Path, layouts: Path, name: str) -> Path:
    """A copy of a corpus's content and settings with the given layouts: nothing built in it yet.

    Its content/ files are hard links to the corpus's: the builds only read them, and a thousand links
    are quicker to make and to delete than a thousand copies (see to_trash)."""
    copy = RUNS / name
    to_trash(copy)
    copy.mkdir(parents=True)
    (copy / "site_config.yaml").write_bytes((corpus / "site_config.yaml").read_bytes())
    shutil.copytree(corpus / "content", copy / "content", copy_function=os.link)
    shutil.copytree(layouts, copy / "layouts")
    return copy


def same_tree(first: Path, second: Path) -> bool:
    """Whether two folders hold the same files with the same bytes."""
    def files(folder: Path) -> list[str]:
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    names = files(first)
    return names == files(second) and all((first / n).read_bytes() == (second / n).read_bytes() for n in names)


def html_pages(folder: Path) -> int:
    """How many HTML pages a build wrote: the commands of a round make different sets of pages."""
    return sum(1 for _ in folder.rglob("*.html"))


def _build(site: Path, engine_root: Path) -> list[str]:
    return [PY, str(engine_root / "build.py"), "--config", str(site / "site_config.yaml"), "--quiet"]


def warm_up(baseline: Baseline) -> None:
    """One small untimed build with each engine and the stock loop, so the first round reads nothing cold."""
    corpus = make_site(RUNS / "warm-up-corpus", 20, "prose")
    for name, engine_root in (("current", ROOT), ("baseline", baseline.folder)):
        copy = fresh_copy(corpus, engine_root / "layouts", f"warm-up-{name}")
        run_process(_build(copy, engine_root), copy)
        to_trash(copy)
    out = RUNS / "warm-up-stock"
    run_process([PY, str(ROOT / "bench" / "floor.py"), "--stock-pool", str(out), str(corpus / "content"), "2"], ROOT)
    to_trash(out, corpus)


def compare(corpora: Sequence[tuple[str, int]], rounds: int, loads: Sequence[str], baseline: Baseline) -> list[Comparison]:
    """`rounds` rounds; in each, every corpus under every load runs stock loop, baseline, current."""
    pristine = {}
    for shape, count in corpora:
        to_trash(WORK / f"corpus-{shape}-{count}")  # make_site would delete it
        pristine[shape, count] = make_site(WORK / f"corpus-{shape}-{count}", count, shape)
    warm_up(baseline)
    results = [Comparison(shape, count, {load: [] for load in loads}) for shape, count in corpora]
    for number in range(1, rounds + 1):
        for comparison in results:
            corpus = pristine[comparison.shape, comparison.count]
            for load in loads:
                tag = f"{comparison.shape}-{comparison.count}-{load}-{number}"
                # The copies are made before the round's first timed command, not between them.
                base_site = fresh_copy(corpus, baseline.folder / "layouts", f"{tag}-baseline")
                site = fresh_copy(corpus, corpus / "layouts", f"{tag}-current")
                stock_out = RUNS / f"{tag}-stock"
                to_trash(stock_out)
                stock = run_process([PY, str(ROOT / "bench" / "floor.py"), "--stock-pool", str(stock_out),
                                     str(corpus / "content"), "2"], ROOT, load)
                base = run_process(_build(base_site, baseline.folder), base_site, load)
                current = run_process(_build(site, ROOT), site, load)
                for built in (stock_out, base_site / "output", site / "output"):
                    if not (built / "index.html").is_file():
                        raise SystemExit(f"bench: {built.relative_to(ROOT)} holds no index.html")
                if comparison.same_bytes is None:  # once per corpus, outside the timings
                    comparison.same_bytes = same_tree(base_site / "output", site / "output")
                    comparison.pages = (html_pages(stock_out), html_pages(base_site / "output"),
                                        html_pages(site / "output"))
                done = Round(stock, base, current)
                comparison.rounds[load].append(done)
                print(f"bench: round {number}, {comparison.shape} {comparison.count}, {load}: stock loop "
                      f"{stock.wall:.2f} s, baseline {base.wall:.2f} s, current {current.wall:.2f} s "
                      f"({done.to_stock:.2f}x, {done.to_baseline:.2f}x)", flush=True)
                to_trash(stock_out, base_site, site)
    return results


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x (rounds {min(values):.2f}-{max(values):.2f})"


def format_comparisons(comparisons: list[Comparison], baseline: Baseline) -> list[str]:
    """RESULTS.md's section on the comparison: the method, then one table of rounds per corpus and load."""
    if not comparisons:
        return []
    lines = [
        "## The cold build beside stock Python-Markdown and the baseline engine", "",
        "In interleaved rounds, each running back to back on one corpus: the stock same-extensions loop in 2 "
        "processes (`python bench/floor.py --stock-pool OUT CONTENT 2`: read, split the front matter, parse it "
        "with PyYAML's CSafeLoader, convert with engine.markup.stock_markdown() - Python-Markdown with exactly the "
        "engine's extension set, its own extension included, and none of its speed shortcuts - render a minimal "
        "Jinja2 page, write <stem>/index.html; the pages handed to a multiprocessing.Pool(2) with "
        f"imap_unordered), the cold build of the baseline engine ({baseline.rev}, commit {baseline.commit[:12]}, "
        f"exported into bench/.work/baseline-{baseline.commit[:7]} and run with the same Python, its own layouts/ "
        "copied into its copy of the site) and the cold build of the current engine. Each build runs on a fresh "
        "copy of the corpus, made before the round's first command; the copies go to the trash afterwards. "
        "A copy's content/ files are hard links to the corpus's (the builds only read them). Ratios are taken round "
        "by round (the current build over the other command of the same round), then "
        "their median. Within a round the corpora and loads follow one another, so every series meets the "
        "machine in the same states.", "",
        "Corpus shapes (bench/sitegen.py): *explainer*, ~1,100 words a section with citations, glossary terms, a "
        "chart, a table and links to the neighbouring sections; *prose*, ~1,000 words a section with ~20 external "
        "links, emphasis and strong text, straight and curly quotes, dashes, tables, footnotes, ordered and "
        "unordered lists and blockquotes, and no citations or glossary terms.", "",
    ]
    for comparison in comparisons:
        if comparison.same_bytes is not None:
            lines.append(f"- {comparison.shape}, {comparison.count:,} sections: the baseline and the current engine "
                         f"wrote {'the same bytes' if comparison.same_bytes else 'different bytes'} (first round).")
        if comparison.pages is not None:
            stock, base, current = comparison.pages
            lines.append(f"- {comparison.shape}, {comparison.count:,} sections, HTML pages written: stock loop "
                         f"{stock:,}, baseline {base:,}, current engine {current:,} (a page per content file, the "
                         "engines' 404 page and the current engine's page for each source cited on many pages).")
    lines.append("")
    for comparison in comparisons:
        for load, rounds in comparison.rounds.items():
            lines += [f"### {comparison.count:,} sections, {comparison.shape} shape, {load}", "",
                      "| round | stock loop, 2 procs: wall s | CPU s | baseline cold build: wall s | CPU s | "
                      "cold build: wall s | CPU s | cold / stock loop | cold / baseline |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for number, done in enumerate(rounds, 1):
                lines.append(f"| {number} | {done.stock.wall:.3f} | {done.stock.cpu:.2f} | {done.baseline.wall:.3f} | "
                             f"{done.baseline.cpu:.2f} | {done.current.wall:.3f} | {done.current.cpu:.2f} | "
                             f"{done.to_stock:.2f} | {done.to_baseline:.2f} |")
            if rounds:
                lines.append("| median | " + " | ".join(f"{statistics.median(getattr(r, command).wall for r in rounds):.3f}"
                             f" | {statistics.median(getattr(r, command).cpu for r in rounds):.2f}"
                             for command in ("stock", "baseline", "current")) +
                             f" | {statistics.median(r.to_stock for r in rounds):.2f} | "
                             f"{statistics.median(r.to_baseline for r in rounds):.2f} |")
            lines.append("")
    return lines


def comparison_targets(comparisons: list[Comparison], baseline: Baseline) -> list[str]:
    """The targets table's rows: at 1,000 sections the cold build is below the stock loop and within 10%
    of the baseline (medians of the round-by-round ratios); at other sizes the ratios are reported."""
    lines = []
    for comparison in comparisons:
        for load, rounds in comparison.rounds.items():
            if not rounds:
                continue
            where = f"at {comparison.count:,}, {comparison.shape} shape, {load}"
            to_stock = [r.to_stock for r in rounds]
            to_baseline = [r.to_baseline for r in rounds]
            if comparison.count == 1000:
                lines += [f"| cold build {where}, below the stock same-extensions 2-process loop (< 1) | "
                          f"{_spread(to_stock)} | {'yes' if statistics.median(to_stock) < 1 else 'no'} |",
                          f"| cold build {where}, within 10% of the baseline engine ({baseline.rev}) (<= 1.10) | "
                          f"{_spread(to_baseline)} | {'yes' if statistics.median(to_baseline) <= 1.10 else 'no'} |"]
            else:
                lines += [f"| cold build {where} / the stock same-extensions 2-process loop (reported: the target "
                          f"is at 1,000) | {_spread(to_stock)} | - |",
                          f"| cold build {where} / the baseline engine (reported) | {_spread(to_baseline)} | - |"]
    return lines

