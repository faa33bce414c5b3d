"""Every invalid_* fixture site: the exact problem lines beside it, the right exit code, no traceback,
and the previous output left byte for byte as it was.

A fixture's `expected.txt` holds the stderr lines of `build.py` on it: `{site}` stands for the
fixture's temporary copy and `{line}` for a line of built HTML, which moves with the layouts. A
fixture's `layouts/` holds only the templates it breaks; the project's layouts fill in the rest.
What a folder cannot carry (a symlink out of the project, an unreadable file, a command-line
option) is set up by the tables below.
"""

from __future__ import annotations

import builtins
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, ROOT, build_site, copy_site, tree_digest

INVALID = sorted(p.name for p in FIXTURES.glob("invalid_*") if (p / "expected.txt").is_file())


def _link_outside(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = site.parent / "outside.md"
    outside.write_text("---\ntitle: Outside\nsummary: Not ours.\n---\nText.\n", encoding="utf-8")
    os.symlink(os.path.relpath(outside, site / "content"), site / "content" / "about.md")


def _make_unreadable(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 does not stop root, who runs the suite in CI: make the opening itself fail.
    target = (site / "content" / "about.md").resolve()
    real_open = builtins.open

    def failing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, Path)) and Path(file).resolve() == target:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", failing_open)


def _link_layouts_outside(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("partials/outside.html", "assets/outside.css"):
        outside = site.parent / Path(name).name
        outside.write_text("<p>not ours</p>\n" if name.endswith(".html") else "body { color: red }\n", encoding="utf-8")
        os.symlink(outside, site / "layouts" / name)


SETUP: dict[str, Callable[[Path, pytest.MonkeyPatch], None]] = {
    "invalid_symlink_outside": _link_outside,
    "invalid_symlink_layouts": _link_layouts_outside,
    "invalid_unreadable": _make_unreadable,
}
ARGS: dict[str, list[str]] = {
    "invalid_cli_unknown_option": ["--drafs"],
    "invalid_uncited_source": ["--strict"],
    "invalid_hidden_and_misnamed": ["--strict"],
}


def copy_invalid_site(name: str, destination: Path) -> Path:
    """copy_site, then the project's templates for every one the fixture does not replace."""
    site = copy_site(name, destination)
    for template in (ROOT / "layouts").rglob("*"):
        target = site / "layouts" / template.relative_to(ROOT / "layouts")
        if template.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, target)
    return site


def _matches(line: str, expected: str) -> bool:
    pattern = re.escape(expected).replace(re.escape("{site}"), r".+").replace(re.escape("{line}"), r"\d+")
    return re.fullmatch(pattern, line) is not None


def expected_lines(name: str) -> list[str]:
    return (FIXTURES / name / "expected.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", INVALID)
def test_invalid_fixture_reports_exact_problems(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str], jobs: str = "") -> None:
    site = copy_invalid_site(name, tmp_path)
    if jobs and len(list((site / "content").rglob("*.md"))) < 2:  # the pool renders one page in this process
        (site / "content" / "another.md").write_text("---\ntitle: Another\nsummary: A second page.\n---\nText.\n",
                                                    encoding="utf-8")
    previous = site / "output"
    if not previous.exists():
        previous.mkdir()
        (previous / "index.html").write_text("<p>the previous build</p>\n", encoding="utf-8")
    before = tree_digest(previous)
    if name in SETUP:
        SETUP[name](site, monkeypatch)
    monkeypatch.chdir(site)
    code, lines = build_site(site, *ARGS.get(name, []), *(("--jobs", jobs) if jobs else ()))
    output = "\n".join(lines) + capsys.readouterr().out
    assert "Traceback" not in output and "internal error" not in output
    expected = expected_lines(name)
    assert len(lines) == len(expected) and all(map(_matches, lines, expected)), "\n".join(
        [line.replace(str(site), "{site}") for line in lines])
    assert code == (2 if expected[0].startswith("build.py: error:") else 1)
    assert tree_digest(previous) == before, "a failed build changed the previous output"
    leftovers = sorted(p.name for p in site.iterdir() if p.name.startswith(".output"))
    assert leftovers in ([], [".output.lock"]), leftovers


