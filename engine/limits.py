"""Input a parser would read in super-linear time or space, found in linear time before it is read.

YAML: aliases (merge keys included) that multiply a document's values, and lists or mappings nested
so deep that reading them would recurse past the stack. Markdown: Python-Markdown scans from each '['
to its ']' and from each link's '(' to its ')', and the HTML parser it uses scans from each '<' to the
next '>': thousands never closed make minutes of work. `costly_markdown` counts that scanning (in
characters, with a weight for the slower scans) without doing it, and names the first opener that
is never closed when the total passes a budget."""

from __future__ import annotations

import re

import yaml

# How many values aliases and merge keys may add to a document beyond those written in it: more is
# a "billion laughs" that would take minutes and gigabytes to build.
ALIAS_GROWTH_LIMIT = 100_000
# Lists and mappings nest at most this deep (reading deeper ones recurses past Python's, or C's, stack).
NESTING_LIMIT = 100
# A line's indentation and block markers: the deepest a line can open block levels.
_LINE_OPENERS = re.compile(r"^[ \t?:-]+", re.M)
_EventLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Characters of scanning a page may cost: about a second of the converter's time at worst. Real
# pages cost a few thousand (each bracket closes within a line).
SCAN_BUDGET = 10_000_000
# Python-Markdown's bracket and parenthesis scans run in Python, character by character; the HTML
# parser's runs in a C regex, about this many times faster.
_PYTHON_SCAN_WEIGHT = 4
_BRACKETS = re.compile(r"[\[\]]")
_PARENTHESES = re.compile(r"\]\(|[()]")
_TAG_STARTS = re.compile(r"<[a-zA-Z!?/]|>")


def costly_markdown(text: str) -> tuple[int, str, str] | None:
    """(offset in text, message, hint) when converting text would scan more than SCAN_BUDGET characters."""
    length = len(text)
    if (text.count("[") + text.count("(")) * length * _PYTHON_SCAN_WEIGHT + text.count("<") * length <= SCAN_BUDGET:
        return None  # even if every opener scanned to the end, the total stays within the budget
    for cost, unclosed, what, hint in (
        (*_nested_cost(text, _BRACKETS, "["), "'[' never closed with ']'", r"close each bracket, or write \[ for a literal one"),
        (*_nested_cost(text, _PARENTHESES, "]("), "links '](' never closed with ')'", "close each link's parenthesis"),
        (*_tag_cost(text), "'<' never closed with '>'", "write &lt; for a literal '<'"),
    ):
        if cost > SCAN_BUDGET:
            offset = unclosed[0] if unclosed else 0
            return offset, f"{len(unclosed):,} {what} make this too slow to convert", hint
    return None


def _nested_cost(text: str, pattern: re.Pattern[str], opener: str) -> tuple[int, list[int]]:
    """The weighted characters scanned from each opener to its closer (or to the end), and the offsets
    of the openers never closed. A '(' that opens no link only nests; it costs nothing itself."""
    cost = 0
    stack: list[tuple[int, bool]] = []
    for match in pattern.finditer(text):
        token = match.group()
        if token in (opener, "("):
            stack.append((match.start(), token == opener))
        elif stack:
            start, charged = stack.pop()
            cost += match.start() - start if charged else 0
    unclosed = [start for start, charged in stack if charged]
    cost += sum(len(text) - start for start in unclosed)
    return cost * _PYTHON_SCAN_WEIGHT, unclosed


def _tag_cost(text: str) -> tuple[int, list[int]]:
    """The characters scanned from each '<' that may start a tag to the next '>' (or to the end), and the
    offsets of those no '>' follows before the next '<'."""
    cost = 0
    pending: list[int] = []
    unclosed: list[int] = []
    for match in _TAG_STARTS.finditer(text):
        if match.group() == ">":
            cost += len(pending) * match.start() - sum(pending)
            pending.clear()
        else:
            if pending:
                unclosed.append(pending[-1])
            pending.append(match.start())
    cost += len(pending) * len(text) - sum(pending)
    unclosed.extend(pending[-1:])
    return cost, unclosed


def too_deep_line(text: str) -> int | None:
    """The line where lists and mappings first nest deeper than NESTING_LIMIT; None if they never do.
    The parser's events are read only when a quick count of what can open a level (every flow bracket,
    the deepest line start) allows so deep a nest."""
    block = max(map(len, _LINE_OPENERS.findall(text)), default=0)
    if text.count("[") + text.count("{") + block <= NESTING_LIMIT:
        return None
    events = _EventLoader(text)
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


def alias_growth_line(root: yaml.Node) -> int | None:
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


# Python-Markdown recurses once per level of list or quote: a few hundred levels exhaust the
# stack (and take seconds first), while no readable page needs more than a handful.
MAX_NESTING = 100
_NESTING_MARK = re.compile(r"[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t]))")


# A line can only be nested MAX_NESTING + 1 deep if it starts with that many indent, quote or
# list-marker characters: bodies without such a line skip the line-by-line check. Written as two
# patterns, not one `^` under re.M, which the regex engine would try at every character.
_DEEP_FIRST_LINE = re.compile(rf"[ \t>*+\-\d.)]{{{MAX_NESTING + 1}}}")
_DEEP_LATER_LINE = re.compile(rf"\n[ \t>*+\-\d.)]{{{MAX_NESTING + 1}}}")


def has_deep_prefix(body: str) -> bool:
    """Whether some line of body starts with more than MAX_NESTING indent, quote or list-marker characters."""
    return _DEEP_FIRST_LINE.match(body) is not None or _DEEP_LATER_LINE.search(body) is not None


def nesting_depth(line: str) -> int:
    """How many lists and quotes a line opens or sits in: its '>' and list markers plus its indent / 4."""
    indent = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))
    depth = 0
    position = 0
    while match := _NESTING_MARK.match(line, position):
        depth += 1
        position = match.end()
    return depth + indent // 4
