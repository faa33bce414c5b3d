"""Load YAML keeping the line of every key (fields.py reads typed fields from it).

The loader follows YAML 1.2's plain scalars (only true/false are booleans, no
sexagesimal numbers, dates stay text) so `NO` or `12:30` never change meaning,
and it reports duplicate keys, which PyYAML would silently overwrite.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import Problem
from .limits import ALIAS_GROWTH_LIMIT, NESTING_LIMIT, alias_growth_line, too_deep_line

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


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
                    f"duplicate key '{key}', first on line {result.lines[key]}",
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
        deep_line = too_deep_line(text)
        if deep_line is not None:
            return None, [Problem(source, deep_line + line_offset, f"values nested more than {NESTING_LIMIT} levels deep",
                                  "flatten the lists and mappings: YAML this deep cannot be read")]
        node = loader.get_single_node()
        # Without a '*' the document has no alias (nor merge key) to grow by.
        growth_line = alias_growth_line(node) if node is not None and "*" in text else None
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
        elif mark is not None and not unclosed and ("expected key" in reason or "mapping values" in reason):
            cause = _earlier_cause(text.split("\n"), mark.line)
            if cause is not None:
                line, hint = cause[0] + 1 + line_offset, cause[1]
        return None, [Problem(source, line, f"YAML syntax error: {reason}", hint)]
    except yaml.YAMLError as error:
        return None, [Problem(source, line_offset + 1, f"YAML error: {error}")]
    finally:
        loader.dispose()
    return data, loader.problems


# A line that opens a double-quoted value and does not close it; a key with no space after its ':'.
_OPEN_QUOTE = re.compile(r'^(?:[^"#]*[:\-][ \t]+)"(?:[^"\\]|\\.)*$')
_KEY_WITHOUT_SPACE = re.compile(r"^[ \t]*[A-Za-z_][\w-]*:(?=[^\s/])")


def _earlier_cause(lines: list[str], error_line: int) -> tuple[int, str] | None:
    """The line (0-based) and hint of a mistake that the parser only notices at a later line, where it
    reports one of its generic errors: a quote never closed, or 'key:value' with no space."""
    for index in range(error_line, max(-1, error_line - 50), -1):
        # A quoted value may go on over lines: this one is open only if the quotes up to the error are odd.
        if _OPEN_QUOTE.match(lines[index]) and _quotes(lines[index:error_line + 1]) % 2:
            return index, "the quote that opens on this line is never closed"
        if index < error_line and _KEY_WITHOUT_SPACE.match(lines[index]):
            key = lines[index].split(":", 1)[0].strip()
            return index, f"put a space after the ':' of '{key}:'"
    return None


def _quotes(lines: list[str]) -> int:
    return sum(len(re.findall(r'(?<!\\)"', line)) for line in lines)


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
            f"not valid UTF-8: byte 0x{raw[error.start]:02x} at offset {error.start}",
            "save the file with UTF-8 encoding",
        ))
        return None
