"""`build.py new FOLDER`: a new explainer that builds, checks and serves at once; a used folder is refused."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, build_site
from test_serve import fetch, running

import build


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = build.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_a_new_explainer_builds_checks_and_serves_at_once(tmp_path: Path) -> None:
    site = tmp_path / "next-explainer"
    code, out, err = run("new", str(site))
    assert (code, err) == (0, "")
    # The next steps name the Python that has the libraries, not whichever 'python' is on the PATH.
    python, script, *rest = out.splitlines()[1].split()
    assert Path(python).resolve() == Path(sys.executable).resolve() and Path(script).resolve() == ROOT / "build.py"
    assert rest[:2] == ["serve", "--config"] and Path(rest[2]).resolve() == (site / "site_config.yaml").resolve()
    assert sorted(p.name for p in (site / "content").iterdir()) == [
        "first-section.md", "glossary.md", "glossary.yaml", "index.md", "sources.md", "sources.yaml",
        "timeline.md", "timeline.yaml"]
    assert (site / "layouts" / "base.html").is_file()

    code, errors = build_site(site)  # the placeholders are the only thing to fix before publishing
    assert (code, [line.split(": warning: ")[1].split(" (")[0] for line in errors]) == (0, [
        "'base_url' still holds the placeholder example.org", "'contact' still holds the placeholder example.org"])
    output = site / "output"
    section = BeautifulSoup((output / "first-section" / "index.html").read_text(), "html.parser")
    assert section.select_one("p.kicker").get_text() == "Part 1 of 1"
    assert [a["href"] for a in section.select("sup.cite a")] == ["#source-1"]  # the citation, numbered
    assert [a["href"] for a in section.select("a.term")] == ["../glossary/#term-placeholder-term"]
    for page in ("index.html", "sources/index.html", "timeline/index.html", "glossary/index.html"):
        assert (output / page).is_file(), page
    timeline = BeautifulSoup((output / "timeline" / "index.html").read_text(), "html.parser")
    assert "The first event" in timeline.get_text()
    glossary = BeautifulSoup((output / "glossary" / "index.html").read_text(), "html.parser")
    assert "placeholder term" in glossary.get_text()

    code, out, err = run("check", "--config", str(site / "site_config.yaml"))
    assert (code, err) == (0, "") and out.startswith("checked 6 pages: 0 problems")

    with running(site) as (server, out_stream, err_stream):
        status, _, body = fetch(server, "/explainers/new-explainer/")
        assert status == 200 and b"A new explainer" in body
        assert fetch(server, "/explainers/new-explainer/first-section/")[0] == 200


@pytest.mark.parametrize("existing", ["file", "folder with a file"])
def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path, existing: str) -> None:
    target = tmp_path / "used"
    if existing == "file":
        target.write_text("mine\n")
    else:
        target.mkdir()
        (target / "notes.md").write_text("mine\n")
    code, out, err = run("new", str(target))
    assert code == 2 and out == ""
    assert err.startswith(f"build.py: error: refusing to write a new explainer into {target}: ")
    assert (target.read_text() if existing == "file" else (target / "notes.md").read_text()) == "mine\n"
    assert not (tmp_path / "used" / "content").exists()


def test_new_into_an_empty_folder_and_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert run("new", str(tmp_path / "empty"))[0] == 0
    assert run("new") == (2, "", "build.py: error: new needs a FOLDER (build.py new ../my-explainer)\n")
    assert run("build", "somewhere")[0] == 2
