"""Markdown the converter would read in super-linear time, found in linear time before converting it.

Python-Markdown scans from each '[' to its ']' and from each link's '(' to its ')', and the HTML
parser it uses scans from each '<' to the next '>': thousands never closed make minutes of work.
`costly_markdown` counts that scanning (in characters, with a weight for the slower scans) without
doing it, and names the first opener that is never closed when the total passes a budget.
"""

from __future__ import annotations

import re

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
