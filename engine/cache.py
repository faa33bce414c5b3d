"""The build cache under `.cache/`: entries keyed by a digest of what made them, each checked before reuse.

Every key is salted with `engine_digest()`, the hash of the engine's own source and of the
libraries that shape its output, so no entry outlives the code that made it. An entry file holds
a checksum of its payload: one whose bytes no longer match it (truncated, edited, half written)
is a miss, never an error. A cache folder that cannot be used (a file or a symlink in its place)
leaves the build running without it, with one note.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import io
import os
import pickle
import shutil
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ENGINE_DIR = Path(__file__).resolve().parent
# The libraries whose code changes what the engine writes, by the name they are imported as.
LIBRARIES = ("jinja2", "markupsafe", "markdown", "yaml", "PIL", "nh3", "selectolax")
_MAGIC = b"explainer-cache-1\n"
_CHECKSUM_SIZE = 32
# A kind of entry is pruned once it holds more than twice the entries a build used, plus this many.
PRUNE_MARGIN = 8


@functools.cache
def engine_digest() -> str:
    """sha256 of every engine module's bytes, the Python version and what identifies each library in LIBRARIES."""
    digest = hashlib.sha256(f"python {sys.version_info[:2]}\n".encode())
    for name in LIBRARIES:
        digest.update(name.encode() + b"\0" + _library_stamp(name) + b"\n")
    for module in sorted(ENGINE_DIR.rglob("*.py")):
        digest.update(module.relative_to(ENGINE_DIR).as_posix().encode() + b"\0" + module.read_bytes() + b"\0")
    return digest.hexdigest()


def _library_stamp(name: str) -> bytes:
    """A library's version as its module gives it (importlib.metadata is slow to import); for one that
    gives none (MarkupSafe), the bytes of its package's files."""
    module = importlib.import_module(name)
    version = vars(module).get("__version__")  # not getattr: a module's __getattr__ may warn, or look it up
    if isinstance(version, str):
        return version.encode()
    folder = Path(module.__file__ or "").parent
    return b"".join(file.name.encode() + b"\0" + file.read_bytes() for file in sorted(folder.iterdir()) if file.is_file())


