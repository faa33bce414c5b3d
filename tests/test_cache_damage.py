"""A damaged cache never changes what a build writes: it equals the --no-cache build, with at most one note.

Entries may be truncated, overwritten or deleted (a full disk, a sync tool, a person); the cache
folder, or one kind's folder in it, may be replaced by a file or a symlink. In every case the next
builds exit 0 and write the bytes of a --no-cache build. Damage to output/ and the spare tree is in
test_staging.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import build_site, clean_build_digest, copy_site, tree_digest


def _entries(site: Path) -> list[Path]:
    """Every entry file of every kind (`.cache/<kind>/<digest>`)."""
    return sorted(file for file in (site / ".cache").rglob("*") if file.is_file())


def _truncate(files: list[Path]) -> None:
    for file in files:
        os.truncate(file, file.stat().st_size // 2)


def _junk(files: list[Path]) -> None:
    for file in files:
        file.write_bytes(b"\x00not a cache entry\xff" * 3)


def _zeros_same_size(files: list[Path]) -> None:
    for file in files:
        file.write_bytes(bytes(file.stat().st_size))


def _delete(files: list[Path]) -> None:
    for file in files:
        file.unlink()


def _one_of_each_kind_truncated(files: list[Path]) -> None:
    """The first entry of each kind: the build then mixes entries it can use with ones it cannot."""
    first: dict[Path, Path] = {}
    for file in files:
        first.setdefault(file.parent, file)
    _truncate(list(first.values()))


def _swap_within_each_kind(files: list[Path]) -> None:
    """Each entry gets the bytes of another entry of its kind: whole, valid entries under the wrong key."""
    by_kind: dict[Path, list[Path]] = {}
    for file in files:
        by_kind.setdefault(file.parent, []).append(file)
    for same_kind in by_kind.values():
        data = [file.read_bytes() for file in same_kind]
        for file, other in zip(same_kind, data[1:] + data[:1], strict=True):
            file.write_bytes(other)


DAMAGE: dict[str, Callable[[list[Path]], None]] = {
    "truncated": _truncate,
    "junk": _junk,
    "zeros of the same size": _zeros_same_size,
    "deleted": _delete,
    "one of each kind truncated": _one_of_each_kind_truncated,
    "swapped with another entry": _swap_within_each_kind,
}


def _built(tmp_path: Path) -> Path:
    """The features site after a cached build: the cache holds rendered pages and converted bodies, and
    whatever other kinds of entry the engine keeps (the damage below reaches every kind)."""
    site = copy_site("features", tmp_path)
    assert build_site(site) == (0, [])
    assert {"pages", "markdown"} <= {folder.name for folder in (site / ".cache").iterdir()}
    return site


def _edit_layout(site: Path) -> None:
    base = site / "layouts" / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("</body>", "<!-- edited --></body>"), encoding="utf-8")


@pytest.fixture(scope="module")
def clean_digests(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, str]]:
    """What --no-cache builds give before and after the layout edit (the same for every case)."""
    folder = tmp_path_factory.mktemp("clean")
    site = copy_site("features", folder)
    before = clean_build_digest(site, folder)
    _edit_layout(site)
    return before, clean_build_digest(site, folder)


def _assert_next_builds_are_clean(site: Path, clean: tuple[dict[str, str], dict[str, str]],
                                  note: str | None = None) -> None:
    """A build as things are (cached pages are read), then one after a base layout edit (every page is
    rendered again from cached bodies and templates): each equals a --no-cache build."""
    for step, expected in zip(("unchanged", "layout edited"), clean, strict=True):
        if step == "layout edited":
            _edit_layout(site)
        code, lines = build_site(site)
        assert code == 0, lines
        assert lines == ([] if note is None else [note]), step
        assert tree_digest(site / "output") == expected, step


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_entry_is_a_miss(tmp_path: Path, damage: Callable[[list[Path]], None],
                                       clean_digests: tuple[dict[str, str], dict[str, str]]) -> None:
    site = _built(tmp_path)
    damage(_entries(site))
    _assert_next_builds_are_clean(site, clean_digests)


def _replaced_by_a_file(folder: Path) -> None:
    shutil.rmtree(folder)
    folder.write_text("not a folder\n", encoding="utf-8")


def _replaced_by_a_dangling_symlink(folder: Path) -> None:
    shutil.rmtree(folder)
    folder.symlink_to(folder.parent / "nowhere")


def _replaced_by_a_symlink_to_another_folder(folder: Path) -> None:
    elsewhere = folder.parent.parent.parent / f"elsewhere-{folder.name}"
    shutil.copytree(folder, elsewhere)  # an old copy of the same cache: its entries look valid
    shutil.rmtree(folder)
    folder.symlink_to(elsewhere)


REPLACEMENTS: dict[str, Callable[[Path], None]] = {
    "a file": _replaced_by_a_file,
    "a dangling symlink": _replaced_by_a_dangling_symlink,
    "a symlink to another folder": _replaced_by_a_symlink_to_another_folder,
}


@pytest.mark.parametrize("replace", REPLACEMENTS.values(), ids=REPLACEMENTS.keys())
@pytest.mark.parametrize("folder", [".cache", ".cache/pages"])
def test_a_cache_folder_replaced_by_a_file_or_a_symlink(tmp_path: Path, folder: str, replace: Callable[[Path], None],
                                                        clean_digests: tuple[dict[str, str], dict[str, str]]) -> None:
    site = _built(tmp_path)
    replace(site / folder)
    note = ".cache: warning: .cache/ is not a folder (a file or a symlink is in its place): building without the cache"
    _assert_next_builds_are_clean(site, clean_digests, note if folder == ".cache" else None)


@pytest.mark.parametrize("folder", [".cache", ".cache/pages", ".cache/markdown"])
def test_a_cache_folder_symlinked_elsewhere_never_loses_that_folders_files(
        tmp_path: Path, folder: str, clean_digests: tuple[dict[str, str], dict[str, str]]) -> None:
    """A symlink where a cache folder was may lead anywhere (a person's notes): pruning the cache must
    never delete what is there, however many files it holds."""
    site = _built(tmp_path)
    elsewhere = tmp_path / "notes"
    for number in range(150):
        (elsewhere / "drafts").mkdir(parents=True, exist_ok=True)
        (elsewhere / "drafts" / f"note-{number}.txt").write_text(f"note {number}\n", encoding="utf-8")
    kept = tree_digest(elsewhere)
    shutil.rmtree(site / folder)
    (site / folder).symlink_to(elsewhere)
    for _ in range(2):
        assert build_site(site)[0] == 0
    assert tree_digest(site / "output") == clean_digests[0]
    assert {path: digest for path, digest in tree_digest(elsewhere).items() if path.startswith("drafts/")} == kept
