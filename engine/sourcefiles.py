"""Stage 1b: the project's source files found and read, as bytes.

Every `*.md` under content/, in the order a sorted rglob gives; a file's bytes, refusing a symlink
that leads out of the project; and, for the dev server, the files unchanged since it last read them.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from .cache import Cache
from .errors import Problem


def markdown_files(content_dir: Path) -> list[tuple[str, bool]]:
    """Every `*.md` under content_dir as (POSIX path relative to it, whether it is a symlink), sorted by
    path parts; symlinked folders are not entered."""
    found: list[tuple[str, bool]] = []
    folders = [""]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(os.path.join(content_dir, folder)))
        except OSError:
            continue  # a folder that cannot be listed is skipped, as rglob does
        for entry in entries:
            name = folder + entry.name
            if entry.name.endswith(".md"):
                found.append((name, entry.is_symlink()))
            try:
                if entry.is_dir() and not entry.is_symlink():
                    folders.append(name + "/")
            except OSError:
                continue
    found.sort(key=lambda item: item[0].split("/"))
    return found


def read_source_bytes(file: Path, root: Path, source: str, problems: list[Problem]) -> bytes | None:
    """Read a source file, refusing symlinks that point outside the project."""
    try:
        real = file.resolve(strict=True)
    except (OSError, RuntimeError):
        problems.append(Problem(source, 0, "cannot read the file: it is a broken symlink"))
        return None
    if not real.is_relative_to(root):
        problems.append(Problem(source, 0, "refusing a symlink that points outside the project",
                                "copy the file into the project instead of linking to it"))
        return None
    return read_bytes(real, source, problems)


def read_bytes(file: Path | str, source: str, problems: list[Problem]) -> bytes | None:
    try:
        with open(file, "rb") as handle:
            return handle.read()
    except OSError as error:
        problems.append(Problem(source, 0, f"cannot read the file: {error.strerror or error}"))
        return None


class FileDigests:
    """The sha256 of each content file as last read, by the file's stat signature (inode, device, size,
    modification and change times), kept in the dev server's memory between rebuilds.

    Any write to a file changes its change time, which no program can set, so a file whose signature
    is unchanged holds the bytes it held. Timestamps are coarse, though: a file changed twice within
    one tick keeps its times. So, as git does with its index, a signature is trusted only when the
    file's times were already two seconds old when it was read; a newer file is read every time."""

    _SETTLED_NS = 2_000_000_000

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        # None: nothing is remembered between loads (a build), so every file is read
        self.known: dict[str, tuple[tuple[int, ...], str]] | None = None
        if cache.remembers("signatures"):
            remembered = cache.get("signatures", "content")
            self.known = remembered if isinstance(remembered, dict) else {}
        self.kept: dict[str, tuple[tuple[int, ...], str]] = {}

    def unchanged(self, source: str, path: str) -> str | None:
        """The file's digest when its signature is the one remembered, else None (read it)."""
        if not self.known or source not in self.known:
            return None
        try:
            signature = _signature(os.stat(path))
        except OSError:
            return None
        remembered, digest = self.known[source]
        if signature != remembered:
            return None
        self.kept[source] = (signature, digest)
        return digest

    def read(self, source: str, path: str, problems: list[Problem]) -> tuple[bytes | None, str | None]:
        """The file's bytes and, when signatures are remembered, their sha256 (else None: the caller
        hashes them); the signature is remembered when the file's times are settled."""
        if self.known is None:
            return read_bytes(path, source, problems), None
        started = time.time_ns()
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
                status = os.fstat(handle.fileno())
        except OSError as error:
            problems.append(Problem(source, 0, f"cannot read the file: {error.strerror or error}"))
            return None, None
        digest = hashlib.sha256(raw).hexdigest()
        if max(status.st_mtime_ns, status.st_ctime_ns) < started - self._SETTLED_NS:
            self.kept[source] = (_signature(status), digest)
        return raw, digest

    def keep(self) -> None:
        """Remember the signatures of this load for the next (the files that are gone are forgotten)."""
        if self.known is not None and self.kept != self.known:
            self.cache.put("signatures", "content", self.kept, to_disk=False)


def _signature(status: os.stat_result) -> tuple[int, ...]:
    return status.st_ino, status.st_dev, status.st_size, status.st_mtime_ns, status.st_ctime_ns
