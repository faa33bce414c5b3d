"""Stage 7: OutputFiles -> a folder beside output/ -> swapped into place.

The previous output/ is untouched until the new tree is complete; a lock
stops two builds from writing at once; leftovers of a killed build are
removed by the next one. Refuses an output folder that holds the sources.

A cached build keeps the tree it replaces as a spare (`.<output>.spare`) and
next time turns it into the new tree by writing only the files that differ.
A record beside output/ says what each tree holds: each file's content digest
and its size, inode and modification and change times when written. A file is
kept only when a stat agrees with its record: any write to it, truncation or
replacement changes its change time, so a file edited by hand is written again.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from .errors import BuildError, Problem, UsageError
from .records import OutputFile
from .settings import Settings

_TEMP_PREFIX = ".tmp-"
# Seconds to pause after each file: lets the fault tests kill or interrupt a build mid-write.
WRITE_DELAY_VARIABLE = "EXPLAINER_TEST_WRITE_DELAY"
_OLD_PREFIX = ".old-"
_SPARE_SUFFIX = ".spare"
_RECORDS_SUFFIX = ".trees.json"

# What a tree holds at one out_path: the sha256 of its bytes, then the size, mtime_ns, ctime_ns
# and inode it had when written.
Entry = tuple[str, int, int, int, int]
# A tree is named by its folder's (device, inode): the name survives the renames of a swap, so a
# record can never be read as the record of the folder that took its place.
TreeId = tuple[int, int]


def safe_join(folder: Path, out_path: str) -> Path:
    """Join a relative POSIX path under folder; ValueError for absolute or '..' parts."""
    pure = PurePosixPath(out_path)
    if pure.is_absolute() or not pure.parts or any(part in ("..", ".", "") for part in pure.parts) \
            or "\\" in out_path or "\0" in out_path:
        raise ValueError(f"unsafe output path '{out_path}'")
    return folder.joinpath(*pure.parts)


def check_output_folder(settings: Settings) -> Path:
    """The output folder, refused when it is or contains the project or its sources."""
    output = settings.output_dir
    root = settings.root.resolve()
    protected = [root, root / "content", root / "layouts", root / "tests", root / "engine", root / ".git"]
    for folder in protected:
        if output == folder or folder.is_relative_to(output) or (folder != root and output.is_relative_to(folder)):
            raise UsageError(f"refusing to write the site to {output}: it would overwrite the project's sources "
                             "(choose another --output)")
    if output.exists() and not output.is_dir():
        raise UsageError(f"refusing to write the site to {output}: it is a file, not a folder (choose another --output)")
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"cannot write the site to {output}: {parent} is a file, not a folder "
                                 "(choose another --output)")
            break
    return output


@contextmanager
def build_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock beside output/ for the whole build.

    A POSIX record lock: it belongs to this process alone (forked workers do not inherit it) and
    goes when the process ends, however it ends."""
    lock_file = output.parent / f".{output.name}.lock"
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the folder of {output}: {error.strerror} (choose another --output)") from None
    with open(lock_file, "a+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"another build is writing {output.name}/ right now; wait for it to finish") from None
        yield


def remove_leftovers(output: Path) -> None:
    """Delete temporary folders and files left by a build that was killed."""
    for sibling in sorted(output.parent.glob(f".{output.name}{_OLD_PREFIX}*")):
        if output.exists():
            _remove(sibling)
        else:  # killed between the two renames of a swap: this is the previous output
            os.replace(sibling, output)
    for pattern in (f"{_TEMP_PREFIX}*", f"{_RECORDS_SUFFIX}.*"):
        for sibling in output.parent.glob(f".{output.name}{pattern}"):
            _remove(sibling)


class Staging:
    """A folder beside output/ that files are written into, then swapped in or discarded.

    Use it as a context manager: leaving the block by an exception (a
    BuildError, Ctrl-C) leaves output/ as it was. With keep_spare (cached
    builds) the replaced tree is kept as the spare and a trusted spare is
    updated in place; otherwise (--no-cache) every build stages a fresh
    temporary folder and deletes the replaced tree.
    """

    def __init__(self, output: Path, keep_spare: bool = False):
        self.output = output
        self.keep_spare = keep_spare
        self.spare = output.parent / f".{output.name}{_SPARE_SUFFIX}"
        self.records_file = output.parent / f".{output.name}{_RECORDS_SUFFIX}"
        self.folder = output.parent / f".{output.name}{_TEMP_PREFIX}{os.getpid()}"
        self.written: dict[str, OutputFile] = {}
        self.is_incremental = False  # True: self.folder is the spare, holding self._held before this build
        self._held: dict[str, Entry] = {}  # files of the spare that are as recorded and not yet claimed
        self._tree: dict[str, Entry] = {}  # files written or kept for this build
        self._maybe_empty: set[str] = set()
        self._records: dict[TreeId, dict[str, Entry]] = {}
        self._output_id: TreeId | None = None
        self._is_swapped = False

    def __enter__(self) -> Staging:
        try:
            self._records = _load_records(self.records_file)
            self._output_id = _tree_id(self.output)
            spare_id = _tree_id(self.spare)
            spare_files = self._records.get(spare_id) if spare_id else None
            self._records = {tree: files for tree, files in self._records.items() if tree == self._output_id}
            if not self.keep_spare and spare_id is not None and spare_files is not None:
                self._records[spare_id] = spare_files  # a --no-cache build leaves the spare as it is
            if self.keep_spare:
                # Forget the spare's record before touching the spare, and every record of a folder that is
                # gone: a build killed from here on leaves a spare that the next build does not trust.
                _store_records(self.records_file, self._records)
            if self.keep_spare and spare_id is not None and spare_files is not None:
                self.folder, self.is_incremental = self.spare, True
                self._check_spare(spare_files)
            else:
                shutil.rmtree(self.folder, ignore_errors=True)
                self.folder.mkdir(parents=True)
        except OSError as error:
            raise self._write_error(error) from None
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if self._is_swapped:
            return
        if self.is_incremental:
            # The spare is half updated but every file in it is known: record that, so the next build
            # goes on from here. Unrecorded, the spare stays untrusted and is simply staged afresh.
            spare_id = _tree_id(self.spare)
            if spare_id is not None:
                with suppress(OSError):
                    _store_records(self.records_file, {**self._records, spare_id: {**self._held, **self._tree}})
        elif self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    def add(self, file: OutputFile) -> None:
        """Write one file, unless the spare already holds it."""
        if file.out_path in self.written:
            raise file.clash(self.written[file.out_path])
        target = safe_join(self.folder, file.out_path)
        try:
            if self.keep_spare:
                self._tree[file.out_path] = self._place(target, file)
            else:
                _write_file(target, file)
        except OSError as error:
            raise self._write_error(error) from None
        self.written[file.out_path] = OutputFile(file.out_path, b"", file.sources)  # the bytes are not kept
        if os.environ.get(WRITE_DELAY_VARIABLE):
            time.sleep(float(os.environ[WRITE_DELAY_VARIABLE]))

    def commit(self) -> int:
        """Swap the finished folder into place; return the number of files."""
        try:
            if self.is_incremental:
                self._remove_unclaimed()
            if self.keep_spare:
                folder_id = _tree_id(self.folder)
                if folder_id is not None:
                    self._records[folder_id] = self._tree
            else:
                self._records.pop(self._output_id or (-1, -1), None)  # that tree is about to be deleted
            _store_records(self.records_file, self._records)
            self._swap()
        except OSError as error:
            raise self._write_error(error) from None
        return len(self.written)

    def _check_spare(self, record: dict[str, Entry]) -> None:
        """Hold the spare's files that match their record; delete every other file (stray, changed, half written).

        A stat walk: a file whose size, mtime or inode differs from the record was changed by someone."""
        stack = [(str(self.folder), "")]
        while stack:
            directory, prefix = stack.pop()
            kept = 0
            with os.scandir(directory) as entries:
                for entry in entries:
                    out_path = prefix + entry.name
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, out_path + "/"))
                        kept += 1
                        continue
                    expected = record.get(out_path)
                    if expected is not None and entry.is_file(follow_symlinks=False):
                        status = entry.stat(follow_symlinks=False)
                        if (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino) == expected[1:]:
                            self._held[out_path] = expected
                            kept += 1
                            continue
                    os.unlink(entry.path)  # symlinks too: never follow one out of the tree
            if not kept and prefix:
                self._maybe_empty.add(directory)

    def _place(self, target: Path, file: OutputFile) -> Entry:
        """Make target hold file in this build's tree: keep the spare's copy when identical, else write it."""
        identity = file.content_digest()
        held = self._held.pop(file.out_path, None)  # unclaimed first: a failure below leaves it unrecorded
        if held is not None and held[0] == identity:
            return held
        if held is not None:
            os.unlink(target)
        try:
            _write_file(target, file)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            self._clear_way(target)
            _write_file(target, file)
        status = os.stat(target)
        return identity, status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino

    def _clear_way(self, target: Path) -> None:
        """Remove what an older tree left where target goes: a file where a folder is needed, or a folder."""
        parts = target.relative_to(self.folder).parts
        for depth in range(1, len(parts)):
            ancestor = self.folder.joinpath(*parts[:depth])
            if ancestor.is_symlink() or (ancestor.exists() and not ancestor.is_dir()):
                ancestor.unlink()
                self._held.pop("/".join(parts[:depth]), None)
        if target.is_dir() and not target.is_symlink():
            inside = "/".join(parts) + "/"
            for out_path in [p for p in self._held if p.startswith(inside)]:
                del self._held[out_path]
            shutil.rmtree(target)

    def _remove_unclaimed(self) -> None:
        """Delete the spare's files this build did not write, then the folders left empty."""
        for out_path in list(self._held):
            del self._held[out_path]
            target = safe_join(self.folder, out_path)
            with suppress(FileNotFoundError):  # already gone is what we want
                os.unlink(target)
            self._maybe_empty.add(str(target.parent))
        root = str(self.folder)
        for directory in sorted(self._maybe_empty, key=len, reverse=True):
            while directory != root and directory.startswith(root + os.sep):
                try:
                    os.rmdir(directory)
                except OSError:  # not empty (it holds files of this build), or gone already
                    break
                directory = os.path.dirname(directory)
        self._maybe_empty.clear()

    def _swap(self) -> None:
        """Rename the new tree into output/; keep the replaced one as the spare when its contents are recorded."""
        if not self.output.exists():
            os.replace(self.folder, self.output)
            self._is_swapped = True
            return
        old = self.output.parent / f".{self.output.name}{_OLD_PREFIX}{os.getpid()}"
        os.replace(self.output, old)
        try:
            os.replace(self.folder, self.output)
        except OSError:
            os.replace(old, self.output)
            raise
        self._is_swapped = True
        if self.keep_spare and self._output_id in self._records:
            try:
                if not self.is_incremental:
                    _remove(self.spare)  # an untrusted spare, replaced by the tree we know
                os.replace(old, self.spare)
                return
            except OSError:
                pass  # the build is done; without a spare the next one stages afresh
        shutil.rmtree(old, ignore_errors=True)

    def _write_error(self, error: OSError) -> BuildError:
        reason = "the disk is full" if error.errno == errno.ENOSPC else (error.strerror or str(error))
        error.__traceback__ = None  # its frames hold the whole build (every renderer and its cache) while it lives
        return BuildError([Problem(self.output.name, 0, f"cannot write the site: {reason} "
                                   f"({error.filename or self.output}); the previous {self.output.name}/ is unchanged")])


