"""Dev server, watching: which inputs changed, handed out once per quiet burst of saves.

Polls stat data (mtime, size, inode) of content/, layouts/ and the settings
file; on Linux, inotify wakes the poller at once. Ignores editor swap, backup
and temporary files, and never hands out a half-written (empty) file early.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

# A burst of saves (write, rename, chmod, swap files) is over when nothing has
# changed for this long; only then is the site rebuilt.
QUIET_SECONDS = 0.01
# An input that is empty after a burst is most likely truncated by a save still in progress (a busy
# machine can pause the editor between truncating and writing): wait up to this long for its text.
EMPTY_GRACE_SECONDS = 1.0
# Polling interval: at least this often, and never more than 1/8 of the time on scanning.
POLL_MIN = 0.01
_POLL_MAX = 0.1
_POLL_SHARE = 8


# The file `sed -i` writes beside the one it edits, then renames over it.
_SED_TEMP = re.compile(r"sed[A-Za-z0-9]{6}")


def is_editor_temp(name: str) -> bool:
    """True for names editors write beside the real file (swap, backup, lock, atomic-save temp files)."""
    lowered = name.lower()
    return (name.startswith((".", "#")) or name.endswith("~") or name == "4913" or _SED_TEMP.fullmatch(name) is not None
            or lowered.endswith((".swp", ".swo", ".swx", ".swpx", ".tmp", ".temp", ".part", ".bak", ".orig",
                                 "___jb_tmp___", "___jb_old___", ".crdownload", ".kate-swp"))
            or lowered == "__pycache__")


Stamp = tuple[int, int, int]


class SourceWatcher:
    """Polls the watched inputs' stat data and hands out one batch of changes per quiet burst."""

    def __init__(self, root: Path, folders: Iterable[Path], files: Iterable[Path],
                 quiet_seconds: float = QUIET_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.root = root
        self.folders = tuple(folders)
        self.files = tuple(files)
        self.quiet_seconds = quiet_seconds
        self.clock = clock
        self.scan_seconds = 0.0
        self.folders_seen: list[str] = []  # every folder the last scan walked (for inotify watches)
        self._stamps = self.scan()
        self._pending: set[str] = set()
        self._last_change = 0.0

    def scan(self) -> dict[str, Stamp]:
        """Every watched input (editor temp files left out) -> (mtime_ns, size, inode)."""
        started = time.perf_counter()
        stamps: dict[str, Stamp] = {}
        self.folders_seen = [str(file.parent) for file in self.files]
        for file in self.files:
            self._stamp(file, stamps)
        for folder in self.folders:
            self._scan_folder(str(folder), self._source(folder) + "/", stamps)
        self.scan_seconds = time.perf_counter() - started
        return stamps

    def _scan_folder(self, folder: str, prefix: str, stamps: dict[str, Stamp]) -> None:
        """Stamp every file under folder; `prefix` is the folder's source path (one relpath per folder, not per file)."""
        try:
            entries = list(os.scandir(folder))
        except OSError:  # a folder removed mid-scan is simply absent from this snapshot
            return
        self.folders_seen.append(folder)
        for entry in entries:
            if is_editor_temp(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    self._scan_folder(entry.path, prefix + entry.name + "/", stamps)
                else:
                    stat = entry.stat()
                    stamps[prefix + entry.name] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            except OSError:  # removed between listing and stat: counts as gone
                continue

    def _stamp(self, file: Path, stamps: dict[str, Stamp]) -> None:
        try:
            stat = file.stat()
        except OSError:
            return
        stamps[self._source(file)] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _source(self, file: Path) -> str:
        return Path(os.path.relpath(file, self.root)).as_posix()

    @property
    def poll_interval(self) -> float:
        """Seconds until the next poll: short, but scanning never takes more than 1/8 of the time;
        while a burst is pending, no later than the moment it becomes quiet enough."""
        interval = min(_POLL_MAX, max(POLL_MIN, self.scan_seconds * _POLL_SHARE))
        until_quiet = self.seconds_until_quiet()
        return interval if until_quiet is None else min(interval, until_quiet)

    def seconds_until_quiet(self) -> float | None:
        """None when no change is pending, else how long until the pending burst may be quiet enough."""
        if not self._pending:
            return None
        return max(self._last_change + self.quiet_seconds - self.clock(), POLL_MIN / 4)

    def poll(self, rescan: bool = True) -> tuple[str, ...] | None:
        """Scan once (with `rescan` False, the caller knows nothing changed since the last scan, as when
        inotify saw no event: that scan's stamps stand); return the changed inputs when a burst has been
        quiet long enough, else None."""
        stamps = self.scan() if rescan else self._stamps
        now = self.clock()
        if stamps != self._stamps:
            changed = {source for source in stamps.keys() | self._stamps.keys()
                       if stamps.get(source) != self._stamps.get(source)}
            self._stamps = stamps
            self._pending |= changed
            self._last_change = now
            return None
        quiet = now - self._last_change
        if self._pending and quiet >= self.quiet_seconds:
            if quiet < EMPTY_GRACE_SECONDS and any(stamps.get(source, (0, 1, 0))[1] == 0 for source in self._pending):
                return None
            batch = tuple(sorted(self._pending))
            self._pending = set()
            return batch
        return None


class InotifyWakeup:
    """Linux inotify used only as a wake-up call: what changed is still found by SourceWatcher's scan.

    Saves are seen at once instead of at the next poll, and an idle server
    scans only now and then. OSError when the system has no inotify.
    """

    # IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE,
    # IN_DELETE_SELF, IN_MOVE_SELF (linux/inotify.h)
    _MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if not hasattr(libc, "inotify_init1"):
            raise OSError(errno.ENOSYS, "no inotify on this system")
        self._libc = libc
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._watched: set[str] = set()

    def watch(self, folders: Iterable[str]) -> None:
        """Watch these folders (adding a watch again is harmless); one that cannot be watched is left to polling."""
        wanted = set(folders)
        if wanted != self._watched:
            for folder in wanted:
                self._libc.inotify_add_watch(self.fd, os.fsencode(folder), self._MASK)
            self._watched = wanted

    def drain(self) -> None:
        """Read every pending event; their details do not matter, only that something happened."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self.fd, 65536):
                pass

    def close(self) -> None:
        os.close(self.fd)
