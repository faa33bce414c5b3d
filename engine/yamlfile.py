"""Load YAML keeping the line of every key, and read typed fields from it.

The loader follows YAML 1.2's plain scalars (only true/false are booleans, no
sexagesimal numbers, dates stay text) so `NO` or `12:30` never change meaning,
and it reports duplicate keys, which PyYAML would silently overwrite.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import typing
from collections.abc import Callable, Collection
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yaml

from .dates import PartialDate, parse_date
from .errors import Problem, did_you_mean

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Whole numbers (an `order`) and numbers (a chart's values) outside these are refused where they are read.
WHOLE_NUMBER_LIMIT = 1_000_000_000
NUMBER_LIMIT = 1e15
_DIGITS = re.compile(r"[-+]?[0-9]+")
# Characters XML 1.0 cannot hold, even escaped (a tab and line breaks are fine).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
# How many values aliases and merge keys may add to a document beyond those written in it: more is
# a "billion laughs" that would take minutes and gigabytes to build.
ALIAS_GROWTH_LIMIT = 100_000
# Lists and mappings nest at most this deep (reading deeper ones recurses past Python's, or C's, stack).
NESTING_LIMIT = 100
# A line's indentation and block markers: the deepest a line can open block levels.
_LINE_OPENERS = re.compile(r"^[ \t?:-]+", re.M)


class YamlMap(dict[Any, Any]):
    """A mapping that remembers its own line, each key's line and each scalar's raw text."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}
        self.raw: dict[Any, str] = {}

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class YamlList(list[Any]):
    """A sequence that remembers its own line and each item's line."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []
        self.raw: list[str | None] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


class _Loader(_BaseLoader):  # type: ignore[misc]
    line_offset = 0
    source = ""
    problems: list[Problem]


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)


def _line(loader: _Loader, node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1 + loader.line_offset


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int | str:
    """Decimal always (YAML 1.1 would read 012 as octal); past Python's digit limit, the text itself."""
    try:
        return int(node.value)
    except ValueError:  # thousands of digits: Python refuses to convert them
        return str(node.value)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> YamlMap:
    written = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE)
    loader.flatten_mapping(node)  # the merged keys first, then the written ones, which override them
    merged = len(node.value) - written
    result = YamlMap()
    result.line = _line(loader, node)
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        key_line = _line(loader, key_node)
        if not isinstance(key, (str, int, float, bool)):
            loader.problems.append(Problem(loader.source, key_line, "a key must be a plain word"))
            continue
        if key in result and index > merged:
            loader.problems.append(
                Problem(
                    loader.source,
                    key_line,
                    f"duplicate key '{key}' (first on line {result.lines[key]})",
                    "keep one: YAML would silently use the last",
                )
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_line
        if isinstance(value_node, yaml.ScalarNode):
            result.raw[key] = value_node.value
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> YamlList:
    result = YamlList()
    result.line = _line(loader, node)
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.lines.append(_line(loader, item))
        result.raw.append(item.value if isinstance(item, yaml.ScalarNode) else None)
    return result


_Loader.add_constructor(_INT, _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(text: str, source: str, line_offset: int = 0) -> tuple[Any, list[Problem]]:
    """Parse YAML text; return the data (None if unparsable) and the problems found."""
    loader = _Loader(text)
    loader.source = source
    loader.line_offset = line_offset
    loader.problems = []
    try:
        deep_line = _too_deep_line(text)
        if deep_line is not None:
            return None, [Problem(source, deep_line + line_offset, f"values nested more than {NESTING_LIMIT} levels deep",
                                  "flatten the lists and mappings: YAML this deep cannot be read")]
        node = loader.get_single_node()
        growth_line = _alias_growth_line(node) if node is not None else None
        if growth_line is not None:
            return None, [Problem(source, growth_line + line_offset,
                                  f"aliases and merge keys expand this document by more than {ALIAS_GROWTH_LIMIT:,} "
                                  "values", "write the values out, or use fewer aliases of aliases")]
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        context = error.context or ""
        unclosed = context.startswith(("while parsing a flow", "while scanning a quoted"))
        if error.context_mark is not None and mark is not None and (unclosed or mark.index >= len(text.rstrip())):
            # An unclosed bracket or quote is noticed lines later: the opening line is the useful one.
            mark = error.context_mark
        line = (mark.line + 1 + line_offset) if mark else line_offset + 1
        reason = (error.problem or context or "invalid YAML").strip()
        hint = _yaml_hint(reason, context)
        if mark is not None and "\t" in text.split("\n")[mark.line][: mark.column + 1]:
            hint = "indent with spaces, not tabs"
        return None, [Problem(source, line, f"YAML syntax error: {reason}", hint)]
    except yaml.YAMLError as error:
        return None, [Problem(source, line_offset + 1, f"YAML error: {error}")]
    finally:
        loader.dispose()
    return data, loader.problems


def _too_deep_line(text: str) -> int | None:
    """The line where lists and mappings first nest deeper than NESTING_LIMIT; None if they never do.
    The parser's events are read only when a quick count of what can open a level (every flow bracket,
    the deepest line start) allows so deep a nest."""
    block = max(map(len, _LINE_OPENERS.findall(text)), default=0)
    if text.count("[") + text.count("{") + block <= NESTING_LIMIT:
        return None
    events = _Loader(text)
    depth = 0
    try:
        while (event := events.get_event()) is not None:
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > NESTING_LIMIT:
                    return int(event.start_mark.line) + 1 if event.start_mark else 1
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return None  # the full read reports it
    finally:
        events.dispose()
    return None


def _alias_growth_line(root: yaml.Node) -> int | None:
    """The line where aliases (merge keys included) have added more than ALIAS_GROWTH_LIMIT values
    to the document, reading it in order; None when they never do. Sizes are counted, not built."""
    sizes: dict[int, int] = {}
    visited: set[int] = set()
    added = 0
    todo: list[tuple[yaml.Node, int]] = [(root, root.start_mark.line + 1)]
    while todo:
        node, line = todo.pop()
        if id(node) in visited:  # an alias of a node met before: it adds its whole expansion again
            added += _expanded_size(node, sizes)
            if added > ALIAS_GROWTH_LIMIT:
                return line
            continue
        visited.add(id(node))
        todo.extend(reversed(_children(node)))
    return None


def _children(node: yaml.Node) -> list[tuple[yaml.Node, int]]:
    """A node's child nodes, each with the line to name for it (a mapping's value: its key's line)."""
    if isinstance(node, yaml.SequenceNode):
        return [(child, child.start_mark.line + 1 if child.start_mark.index > node.start_mark.index
                 else node.start_mark.line + 1) for child in node.value]
    if isinstance(node, yaml.MappingNode):
        return [(child, key.start_mark.line + 1) for key, value in node.value for child in (key, value)]
    return []


def _expanded_size(root: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values a node stands for with every alias in it written out (a cycle counts once)."""
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            sizes[id(node)] = 1 + sum(max(sizes.get(id(child), 0), 0) for child, _ in _children(node))
        elif id(node) not in sizes:
            sizes[id(node)] = -1  # being counted: an alias back to it from inside counts nothing
            stack.append((node, True))
            stack.extend((child, False) for child, _ in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _yaml_hint(reason: str, context: str = "") -> str | None:
    if context.startswith("while parsing a flow sequence"):
        return "the '[' on this line is never closed with ']'"
    if context.startswith("while parsing a flow mapping"):
        return "the '{' on this line is never closed with '}'"
    if context.startswith("while scanning a quoted"):
        return "the quote that opens on this line is never closed"
    if "single document" in context or "another document" in reason:
        return "a YAML file holds one document: remove the extra '---' line"
    if "mapping values are not allowed" in reason:
        return "a value containing ': ' must be put in quotes"
    if "found character '\\t'" in reason or re.search(r"\btabs?\b", reason):
        return "indent with spaces, not tabs"
    if "expected <block end>" in reason or "did not find expected key" in reason:
        return "check the indentation of this line and the one before"
    return None


def decode_utf8(raw: bytes, source: str, problems: list[Problem]) -> str | None:
    """Decode UTF-8 text (a byte-order mark is fine); name the line and byte of bad input."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.append(Problem(
            source, line,
            f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start})",
            "save the file with UTF-8 encoding",
        ))
        return None


