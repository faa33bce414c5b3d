"""Hygiene checks on a converted body: markup the site must not ship, and Markdown left unresolved.

Raw HTML is welcome, but <script>, <iframe>, <style>, on* event attributes and
javascript: URLs are refused (the site's security policy would block them),
as is a footnote reference with no definition, which Python-Markdown would
otherwise print as literal text.
"""

from __future__ import annotations

import re

from .content import Page
from .errors import Problem
from .markup import ConvertedBody, find_line

_FORBIDDEN_TAG = re.compile(r"<(script|iframe|style)\b", re.I)
_EVENT_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*?\s(on[a-zA-Z]+)\s*=", re.S)
_JAVASCRIPT_URL = re.compile(r"""(?:href|src|action|formaction|xlink:href)\s*=\s*["']?\s*javascript:""", re.I)
_CODE = re.compile(r"<(pre|code)\b.*?</\1>", re.S | re.I)
_FOOTNOTE_REFERENCE = re.compile(r"\[\^([^\]\s]+)\]")


def check_body_safety(page: Page, converted: ConvertedBody) -> list[Problem]:
    """Problems with the raw HTML and footnotes of one page's converted body."""
    problems: list[Problem] = []
    html = _CODE.sub("", converted.html)

    def report(pattern: str, message: str, hint: str) -> None:
        line = find_line(page.body, page.body_line, pattern, re.I)
        problems.append(Problem(page.source, line, message, hint))

    for match in _FORBIDDEN_TAG.finditer(html):
        tag = match.group(1).lower()
        report(rf"<{tag}\b", f"raw <{tag}> is not allowed in content",
               "the site's security policy blocks it; use Markdown or a directive instead")
    for match in _EVENT_ATTRIBUTE.finditer(html):
        attribute = match.group(1).lower()
        report(rf"\s{attribute}\s*=", f"the event attribute '{attribute}=' is not allowed in content",
               "inline script is blocked by the site's security policy")
    if _JAVASCRIPT_URL.search(html):
        report(r"javascript:", "a javascript: URL is not allowed in content", "link to an http(s) address or a page")
    for match in _FOOTNOTE_REFERENCE.finditer(html):
        label = match.group(1)
        report(r"\[\^" + re.escape(label) + r"\]", f"footnote [^{label}] has no definition",
               f"add a line '[^{label}]: text' at the end of the page")
    return problems
