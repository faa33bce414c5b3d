"""sourcefiles.markdown_files walks content/ as `sorted(content_dir.rglob("*.md"))` does, without a Path per file."""

from __future__ import annotations

import os
from pathlib import Path

from engine.sourcefiles import markdown_files


def test_markdown_files_match_sorted_rglob(tmp_path: Path) -> None:
    content = tmp_path / "content"
    outside = tmp_path / "outside"
    for name in ["index.md", "b.md", "B.md", "a-b.md", "a/z.md", "a/b/c.md", "a.b/x.md", "A/y.md", ".hidden/h.md",
                 "notes.txt", "x.MD", ".md", "deep/er/still/page.md"]:
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text("text", encoding="utf-8")
    (content / "folder.md").mkdir()  # rglob yields a folder whose name matches, and so does the walk
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "o.md").write_text("text", encoding="utf-8")
    os.symlink(outside, content / "linked")  # a symlinked folder is not entered
    os.symlink(outside / "sub" / "o.md", content / "link.md")  # a symlinked file is listed, as a symlink
    os.symlink(tmp_path / "missing.md", content / "broken.md")
    expected = [(file.relative_to(content).as_posix(), file.is_symlink()) for file in sorted(content.rglob("*.md"))]
    assert markdown_files(content) == expected
    assert ("link.md", True) in expected and ("broken.md", True) in expected