def _write_file(target: Path, file: OutputFile) -> None:
    """Create target, which does not exist yet, with the file's bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as handle:
        handle.write(file.content())


def _tree_id(folder: Path) -> TreeId | None:
    try:
        status = os.lstat(folder)
    except OSError:
        return None
    return (status.st_dev, status.st_ino) if stat.S_ISDIR(status.st_mode) else None


def _load_records(file: Path) -> dict[TreeId, dict[str, Entry]]:
    """The recorded trees; a missing or unreadable record means no tree is trusted."""
    try:
        stored = json.loads(file.read_bytes())
        return {(device, inode): {out_path: (str(entry[0]), int(entry[1]), int(entry[2]), int(entry[3]), int(entry[4]))
                                  for out_path, entry in files.items()}
                for device, inode, files in stored["trees"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return {}


def _store_records(file: Path, records: dict[TreeId, dict[str, Entry]]) -> None:
    """Replace the record file whole (a temporary file renamed over it); no trees, no file."""
    if not records:
        file.unlink(missing_ok=True)
        return
    temporary = file.with_name(f"{file.name}.{os.getpid()}")
    trees = [[device, inode, files] for (device, inode), files in records.items()]
    temporary.write_bytes(json.dumps({"trees": trees}, separators=(",", ":")).encode("utf-8"))
    os.replace(temporary, file)


def _remove(path: Path) -> None:
    """Delete a file, link or folder tree, whichever it is."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(FileNotFoundError):
            path.unlink()