def test_every_error_class_has_a_fixture() -> None:
    """Each class of input error has its own fixture."""
    classes = {
        "yaml_syntax", "duplicate_keys", "yaml11_booleans", "yaml11_numbers", "wrong_types", "missing_keys",
        "unknown_keys", "settings", "front_matter_missing", "front_matter_unterminated", "front_matter_not_mapping",
        "empty_file", "not_utf8", "unreadable", "symlink_outside", "same_url", "unknown_citation",
        "footnote_undefined", "unknown_directive_targets", "deep_nesting", "raw_html", "impossible_dates",
        "bad_dates", "dates_out_of_order", "urls", "empty_titles", "template_syntax", "template_undefined",
        "template_expression", "cli_unknown_option", "cli_missing_config", "cli_output_over_sources",
        "timeline_references", "timeline_sections", "uncited_source", "many_files", "corrections",
        "correction_pages", "callouts",
        "out_of_range_values", "yaml_bombs", "slow_markdown", "raw_html_evasions", "layout_output", "directive_lines",
        "layout_templates", "control_characters", "symlink_layouts", "hidden_and_misnamed", "cli_output_under_file",
    }
    assert {f"invalid_{name}" for name in classes} <= set(INVALID)


def test_problems_in_several_files_are_reported_together() -> None:
    lines = expected_lines("invalid_many_files")
    files = {line.split(":", 1)[0] for line in lines[:-1]}
    assert files == {"content/about.md", "content/notes.md", "content/sources.yaml", "content/glossary.yaml",
                     "content/timeline.yaml"}
    assert lines[-1] == f"{len(lines) - 1} problems found; nothing was written"


