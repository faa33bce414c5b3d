"""The spare tree of cached builds: only changed files are written, and no hand change fools it.

A cached build turns `.output.spare` (the tree before the current one) into the new tree and swaps it
in. Whatever a person or a deploy tool did to output/, the spare or the record, every build still gives
the bytes of a clean --no-cache build.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import build_site, clean_build_digest, copy_site, tree_digest

from engine.directives import PLACES_LISTED
from engine.records import OutputFile
from engine.write import Staging


def _inodes(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file's inode and mtime: a freed inode number is often reused at once, the pair is not."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}



def _site_with_spare(tmp_path: Path) -> Path:
    """The features site after two cached builds: the second one kept the first tree as the spare."""
    site = copy_site("features", tmp_path)
    for _ in range(2):
        code, errors = build_site(site)
        assert code == 0, errors
    assert (site / ".output.spare").is_dir() and (site / ".output.trees.json").is_file()
    return site


def _edit_about(site: Path, words: str) -> None:
    about = site / "content" / "about.md"
    about.write_text(about.read_text(encoding="utf-8").replace("This page", words, 1), encoding="utf-8")


def test_an_edit_rewrites_only_the_files_it_changes(tmp_path: Path) -> None:
    site = copy_site("features", tmp_path)
    assert build_site(site)[0] == 0
    assert build_site(site)[0] == 0
    first_tree = _inodes(site / ".output.spare")
    _edit_about(site, "This edited page")
    assert build_site(site) == (0, [])
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    now = _inodes(site / "output")
    rewritten = sorted(p for p in now if now[p] != first_tree.get(p))
    assert "about/index.html" in rewritten
    assert len(rewritten) <= len(now) // 3, rewritten
    assert sorted(p.name for p in site.iterdir() if p.name.startswith(".output")) == [
        ".output.lock", ".output.spare", ".output.trees.json"]


def _stray_file(site: Path) -> None:
    (site / "output" / "CNAME").write_text("example.org\n", encoding="utf-8")
    (site / "output" / "extra" / "deep").mkdir(parents=True)
    (site / "output" / "extra" / "deep" / "note.txt").write_text("left by a deploy tool\n", encoding="utf-8")
    (site / "output" / "empty-folder").mkdir()


def _file_edited_in_place(site: Path) -> None:
    with open(site / "output" / "sitemap.xml", "a", encoding="utf-8") as sitemap:  # same inode, new size
        sitemap.write("<!-- edited -->")


def _page_appended_in_place(site: Path) -> None:
    with open(site / "output" / "first" / "index.html", "ab") as page:  # `>>`: same inode, new size
        page.write(b"<p>appended by hand</p>")


def _file_replaced(site: Path) -> None:
    page = site / "output" / "first" / "index.html"
    data = page.read_bytes()
    page.unlink()  # an editor that saves a new file
    page.write_bytes(data.replace(b"</body>", b"<p>by hand</p></body>"))


def _file_replaced_with_a_folder(site: Path) -> None:
    (site / "output" / "robots.txt").unlink()
    (site / "output" / "robots.txt").mkdir()
    (site / "output" / "robots.txt" / "inside").write_text("x", encoding="utf-8")


def _folder_replaced_with_a_file(site: Path) -> None:
    shutil.rmtree(site / "output" / "second")
    (site / "output" / "second").write_text("not a folder", encoding="utf-8")


def _symlink_outside(site: Path) -> None:
    outside = site.parent / "outside.txt"
    outside.write_text("keep me", encoding="utf-8")
    (site / "output" / "index.html").unlink()
    (site / "output" / "index.html").symlink_to(outside)


def _output_deleted(site: Path) -> None:
    shutil.rmtree(site / "output")


def _spare_deleted(site: Path) -> None:
    shutil.rmtree(site / ".output.spare")


def _spare_corrupted(site: Path) -> None:
    spare = site / ".output.spare"
    (spare / "sitemap.xml").write_text("garbage", encoding="utf-8")
    (spare / "about" / "index.html").unlink()
    (spare / "glossary").rename(spare / "renamed-glossary")
    (spare / "stray.html").write_text("stray", encoding="utf-8")


def _spare_page_appended(site: Path) -> None:
    with open(site / ".output.spare" / "first" / "index.html", "ab") as page:
        page.write(b"<p>appended by hand</p>")


def _spare_page_truncated(site: Path) -> None:
    page = site / ".output.spare" / "second" / "index.html"
    os.truncate(page, page.stat().st_size // 2)


def _spare_page_overwritten_same_size(site: Path) -> None:
    page = site / ".output.spare" / "second" / "index.html"
    with open(page, "r+b") as handle:  # same inode, same size: only the times tell
        handle.write(b"X" * 64)


def _spare_is_a_file(site: Path) -> None:
    shutil.rmtree(site / ".output.spare")
    (site / ".output.spare").write_text("not a folder", encoding="utf-8")


def _record_corrupted(site: Path) -> None:
    (site / ".output.trees.json").write_text('{"trees": [[1, 2, 3]]', encoding="utf-8")


def _record_deleted(site: Path) -> None:
    (site / ".output.trees.json").unlink()


HAND_CHANGES: dict[str, Callable[[Path], None]] = {
    "stray-file-in-output": _stray_file,
    "file-in-output-edited-in-place": _file_edited_in_place,
    "page-in-output-appended-in-place": _page_appended_in_place,
    "page-in-output-replaced": _file_replaced,
    "file-in-output-replaced-with-a-folder": _file_replaced_with_a_folder,
    "folder-in-output-replaced-with-a-file": _folder_replaced_with_a_file,
    "symlink-in-output": _symlink_outside,
    "output-deleted": _output_deleted,
    "spare-deleted": _spare_deleted,
    "spare-corrupted": _spare_corrupted,
    "spare-page-appended": _spare_page_appended,
    "spare-page-truncated": _spare_page_truncated,
    "spare-page-overwritten-same-size": _spare_page_overwritten_same_size,
    "spare-is-a-file": _spare_is_a_file,
    "record-corrupted": _record_corrupted,
    "record-deleted": _record_deleted,
}


# The about page's text in the three builds after a hand change: each build rewrites that page.
ABOUT_TEXTS = ("This page, edited once.", "This page, edited twice.", "This page, edited three times.")


def _set_about(site: Path, text: str) -> None:
    (site / "content" / "about.md").write_text(f"---\ntitle: About\nsummary: What this fixture is.\n---\n{text}\n",
                                               encoding="utf-8")


@pytest.fixture(scope="module")
def clean_digests(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """What --no-cache builds give for each of ABOUT_TEXTS (the same for every hand change)."""
    folder = tmp_path_factory.mktemp("clean")
    site = copy_site("features", folder)
    digests = []
    for text in ABOUT_TEXTS:
        _set_about(site, text)
        digests.append(clean_build_digest(site, folder))
    return digests


@pytest.mark.parametrize("change", HAND_CHANGES.values(), ids=HAND_CHANGES.keys())
def test_builds_after_a_hand_change_match_a_clean_build(tmp_path: Path, change: Callable[[Path], None],
                                                        clean_digests: list[dict[str, str]]) -> None:
    site = _site_with_spare(tmp_path)
    change(site)
    # Three builds: the spare made from the changed tree is used by the second one, the third uses that.
    for text, clean in zip(ABOUT_TEXTS, clean_digests, strict=True):
        _set_about(site, text)
        assert build_site(site) == (0, []), text
        assert tree_digest(site / "output") == clean, text
    assert not (site / "output" / "CNAME").exists()
    if (site.parent / "outside.txt").exists():
        assert (site.parent / "outside.txt").read_text(encoding="utf-8") == "keep me"


def test_a_failed_cached_build_keeps_output_and_the_next_build_uses_the_spare(tmp_path: Path) -> None:
    site = _site_with_spare(tmp_path)
    before = tree_digest(site / "output")
    _edit_about(site, "This edited page")
    first = site / "content" / "first.md"
    good = first.read_text(encoding="utf-8")
    first.write_text(good.replace("title: First section", "title: [unclosed"), encoding="utf-8")
    code, _ = build_site(site)
    assert code == 1
    assert tree_digest(site / "output") == before
    spare_before = _inodes(site / ".output.spare")
    first.write_text(good, encoding="utf-8")
    assert build_site(site) == (0, [])
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    kept = [p for p, inode in _inodes(site / "output").items() if spare_before.get(p) == inode]
    assert len(kept) > len(spare_before) // 2, "the spare was staged afresh after a failed build"


def test_a_no_cache_build_stages_afresh_and_leaves_the_spare_usable(tmp_path: Path) -> None:
    site = _site_with_spare(tmp_path)
    _edit_about(site, "This edited page")
    assert build_site(site, "--no-cache") == (0, [])
    assert build_site(site) == (0, [])
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)
    _edit_about(site, "This page, edited again,")
    assert build_site(site) == (0, [])
    assert tree_digest(site / "output") == clean_build_digest(site, tmp_path)


# Staging on its own, with made-up files: the cases a real site rarely produces.

def _stage(output: Path, files: dict[str, bytes]) -> None:
    """One cached-build write of made-up files."""
    with Staging(output, keep_spare=True) as staging:
        for out_path, content in files.items():
            staging.add(OutputFile(out_path, content, frozenset()))
        staging.commit()


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_files_and_folders_that_swap_places_between_builds(tmp_path: Path) -> None:
    output = tmp_path / "site" / "output"
    trees: list[dict[str, bytes]] = [
        {"x": b"file x", "y/index.html": b"y", "deep/a/b/c.txt": b"c"},
        {"x/index.html": b"x page", "y": b"file y", "z.txt": b"z"},
        {"x": b"file x again", "y/index.html": b"y again"},
        {"x/index.html": b"x page", "y": b"file y", "deep/a/b/c.txt": b"c"},
    ]
    for tree in trees:
        _stage(output, tree)
        assert _contents(output) == tree
    spare = output.parent / ".output.spare"
    assert not (spare / "deep").exists() or any(p.is_file() for p in (spare / "deep").rglob("*")), \
        "an emptied folder was left in the spare"


def test_emptied_folders_are_removed_from_the_spare(tmp_path: Path) -> None:
    output = tmp_path / "site" / "output"
    _stage(output, {"gone/deep/page.html": b"1", "kept.txt": b"k"})
    _stage(output, {"gone/deep/page.html": b"1", "kept.txt": b"k"})
    _stage(output, {"kept.txt": b"k"})
    assert sorted(p.name for p in output.iterdir()) == ["kept.txt"]
    _stage(output, {"kept.txt": b"k"})
    assert sorted(p.name for p in output.iterdir()) == ["kept.txt"]
    assert sorted(p.name for p in (output.parent / ".output.spare").iterdir()) == ["kept.txt"]


def test_a_file_replaced_with_its_size_and_mtime_kept_is_noticed_by_its_inode(tmp_path: Path) -> None:
    """What rsync -a does: a new file beside the old one, mtime copied, renamed over it.

    The check trusts size, mtime and inode, like rsync's own quick check: a change that keeps all
    three (an in-place edit that sets the mtime back) is not noticed."""
    output = tmp_path / "site" / "output"
    _stage(output, {"a.txt": b"aaaa"})
    _stage(output, {"a.txt": b"aaaa"})
    spare_file = output.parent / ".output.spare" / "a.txt"
    status = spare_file.stat()
    replacement = spare_file.with_name(".a.txt.rsync")
    replacement.write_bytes(b"bbbb")
    os.utime(replacement, ns=(status.st_atime_ns, status.st_mtime_ns))
    os.replace(replacement, spare_file)
    _stage(output, {"a.txt": b"aaaa"})
    assert _contents(output) == {"a.txt": b"aaaa"}


def test_a_page_at_the_address_of_a_generated_page_is_named_with_it(tmp_path: Path) -> None:
    """A source cited on many pages gets a page of its own, rendered after the others: a writer's page
    at that address is reported with it, not as a file that could not be written."""
    site = copy_site("features", tmp_path)
    for number in range(3, 3 + PLACES_LISTED + 1):  # more pages than a sources list shows
        (site / "content" / f"extra-{number}.md").write_text(
            f"---\ntitle: Extra {number}\nsummary: It cites alpha.\norder: {number}\n---\nA claim [@alpha].\n",
            encoding="utf-8")
    (site / "content" / "sources").mkdir()
    (site / "content" / "sources" / "alpha.md").write_text(
        "---\ntitle: Alpha by hand\nsummary: Where alpha's own page goes.\n---\nText.\n", encoding="utf-8")
    code, lines = build_site(site)
    assert code == 1
    assert "content/sources.yaml: two inputs would write sources/alpha/index.html (content/sources.yaml, " \
           "content/sources/alpha.md, site_config.yaml)" in lines, lines
    assert not (site / "output").exists()