class Fields:
    """Typed access to a YAML mapping that records a Problem for each bad field.

    Every known key must be read through one of its methods; `check_unknown`
    then reports the keys nobody asked for, with the closest known name.
    """

    def __init__(self, mapping: YamlMap, source: str, problems: list[Problem]):
        self.mapping = mapping
        self.source = source
        self.problems = problems

    def line(self, key: str) -> int:
        return self.mapping.line_of(key)

    def error(self, key: str, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.source, self.line(key), message, hint))

    def check_unknown(self, known: Collection[str], what: str) -> None:
        for key in self.mapping:
            if key not in known:
                self.error(key, f"unknown {what} key '{key}'",
                           did_you_mean(str(key), known) or f"known keys: {', '.join(known)}")

    def _missing(self, key: str) -> None:
        self.problems.append(Problem(self.source, self.mapping.line, f"missing required key '{key}'"))

    def text(self, key: str, required: bool = False, default: str = "") -> str:
        """A non-empty string; numbers, booleans and lists are refused with a quoting hint."""
        if key not in self.mapping:
            if required:
                self._missing(key)
            return default
        if self.mapping[key] is None:
            if required:
                self.error(key, f"'{key}' is empty")
            return default
        value = self.mapping[key]
        if isinstance(value, (bool, int, float)):
            raw = self.mapping.raw.get(key, str(value))
            self.error(key, f"'{key}' must be text, but YAML read {raw} as a {_type_name(value)}",
                       f'put it in quotes: {key}: "{raw}"')
            return default
        if not isinstance(value, str):
            self.error(key, f"'{key}' must be text, not a {_type_name(value)}")
            return default
        if not value.strip():
            self.error(key, f"'{key}' is empty")
            return default
        if control := _CONTROL.search(value):
            self.error(key, f"'{key}' holds the control character U+{ord(control.group()):04X}",
                       "remove it: the feed and the sitemap are XML, which cannot hold it")
            return default
        return value.strip()

    def integer(self, key: str, required: bool = False) -> int | None:
        if key not in self.mapping or self.mapping[key] is None:
            if required:
                self._missing(key)
            return None
        value = self.mapping[key]
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            value = WHOLE_NUMBER_LIMIT + 1  # too many digits for Python to convert
        if isinstance(value, bool) or not isinstance(value, int):
            raw = _shorten(self.mapping.raw.get(key, repr(value)))
            self.error(key, f"'{key}' must be a whole number, not '{raw}'")
            return None
        if not -WHOLE_NUMBER_LIMIT <= value <= WHOLE_NUMBER_LIMIT:
            self.error(key, f"'{key}' is {_shorten(self.mapping.raw.get(key, str(value)))}, out of range",
                       f"use a whole number between -{WHOLE_NUMBER_LIMIT} and {WHOLE_NUMBER_LIMIT}")
            return None
        return value

    def number(self, key: str, required: bool = False) -> float | None:
        if key not in self.mapping or self.mapping[key] is None:
            if required:
                self._missing(key)
            return None
        value = self.mapping[key]
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            value = math.inf  # too many digits for Python to convert
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raw = _shorten(self.mapping.raw.get(key, repr(value)))
            self.error(key, f"'{key}' must be a number, not '{raw}'",
                       "write digits only, without thousands separators")
            return None
        if not -NUMBER_LIMIT <= value <= NUMBER_LIMIT:  # false for inf and nan too
            self.error(key, f"'{key}' is {_shorten(self.mapping.raw.get(key, repr(value)))}, out of range",
                       f"use a number between -{NUMBER_LIMIT:,.0f} and {NUMBER_LIMIT:,.0f}")
            return None
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        if key not in self.mapping or self.mapping[key] is None:
            return default
        value = self.mapping[key]
        if not isinstance(value, bool):
            raw = self.mapping.raw.get(key, repr(value))
            self.error(key, f"'{key}' must be true or false, not '{raw}'", "write true or false")
            return default
        return value

    def text_list(self, key: str, required: bool = False) -> tuple[str, ...]:
        """A list of strings; a single string is accepted as a list of one."""
        if key not in self.mapping or self.mapping[key] is None:
            if required:
                self._missing(key)
            return ()
        value = self.mapping[key]
        if isinstance(value, str):
            return (value.strip(),)
        if not isinstance(value, list):
            self.error(key, f"'{key}' must be a list of text")
            return ()
        items: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                line = value.line_of(index) if isinstance(value, YamlList) else self.line(key)
                self.problems.append(Problem(self.source, line, f"each item of '{key}' must be non-empty text"))
                continue
            items.append(item.strip())
        if required and not items and not value:
            self.error(key, f"'{key}' must not be empty")
        return tuple(items)

    def date(self, key: str, required: bool = False) -> PartialDate | None:
        value = self.mapping.get(key)
        text = self.mapping.raw.get(key, "")
        if not (isinstance(value, int) and not isinstance(value, bool) and re.fullmatch(r"\d{4}", text)):
            text = self.text(key, required=required)  # an unquoted year is unambiguous: accept `date: 2018`
        if not text:
            return None
        try:
            return parse_date(text)
        except ValueError as error:
            self.error(key, f"'{key}': {error}")
            return None

    def url(self, key: str, required: bool = False) -> str:
        text = self.text(key, required=required)
        if text and not is_web_url(text):
            self.error(key, f"'{key}' must be an http or https address, not '{text}'")
            return ""
        return text


