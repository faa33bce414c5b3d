"""HTML -> PageLinks: every id, every link with its line, and closing tags that close nothing.

The scanner reads markup the way the standard library's html.parser does (a tolerant take on the
WHATWG tokenizer): one regex walks the document token by token and skips text in C.
tests/test_scan.py checks it against an html.parser reference.
"""

from __future__ import annotations

import re
from html import unescape

from .records import PageLinks

_LINK_ATTRIBUTES = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"), ("source", "src"),
                    ("use", "href"), ("iframe", "src"), ("form", "action")}
_VOID = frozenset(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"])
# <meta> tags whose content is a URL crawlers and social sites fetch.
_URL_METAS = frozenset(["og:image", "og:url", "twitter:image"])
# The rules, as html.parser has them: an attribute name follows a quote, space or slash; a quote opens a value
# only after '='; a '/' right before '>' makes a tag self-closing; script and style hold raw
# text up to their first end tag (nothing after an unclosed one is read); a construct left
# unfinished is text up to the next '>'. One difference: html.parser raises AssertionError on a
# '<![' without a known keyword, which this reads as text up to the next '>' (tests/test_scan.py
# checks the rest against an HTMLParser reference).
_GAP = r"(?:\s|/(?!>))*"
_ATTRIBUTE = r"""(?<=['"\s/])[^\s/>][^\s/=>]*(?:\s*=+\s*(?:'[^']*'|"[^"]*"|(?!['"])[^>\s]*))?"""
_TAG_NAME = r"[a-zA-Z][^\t\n\r\f />\x00]*"
# Atomic, so a tag's attributes are read once, greedily, as html.parser reads them.
_ATTRIBUTES = rf"(?>{_GAP}(?:{_ATTRIBUTE}{_GAP})*)"
# Most tags we write are lowercase with double-quoted, entity-free values; they have a cheap branch.
_SIMPLE_ATTRIBUTE = r' [a-z][-a-z]*="[^"&]*"'
_KEYWORD_END = r"(?![-_.a-zA-Z0-9])"
_TOKEN = re.compile(
    r"<(?:"
    rf"([sS][cC][rR][iI][pP][tT])(?=[\t\n\r\f />\x00])({_ATTRIBUTES})>"  # 1-2: script, then raw text
    r"(?:.*?</\s*[sS][cC][rR][iI][pP][tT]\s*>|.*)"
    rf"|([sS][tT][yY][lL][eE])(?=[\t\n\r\f />\x00])({_ATTRIBUTES})>"  # 3-4: style, then raw text
    r"(?:.*?</\s*[sS][tT][yY][lL][eE]\s*>|.*)"
    # 5-8: simple start tag, attributes, then a closing slash (7), or text alone and the tag's own
    # end tag (8, empty: a leaf element, opened and closed at once; a third of a page's tags)
    rf"|([a-z][a-z0-9]*)((?:{_SIMPLE_ATTRIBUTE})*)(?:(/)>|>(?:[^<]*</\5>()|))"
    rf"|({_TAG_NAME})({_ATTRIBUTES})(/?)>"                # 9-11: any start tag
    r"|/([a-z][a-z0-9]*)>"                                # 12: simple end tag
    r"|/\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*>"                # 13: end tag
    rf"|/({_TAG_NAME})[^>]*>"                             # 14: end tag with junk before its '>'
    r"|!--.*?--\s*>"                                      # comment
    rf"|!\[(?ai:temp|cdata|ignore|include|rcdata){_KEYWORD_END}.*?]\s*]\s*>"  # marked sections
    rf"|!\[(?ai:if|else|endif){_KEYWORD_END}.*?]\s*>"
    r"|[!?/][^>]*>"                                       # declaration, instruction, bogus end tag
    rf"|{_TAG_NAME}{_ATTRIBUTES}(?=[^a-zA-Z=/])"          # a start tag broken by a stray character: text
    r"|[a-zA-Z][^>]*>"                                    # a start tag left open: text up to the next '>'
    r")",
    re.S)
_SIMPLE_ATTRIBUTE_ITEMS = re.compile(r' ([a-z][-a-z]*)="([^"&]*)"')
_ATTRIBUTE_ITEMS = re.compile(r"""(?<=['"\s/])([^\s/>][^\s/=>]*)(\s*=+\s*('[^']*'|"[^"]*"|(?!['"])[^>\s]*))?""")
# An id attribute, or something that looks like one (the attributes are then read in full).
_MAYBE_ID = re.compile(r"""(?<=['"\s/])[iI][dD]\s*=""")
# The one attribute of each tag that holds a link ("" for <meta>, whose content may be one).
_LINK_ATTRIBUTE_OF = dict(_LINK_ATTRIBUTES) | {"meta": ""}


def scan_html(data: bytes) -> PageLinks:
    """One HTML document's ids, its links with their lines, and closing tags that close nothing."""
    text = data.decode("utf-8", errors="replace")
    # Every token that counts ends with a '>', so what follows the last one is text. Cutting it off
    # keeps a run of '<' that nothing closes from being read once for each '<' (quadratic time).
    text = text[:text.rfind(">") + 1]
    ids: set[str] = set()
    targets: list[str] = []
    lines: list[int] = []
    problems: list[tuple[int, str]] = []
    open_tags: list[str] = []
    line, counted = 1, 0  # lines are counted up to `counted` only when one is needed
    for match in _TOKEN.finditer(text):
        kind = match.lastindex  # the last group of the branch that matched, see _TOKEN
        if kind is None:
            continue  # a comment, a declaration, text: nothing to see
        if kind <= 8:  # a simple start tag, a leaf element (8: read with its end tag), script or style
            if kind >= 6:
                tag, attributes = match.group(5, 6)
                if attributes and ((link_attribute := _LINK_ATTRIBUTE_OF.get(tag)) is not None
                                   or ' id="' in attributes):
                    start = match.start()
                    line += text.count("\n", counted, start)
                    counted = start
                    if tag == "meta":
                        _note_attributes(tag, _SIMPLE_ATTRIBUTE_ITEMS.findall(attributes), line, ids, targets, lines)
                    else:  # _note_attributes, inlined for the tags a page is made of (a fifth are links)
                        for name, value in _SIMPLE_ATTRIBUTE_ITEMS.findall(attributes):
                            if name == link_attribute:
                                targets.append(value)
                                lines.append(line)
                            elif name == "id" or (name == "name" and tag == "a"):
                                ids.add(value)
                if kind == 6 and tag not in _VOID:  # open until its end tag (7: self-closing)
                    open_tags.append(tag)
                continue
            tag, attributes = match.group(kind - 1).lower(), match.group(kind)  # script or style and
            slash = "/"  # their raw text: opened and closed at once
        elif kind <= 11:
            tag, attributes, slash = match.group(9, 10, 11)
            tag = tag.lower()
        else:
            tag = match.group(kind)
            if kind != 12:
                tag = tag.lower()
            if open_tags and open_tags[-1] == tag:
                open_tags.pop()
            elif tag in _VOID:
                pass
            elif tag in open_tags:
                while open_tags.pop() != tag:
                    pass
            elif tag not in ("p", "li"):
                start = match.start()
                line += text.count("\n", counted, start)
                counted = start
                problems.append((line, f"closing </{tag}> has no matching opening tag"))
            continue
        if attributes and (tag in _LINK_ATTRIBUTE_OF or _MAYBE_ID.search(attributes)):
            start = match.start()
            line += text.count("\n", counted, start)
            counted = start
            _note_attributes(tag, _read_attributes(attributes), line, ids, targets, lines)
        if not slash and tag not in _VOID:
            open_tags.append(tag)  # a self-closing tag is opened and closed at once
    return PageLinks(ids, targets, lines, problems)


def _read_attributes(attributes: str) -> list[tuple[str, str | None]]:
    """A start tag's (name, value) pairs as html.parser gives them: names lowercased, entities decoded."""
    pairs: list[tuple[str, str | None]] = []
    for name, equals, value in _ATTRIBUTE_ITEMS.findall(attributes):
        if not equals:
            pairs.append((name.lower(), None))
        else:
            pairs.append((name.lower(), unescape(value[1:-1] if value[:1] in ("'", '"') else value)))
    return pairs


def _note_attributes(tag: str, pairs: list[tuple[str, str]] | list[tuple[str, str | None]], line: int,
                     ids: set[str], targets: list[str], lines: list[int]) -> None:
    """Add a start tag's ids and links, in the order html.parser reports them."""
    values = dict(pairs)
    if len(values) < len(pairs):  # a repeated attribute: each copy counts
        for name, value in pairs:
            if value is not None and (name == "id" or (tag == "a" and name == "name")):
                ids.add(value)
            if value is not None and name == _LINK_ATTRIBUTE_OF.get(tag):
                targets.append(value)
                lines.append(line)
    else:
        if (value := values.get("id")) is not None:
            ids.add(value)
        if (value := values.get(_LINK_ATTRIBUTE_OF.get(tag, ""))) is not None:
            targets.append(value)
            lines.append(line)
        if tag == "a" and (value := values.get("name")) is not None:
            ids.add(value)
    if tag == "meta" and (values.get("property") or values.get("name")) in _URL_METAS and values.get("content"):
        targets.append(values["content"] or "")
        lines.append(line)
