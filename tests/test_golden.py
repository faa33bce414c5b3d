"""The features fixture builds to tests/golden/features/, byte for byte.

Any change to what the engine or the layouts write shows here as a failing test naming the files.
When the change is meant, regenerate the tree (`python tests/golden/regenerate.py`) and review the
diff in the same commit.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "golden"))
from regenerate import TREE, build_features, changes, files_of  # noqa: E402


def test_the_features_site_builds_to_the_golden_tree(tmp_path: Path) -> None:
    built = files_of(build_features(tmp_path))
    golden = files_of(TREE)
    assert len(golden) > 10, "no golden tree: run python tests/golden/regenerate.py"
    different = changes(golden, built)
    first_text = next((line.split()[-1] for line in different if line.startswith("changed")
                       and not line.endswith((".png", ".svg"))), None)
    diff = "" if first_text is None else "\n".join(difflib.unified_diff(
        golden[first_text].decode("utf-8", "replace").splitlines(), built[first_text].decode("utf-8", "replace").splitlines(),
        f"golden/{first_text}", f"built/{first_text}", lineterm="", n=1))
    assert different == [], "\n".join([*different, diff[:4000],
                                       "if the change is meant: python tests/golden/regenerate.py, then review git diff"])