def stable_digest(*parts: Any) -> str:
    """A sha256 of plain values: builtin data, dataclasses and other records, pickled without sharing
    (equal values give equal bytes). A function is refused, so a key is made of values, never of code
    that could change behind its name."""
    buffer = io.BytesIO()
    pickler = _ValuePickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: an object seen twice is written twice, as an equal copy would be
    pickler.dump(parts)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names (none for any other type)."""
    return tuple(item.name for item in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else ()


def joined_digest(*digests: str) -> str:
    """A sha256 of strings, most of them digests already: what stable_digest gives, without pickling."""
    return hashlib.sha256("\0".join(digests).encode("utf-8")).hexdigest()


class _ValuePickler(pickle.Pickler):
    def reducer_override(self, value: Any) -> Any:
        if isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
            raise TypeError(f"cannot make a cache key of {value!r:.80}")
        names = _field_names(type(value))  # type: ignore[arg-type]
        if names:  # a dataclass by its fields alone: what it caches on itself is not what it is
            return type(value), tuple(getattr(value, name) for name in names)
        return NotImplemented


class Cache:
    """Entries by (kind, key) under one folder, and those of the `in_memory` kinds in memory too; of
    those, the `memory_only` kinds are read from the folder but never written there (the dev server
    keeps its indexes in memory, and writing them at every save would only cost time). A None
    folder and no memory make every lookup a miss."""

    def __init__(self, folder: Path | None, in_memory: frozenset[str] = frozenset(),
                 memory_only: frozenset[str] = frozenset()) -> None:
        self.folder = folder
        self.in_memory = in_memory | memory_only
        self.memory_only = memory_only
        self.memory: dict[tuple[str, str], Any] | None = {} if self.in_memory else None
        self.note = ""  # one line for the writer when the folder cannot be used
        self._usable: dict[str, bool] = {}
        if folder is not None and not _is_usable_folder(folder):
            self.folder = None
            self.note = f"{folder.name}/ is not a folder (a file or a symlink is in its place): building without the cache"

    @property
    def is_enabled(self) -> bool:
        return self.folder is not None or self.memory is not None

    def _file(self, kind: str, key: str) -> str:
        assert self.folder is not None
        name = hashlib.sha256(f"{engine_digest()}\0{kind}\0{key}".encode()).hexdigest()
        return os.path.join(self.folder, kind, name)

    def _has_folder(self, kind: str) -> bool:
        """Whether the folder of a kind is usable: a real folder, or none yet; never a symlink, through
        which entries would be read, written and pruned elsewhere."""
        if kind not in self._usable:
            self._usable[kind] = self.folder is not None and _is_usable_folder(self.folder / kind)
        return self._usable[kind]

    def keeps(self, kind: str) -> bool:
        """Whether entries of this kind put now can be got back later in this process."""
        return (self.memory is not None and kind in self.in_memory) or \
            (self.folder is not None and kind not in self.memory_only and self._has_folder(kind))

    def remembers(self, kind: str) -> bool:
        """Whether entries of this kind put with to_disk=False can be got back later in this process."""
        return self.memory is not None and kind in self.in_memory

    def has(self, kind: str, key: str) -> bool:
        """Whether an entry is there (it is checked only when read)."""
        if self.memory is not None and (kind, key) in self.memory:
            return True
        return self.folder is not None and self._has_folder(kind) and os.path.isfile(self._file(kind, key))

    def get(self, kind: str, key: str) -> Any | None:
        """The stored value, or None when there is none or its bytes do not match their checksum."""
        if self.memory is not None and (kind, key) in self.memory:
            return self.memory[(kind, key)]
        if self.folder is None or not self._has_folder(kind):
            return None
        path = self._file(kind, key)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        start = len(_MAGIC) + _CHECKSUM_SIZE
        payload = memoryview(data)[start:]
        if not data.startswith(_MAGIC) or _checksum(path, payload) != data[len(_MAGIC):start]:
            return None
        try:
            value = pickle.loads(payload)
        except Exception:  # noqa: BLE001 (a payload that passed its checksum but was made by other code: a miss)
            return None
        if self.memory is not None and kind in self.in_memory:
            self.memory[(kind, key)] = value
        return value

    def put(self, kind: str, key: str, value: Any, to_disk: bool = True) -> None:
        """Keep a value; a disk that cannot take it only makes a later build slower."""
        if self.memory is not None and kind in self.in_memory:
            self.memory[(kind, key)] = value
        if self.folder is not None and to_disk and kind not in self.memory_only and self._has_folder(kind):
            buffer = io.BytesIO()
            pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
            pickler.fast = True  # no memo: an index of 10,000 pages' facts would hold one entry per object
            pickler.dump(value)
            payload = buffer.getbuffer()
            path = self._file(kind, key)
            store_file(path, _MAGIC + _checksum(path, payload), payload)

    def prune(self, kind: str, wanted: Callable[[], Iterable[str]], count: int, on_disk: bool = True) -> None:
        """Forget the entries of `kind` that `wanted()` does not name, once they clearly outnumber the
        `count` a build uses (so the cache stays about the size of the site); in memory only unless `on_disk`."""
        limit = 2 * count + PRUNE_MARGIN
        if self.memory is not None and sum(1 for entry in self.memory if entry[0] == kind) > limit:
            keys = set(wanted())
            self.memory = {entry: value for entry, value in self.memory.items() if entry[0] != kind or entry[1] in keys}
        if self.folder is None or not on_disk or not self._has_folder(kind):
            return
        folder = self.folder / kind
        try:
            files = os.listdir(folder)
        except OSError:
            return
        if len(files) <= limit:
            return
        names = {os.path.basename(self._file(kind, key)) for key in wanted()}
        for name in files:
            if name not in names:
                try:
                    os.unlink(folder / name)
                except IsADirectoryError:  # left by a layout of the cache that had subfolders
                    shutil.rmtree(folder / name, ignore_errors=True)
                except OSError:
                    continue  # gone already, or not ours to remove: only space is lost


def _checksum(path: str, payload: bytes | memoryview) -> bytes:
    """What an entry's bytes must hold: a hash of its name and payload (an entry moved under another
    name is a miss, like a damaged one)."""
    checksum = hashlib.sha256(os.path.basename(path).encode() + b"\0")  # CPUs hash sha256 in hardware
    checksum.update(payload)
    return checksum.digest()[:_CHECKSUM_SIZE]


def _is_usable_folder(folder: Path) -> bool:
    """True when folder is a real folder, or absent and can be made; never a symlink or a file."""
    try:
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            return False
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return True


def store_file(file: str, *parts: bytes | memoryview) -> bool:
    """Write a cache file, the parts one after another; False when it could not be. A write cut short
    leaves an entry whose checksum fails, which is a miss: no temporary file is needed."""
    try:
        try:
            handle = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(file), exist_ok=True)
            handle = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
        try:
            for part in parts:
                view = memoryview(part)
                while view:
                    view = view[os.write(handle, view):]
        finally:
            os.close(handle)
    except OSError:
        return False
    return True
