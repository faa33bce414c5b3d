"""Deploying right by default: preview builds, the placeholder warning, and the host settings the project
ships (the Pages workflow, netlify.toml, README's Cloudflare Pages command), each run as a host would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import ROOT, build_site, tree_digest
from test_deploy import parse_headers_file

PRODUCTION = "https://example.com/sub/path/"  # the features fixture's base_url
PREVIEW = "https://deploy-preview-7--site.example.net/"


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def robots_rules(output: Path) -> list[str]:
    return [line for line in (output / "robots.txt").read_text().splitlines() if line and not line.startswith("#")]


def assert_preview(output: Path, production: str) -> None:
    """noindex on every page and in _headers, robots.txt disallowing all, canonical at production."""
    pages = sorted(output.rglob("index.html"))
    assert len(pages) > 3
    for page in pages:
        html = soup(page)
        assert html.find("meta", attrs={"name": "robots"})["content"] == "noindex", page
        url = page.relative_to(output).as_posix().removesuffix("index.html")
        assert html.find("link", rel="canonical")["href"] == production + url
    assert soup(output / "404.html").find("meta", attrs={"name": "robots"})["content"] == "noindex"
    assert robots_rules(output)[:2] == ["User-agent: *", "Disallow: /"]
    assert dict(parse_headers_file((output / "_headers").read_text()))["/*"]["X-Robots-Tag"] == "noindex"


def assert_production(output: Path, base_url: str) -> None:
    for page in sorted(output.rglob("index.html")):
        assert soup(page).find("meta", attrs={"name": "robots"}) is None, page
    assert soup(output / "index.html").find("link", rel="canonical")["href"] == base_url
    assert robots_rules(output)[:2] == ["User-agent: *", "Allow: /"]
    assert "X-Robots-Tag" not in dict(parse_headers_file((output / "_headers").read_text()))["/*"]


def test_a_preview_build_is_not_indexed_and_points_at_production(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site("features")
    code, errors = build_site(site, "--preview", "--base-url", PREVIEW)
    assert (code, errors) == (0, [])
    assert_preview(site / "output", PRODUCTION)
    # 404.html is served at any depth: its links start with the path of the address it is served at
    assert soup(site / "output" / "404.html").find("link", rel="stylesheet")["href"].startswith("/assets/")
    code, errors = build_site(site)
    assert (code, errors) == (0, [])
    assert_production(site / "output", PRODUCTION)


def test_a_production_build_warns_about_the_placeholder_address_and_contact(make_site) -> None:  # type: ignore[no-untyped-def]
    site = make_site("features")
    config = site / "site_config.yaml"
    config.write_text(config.read_text().replace("https://example.com/sub/path/", "https://example.org/stca/")
                      .replace("fix@example.com", "corrections@example.org"))
    warnings = ["site_config.yaml:4: warning: 'base_url' still holds the placeholder example.org "
                "(set the site's real address)",
                "site_config.yaml:8: warning: 'contact' still holds the placeholder example.org "
                "(set the site's real contact)"]
    assert build_site(site) == (0, warnings)
    before = tree_digest(site / "output")
    code, errors = build_site(site, "--strict")
    assert code == 1 and errors == [line.replace("warning: ", "") for line in warnings] + [
        "2 problems found; nothing was written"]
    assert tree_digest(site / "output") == before
    assert build_site(site, "--preview", "--base-url", PREVIEW) == (0, [])  # a preview is not production
    # the real address given on the command line: only the contact is left
    assert build_site(site, "--base-url", "https://stca.example.net/") == (0, warnings[1:])


# -- the hosts' settings, run as the hosts run them ---------------------------------------------------

@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project with the fixture's content, sharing the runtime .venv (made already)."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("engine", "layouts"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("build.py", "Makefile", "requirements.txt", "netlify.toml", "README.md"):
        shutil.copy2(ROOT / name, copy / name)  # keeps requirements.txt older than the .venv made from it
    shutil.copytree(ROOT / "tests" / "fixtures" / "features" / "content", copy / "content")
    shutil.copy(ROOT / "tests" / "fixtures" / "features" / "site_config.yaml", copy / "site_config.yaml")
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


def run_host_command(project: Path, command: str, **env: str) -> None:
    """Run a build command in a shell the way a host does, with its environment variables."""
    environment = {**os.environ, **env}
    done = subprocess.run(["sh", "-c", command], cwd=project, env=environment, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_netlify_builds_production_for_its_address_and_previews_with_preview(project: Path) -> None:
    settings = tomllib.loads((project / "netlify.toml").read_text())
    assert settings["build"]["publish"] == "output"
    assert settings["build"]["environment"]["PYTHON_VERSION"] >= "3.11"
    run_host_command(project, settings["build"]["command"], URL="https://stca.example.net")
    assert_production(project / "output", "https://stca.example.net/")
    # each other language of the explainer gets its own 404 page (the build writes <code>/404.html) for
    # the missing addresses under its folder
    languages = yaml.safe_load((ROOT / "site_config.yaml").read_text(encoding="utf-8"))["languages"][1:]
    assert languages and [(rule["from"], rule["to"], rule["status"]) for rule in settings["redirects"]] == [
        (f"/{code}/*", f"/{code}/404.html", 404) for code in languages]
    for context in ("deploy-preview", "branch-deploy"):
        shutil.rmtree(project / "output")
        run_host_command(project, settings["context"][context]["command"], URL="https://stca.example.net",
                         DEPLOY_PRIME_URL="https://deploy-preview-7--stca.netlify.app")
        assert_preview(project / "output", PRODUCTION)


def test_the_cloudflare_pages_command_in_the_readme(project: Path) -> None:
    readme = (project / "README.md").read_text()
    command = re.search(r"<!-- cloudflare-build-command -->\n {4}(.+)\n", readme)
    assert command
    run_host_command(project, command.group(1), CF_PAGES_BRANCH="main", CF_PAGES_URL="https://0a1b2c.stca.pages.dev")
    assert_production(project / "output", PRODUCTION)
    run_host_command(project, command.group(1), CF_PAGES_BRANCH="fix-typo",
                     CF_PAGES_URL="https://0a1b2c.stca.pages.dev")
    assert_preview(project / "output", PRODUCTION)
    # production with base_url still at the placeholder the project ships with: the deploy fails, naming it
    config = project / "site_config.yaml"
    config.write_text(config.read_text().replace("https://example.com/sub/path/", "https://example.org/"))
    done = subprocess.run(["sh", "-c", command.group(1)], cwd=project, env={**os.environ, "CF_PAGES_BRANCH": "main"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "'base_url' still holds the placeholder example.org" in done.stderr, done.stderr


def test_the_pages_workflow_tests_then_builds_for_the_reported_address(project: Path) -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    uses = {step["uses"].split("@")[0]: int(step["uses"].split("@v")[1]) for step in steps if "uses" in step}
    uses |= {step["uses"].split("@")[0]: int(step["uses"].split("@v")[1])
             for step in workflow["jobs"]["deploy"]["steps"]}
    # the current majors of the official actions
    assert uses == {"actions/checkout": 7, "actions/setup-python": 7, "actions/configure-pages": 6,
                    "actions/upload-pages-artifact": 5, "actions/deploy-pages": 5}
    python = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip"
    pages = next(step for step in steps if step.get("uses", "").startswith("actions/configure-pages"))
    runs = [(index, step) for index, step in enumerate(steps) if "run" in step]
    test_index = next(index for index, step in runs if '-m "not browser"' in step["run"])
    build_index, build = next((index, step) for index, step in runs if "make build" in step["run"])
    assert steps.index(pages) < test_index < build_index
    assert build["env"]["BASE_URL"] == f"${{{{ vars.SITE_BASE_URL || steps.{pages['id']}.outputs.base_url }}}}"
    # configure-pages reports the address without a trailing slash
    run_host_command(project, build["run"], BASE_URL="https://writer.github.io/stca")
    assert_production(project / "output", "https://writer.github.io/stca/")
