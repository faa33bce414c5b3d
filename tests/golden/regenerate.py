#!/usr/bin/env python3
"""Rebuild tests/golden/features/ from the features fixture, deliberately, and print what changed.

Run it after a change that is meant to change the built site, then review the diff before
committing it:

    .venv/bin/python tests/golden/regenerate.py && git diff --stat tests/golden/

tests/test_golden.py builds the fixture the same way (build_features) and compares byte for byte.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
import tempfile
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent
ROOT = GOLDEN.parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "features"
TREE = GOLDEN / "features"
# Fixed, so that the golden tree does not follow the fixture's settings file.
BASE_URL = "https://golden.example.org/features/"


def build_features(work: Path) -> Path:
    """Build a copy of the features fixture with the project's layouts (--no-cache) into work/output."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import build

    site = work / "site"
    shutil.copytree(FIXTURE, site, ignore=shutil.ignore_patterns("expected*.txt"))
    shutil.copytree(ROOT / "layouts", site / "layouts")
    output = work / "output"
    stderr = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        code = build.main(["--config", str(site / "site_config.yaml"), "--no-cache", "--base-url", BASE_URL,
                           "--output", str(output)])
    if code != 0:
        raise RuntimeError(f"the features fixture does not build (exit {code}):\n{stderr.getvalue()}")
    return output


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under folder as POSIX relative path -> bytes."""
    return {file.relative_to(folder).as_posix(): file.read_bytes() for file in sorted(folder.rglob("*")) if file.is_file()}


def changes(old: dict[str, bytes], new: dict[str, bytes]) -> list[str]:
    """One line per file added, removed or changed between two trees."""
    lines = [f"added   {path}" for path in sorted(new.keys() - old.keys())]
    lines += [f"removed {path}" for path in sorted(old.keys() - new.keys())]
    lines += [f"changed {path}" for path in sorted(old.keys() & new.keys()) if old[path] != new[path]]
    return lines


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        built = files_of(build_features(Path(work)))
    old = files_of(TREE) if TREE.is_dir() else {}
    lines = changes(old, built)
    if not lines:
        print("tests/golden/features/ is up to date")
        return 0
    shutil.rmtree(TREE, ignore_errors=True)
    for out_path, data in built.items():
        target = TREE / out_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    print("\n".join(lines))
    print(f"{len(lines)} file{'s' if len(lines) != 1 else ''} changed in tests/golden/features/: review them with git diff")
    return 0


if __name__ == "__main__":
    sys.exit(main())
