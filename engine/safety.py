"""Hygiene checks on a converted body: markup the site must not ship, and Markdown left unresolved.

Raw HTML is welcome, but <script>, <iframe>, <style>, on* event attributes and
javascript: URLs are refused (the site's security policy would block them),
as is a footnote reference with no definition, which Python-Markdown would
otherwise print as literal text. Inline Markdown in data files gets the same
markup checks through `unsafe_markup`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .content import Page, lines_outside_code
from .errors import Problem
from .records import ConvertedBody

_FORBIDDEN_TAG = re.compile(r"<(script|iframe|style)\b", re.I)
_EVENT_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*?\s(on[a-zA-Z]+)\s*=", re.S)
_JAVASCRIPT_URL = re.compile(r"""(?:(?:href|src|action|formaction|xlink:href)\s*=\s*["']?|\]\(\s*<?)\s*javascript:""", re.I)
# Every match of _JAVASCRIPT_URL contains this, under the same flag.
_JAVASCRIPT_WORD = re.compile(r"javascript:", re.I)
_CODE = re.compile(r"<(pre|code)\b.*?</\1>", re.S | re.I)
_FOOTNOTE_REFERENCE = re.compile(r"\[\^([^\]\s]+)\]")
_TAG_HINT = "the site's security policy blocks it; use Markdown or a directive instead"
_EVENT_HINT = "inline script is blocked by the site's security policy"
_URL_HINT = "link to an http(s) address or a page"


def unsafe_markup(html: str) -> Iterator[tuple[str, str, str]]:
    """(pattern finding it in the source, message, hint) for each unsafe thing in HTML or Markdown."""
    for match in _FORBIDDEN_TAG.finditer(html):
        tag = match.group(1).lower()
        yield rf"<{tag}\b", f"raw <{tag}> is not allowed in content", _TAG_HINT
    for match in _EVENT_ATTRIBUTE.finditer(html):
        attribute = match.group(1).lower()
        yield rf"\s{attribute}\s*=", f"the event attribute '{attribute}=' is not allowed in content", _EVENT_HINT
    if _may_contain_javascript(html):
        for _ in _JAVASCRIPT_URL.finditer(html):
            yield r"javascript:", "a javascript: URL is not allowed in content", _URL_HINT


def _may_contain_javascript(html: str) -> bool:
    """False only when no `javascript:` can match, so the slow URL pattern need not run.

    That pattern has no literal start, so it is tried at every character (most of the
    safety check's time). On ASCII text, lowering is exactly what re.I compares; other
    text keeps re.I's Unicode folding (ſ matches s) through a one-word pattern.
    """
    if html.isascii():
        return "javascript:" in html.lower()
    return _JAVASCRIPT_WORD.search(html) is not None


def check_body_safety(page: Page, converted: ConvertedBody) -> list[Problem]:
    """Problems with the raw HTML and footnotes of one page's converted body, one per source line."""
    html = _CODE.sub("", converted.html)
    found = [*unsafe_markup(html)]
    for match in _FOOTNOTE_REFERENCE.finditer(html):
        label = match.group(1)
        found.append((r"\[\^" + re.escape(label) + r"\](?!:)", f"footnote [^{label}] has no definition",
                      f"add a line '[^{label}]: text' at the end of the page"))
    problems: list[Problem] = []
    for pattern, message, hint in dict.fromkeys(found):
        count = found.count((pattern, message, hint))
        for line in _lines_matching(page.body, page.body_line, pattern)[:max(count, 1)] or [page.body_line]:
            problems.append(Problem(page.source, line, message, hint))
    return problems


def _lines_matching(body: str, body_line: int, pattern: str) -> list[int]:
    """File lines (outside code) where a pattern occurs, once per occurrence."""
    compiled = re.compile(pattern, re.I)
    return [body_line + index for index, line in lines_outside_code(body) for _ in compiled.finditer(line)]
