"""Stage 6: OutputFiles -> a temporary folder beside output/ -> swapped into place.

The previous output/ is untouched until the new tree is complete; a lock
stops two builds from writing at once; leftovers of a killed build are
removed by the next one. Refuses an output folder that holds the sources.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from .errors import BuildError, Problem, UsageError
from .render import OutputFile
from .settings import Settings

_TEMP_PREFIX = ".tmp-"
# Seconds to pause after each file: lets the fault tests kill or interrupt a build mid-write.
WRITE_DELAY_VARIABLE = "EXPLAINER_TEST_WRITE_DELAY"
_OLD_PREFIX = ".old-"


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
    return output


@contextmanager
def build_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock beside output/ for the whole build."""
    lock_file = output.parent / f".{output.name}.lock"
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(f"another build is writing {output.name}/ right now; wait for it to finish") from None
        yield


def remove_leftovers(output: Path) -> None:
    """Delete temporary folders left by a build that was killed."""
    for sibling in output.parent.glob(f".{output.name}{_TEMP_PREFIX}*"):
        shutil.rmtree(sibling, ignore_errors=True)
    for sibling in output.parent.glob(f".{output.name}{_OLD_PREFIX}*"):
        shutil.rmtree(sibling, ignore_errors=True)


class Staging:
    """A temporary folder beside output/ that files are written into, then swapped in or discarded.

    Use it as a context manager: leaving the block by an exception (a
    BuildError, Ctrl-C) removes the temporary folder and leaves output/ as it was.
    """

    def __init__(self, output: Path):
        self.output = output
        self.folder = output.parent / f".{output.name}{_TEMP_PREFIX}{os.getpid()}"
        self.written: dict[str, OutputFile] = {}

    def __enter__(self) -> Staging:
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.folder.mkdir(parents=True)
        except OSError as error:
            raise self._write_error(error) from None
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    def add(self, file: OutputFile) -> None:
        """Write one file; a cached page is hard-linked from the cache rather than copied."""
        if file.out_path in self.written:
            both = sorted(self.written[file.out_path].sources | file.sources)
            raise BuildError([Problem(both[0] if both else file.out_path, 0,
                                      f"two inputs would write {file.out_path} ({', '.join(both)})")])
        target = safe_join(self.folder, file.out_path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if file.cached_file is not None:
                try:
                    os.link(file.cached_file, target)
                except OSError:
                    shutil.copyfile(file.cached_file, target)
            else:
                target.write_bytes(file.data)
        except OSError as error:
            raise self._write_error(error) from None
        # Only the name and sources are needed later; keeping every page's bytes held the whole
        # site in memory (issue 8: peak memory at 10,000 pages).
        self.written[file.out_path] = OutputFile(file.out_path, b"", file.sources)
        if os.environ.get(WRITE_DELAY_VARIABLE):
            time.sleep(float(os.environ[WRITE_DELAY_VARIABLE]))

    def commit(self) -> int:
        """Swap the finished folder into place; return the number of files."""
        try:
            _swap_into_place(self.folder, self.output)
        except OSError as error:
            raise self._write_error(error) from None
        return len(self.written)

    def _write_error(self, error: OSError) -> BuildError:
        reason = "the disk is full" if error.errno == errno.ENOSPC else (error.strerror or str(error))
        return BuildError([Problem(self.output.name, 0, f"cannot write the site: {reason} "
                                   f"({error.filename or self.output}); the previous {self.output.name}/ is unchanged")])


def write_output(files: Iterable[OutputFile], output: Path) -> int:
    """Write every file into a fresh temporary folder, then swap it in; return the file count."""
    with Staging(output) as staging:
        for file in files:
            staging.add(file)
        return staging.commit()


def _swap_into_place(temporary: Path, output: Path) -> None:
    old = output.parent / f".{output.name}{_OLD_PREFIX}{os.getpid()}"
    if output.exists():
        os.replace(output, old)
        try:
            os.replace(temporary, output)
        except OSError:
            os.replace(old, output)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(temporary, output)