Record = TypeVar("Record")
# How each field type of a record is read from YAML (a field may name another reader in its metadata).
_READERS: dict[Any, Callable[..., Any]] = {
    str: Fields.text, int | None: Fields.integer, float | None: Fields.number, bool: Fields.boolean,
    PartialDate | None: Fields.date, PartialDate: Fields.date, tuple[str, ...]: Fields.text_list,
}


def from_yaml(name: str = "", *, required: bool = False, read: Callable[..., Any] | None = None) -> dict[str, Any]:
    """The metadata of a record field read from YAML (see read_record): its key when not the field's name,
    whether it is required, and a reader other than the one for its type (`Fields.url`)."""
    return {"key": name, "required": required, "read": read}


def read_record(cls: type[Record], fields: Fields, what: str, **given: Any) -> Record:
    """A record (a dataclass) whose fields are read from a YAML mapping, one key each (see `from_yaml`);
    `given` fields come from elsewhere (an id, a line). Unknown keys are reported with the closest known one."""
    hints = _type_hints(cls)  # type: ignore[arg-type]
    known: list[str] = []
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not item.init or item.name in given:
            continue
        name = item.metadata.get("key") or item.name
        known.append(name)
        read = item.metadata.get("read") or _READERS[hints[item.name]]
        default = item.default if item.default is not dataclasses.MISSING else None
        if read is Fields.text:
            values[item.name] = fields.text(name, required=item.metadata.get("required", False), default=default or "")
        elif read is Fields.boolean:
            values[item.name] = fields.boolean(name, default=bool(default))
        else:
            values[item.name] = read(fields, name, item.metadata.get("required", False))
    fields.check_unknown(known, what)
    return cls(**given, **values)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def is_web_url(text: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in text


def _shorten(text: str) -> str:
    """A value as quoted in a message: at most 40 characters."""
    return text if len(text) <= 40 else f"{text[:20]}…{text[-8:]} ({len(text)} characters)"


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return type(value).__name__