def test_a_page_with_a_front_matter_problem_keeps_its_slug_for_the_links_to_it(tmp_path: Path) -> None:
    """A page whose front matter has a mistake is not drawn, but links to the address its `slug` gives are
    not reported as broken: the one problem is the mistake. A slug that is itself the mistake is not used."""
    site = copy_site("minimal", tmp_path)
    index = site / "content" / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + "\nSee [the story](story/) and [other](other/).\n",
                     encoding="utf-8")
    (site / "content" / "long-file-name.md").write_text("---\ntitle: Story\nsummary: S.\nslug: story\ntitel: x\n---\nText.\n",
                                                         encoding="utf-8")
    (site / "content" / "other.md").write_text("---\ntitle: Other\nsummary: O.\nslug: Not A Slug\n---\nText.\n",
                                               encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    assert code == 1
    assert lines == ["content/long-file-name.md:5: unknown front matter key 'titel' (did you mean 'title'?)",
                     "content/other.md:4: 'slug' may hold only lowercase letters, digits and '-', not 'Not A Slug' "
                     "(did you mean 'not-a-slug'?)",
                     "2 problems found; nothing was written"], lines


def test_uncited_source_is_only_a_warning_without_strict(tmp_path: Path) -> None:
    site = copy_site("invalid_uncited_source", tmp_path)
    code, lines = build_site(site, "--quiet")
    assert code == 0
    assert lines == ["content/sources.yaml:8: warning: source 'cndh' is cited nowhere"]


def test_yaml_11_surprises_keep_the_writers_text(tmp_path: Path) -> None:
    """NO, 12:30, 1.10 and bare dates stay the text the writer typed where text is expected."""
    site = copy_site("minimal", tmp_path)
    (site / "content" / "about.md").write_text(
        "---\ntitle: NO\nsummary: 12:30 on 2018-07-12, version 1.10, answer yes\nupdated: 2018-07-12\n---\nText.\n",
        encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    assert (code, lines) == (0, [])
    html = (site / "output" / "about" / "index.html").read_text(encoding="utf-8")
    assert "<h1>NO</h1>" in html or ">NO</h1>" in html
    assert "12:30 on 2018-07-12, version 1.10, answer yes" in html


def test_byte_order_mark_windows_line_endings_and_unusual_names_work(tmp_path: Path) -> None:
    site = copy_site("minimal", tmp_path)
    (site / "content" / "Mexican Politics.md").write_bytes(
        b"\xef\xbb\xbf---\r\ntitle: Mexican politics\r\nsummary: S.\r\norder: 1\r\n---\r\n## Parties\r\n\r\nText.\r\n")
    (site / "content" / "política.md").write_text("---\ntitle: Política\nsummary: S.\n---\nTexto.\n", encoding="utf-8")
    code, lines = build_site(site, "--quiet")
    assert (code, lines) == (0, [])
    section = (site / "output" / "mexican-politics" / "index.html").read_text(encoding="utf-8")
    assert 'id="parties"' in section and "\r" not in section
    assert (site / "output" / "política" / "index.html").is_file()


# Fixtures whose problems are found while pages render. With --jobs 2 the build renders them in
# worker processes, which must report the very same lines.
RENDERED_IN_WORKERS = ["invalid_footnote_undefined", "invalid_links", "invalid_raw_html", "invalid_template_expression",
                       "invalid_template_syntax", "invalid_template_undefined", "invalid_unknown_citation",
                       "invalid_unknown_directive_targets", "invalid_raw_html_evasions", "invalid_layout_output",
                       "invalid_layout_templates", "invalid_directive_lines", "invalid_every_stage"]


@pytest.mark.parametrize("name", RENDERED_IN_WORKERS)
def test_problems_found_in_worker_processes_are_reported_the_same(name: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  forks: Callable[[], int]) -> None:
    test_invalid_fixture_reports_exact_problems(name, tmp_path, monkeypatch, capsys, jobs="2")
    assert forks() >= 2, "no page was rendered in a worker process"


@pytest.mark.parametrize("jobs", ["2", "1"], ids=["workers", "main process"])
def test_a_broken_base_template_is_named_once(tmp_path: Path, jobs: str) -> None:
    """Every page breaks on it, in whichever process renders the page: one line, naming the first page."""
    site = copy_site("features", tmp_path)
    base = site / "layouts" / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("</body>", "{% if x %}</body>"), encoding="utf-8")
    code, lines = build_site(site, "--jobs", jobs)
    assert code == 1
    broken = [line for line in lines if "template syntax error" in line]
    assert len(broken) == 1 and broken[0].startswith("layouts/base.html:"), lines


@pytest.mark.parametrize("name", ["invalid_slow_markdown", "invalid_yaml_bombs"])
def test_input_made_to_exhaust_the_parsers_is_refused_quickly(name: str, tmp_path: Path) -> None:
    """50,000 '[', 20,000 '<a ', 10,000 '[a](', a merge-key bomb, a billion laughs and YAML nested 5,000 deep:
    each named at its line, the whole build in well under the time one of them took to convert."""
    site = copy_invalid_site(name, tmp_path)
    started = time.perf_counter()
    code, lines = build_site(site, "--jobs", "2", "--no-cache")
    assert time.perf_counter() - started < 10
    assert code == 1
    assert all(re.match(r"content/[a-z]+\.(md|yaml):\d+: ", line) for line in lines[:-1]), lines


@pytest.mark.parametrize(("argv", "expected"), [
    (["--prot", "8000"], "build.py: error: unrecognized arguments: --prot (did you mean '--port'?)"),
    (["serve", "--prot", "8000"], "build.py: error: unrecognized arguments: --prot 8000 (did you mean '--port'?)"),
    (["buld"], "build.py: error: argument command: invalid choice: 'buld' (choose from 'build', 'check', 'serve', "
               "'new') (did you mean 'build'?)"),
])
def test_a_mistyped_option_or_command_is_named_with_the_nearest_one(argv: list[str], expected: str,
                                                                    tmp_path: Path) -> None:
    """A mistyped option before its value (--prot 8000) left the value to be read as the command: the
    message named '8000', not the option."""
    site = copy_site("minimal", tmp_path)
    code, lines = build_site(site, *argv)
    assert (code, lines) == (2, [expected])
